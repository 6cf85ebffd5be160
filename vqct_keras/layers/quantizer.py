"""The contract every quantizer of a `VQCTTokenizer` implements."""

import keras

from vqct_keras.api_export import vqct_export
from vqct_keras.vocabulary import WordsUnavailableError

# Keys of every quantizer's output dict; `usage_names` follow them.
OUTPUT_KEYS = (
    "quantized",
    "indices",
    "commitment_loss",
    "codebook_loss",
    "vq_loss",
)


@vqct_export("vqct_keras.layers.Quantizer")
class Quantizer(keras.layers.Layer):
    """Base class of the quantizers: what the tokenizer and the tools read.

    A quantizer maps latents `(B, H, W, latent_channels)` to a dict with
    the keys `output_keys`: `quantized` (same shape, straight-through),
    `indices` `(B, H, W, index_depth)` int32, the float32 scalars
    `commitment_loss`, `codebook_loss` and `vq_loss` (their sum), then one
    usage fraction per name in `usage_names`.

    It has one or more codebooks (`codebook_names`, `codebook_sizes`,
    `codebooks()`); each index slot (`index_slots`) points into the
    codebook `slot_codebooks[slot]`, so slot `s` lies in
    `[0, index_ranges[s])`. The tokenizer, the trainer, export,
    evaluation, pre-tokenising and the usage metrics read only these names,
    never the class.

    A subclass declares, as class attributes:

    * `build_arguments`: the keyword arguments of `build_tokenizer` /
      `VQCTTokenizer.from_preset` it takes (besides `embed_dim`);
    * `config_arguments`: its constructor arguments, each kept as the
      attribute of the same name (`get_config()` saves them);
    * `uses_prior`: whether it is built from a `CodebookPrior`
      (`from_prior`);
    * `codebook_names`, `usage_names`, `index_summary`,
      `index_description`;

    and implements `codebook_sizes`, `latent_channels`, `index_slots`,
    `slot_codebooks`, `codebooks()`, `indices_to_codes()` and `call()`
    (`compute_output_spec()` follows from the layout). It
    is registered by one line in `vqct_keras/layers/quantizer_registry.py`
    (see docs/quantizers.md).

    Example:

    >>> from vqct_keras.layers.vector_quantizer import VectorQuantizer
    >>> quantizer = VectorQuantizer(num_codes=8, embed_dim=4)
    >>> quantizer.codebook_names, quantizer.codebook_sizes
    (('codebook',), (8,))
    >>> quantizer.index_slots, quantizer.index_ranges
    (('code',), (8,))
    >>> quantizer.output_keys[-1]
    'usage'
    """

    build_arguments = ()
    config_arguments = ()
    uses_prior = False
    codebook_names = ()
    usage_names = ()
    index_summary = "[code] per position"
    index_description = "Per position the index of the nearest codebook entry."
    # Codes learned from scratch have no words.
    vocabulary = None
    words_available = False

    # === Layout ===

    @property
    def codebook_sizes(self):
        """Codes in each codebook, in the order of `codebook_names`."""
        raise NotImplementedError(_missing(self, "codebook_sizes"))

    @property
    def latent_channels(self):
        """Channels of the latents the quantizer takes and returns."""
        raise NotImplementedError(_missing(self, "latent_channels"))

    @property
    def index_slots(self):
        """Name of each index slot of a position."""
        raise NotImplementedError(_missing(self, "index_slots"))

    @property
    def slot_codebooks(self):
        """For each index slot, the position of its codebook in
        `codebook_names`."""
        raise NotImplementedError(_missing(self, "slot_codebooks"))

    @property
    def index_depth(self):
        """Indices per position: `len(index_slots)`."""
        return len(self.index_slots)

    @property
    def index_ranges(self):
        """Exclusive upper bound of each index slot."""
        sizes = self.codebook_sizes
        return tuple(sizes[codebook] for codebook in self.slot_codebooks)

    @property
    def codebook_channels(self):
        """For each codebook, the `(start, stop)` latent channels it codes.

        Defaults to all channels for every codebook.
        """
        return ((0, self.latent_channels),) * len(self.codebook_names)

    @property
    def output_keys(self):
        """Keys of the output dict: `OUTPUT_KEYS + usage_names`."""
        return OUTPUT_KEYS + tuple(self.usage_names)

    # === Codes ===

    def codebooks(self, training=False):
        """The code tables, float32 `(size, dim)`, one per codebook."""
        raise NotImplementedError(_missing(self, "codebooks"))

    def inference_codebooks(self):
        """Codebooks cached for inference, or `None` (the default: the
        quantizer reads its weights directly)."""
        return None

    def indices_to_codes(self, indices, codebooks=None):
        """Latents `(..., latent_channels)` from indices
        `(..., index_depth)`, as the `quantized` output of an inference
        call."""
        raise NotImplementedError(_missing(self, "indices_to_codes"))

    # === Layer helpers ===

    def check_latent_channels(self, input_shape):
        """Raises when the last axis of `input_shape` is known and is not
        `latent_channels`."""
        if input_shape is None or input_shape[-1] is None:
            return
        if input_shape[-1] != self.latent_channels:
            raise ValueError(
                f"{type(self).__name__} expects latents with embed_dim = "
                f"{self.latent_channels} channels; got shape "
                f"{tuple(input_shape)}."
            )

    def compute_output_spec(self, latents, *args, **kwargs):
        """`quantized` like `latents`, int32 `indices` with `index_depth`
        values per position, and a float32 scalar for every other key of
        `output_keys`."""
        scalar = keras.KerasTensor((), dtype="float32")
        outputs = {
            "quantized": keras.KerasTensor(latents.shape, dtype=latents.dtype),
            "indices": keras.KerasTensor(
                tuple(latents.shape[:-1]) + (self.index_depth,), dtype="int32"
            ),
        }
        for name in self.output_keys[2:]:
            outputs[name] = scalar
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {name: getattr(self, name) for name in self.config_arguments}
        )
        return config

    # === Words ===

    def index_words(self, indices):
        """The word of every index; raises `WordsUnavailableError` unless
        the quantizer's codes are words (`words_available`)."""
        raise WordsUnavailableError(
            f"The codes of a {type(self).__name__} have no words. Build a "
            "VQCT tokenizer (`build_tokenizer(..., "
            "quantizer='part_of_speech', prior=...)`) to read codes as "
            "adjectives and nouns."
        )

    def indices_to_words(self, indices):
        """Per position the words of its codes (see `index_words`)."""
        return self.index_words(indices)

    # === Building from the tokenizer's arguments ===

    @classmethod
    def from_build_args(cls, embed_dim, prior=None, **kwargs):
        """The quantizer for a tokenizer of code dimension `embed_dim`.

        Args:
            embed_dim: int. Code dimension of the tokenizer's preset.
            prior: `CodebookPrior` or `None`. Required when `uses_prior`.
            **kwargs: arguments among `build_arguments`, and layer
                arguments (`name`, `dtype`).
        """
        if not cls.uses_prior:
            return cls(embed_dim=embed_dim, **kwargs)
        if prior is None:
            raise ValueError(
                f"{cls.__name__} needs a codebook prior: pass "
                "`prior=CodebookPrior.load(path)` (build one with "
                "`python training/build_prior.py`)."
            )
        return cls.from_prior(prior, embed_dim=embed_dim, **kwargs)


def _missing(quantizer, name):
    return (
        f"{type(quantizer).__name__} must implement `{name}` (the quantizer "
        "contract of vqct_keras.layers.quantizer.Quantizer)."
    )


def deserialize_quantizer(quantizer):
    """A quantizer layer, given the layer or its serialized config."""
    if isinstance(quantizer, dict):
        return keras.saving.deserialize_keras_object(quantizer)
    return quantizer
