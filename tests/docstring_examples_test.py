"""Runs the `>>>` examples in the docstrings of the model-side modules."""

import doctest
import importlib

import keras
import pytest

MODULES = [
    "vqct_keras.api_export",
    "vqct_keras.assets",
    "vqct_keras.data.batches",
    "vqct_keras.losses",
    "vqct_keras.layers.attention_block",
    "vqct_keras.layers.initializers",
    "vqct_keras.layers.part_of_speech_quantizer",
    "vqct_keras.layers.quantizer",
    "vqct_keras.layers.quantizer_registry",
    "vqct_keras.layers.residual_vector_quantizer",
    "vqct_keras.layers.resampling",
    "vqct_keras.layers.resnet_block",
    "vqct_keras.layers.torch_conv2d",
    "vqct_keras.layers.transferred_codebook",
    "vqct_keras.layers.vector_quantizer",
    "vqct_keras.models.input_contract",
    "vqct_keras.metrics.fid_reference",
    "vqct_keras.metrics.registry",
    "vqct_keras.models.loading",
    "vqct_keras.models.patch_discriminator",
    "vqct_keras.models.vqct_presets",
    "vqct_keras.models.vqct_tokenizer",
    "vqct_keras.models.vqgan_decoder",
    "vqct_keras.models.vqgan_encoder",
    "vqct_keras.normalized_adjacency",
    "vqct_keras.prior.codebook_prior",
    "vqct_keras.utils.files",
    "vqct_keras.utils.images",
    "vqct_keras.vocabulary",
    "vqct_keras.words",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(
        module,
        extraglobs={"keras": keras},
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.failed == 0, f"{result.failed} example(s) failed in {name}"
