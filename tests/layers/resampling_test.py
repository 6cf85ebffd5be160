import keras
import numpy as np

from tests.test_case import run_layer_test
from vqct_keras.layers.resampling import Downsample2D
from vqct_keras.layers.resampling import Upsample2D


def one_tap_output(layer_cls, x, expected_shape, tap):
    """Checks the layer, then gives its output with a 3x3 conv that copies
    each input pixel from kernel position `tap` (and no bias)."""
    layer, _ = run_layer_test(
        layer_cls, {}, x, expected_shape, expected_num_trainable_weights=2
    )
    channels = x.shape[-1]
    kernel = np.zeros((3, 3, channels, channels), "float32")
    kernel[tap] = np.eye(channels)
    layer.conv.kernel.assign(kernel)
    layer.conv.bias.assign(np.zeros(channels))
    return keras.ops.convert_to_numpy(layer(x))


def test_downsample_shapes_and_right_bottom_padding():
    x = np.random.rand(2, 8, 8, 4).astype("float32")
    # Padding is on the right/bottom only: the output at (0, 0) sees the
    # input rows/cols 0..2 and nothing padded above or to the left.
    output = one_tap_output(Downsample2D, x, (2, 4, 4, 4), tap=(0, 0))
    np.testing.assert_allclose(output[:, 0, 0], x[:, 0, 0], atol=1e-6)
    np.testing.assert_allclose(output[:, 3, 3], x[:, 6, 6], atol=1e-6)


def test_upsample_is_nearest_then_conv():
    x = np.random.rand(1, 3, 3, 2).astype("float32")
    output = one_tap_output(Upsample2D, x, (1, 6, 6, 2), tap=(1, 1))
    np.testing.assert_allclose(
        output, x.repeat(2, axis=1).repeat(2, axis=2), atol=1e-6
    )
