"""Architecture presets of the VQCT tokenizer (no weights, no hub handles)."""

import keras

from vqct_keras.layers.part_of_speech_quantizer import PartOfSpeechQuantizer
from vqct_keras.layers.vector_quantizer import VectorQuantizer
from vqct_keras.models.vqct_tokenizer import VQCTTokenizer

PRESETS = {
    # The official VQCT / taming VQGAN f16 first stage (configs/*_vqct.yaml
    # model.params.ddconfig and embed_dim; docs/method.md).
    "vqct_f16_256": {
        "resolution": 256,
        "ch": 128,
        "ch_mult": (1, 1, 2, 2, 4),
        "num_res_blocks": 2,
        "attn_resolutions": (16,),
        "z_channels": 256,
        "embed_dim": 256,
    },
    # A small f4 tokenizer for CPU tests (32 px -> 8x8 codes). 8 GroupNorm
    # groups keep 4 channels per group, as the paper preset has at its
    # first level: with 32 groups of 1 channel, GroupNorm is InstanceNorm
    # and removes each image's mean colour (docs/training.md).
    "vqct_tiny_32": {
        "resolution": 32,
        "ch": 32,
        "ch_mult": (1, 2, 2),
        "num_res_blocks": 1,
        "attn_resolutions": (8,),
        "z_channels": 32,
        "embed_dim": 32,
        "num_groups": 8,
    },
    # The demo's tokenizer: 32 px -> 16x16 codes (f2), the paper's token
    # grid on images a 2-core CPU trains in minutes (docs/training.md).
    "vqct_tiny_f2_32": {
        "resolution": 32,
        "ch": 32,
        "ch_mult": (1, 2),
        "num_res_blocks": 1,
        "attn_resolutions": (),
        "z_channels": 32,
        "embed_dim": 32,
        "num_groups": 8,
    },
}


def preset_names():
    """Names accepted by `build_tokenizer`."""
    return sorted(PRESETS)


def build_tokenizer(
    preset,
    prior=None,
    quantizer="part_of_speech",
    num_codes=1024,
    dtype=None,
    **overrides,
):
    """A `VQCTTokenizer` with a preset architecture.

    Args:
        preset: str. One of `preset_names()`.
        prior: `CodebookPrior`. Required for `quantizer="part_of_speech"`.
        quantizer: str. `"part_of_speech"` (VQCT) or `"vector"` (the VQGAN
            baseline with a learnable `num_codes` codebook).
        num_codes: int. Codebook size of the `"vector"` quantizer.
        dtype: str or `DTypePolicy` of the encoder and decoder (e.g.
            `"mixed_bfloat16"`); the quantizer always runs in float32.
        **overrides: architecture arguments that replace the preset's
            (`embed_dim`, `ch`, ...) and quantizer arguments (`transfer`,
            `top_k`, `commitment_weight`, `codebook_weight`, `dropout`,
            `seed`).

    Example:

    >>> import numpy as np
    >>> from vqct_keras.prior.codebook_prior import CodebookPrior
    >>> prior = CodebookPrior(["red", "big"], ["dog", "car"],
    ...                       np.random.rand(4, 8), edges=[[0, 2]])
    >>> tokenizer = build_tokenizer("vqct_tiny_32", prior=prior)
    >>> tokenizer.downsampling_factor
    4
    """
    if preset not in PRESETS:
        raise ValueError(
            f"Unknown preset {preset!r}; choose one of {preset_names()}."
        )
    config = dict(PRESETS[preset])
    quantizer_keys = (
        "transfer",
        "top_k",
        "commitment_weight",
        "codebook_weight",
        "dropout",
        "hidden_dim",
        "seed",
    )
    quantizer_args = {
        key: overrides.pop(key) for key in quantizer_keys if key in overrides
    }
    config.update(overrides)
    embed_dim = config.pop("embed_dim")
    if quantizer == "part_of_speech":
        if prior is None:
            raise ValueError(
                "The part-of-speech quantizer needs a codebook prior: pass "
                "`prior=CodebookPrior.load(path)` (build one with "
                "`python training/build_prior.py`)."
            )
        layer = PartOfSpeechQuantizer.from_prior(
            prior,
            embed_dim=embed_dim,
            dtype="float32",
            name="quantizer",
            **quantizer_args,
        )
    elif quantizer == "vector":
        quantizer_args.pop("transfer", None)
        quantizer_args.pop("top_k", None)
        quantizer_args.pop("dropout", None)
        quantizer_args.pop("hidden_dim", None)
        layer = VectorQuantizer(
            num_codes=num_codes,
            embed_dim=embed_dim,
            dtype="float32",
            name="quantizer",
            **quantizer_args,
        )
    else:
        raise ValueError(
            "`quantizer` must be 'part_of_speech' or 'vector'; got "
            f"{quantizer!r}."
        )
    tokenizer = VQCTTokenizer(
        layer,
        dtype=keras.dtype_policies.get(dtype) if dtype else None,
        name="vqct_tokenizer",
        **config,
    )
    tokenizer.build()
    return tokenizer
