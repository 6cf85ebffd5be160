"""The quantizer contract and registry, checked on every registered class."""

import os

import keras
import numpy as np
import pytest
from keras import ops

from tests.builders import run_help
from training import keras_free
from vqct_keras.layers import quantizer_registry
from vqct_keras.layers.quantizer import OUTPUT_KEYS
from vqct_keras.layers.quantizer import Quantizer
from vqct_keras.prior.codebook_prior import CodebookPrior

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
NAMES = quantizer_registry.quantizer_names()


def tiny_prior():
    rng = np.random.default_rng(0)
    return CodebookPrior(
        [f"adj{i}" for i in range(4)],
        [f"noun{i}" for i in range(6)],
        rng.normal(size=(10, 6)).astype("float32"),
        edges=[[0, 4], [1, 5], [2, 6]],
    )


def tiny_quantizer(name):
    cls = quantizer_registry.get_quantizer_class(name)
    args = {"num_codes": 8} if "num_codes" in cls.build_arguments else {}
    return cls.from_build_args(4, prior=tiny_prior(), seed=0, **args)


def test_names_match_the_registered_classes():
    assert keras_free.quantizer_names() == NAMES
    assert set(NAMES) >= {"part_of_speech", "vector", "residual_vector"}
    for name in NAMES:
        cls = quantizer_registry.get_quantizer_class(name)
        assert issubclass(cls, Quantizer)
        registered = keras.saving.get_registered_name(cls)
        assert registered == f"vqct_keras>{cls.__name__}"
        assert keras.saving.get_registered_object(registered) is cls
    for key in quantizer_registry.all_build_arguments():
        assert isinstance(key, str)


def test_unknown_name_says_which_exist():
    with pytest.raises(ValueError, match="residual_vector"):
        quantizer_registry.get_quantizer_class("nope")


@pytest.mark.parametrize("name", NAMES)
def test_every_quantizer_keeps_the_contract(name):
    quantizer = tiny_quantizer(name)
    channels = quantizer.latent_channels
    latents = np.random.default_rng(1).normal(size=(2, 3, 3, channels))
    out = quantizer(latents.astype("float32"), training=False)
    assert tuple(out) == quantizer.output_keys
    assert quantizer.output_keys[: len(OUTPUT_KEYS)] == OUTPUT_KEYS
    assert len(quantizer.usage_names) == len(quantizer.codebook_names)
    assert len(quantizer.codebook_sizes) == len(quantizer.codebook_names)
    assert len(quantizer.codebooks()) == len(quantizer.codebook_names)
    assert len(quantizer.codebook_channels) == len(quantizer.codebook_names)
    assert len(quantizer.index_slots) == quantizer.index_depth
    assert len(quantizer.slot_codebooks) == quantizer.index_depth
    indices = ops.convert_to_numpy(out["indices"])
    assert indices.shape == (2, 3, 3, quantizer.index_depth)
    assert (indices.min(axis=(0, 1, 2)) >= 0).all()
    assert (indices.max(axis=(0, 1, 2)) < quantizer.index_ranges).all()
    np.testing.assert_allclose(
        ops.convert_to_numpy(quantizer.indices_to_codes(out["indices"])),
        ops.convert_to_numpy(out["quantized"]),
        atol=1e-6,
    )
    spec = quantizer.compute_output_spec(keras.KerasTensor(latents.shape))
    assert tuple(spec) == quantizer.output_keys
    assert isinstance(quantizer.index_summary, str)
    assert isinstance(quantizer.index_description, str)


def test_quantizers_without_a_prior_ignore_it_and_those_with_one_need_it():
    for name in NAMES:
        cls = quantizer_registry.get_quantizer_class(name)
        if cls.uses_prior:
            with pytest.raises(ValueError, match="needs a codebook prior"):
                cls.from_build_args(4)
        else:
            assert cls.from_build_args(4, prior=tiny_prior()).built is False


def test_train_help_lists_the_quantizers_without_importing_keras():
    result = run_help("train.py", "--helpfull")
    assert f"<{'|'.join(NAMES)}>" in result.stdout, result.stderr[-3000:]
    assert "imported: False" in result.stderr
