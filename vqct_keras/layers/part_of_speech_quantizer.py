"""VQCT's part-of-speech quantizer: adjective half and noun half."""

import os

import numpy as np
from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.codebook_cache import CodebookCache
from vqct_keras.layers.quantizer import Quantizer
from vqct_keras.layers.quantizer_ops import quantization_losses
from vqct_keras.layers.quantizer_ops import squared_distances
from vqct_keras.layers.quantizer_ops import straight_through
from vqct_keras.layers.quantizer_ops import usage_fraction
from vqct_keras.layers.transferred_codebook import CODEBOOK_ARGUMENTS
from vqct_keras.layers.transferred_codebook import BuiltFromPrior
from vqct_keras.layers.transferred_codebook import TransferredCodebook
from vqct_keras.vocabulary import VOCABULARY_FILENAME
from vqct_keras.vocabulary import CodeVocabulary
from vqct_keras.vocabulary import WordsUnavailableError


@vqct_export("vqct_keras.layers.PartOfSpeechQuantizer")
class PartOfSpeechQuantizer(BuiltFromPrior, Quantizer):
    """Quantize a latent against a transferred adjective and noun codebook.

    The latent's `2 * embed_dim` channels are split in two halves. The first
    half is replaced by the mean of its `top_k` nearest adjective codes, the
    second by its nearest noun code (squared L2, float32). The codebook is
    recomputed from the prior by a `TransferredCodebook` at every call, so
    the codebook loss trains the transfer network.

    Index layout: per position `[adj_1, ..., adj_k, noun]`, `top_k + 1`
    int32 values, each local to its codebook (`0 <= adj < num_adjectives`,
    `0 <= noun < num_nouns`); `adj_1` is the nearest adjective.

    Words: a quantizer built with `from_prior` (or `set_prior`) carries the
    prior's words as a `CodeVocabulary` (`vocabulary`), saved as the asset
    `vocabulary.json` in `.keras` files (not in the config), so
    `indices_to_words` works after `keras.saving.load_model`. A file saved
    without words loads with `vocabulary = None`.

    Loss per half (summed over the halves), as the official code:
    `commitment_weight * mean((sg[q] - z)^2)
    + codebook_weight * mean((q - sg[z])^2)`; defaults 1.0 and 0.25 (the
    taming "legacy" form, whose roles are swapped with respect to the
    VQ-VAE paper's beta).

    Args:
        num_adjectives: int. Adjective codes.
        num_nouns: int. Noun codes.
        embed_dim: int. Channels of each half.
        prior_dim: int. Dimension of the prior's word vectors.
        num_adjacency_entries: int. Non-zeros of the normalised adjacency.
        transfer: str. Codebook transfer network, see `TransferredCodebook`.
            Defaults to `"gcn"`.
        top_k: int. Adjective codes averaged per position. Defaults to `2`.
        commitment_weight: float. Defaults to `1.0`.
        codebook_weight: float. Defaults to `0.25`.
        dropout: float. Dropout inside the GCN. Defaults to `0.5`.
        hidden_dim: int. Hidden width of the transfer network. Defaults to
            `embed_dim`.
        seed: int. Seed of the transfer network. Defaults to `None`.

    Call arguments:
        latents: `(B, H, W, 2 * embed_dim)` tensor.
        training: bool. Enables the GCN dropout.

    Returns:
        A dict: `quantized` (the straight-through latents, same shape),
        `indices` `(B, H, W, top_k + 1)` int32, `commitment_loss`,
        `codebook_loss`, `vq_loss` (their sum), `adjective_usage` and
        `noun_usage` (fractions of codes used in the batch).

    Example:

    >>> import numpy as np
    >>> from vqct_keras.prior.codebook_prior import CodebookPrior
    >>> prior = CodebookPrior(["red", "big"], ["dog", "car", "sky"],
    ...                       np.random.rand(5, 6), edges=[[0, 2], [1, 3]])
    >>> quantizer = PartOfSpeechQuantizer.from_prior(prior, embed_dim=4)
    >>> out = quantizer(np.random.rand(1, 2, 2, 8).astype("float32"))
    >>> tuple(out["indices"].shape)
    (1, 2, 2, 3)
    >>> quantizer.indices_to_words(np.array([[1, 0, 2]])).tolist()
    ['big red sky']
    """

    def __init__(
        self,
        num_adjectives,
        num_nouns,
        embed_dim,
        prior_dim=None,
        num_adjacency_entries=None,
        transfer="gcn",
        top_k=2,
        commitment_weight=1.0,
        codebook_weight=0.25,
        dropout=0.5,
        hidden_dim=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 1 <= top_k <= num_adjectives:
            raise ValueError(
                f"`top_k` must be between 1 and num_adjectives="
                f"{num_adjectives}; got {top_k}."
            )
        self.num_adjectives = int(num_adjectives)
        self.num_nouns = int(num_nouns)
        self.embed_dim = int(embed_dim)
        self.prior_dim = prior_dim
        self.num_adjacency_entries = num_adjacency_entries
        self.transfer = transfer
        self.top_k = int(top_k)
        self.commitment_weight = commitment_weight
        self.codebook_weight = codebook_weight
        self.dropout = dropout
        self.hidden_dim = hidden_dim
        self.seed = seed
        self.transferred_codebook = TransferredCodebook(
            **{name: getattr(self, name) for name in CODEBOOK_ARGUMENTS},
            dtype="float32",
            name="transferred_codebook",
        )
        self.vocabulary = None
        self._inference_cache = CodebookCache()

    # === Quantizer contract ===

    build_arguments = (
        "transfer",
        "top_k",
        "commitment_weight",
        "codebook_weight",
        "dropout",
        "hidden_dim",
        "seed",
    )
    config_arguments = CODEBOOK_ARGUMENTS + (
        "top_k",
        "commitment_weight",
        "codebook_weight",
    )
    uses_prior = True
    codebook_names = ("adjective", "noun")
    usage_names = ("adjective_usage", "noun_usage")

    @property
    def index_summary(self):
        return (
            f"[adj_1 .. adj_{self.top_k}, noun] per position, local "
            "indices into the adjective and noun codebooks"
        )

    index_description = (
        "Per position [adjective_1, ..., adjective_k, noun]: local "
        "indices into the adjective and the noun codebook (the prior's "
        "adjective and noun word lists); adjective_1 is the nearest."
    )

    @property
    def codebook_sizes(self):
        return (self.num_adjectives, self.num_nouns)

    @property
    def latent_channels(self):
        """Channels the quantizer expects: `2 * embed_dim`."""
        return 2 * self.embed_dim

    @property
    def index_slots(self):
        """Name of each index slot: `adjective_1 .. adjective_k, noun`."""
        names = [f"adjective_{k + 1}" for k in range(self.top_k)]
        return tuple(names + ["noun"])

    @property
    def slot_codebooks(self):
        """`top_k` adjective slots, then the noun slot."""
        return (0,) * self.top_k + (1,)

    @property
    def codebook_channels(self):
        """The adjective half, then the noun half of the channels."""
        return ((0, self.embed_dim), (self.embed_dim, self.latent_channels))

    def set_prior(self, prior):
        """Load a `CodebookPrior` into the transfer network's fixed weights,
        and take its words as this quantizer's `vocabulary`."""
        self.transferred_codebook.set_prior(prior)
        self.set_vocabulary(CodeVocabulary.from_prior(prior))

    # === Words ===

    def set_vocabulary(self, vocabulary):
        """Attach words to the codes (a `CodeVocabulary`, a `CodebookPrior`
        or `None`), e.g. to a tokenizer saved without words; the counts
        must match the codebooks."""
        if vocabulary is not None and not isinstance(
            vocabulary, CodeVocabulary
        ):
            vocabulary = CodeVocabulary.from_prior(vocabulary)
        if vocabulary is not None:
            vocabulary.check_sizes(self.num_adjectives, self.num_nouns)
        self.vocabulary = vocabulary

    @property
    def words_available(self):
        """Whether the codes have words (`vocabulary` is set)."""
        return self.vocabulary is not None

    def index_words(self, indices):
        """The word of every index: a str array `(..., top_k + 1)`.

        Args:
            indices: int array `(..., top_k + 1)` in the index layout.
        """
        vocabulary = self._require_vocabulary()
        indices = np.asarray(ops.convert_to_numpy(indices))
        if indices.shape[-1:] != (self.index_depth,):
            raise ValueError(
                f"Expected indices of shape (..., {self.index_depth}) "
                f"({', '.join(self.index_slots)}); got {indices.shape}."
            )
        if not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(
                f"Expected integer indices; got dtype {indices.dtype}."
            )
        for slot, bound in enumerate(self.index_ranges):
            values = indices[..., slot]
            if values.size and (values.min() < 0 or values.max() >= bound):
                raise ValueError(
                    f"Index slot {slot} ({self.index_slots[slot]}) must lie "
                    f"in [0, {bound}); got [{values.min()}, {values.max()}]."
                )
        return vocabulary.index_words(indices)

    def indices_to_words(self, indices):
        """Per position `"adj_1 ... adj_k noun"`: a str array `(...)`.

        Args:
            indices: int array `(..., top_k + 1)` in the index layout.

        Raises:
            WordsUnavailableError: the quantizer carries no words.
        """
        indices = np.asarray(ops.convert_to_numpy(indices))
        self.index_words(indices)  # checks the layout and the ranges
        return self.vocabulary.indices_to_words(indices)

    def _require_vocabulary(self):
        if self.vocabulary is None:
            raise WordsUnavailableError(
                "This tokenizer's codes have no words: it was saved before "
                "vqct_keras stored the vocabulary in `.keras` files (or "
                "built without `from_prior`). Attach the words of the prior "
                "it was built from with "
                "`tokenizer.quantizer.set_vocabulary(prior)`."
            )
        return self.vocabulary

    def save_assets(self, dir_path):
        if self.vocabulary is not None:
            self.vocabulary.save(dir_path)

    def load_assets(self, dir_path):
        if dir_path is None:
            return
        path = os.path.join(dir_path, VOCABULARY_FILENAME)
        if os.path.isfile(path):
            self.set_vocabulary(CodeVocabulary.load(path))

    def build(self, input_shape=None):
        self.transferred_codebook.build()
        self.built = True

    def codebooks(self, training=False):
        """`(adjective_codes, noun_codes)`, float32."""
        codes = self.transferred_codebook.codebook(training=training)
        return codes[: self.num_adjectives], codes[self.num_adjectives :]

    def inference_codebooks(self):
        """`codebooks(training=False)`, computed once per change of weights.

        The GCN output depends only on the transfer network's weights, so
        at inference it is computed once and reused until one of them
        changes (checked by value at every call, see `CodebookCache`): the
        fast path of `VQCTTokenizer.encode_to_indices`,
        `decode_from_indices` and `predict`. Call it eagerly; training
        always recomputes the codebook (dropout, gradients).
        """
        layer = self.transferred_codebook
        return self._inference_cache.get(
            layer.weights, lambda: self.codebooks(training=False)
        )

    def call(self, latents, training=None, codebooks=None):
        if latents.shape[-1] != self.latent_channels:
            raise ValueError(
                f"PartOfSpeechQuantizer expects latents with "
                f"2 * embed_dim = {self.latent_channels} channels; got "
                f"shape {tuple(latents.shape)}."
            )
        if codebooks is None:
            codebooks = self.codebooks(training=bool(training))
        adjective_codes, noun_codes = codebooks
        spatial = tuple(ops.shape(latents)[:-1])
        adjective_latents = latents[..., : self.embed_dim]
        noun_latents = latents[..., self.embed_dim :]
        flat_adjectives = ops.reshape(adjective_latents, (-1, self.embed_dim))
        flat_nouns = ops.reshape(noun_latents, (-1, self.embed_dim))

        adjective_indices = _k_smallest(
            squared_distances(flat_adjectives, adjective_codes), self.top_k
        )
        noun_indices = ops.argmin(
            squared_distances(flat_nouns, noun_codes), axis=-1
        )
        adjective_indices = ops.cast(adjective_indices, "int32")
        noun_indices = ops.cast(noun_indices, "int32")
        indices = ops.concatenate(
            [adjective_indices, noun_indices[:, None]], axis=-1
        )
        adjective_quantized, noun_quantized = self._lookup(
            indices, adjective_codes, noun_codes
        )
        adjective_quantized = ops.reshape(
            adjective_quantized, ops.shape(adjective_latents)
        )
        noun_quantized = ops.reshape(noun_quantized, ops.shape(noun_latents))

        commitment, codebook = 0.0, 0.0
        for latent_half, quantized_half in (
            (adjective_latents, adjective_quantized),
            (noun_latents, noun_quantized),
        ):
            half_commitment, half_codebook = quantization_losses(
                latent_half,
                quantized_half,
                self.commitment_weight,
                self.codebook_weight,
            )
            commitment = commitment + half_commitment
            codebook = codebook + half_codebook

        quantized = ops.concatenate(
            [
                straight_through(
                    adjective_latents,
                    ops.cast(adjective_quantized, latents.dtype),
                ),
                straight_through(
                    noun_latents, ops.cast(noun_quantized, latents.dtype)
                ),
            ],
            axis=-1,
        )
        indices = ops.reshape(indices, spatial + (self.index_depth,))
        return {
            "quantized": quantized,
            "indices": indices,
            "commitment_loss": commitment,
            "codebook_loss": codebook,
            "vq_loss": commitment + codebook,
            "adjective_usage": usage_fraction(
                indices[..., : self.top_k], self.num_adjectives
            ),
            "noun_usage": usage_fraction(indices[..., -1], self.num_nouns),
        }

    def _lookup(self, flat_indices, adjective_codes, noun_codes):
        adjective = ops.mean(
            ops.take(adjective_codes, flat_indices[:, : self.top_k], axis=0),
            axis=1,
        )
        noun = ops.take(noun_codes, flat_indices[:, -1], axis=0)
        return adjective, noun

    def indices_to_codes(self, indices, codebooks=None):
        """Latents `(..., 2 * embed_dim)` from indices `(..., top_k + 1)`.

        Uses the deterministic (inference) codebook, so it reproduces the
        `quantized` output of an inference call exactly. `codebooks`, e.g.
        from `inference_codebooks()`, skips recomputing it.
        """
        if codebooks is None:
            codebooks = self.codebooks(training=False)
        adjective_codes, noun_codes = codebooks
        indices = ops.cast(indices, "int32")
        spatial = tuple(ops.shape(indices)[:-1])
        flat = ops.reshape(indices, (-1, self.index_depth))
        adjective, noun = self._lookup(flat, adjective_codes, noun_codes)
        codes = ops.concatenate([adjective, noun], axis=-1)
        return ops.reshape(codes, spatial + (self.latent_channels,))


def _k_smallest(distances, k):
    """Indices `(N, k)` of the k smallest entries per row, nearest first.

    k rounds of argmin with masking (k is small, 2 by default): the same
    result as `top_k(-distances)` with ties broken towards the lower index,
    and it exports through jax2tf, which `top_k` does not.
    """
    num_codes = distances.shape[-1]
    columns = []
    for _ in range(k):
        index = ops.argmin(distances, axis=-1)
        columns.append(ops.cast(index, "int32"))
        distances = ops.where(
            ops.one_hot(index, num_codes, dtype="bool"), float("inf"), distances
        )
    return ops.stack(columns, axis=-1)
