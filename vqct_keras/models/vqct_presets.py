"""Architecture presets of the VQCT tokenizer, as data (no weights, no hub
handles), in keras-hub's `backbone_presets` shape.

This module imports nothing (no Keras): tools read the architectures
without starting a backend (`benchmarks/throughput.py`). The presets are
registered for `VQCTTokenizer.from_preset` in `vqct_tokenizer.py`.
"""

backbone_presets = {
    "vqct_f16_256": {
        "metadata": {
            "description": (
                "The official VQCT / taming VQGAN f16 first stage at 256 px "
                "(configs/*_vqct.yaml model.params.ddconfig and embed_dim; "
                "docs/method.md)."
            ),
            "path": "vqct",
        },
        "config": {
            "resolution": 256,
            "ch": 128,
            "ch_mult": (1, 1, 2, 2, 4),
            "num_res_blocks": 2,
            "attn_resolutions": (16,),
            "z_channels": 256,
            "embed_dim": 256,
        },
    },
    "vqct_tiny_32": {
        "metadata": {
            # 8 GroupNorm groups keep 4 channels per group, as the paper
            # preset has at its first level: with 32 groups of 1 channel,
            # GroupNorm is InstanceNorm and removes each image's mean
            # colour (docs/training.md).
            "description": (
                "A small f4 tokenizer for CPU tests (32 px -> 8x8 codes)."
            ),
            "path": "vqct",
        },
        "config": {
            "resolution": 32,
            "ch": 32,
            "ch_mult": (1, 2, 2),
            "num_res_blocks": 1,
            "attn_resolutions": (8,),
            "z_channels": 32,
            "embed_dim": 32,
            "num_groups": 8,
        },
    },
    "vqct_tiny_f2_32": {
        "metadata": {
            "description": (
                "The demo's tokenizer: 32 px -> 16x16 codes (f2), the "
                "paper's token grid on images a 2-core CPU trains in "
                "minutes (docs/training.md)."
            ),
            "path": "vqct",
        },
        "config": {
            "resolution": 32,
            "ch": 32,
            "ch_mult": (1, 2),
            "num_res_blocks": 1,
            "attn_resolutions": (),
            "z_channels": 32,
            "embed_dim": 32,
            "num_groups": 8,
        },
    },
}

# The architecture of each preset: `VQCTTokenizer` arguments plus the
# quantizer's `embed_dim`.
PRESETS = {name: preset["config"] for name, preset in backbone_presets.items()}


def preset_names():
    """Names accepted by `VQCTTokenizer.from_preset` and `build_tokenizer`."""
    return sorted(backbone_presets)


def preset_config(name):
    """A copy of the architecture of preset `name`.

    Example:

    >>> preset_config("vqct_tiny_32")["ch_mult"]
    (1, 2, 2)
    """
    if name not in backbone_presets:
        raise ValueError(
            f"Unknown preset {name!r}; choose one of {preset_names()}."
        )
    return dict(backbone_presets[name]["config"])


def build_tokenizer(
    preset,
    prior=None,
    quantizer="part_of_speech",
    num_codes=1024,
    dtype=None,
    **overrides,
):
    """A `VQCTTokenizer` with a preset architecture (kept for existing
    code: `VQCTTokenizer.from_preset` with `num_codes` passed on).

    Args:
        preset: str. One of `preset_names()`.
        prior: `CodebookPrior`. Required for `quantizer="part_of_speech"`.
        quantizer: str. A name of
            `vqct_keras.layers.quantizer_registry.quantizer_names()`:
            `"part_of_speech"` (VQCT), `"vector"` (the VQGAN baseline with
            a learnable `num_codes` codebook), `"residual_vector"`.
        num_codes: int. Codebook size of the quantizers that take one.
        dtype: str or `DTypePolicy` of the encoder and decoder (e.g.
            `"mixed_bfloat16"`); the quantizer always runs in float32.
        **overrides: architecture arguments that replace the preset's
            (`embed_dim`, `ch`, ...) and quantizer arguments (`transfer`,
            `top_k`, `commitment_weight`, `codebook_weight`, `dropout`,
            `seed`, ...), see `VQCTTokenizer.from_preset`.

    Example:

    >>> import numpy as np
    >>> from vqct_keras.prior.codebook_prior import CodebookPrior
    >>> prior = CodebookPrior(["red", "big"], ["dog", "car"],
    ...                       np.random.rand(4, 8), edges=[[0, 2]])
    >>> tokenizer = build_tokenizer("vqct_tiny_32", prior=prior)
    >>> tokenizer.downsampling_factor
    4
    """
    from vqct_keras.models.vqct_tokenizer import VQCTTokenizer

    return VQCTTokenizer.from_preset(
        preset,
        prior=prior,
        quantizer=quantizer,
        dtype=dtype,
        num_codes=num_codes,
        **overrides,
    )
