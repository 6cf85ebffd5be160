"""The VQCT image tokenizer: encoder, part-of-speech quantizer, decoder."""

import contextlib
import inspect

import keras
from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.layers import quantizer_registry
from vqct_keras.layers.quantizer import deserialize_quantizer
from vqct_keras.layers.torch_conv2d import torch_like_conv2d
from vqct_keras.models import input_contract
from vqct_keras.models import vqct_presets
from vqct_keras.models.vqgan_conv_stack import VQGANConvStack
from vqct_keras.models.vqgan_decoder import VQGANDecoder
from vqct_keras.models.vqgan_encoder import VQGANEncoder


@vqct_export("vqct_keras.models.VQCTTokenizer")
class VQCTTokenizer(keras.Model):
    """Images to a grid of discrete codes and back.

    `images (B, H, W, C)` in `[-1, 1]` -> `VQGANEncoder` -> 1x1 conv to the
    quantizer's channels -> quantizer -> 1x1 conv back to `z_channels` ->
    `VQGANDecoder` -> reconstruction (no output activation). With a
    `PartOfSpeechQuantizer` this is VQCT; with a `VectorQuantizer` it is
    the VQGAN baseline.

    Index layout: `encode_to_indices` returns `(B, H/f, W/f, D)` int32 with
    `D = quantizer.index_depth`; for VQCT each position holds
    `[adj_1, ..., adj_k, noun]` (local indices into the adjective and the
    noun codebook). `decode_from_indices(encode_to_indices(x))` equals the
    reconstruction of `x` exactly (inference mode) when both run op by op
    (`run_eagerly = True`); the default compiled calls agree with it to
    float32 rounding.

    `VQCTTokenizer.from_preset(name, prior=..., quantizer=...)` builds
    one with a preset architecture (`VQCTTokenizer.presets`).

    Args:
        quantizer: a `Quantizer` layer (`PartOfSpeechQuantizer`,
            `VectorQuantizer`, ...; see `vqct_keras.layers.quantizer`).
        resolution: int. Nominal image size (selects attention levels).
            Defaults to `256`.
        in_channels: int. Image channels. Defaults to `3`.
        z_channels: int. Encoder output channels. Defaults to `256`.
        ch: int. Base channels. Defaults to `128`.
        ch_mult: tuple of int. Defaults to `(1, 1, 2, 2, 4)` (f16).
        num_res_blocks: int. Defaults to `2`.
        attn_resolutions: tuple of int. Defaults to `(16,)`.
        num_groups: int. GroupNorm groups. Defaults to `32`.
        dropout: float. Residual-block dropout. Defaults to `0.0`.
        **kwargs: `ch` to `dropout` above (keyword only: with `resolution`
            they are the `VQGANEncoder` and `VQGANDecoder` architecture,
            whose defaults these are), and `keras.Model` arguments.

    Call arguments:
        images: `(B, H, W, in_channels)` float tensor in `[-1, 1]`; `H` and
            `W` divisible by `downsampling_factor`.
        training: bool.

    Returns:
        A dict with `reconstruction`, and the quantizer's outputs
        (`quantized`, `indices`, `commitment_loss`, `codebook_loss`,
        `vq_loss`, and usage fractions).

    Example:

    >>> import numpy as np
    >>> from vqct_keras.layers.vector_quantizer import VectorQuantizer
    >>> tokenizer = VQCTTokenizer(
    ...     VectorQuantizer(num_codes=32, embed_dim=8), resolution=16,
    ...     ch=32, ch_mult=(1, 2), num_res_blocks=1, attn_resolutions=(8,),
    ...     z_channels=16)
    >>> images = np.zeros((1, 16, 16, 3), "float32")
    >>> tuple(tokenizer.encode_to_indices(images).shape)
    (1, 8, 8, 1)
    """

    def __init__(
        self,
        quantizer,
        resolution=256,
        in_channels=3,
        z_channels=256,
        **kwargs,
    ):
        # The encoder's and the decoder's other arguments (`ch`, ...).
        architecture = {
            name: kwargs.pop(name)
            for name in VQGANConvStack.ARCHITECTURE
            if name in kwargs
        }
        super().__init__(**kwargs)
        quantizer = deserialize_quantizer(quantizer)
        self.quantizer = quantizer
        self.in_channels = in_channels
        self.z_channels = z_channels
        architecture.update(resolution=resolution, dtype=self.dtype_policy)
        self.encoder = VQGANEncoder(z_channels, name="encoder", **architecture)
        # The tokenizer's `ch`, `ch_mult`, ... are the encoder's (defaults
        # filled in, sequences as tuples).
        for name in VQGANConvStack.ARCHITECTURE:
            setattr(self, name, getattr(self.encoder, name))
        if resolution % self.downsampling_factor:
            raise ValueError(
                f"`resolution` ({resolution}) must be divisible by the "
                f"downsampling factor 2**(len(ch_mult) - 1) = "
                f"{self.downsampling_factor}."
            )
        # 1x1 convs initialised as PyTorch's nn.Conv2d, as the official ones.
        self.quant_conv = torch_like_conv2d(
            quantizer.latent_channels, 1, "quant_conv", self.dtype_policy
        )
        self.post_quant_conv = torch_like_conv2d(
            z_channels, 1, "post_quant_conv", self.dtype_policy
        )
        self.decoder = VQGANDecoder(in_channels, name="decoder", **architecture)
        self._inference_state = _InferenceState()

    # === Properties ===

    @property
    def downsampling_factor(self):
        """Image size / latent grid size: `2 ** (len(ch_mult) - 1)`."""
        return 2 ** (len(self.ch_mult) - 1)

    @property
    def last_layer_kernel(self):
        """The decoder's output conv kernel (for the adaptive GAN weight)."""
        return self.decoder.last_layer_kernel

    # === Build ===

    def build(self, input_shape=None):
        if input_shape is None:
            input_shape = (None, self.resolution, self.resolution)
            input_shape += (self.in_channels,)
        shape = tuple(input_shape)
        self.encoder.build(shape)
        shape = self.encoder.compute_output_shape(shape)
        self.quant_conv.build(shape)
        shape = self.quant_conv.compute_output_shape(shape)
        self.quantizer.build(shape)
        self.post_quant_conv.build(shape)
        shape = self.post_quant_conv.compute_output_shape(shape)
        self.decoder.build(shape)
        self.built = True

    # === Encoding and decoding ===

    def call(self, images, training=None):
        self._check_images(images)
        latents = self.quant_conv(self.encoder(images, training=training))
        codebooks = None if training else self._inference_state.codebooks
        outputs = dict(self._quantize(latents, training, codebooks))
        outputs["reconstruction"] = self.decode(
            outputs["quantized"], training=training
        )
        if not training:
            # Inside compiled code (`predict`) an invalid image cannot
            # raise: its reconstruction is NaN and its indices are -1.
            _, valid = input_contract.image_flags(images)
            outputs["reconstruction"] = input_contract.mark_invalid(
                outputs["reconstruction"], valid, float("nan")
            )
            outputs["indices"] = input_contract.mark_invalid(
                outputs["indices"], valid, -1
            )
        return outputs

    def encode(self, images, training=False):
        """Quantized latents `(B, h, w, latent_channels)` of images.

        Inside compiled code the latents of an image with NaN/inf pixels
        or values outside `[-1, 1]` are NaN (outside, a `ValueError`).
        """
        self._check_images(images)
        latents = self.quant_conv(self.encoder(images, training=training))
        quantized = self.quantizer(latents, training=training)["quantized"]
        _, valid = input_contract.image_flags(images)
        return input_contract.mark_invalid(quantized, valid, float("nan"))

    def encode_to_indices(self, images):
        """Code indices `(B, h, w, index_depth)` int32 of images.

        Called eagerly, this runs a function compiled once per input
        signature (`tf.function` / `jax.jit`) with the cached inference
        codebook (`inference_codebooks()`). Inside a traced function, or
        with `tokenizer.run_eagerly = True` (for debugging), it runs op by
        op. Inside compiled code the indices of an image with NaN/inf
        pixels or values outside `[-1, 1]` are all `-1` (outside, a
        `ValueError`).
        """
        self._check_images(images)
        return self._inference_call("_encode_to_indices", images)

    def decode(self, quantized, training=False):
        """Images from quantized latents."""
        return self.decoder(self.post_quant_conv(quantized), training=training)

    def decode_from_indices(self, indices):
        """Images from code indices `(B, h, w, index_depth)`.

        Compiled and cached like `encode_to_indices`. Indices outside
        their slot's range raise a `ValueError`; inside compiled code,
        where nothing can raise, the images of such items are NaN (the
        lookup never wraps around).
        """
        self._check_indices(indices)
        return self._inference_call("_decode_from_indices", indices)

    # === Fast inference: compiled calls, cached codebook ===

    def inference_codebooks(self):
        """The quantizer's inference codebooks, or `None` if it has none.

        For VQCT, the GCN output, computed once per change of the
        transfer network's weights (see
        `PartOfSpeechQuantizer.inference_codebooks`). Training never uses
        it: there the codebook is recomputed, with dropout, at every step.
        """
        return self.quantizer.inference_codebooks()

    def predict(self, x, *args, **kwargs):
        with self._cached_codebooks():
            return super().predict(x, *args, **kwargs)

    def predict_on_batch(self, x):
        with self._cached_codebooks():
            return super().predict_on_batch(x)

    @contextlib.contextmanager
    def _cached_codebooks(self):
        """Inference calls traced inside use the cached codebooks.

        The cached tensors become constants of what is traced (the
        predict function, an exported endpoint); the predict function is
        traced again whenever the cache holds a new value.
        """
        state = self._inference_state
        codebooks = self.inference_codebooks()
        if codebooks is not None and codebooks is not state.traced_with:
            self.predict_function = None
            state.traced_with = codebooks
        previous, state.codebooks = state.codebooks, codebooks
        try:
            yield codebooks
        finally:
            state.codebooks = previous

    def _inference_call(self, method_name, inputs):
        from vqct_keras.trainers import backend_steps

        method = getattr(self, method_name)
        if backend_steps.is_traced(inputs):
            return method(inputs, self._inference_state.codebooks)
        codebooks = self.inference_codebooks()
        inputs = ops.convert_to_tensor(inputs)
        if self.run_eagerly:
            return method(inputs, codebooks)
        return backend_steps.compiled_call(self, method_name, inputs, codebooks)

    def _encode_to_indices(self, images, codebooks=None):
        latents = self.quant_conv(self.encoder(images, training=False))
        indices = self._quantize(latents, False, codebooks)["indices"]
        _, valid = input_contract.image_flags(images)
        return input_contract.mark_invalid(indices, valid, -1)

    def _decode_from_indices(self, indices, codebooks=None):
        ranges = self.quantizer.index_ranges
        valid = input_contract.index_flags(indices, ranges)
        indices = input_contract.clip_indices(indices, ranges)
        if codebooks is None:
            codes = self.quantizer.indices_to_codes(indices)
        else:
            codes = self.quantizer.indices_to_codes(indices, codebooks)
        images = self.decode(ops.cast(codes, self.compute_dtype))
        return input_contract.mark_invalid(images, valid, float("nan"))

    def _quantize(self, latents, training, codebooks):
        if codebooks is None:
            return self.quantizer(latents, training=training)
        return self.quantizer(latents, training=training, codebooks=codebooks)

    # === Words ===

    @property
    def vocabulary(self):
        """The codes' `CodeVocabulary` (adjective and noun words, prior
        provenance), or `None` when the tokenizer has no words (the VQGAN
        baseline, or a file saved without them)."""
        return self.quantizer.vocabulary

    @property
    def words_available(self):
        """Whether `indices_to_words` can name the codes."""
        return self.vocabulary is not None

    def indices_to_words(self, indices):
        """Per position `"adj_1 adj_2 noun"`: a str array `(B, h, w)`.

        Args:
            indices: int `(B, h, w, index_depth)`, as `encode_to_indices`
                returns them (any `top_k`).

        Raises:
            WordsUnavailableError: the quantizer has no words (the VQGAN
                baseline `VectorQuantizer`, or a tokenizer saved without
                them; the message says how to attach them).

        Example:

        >>> import numpy as np
        >>> from vqct_keras.layers.part_of_speech_quantizer import (
        ...     PartOfSpeechQuantizer)
        >>> from vqct_keras.prior.codebook_prior import CodebookPrior
        >>> prior = CodebookPrior(["red", "big"], ["dog", "car", "sky"],
        ...                       np.random.rand(5, 6), edges=[[0, 2]])
        >>> tokenizer = VQCTTokenizer(
        ...     PartOfSpeechQuantizer.from_prior(prior, embed_dim=4),
        ...     resolution=8, ch=16, ch_mult=(1, 2), num_res_blocks=1,
        ...     attn_resolutions=(), z_channels=8, num_groups=8)
        >>> tokenizer.indices_to_words(np.array([[[[0, 1, 2]]]])).tolist()
        [[['red big sky']]]
        """
        return self.quantizer.indices_to_words(indices)

    # === Input checks ===

    def _check_images(self, images):
        input_contract.check_image_shape(
            images, self.in_channels, self.downsampling_factor
        )
        input_contract.check_image_values(images)

    def _check_indices(self, indices):
        input_contract.check_index_shape(indices, self.quantizer.index_depth)
        input_contract.check_index_values(indices, self.quantizer.index_ranges)

    # === Presets ===

    # Architecture presets by name, filled by `register_presets`.
    presets = {}

    @classmethod
    def from_preset(
        cls,
        preset,
        prior=None,
        quantizer="part_of_speech",
        dtype=None,
        **overrides,
    ):
        """A tokenizer with a preset architecture and a registered quantizer.

        Args:
            preset: str. A name of `VQCTTokenizer.presets`
                (`vqct_keras.models.preset_names()`).
            prior: `CodebookPrior`. Required by quantizers built from one
                (`"part_of_speech"`); the others ignore it.
            quantizer: str. A name of
                `vqct_keras.layers.quantizer_registry.quantizer_names()`.
                Defaults to `"part_of_speech"` (VQCT).
            dtype: str or `DTypePolicy` of the encoder and decoder (e.g.
                `"mixed_bfloat16"`); the quantizer always runs in float32.
            **overrides: architecture arguments that replace the preset's
                (`embed_dim`, `ch`, ...), and quantizer arguments (the
                quantizer class's `build_arguments`, e.g. `top_k`,
                `num_codes`, `seed`). Arguments that only other registered
                quantizers take are ignored, so that one set of training
                flags serves every quantizer.

        Example:

        >>> tokenizer = VQCTTokenizer.from_preset(
        ...     "vqct_tiny_32", quantizer="vector", num_codes=16)
        >>> tokenizer.quantizer.index_ranges, tokenizer.downsampling_factor
        ((16,), 4)
        """
        if preset not in cls.presets:
            raise ValueError(
                f"Unknown preset {preset!r}; choose one of "
                f"{sorted(cls.presets)}."
            )
        config = dict(cls.presets[preset]["config"])
        quantizer_cls = quantizer_registry.get_quantizer_class(quantizer)
        own = set(quantizer_cls.build_arguments)
        others = quantizer_registry.all_build_arguments() - own
        quantizer_args = {}
        for key in list(overrides):
            if key in own:
                quantizer_args[key] = overrides.pop(key)
            elif key in others:
                overrides.pop(key)
        architecture = set(inspect.signature(cls.__init__).parameters)
        architecture = (architecture - {"self", "quantizer", "kwargs"}) | {
            "embed_dim",
            *VQGANConvStack.ARCHITECTURE,
        }
        unknown = sorted(set(overrides) - architecture)
        if unknown:
            raise ValueError(
                f"Unknown argument(s) {unknown} for a {quantizer!r} tokenizer: "
                f"pass architecture arguments {sorted(architecture)} or "
                f"quantizer arguments {sorted(own)}."
            )
        config.update(overrides)
        layer = quantizer_cls.from_build_args(
            config.pop("embed_dim"),
            prior=prior,
            dtype="float32",
            name="quantizer",
            **quantizer_args,
        )
        tokenizer = cls(
            layer,
            dtype=keras.dtype_policies.get(dtype) if dtype else None,
            name="vqct_tokenizer",
            **config,
        )
        tokenizer.build()
        return tokenizer

    # === Config ===

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "quantizer": keras.saving.serialize_keras_object(self.quantizer),
            "in_channels": self.in_channels,
            "z_channels": self.z_channels,
            **self.encoder.architecture_config(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["quantizer"] = keras.saving.deserialize_keras_object(
            config["quantizer"]
        )
        return cls(**config)


def register_presets(presets, cls):
    """Make `presets` (name -> `{"metadata", "config"}`) available to
    `cls.from_preset`, as keras-hub's `register_presets`."""
    cls.presets = {**cls.presets, **presets}


register_presets(vqct_presets.backbone_presets, VQCTTokenizer)


class _InferenceState:
    """Codebooks for traced inference calls (a plain object: not saved)."""

    def __init__(self):
        self.codebooks = None
        self.traced_with = None
