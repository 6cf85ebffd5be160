"""A residual vector quantizer: each stage codes what the last one left."""

from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.quantizer import Quantizer
from vqct_keras.layers.vector_quantizer import VectorQuantizer


@vqct_export("vqct_keras.layers.ResidualVectorQuantizer")
class ResidualVectorQuantizer(VectorQuantizer):
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
        **kwargs: `commitment_weight`, `codebook_weight`, `seed` and the
            layer's arguments, as for `VectorQuantizer`.

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

    def __init__(self, num_codes=1024, embed_dim=256, num_stages=2, **kwargs):
        if int(num_stages) < 1:
            raise ValueError(f"`num_stages` must be >= 1; got {num_stages}.")
        super().__init__(num_codes=num_codes, embed_dim=embed_dim, **kwargs)
        self.num_stages = int(num_stages)

    # === Quantizer contract ===

    build_arguments = VectorQuantizer.build_arguments + ("num_stages",)
    config_arguments = ("embed_dim",) + build_arguments
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
    # Its codes have no words either; the base class says so.
    index_words = Quantizer.index_words
    indices_to_words = Quantizer.indices_to_words

    # === Layer ===

    @property
    def embeddings_shape(self):
        """One `(num_codes, embed_dim)` table per stage, stacked."""
        return (self.num_stages, self.num_codes, self.embed_dim)

    def codebooks(self, training=False):
        """One `(num_codes, embed_dim)` float32 table per stage."""
        codes = ops.cast(self.embeddings, "float32")
        return tuple(codes[stage] for stage in range(self.num_stages))
