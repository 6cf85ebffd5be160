import numpy as np
import pytest

from tests.builders import run_python
from vqct_keras.models.vqct_presets import build_tokenizer
from vqct_keras.models.vqct_presets import preset_names
from vqct_keras.prior.codebook_prior import CodebookPrior


def prior():
    return CodebookPrior(
        ["red", "big", "soft"], ["dog", "car"], np.ones((5, 8)), [[0, 3]]
    )


def test_paper_preset_is_the_f16_vqgan():
    tokenizer = build_tokenizer("vqct_f16_256", prior=prior())
    assert tokenizer.downsampling_factor == 16
    assert tokenizer.quantizer.embed_dim == 256
    assert tokenizer.quantizer.top_k == 2
    assert tokenizer.quant_conv.filters == 512
    # Encoder 29,298,176 + decoder 42,449,795 (taming f16) + 1x1 convs.
    assert tokenizer.encoder.count_params() == 29_298_176
    assert tokenizer.decoder.count_params() == 42_449_795


def test_tiny_preset_runs_and_overrides_apply():
    tokenizer = build_tokenizer(
        "vqct_tiny_32",
        prior=prior(),
        top_k=1,
        transfer="mlp",
        ch=16,
        num_groups=16,
    )
    assert tokenizer.quantizer.top_k == 1
    assert tokenizer.quantizer.transfer == "mlp"
    assert tokenizer.ch == 16
    out = tokenizer(np.zeros((1, 32, 32, 3), "float32"))
    assert tuple(out["indices"].shape) == (1, 8, 8, 2)


def test_vector_baseline_and_errors():
    tokenizer = build_tokenizer(
        "vqct_tiny_32", quantizer="vector", num_codes=64
    )
    assert tokenizer.quantizer.num_codes == 64
    assert "vqct_tiny_32" in preset_names()
    with pytest.raises(ValueError, match="needs a codebook prior"):
        build_tokenizer("vqct_tiny_32")
    with pytest.raises(ValueError, match="Unknown preset"):
        build_tokenizer("vqct_huge")


@pytest.mark.parametrize("preset", ["vqct_tiny_32", "vqct_tiny_f2_32"])
def test_small_presets_keep_channels_per_group(preset):
    # One channel per group would make GroupNorm an InstanceNorm, which
    # removes each image's mean colour (docs/training.md).
    tokenizer = build_tokenizer(preset, prior=prior())
    assert tokenizer.ch // tokenizer.num_groups >= 4


def test_demo_preset_gives_the_paper_token_grid():
    tokenizer = build_tokenizer("vqct_tiny_f2_32", prior=prior())
    assert tokenizer.downsampling_factor == 2
    out = tokenizer(np.zeros((1, 32, 32, 3), "float32"))
    assert tuple(out["indices"].shape) == (1, 16, 16, 3)
    assert tuple(out["reconstruction"].shape) == (1, 32, 32, 3)


def test_from_preset_is_build_tokenizer():
    from vqct_keras.models.vqct_tokenizer import VQCTTokenizer

    assert sorted(VQCTTokenizer.presets) == preset_names()
    for preset in VQCTTokenizer.presets.values():
        assert preset["metadata"]["description"]
    built = build_tokenizer("vqct_tiny_32", prior=prior(), seed=0)
    loaded = VQCTTokenizer.from_preset("vqct_tiny_32", prior=prior(), seed=0)
    assert loaded.get_config() == built.get_config()
    vector = VQCTTokenizer.from_preset(
        "vqct_tiny_32", quantizer="vector", num_codes=16, top_k=1, ch=16
    )
    # `top_k` is a part-of-speech argument: the vector quantizer ignores it.
    assert vector.quantizer.num_codes == 16 and vector.ch == 16
    with pytest.raises(ValueError, match="Unknown quantizer"):
        VQCTTokenizer.from_preset("vqct_tiny_32", quantizer="nope")
    with pytest.raises(ValueError, match="architecture arguments"):
        VQCTTokenizer.from_preset("vqct_tiny_32", prior=prior(), no_such=1)


def test_preset_data_loads_without_keras():
    probe = (
        "import sys; from training import keras_free; "
        "print(keras_free.preset_config('vqct_f16_256')['ch_mult'], "
        "'keras' in sys.modules)"
    )
    result = run_python(probe)
    assert result.stdout.split() == ["(1,", "1,", "2,", "2,", "4)", "False"]
