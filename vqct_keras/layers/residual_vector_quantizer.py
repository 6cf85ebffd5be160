"""A residual vector quantizer: each stage codes what the last one left."""

import keras
from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.quantizer import Quantizer
from vqct_keras.layers.quantizer_ops import quantizer_outputs
from vqct_keras.layers.quantizer_ops import squared_distances
from vqct_keras.layers.quantizer_ops import usage_fraction


@vqct_export("vqct_keras.layers.ResidualVectorQuantizer")
class ResidualVectorQuantizer(Quantizer):
    """Quantize a latent in `num_stages` steps with learnable codebooks.

    Stage 1 picks the code nearest to the latent (squared L2, float32);
    each later stage picks, from its own codebook, the code nearest to the
    residual the stages before it left. The quantized latent is the sum of
    the picked codes, passed on by a straight-through estimator. The loss
    is the VQGAN one on that sum: `commitment_weight * mean((sg[q] - z)^2)
    + codebook_weight * mean((q - sg[z])^2)`. Codebooks are initialised
    `U(-1/K, 1/K)`, as `VectorQuantizer`'s.

    Index layout: per position `[stage_1, ..., stage_n]`, `num_stages`
    int32 values in `[0, num_codes)`, one per stage's codebook.

    This layer is the worked example of docs/quantizers.md: one file and
    one line in `quantizer_registry.py` make it `quantizer=
    "residual_vector"` of `build_tokenizer` and `training/train.py`.

    Args:
        num_codes: int. Codes in each stage's codebook. Defaults to `1024`.
        embed_dim: int. Code dimension (latent channels). Defaults to
            `256`.
        num_stages: int. Quantization stages. Defaults to `2`.
        commitment_weight: float. Defaults to `1.0`.
        codebook_weight: float. Defaults to `0.25`.
        seed: int. Initialiser seed. Defaults to `None`.

    Call arguments:
        latents: `(B, H, W, embed_dim)` tensor.

    Returns:
        A dict: `quantized`, `indices` `(B, H, W, num_stages)` int32,
        `commitment_loss`, `codebook_loss`, `vq_loss`, and per stage
        `stage_<s>_usage`.

    Example:

    >>> quantizer = ResidualVectorQuantizer(num_codes=16, embed_dim=4)
    >>> out = quantizer(keras.ops.ones((1, 2, 2, 4)))
    >>> tuple(out["indices"].shape)
    (1, 2, 2, 2)
    >>> quantizer.usage_names
    ('stage_1_usage', 'stage_2_usage')

    References:
        Zeghidour et al., SoundStream (arXiv:2107.03312), §3.3.
    """

    def __init__(
        self,
        num_codes=1024,
        embed_dim=256,
        num_stages=2,
        commitment_weight=1.0,
        codebook_weight=0.25,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(num_stages) < 1:
            raise ValueError(f"`num_stages` must be >= 1; got {num_stages}.")
        self.num_codes = int(num_codes)
        self.embed_dim = int(embed_dim)
        self.num_stages = int(num_stages)
        self.commitment_weight = commitment_weight
        self.codebook_weight = codebook_weight
        self.seed = seed

    # === Quantizer contract ===

    build_arguments = (
        "num_codes",
        "num_stages",
        "commitment_weight",
        "codebook_weight",
        "seed",
    )
    index_summary = "[stage_1 .. stage_n] per position"
    index_description = (
        "Per position one index per stage: stage_1 into the first "
        "codebook, each later stage into its own codebook (it codes the "
        "residual of the stages before)."
    )

    @property
    def codebook_names(self):
        return tuple(f"stage_{s + 1}" for s in range(self.num_stages))

    @property
    def usage_names(self):
        return tuple(f"{name}_usage" for name in self.codebook_names)

    index_slots = codebook_names
    latent_channels = property(lambda self: self.embed_dim)
    codebook_sizes = property(lambda self: (self.num_codes,) * self.num_stages)
    slot_codebooks = property(lambda self: tuple(range(self.num_stages)))

    # === Layer ===

    def build(self, input_shape=None):
        if self.built:  # e.g. deserialized, then built by the tokenizer
            return
        self.check_latent_channels(input_shape)
        bound = 1.0 / self.num_codes
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.num_stages, self.num_codes, self.embed_dim),
            initializer=keras.initializers.RandomUniform(
                -bound, bound, seed=self.seed
            ),
        )

    def codebooks(self, training=False):
        """One `(num_codes, embed_dim)` float32 table per stage."""
        codes = ops.cast(self.embeddings, "float32")
        return tuple(codes[stage] for stage in range(self.num_stages))

    def call(self, latents, training=None):
        spatial = tuple(ops.shape(latents)[:-1])
        residual = ops.reshape(
            ops.cast(latents, "float32"), (-1, self.embed_dim)
        )
        quantized = ops.zeros_like(residual)
        indices = []
        for codes in self.codebooks():
            stage_indices = ops.cast(
                ops.argmin(squared_distances(residual, codes), axis=-1),
                "int32",
            )
            picked = ops.take(codes, stage_indices, axis=0)
            quantized = quantized + picked
            residual = residual - picked
            indices.append(stage_indices)
        quantized = ops.reshape(quantized, ops.shape(latents))
        indices = ops.stack(indices, axis=-1)
        outputs = quantizer_outputs(
            latents,
            quantized,
            ops.reshape(indices, spatial + (self.num_stages,)),
            self.commitment_weight,
            self.codebook_weight,
        )
        for stage, name in enumerate(self.usage_names):
            outputs[name] = usage_fraction(indices[:, stage], self.num_codes)
        return outputs

    def indices_to_codes(self, indices, codebooks=None):
        """Latents `(..., embed_dim)` from indices `(..., num_stages)`: the
        sum of each stage's code."""
        codebooks = codebooks or self.codebooks()
        indices = ops.cast(indices, "int32")
        codes = 0.0
        for stage, table in enumerate(codebooks):
            codes = codes + ops.take(table, indices[..., stage], axis=0)
        return codes

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_codes": self.num_codes,
                "embed_dim": self.embed_dim,
                "num_stages": self.num_stages,
                "commitment_weight": self.commitment_weight,
                "codebook_weight": self.codebook_weight,
                "seed": self.seed,
            }
        )
        return config
