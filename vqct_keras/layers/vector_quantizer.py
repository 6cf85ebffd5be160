"""The plain VQGAN vector quantizer with a learnable codebook (baseline)."""

import keras
from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.quantizer import Quantizer
from vqct_keras.layers.quantizer_ops import quantizer_outputs
from vqct_keras.layers.quantizer_ops import squared_distances
from vqct_keras.layers.quantizer_ops import usage_fraction
from vqct_keras.vocabulary import WordsUnavailableError


@vqct_export("vqct_keras.layers.VectorQuantizer")
class VectorQuantizer(Quantizer):
    """Nearest-code quantization against a learnable `(num_codes, dim)` table.

    The taming-transformers `VectorQuantizer2` baseline: codebook initialised
    `U(-1/K, 1/K)`, squared-L2 nearest neighbour in float32, loss
    `commitment_weight * mean((sg[q] - z)^2) + codebook_weight *
    mean((q - sg[z])^2)` (defaults 1.0 / 0.25: taming's legacy form), and a
    straight-through estimator.

    A subclass with several codebooks of `num_codes` codes (one index slot
    each; see `ResidualVectorQuantizer`) shapes `embeddings` and splits it
    in `codebooks()`; `call` then codes the latent with each codebook in
    turn, each on the residual the ones before it left, and the quantized
    latent is the sum of the picked codes.

    Args:
        num_codes: int. Codebook size. Defaults to `1024`.
        embed_dim: int. Code dimension (latent channels). Defaults to
            `256`.
        commitment_weight: float. Defaults to `1.0`.
        codebook_weight: float. Defaults to `0.25`.
        seed: int. Initialiser seed. Defaults to `None`.

    Call arguments:
        latents: `(B, H, W, embed_dim)` tensor.

    Returns:
        A dict: `quantized`, `indices` `(B, H, W, 1)` int32,
        `commitment_loss`, `codebook_loss`, `vq_loss`, `usage`.

    Example:

    >>> quantizer = VectorQuantizer(num_codes=16, embed_dim=4)
    >>> out = quantizer(keras.ops.ones((1, 2, 2, 4)))
    >>> tuple(out["indices"].shape)
    (1, 2, 2, 1)
    """

    def __init__(
        self,
        num_codes=1024,
        embed_dim=256,
        commitment_weight=1.0,
        codebook_weight=0.25,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_codes = int(num_codes)
        self.embed_dim = int(embed_dim)
        self.commitment_weight = commitment_weight
        self.codebook_weight = codebook_weight
        self.seed = seed

    # === Quantizer contract ===

    build_arguments = (
        "num_codes",
        "commitment_weight",
        "codebook_weight",
        "seed",
    )
    config_arguments = ("embed_dim",) + build_arguments
    codebook_names = ("codebook",)
    usage_names = ("usage",)
    index_slots = ("code",)
    latent_channels = property(lambda self: self.embed_dim)

    @property
    def codebook_sizes(self):
        """`num_codes` for each codebook."""
        return (self.num_codes,) * len(self.codebook_names)

    @property
    def slot_codebooks(self):
        """One index slot per codebook, in order."""
        return tuple(range(len(self.codebook_names)))

    def index_words(self, indices):
        """Always raises `WordsUnavailableError`: VQGAN codes have no words."""
        raise WordsUnavailableError(
            "The VQGAN baseline (`VectorQuantizer`) learns its codebook from "
            "scratch, so its codes have no words. Build a VQCT tokenizer "
            "(`build_tokenizer(..., quantizer='part_of_speech', "
            "prior=...)`) to read codes as adjectives and nouns."
        )

    indices_to_words = index_words

    # === Layer ===

    @property
    def embeddings_shape(self):
        """Shape of the `embeddings` weight: one `(num_codes, embed_dim)`
        table."""
        return (self.num_codes, self.embed_dim)

    def build(self, input_shape=None):
        if self.built:  # e.g. deserialized, then built by the tokenizer
            return
        self.check_latent_channels(input_shape)
        bound = 1.0 / self.num_codes
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=self.embeddings_shape,
            initializer=keras.initializers.RandomUniform(
                -bound, bound, seed=self.seed
            ),
        )

    def codebooks(self, training=False):
        """`(codes,)`: the `(num_codes, embed_dim)` table, float32."""
        return (ops.cast(self.embeddings, "float32"),)

    def call(self, latents, training=None):
        spatial = tuple(ops.shape(latents)[:-1])
        residual = ops.reshape(
            ops.cast(latents, "float32"), (-1, self.embed_dim)
        )
        quantized = ops.zeros_like(residual)
        indices = []
        for codes in self.codebooks():
            nearest = ops.cast(
                ops.argmin(squared_distances(residual, codes), axis=-1),
                "int32",
            )
            picked = ops.take(codes, nearest, axis=0)
            quantized = quantized + picked
            residual = residual - picked
            indices.append(nearest)
        indices = ops.stack(indices, axis=-1)
        outputs = quantizer_outputs(
            latents,
            ops.reshape(quantized, ops.shape(latents)),
            ops.reshape(indices, spatial + (self.index_depth,)),
            self.commitment_weight,
            self.codebook_weight,
        )
        for slot, name in enumerate(self.usage_names):
            outputs[name] = usage_fraction(indices[:, slot], self.num_codes)
        return outputs

    def indices_to_codes(self, indices, codebooks=None):
        """Latents `(..., embed_dim)` from indices `(..., index_depth)`: the
        sum of the codes the slots pick."""
        codebooks = codebooks or self.codebooks()
        indices = ops.cast(indices, "int32")
        codes = 0.0
        for slot, table in enumerate(codebooks):
            codes = codes + ops.take(table, indices[..., slot], axis=0)
        return codes
