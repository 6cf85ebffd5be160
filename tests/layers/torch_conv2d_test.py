import keras
import numpy as np
import pytest
from keras import ops

from tests.builders import tiny_tokenizer
from tests.test_case import run_layer_test
from tests.test_case import run_model_saving_test
from tests.test_case import run_serialization_test
from vqct_keras.layers.initializers import FanInUniform
from vqct_keras.layers.torch_conv2d import TorchConv2D
from vqct_keras.models.patch_discriminator import PatchDiscriminator


def test_initialisation_is_pytorch_default_measured():
    """`nn.Conv2d`: kernel and bias `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`,
    fan_in = input channels x kernel height x kernel width."""
    conv = TorchConv2D(2048, 3)
    conv.build((None, 8, 8, 16))  # fan_in = 144, bound = 1/12
    bound = 1.0 / 12.0
    assert conv.bias_initializer.fan_in == 144
    for weight in (conv.kernel, conv.bias):
        values = ops.convert_to_numpy(weight)
        assert np.abs(values).max() <= bound
        # A uniform draw fills its range: max |value| near the bound,
        # variance bound^2 / 3, mean 0 (2048 biases: 5 sigma 0.0032).
        assert np.abs(values).max() > 0.99 * bound
        np.testing.assert_allclose(values.var(), bound**2 / 3, rtol=0.1)
        assert abs(values.mean()) < 0.1 * bound


def test_layer_config_and_given_initialisers():
    x = np.random.rand(2, 4, 4, 3).astype("float32")
    layer, _ = run_layer_test(
        TorchConv2D,
        {"filters": 5, "kernel_size": 1},
        x,
        (2, 4, 4, 5),
        expected_num_trainable_weights=2,
    )
    # Built: the bias initialiser carries its fan-in through the config.
    config = layer.get_config()
    assert config["bias_initializer"]["config"] == {"fan_in": 3, "seed": None}
    assert keras.saving.get_registered_name(FanInUniform) == (
        "vqct_keras>FanInUniform"
    )
    # Unbuilt: the default is kept for build time.
    unbuilt = TorchConv2D(5, 3)
    assert unbuilt.get_config()["bias_initializer"] is None
    run_serialization_test(unbuilt)
    # Explicit initialisers are respected.
    zeros = TorchConv2D(4, 1, bias_initializer="zeros")
    zeros.build((None, 2, 2, 3))
    assert not np.any(ops.convert_to_numpy(zeros.bias))
    with pytest.raises(ValueError, match="fan_in"):
        FanInUniform(0)


def test_saved_and_reloaded():
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, TorchConv2D(6, 3, padding="same")(inputs))
    restored = run_model_saving_test(
        model, np.random.rand(1, 4, 4, 3).astype("float32")
    )
    assert type(restored.layers[-1]) is TorchConv2D


def test_every_tokenizer_conv_is_initialised_like_pytorch():
    keras.utils.set_random_seed(0)
    tokenizer = tiny_tokenizer()
    convs = [
        layer
        for layer in tokenizer._flatten_layers()
        if isinstance(layer, keras.layers.Conv2D)
    ]
    assert tokenizer.quant_conv in convs and tokenizer.post_quant_conv in convs
    for conv in convs:
        assert type(conv) is TorchConv2D, conv.path
        kernel = ops.convert_to_numpy(conv.kernel)
        fan_in = int(np.prod(kernel.shape[:-1]))
        bias = ops.convert_to_numpy(conv.bias)
        for values in (kernel, bias):
            assert np.abs(values).max() <= 1.0 / np.sqrt(fan_in), conv.path
        assert np.any(bias), conv.path  # not Keras' zero bias


def test_discriminator_initialisation_is_tamings():
    # taming's weights_init: conv kernels N(0, 0.02), biases left as
    # PyTorch's default (only the first and the last conv have one).
    keras.utils.set_random_seed(0)
    discriminator = PatchDiscriminator(ndf=8, n_layers=2)
    discriminator.build((None, 32, 32, 3))
    first, last = discriminator.conv_layers[0], discriminator.conv_layers[-1]
    assert [c.use_bias for c in discriminator.conv_layers] == [
        True,
        False,
        False,
        True,
    ]
    kernels = np.concatenate(
        [
            ops.convert_to_numpy(c.kernel).ravel()
            for c in discriminator.conv_layers
        ]
    )
    assert kernels.size == 11136
    np.testing.assert_allclose(kernels.std(), 0.02, rtol=0.03)  # 4 sigma
    bias = ops.convert_to_numpy(first.bias)  # fan_in 4 x 4 x 3
    assert 0.5 / np.sqrt(48) < np.abs(bias).max() <= 1.0 / np.sqrt(48)
    bias = ops.convert_to_numpy(last.bias)  # fan_in 4 x 4 x 32
    assert 0 < np.abs(bias).max() <= 1.0 / np.sqrt(16 * 32)
