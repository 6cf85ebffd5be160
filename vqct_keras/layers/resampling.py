"""Down- and up-sampling layers of the VQGAN encoder and decoder."""

import keras
from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.torch_conv2d import torch_like_conv2d


def resized_shape(input_shape, resize, channels=None):
    """`input_shape` `(B, H, W, C)` with `resize` applied to the known
    height and width, and `C` replaced by `channels` when given."""
    batch, height, width, input_channels = tuple(input_shape)
    return (
        batch,
        None if height is None else resize(height),
        None if width is None else resize(width),
        input_channels if channels is None else channels,
    )


class _Resampling2D(keras.layers.Layer):
    """Base of `Downsample2D` and `Upsample2D`: `resample`, then a 3x3 conv
    named `conv` that keeps the channel count (`CONV_ARGUMENTS` are its
    stride and padding)."""

    CONV_ARGUMENTS = {}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = None

    def build(self, input_shape):
        self.conv = torch_like_conv2d(
            input_shape[-1],
            3,
            "conv",
            self.dtype_policy,
            **self.CONV_ARGUMENTS,
        )
        self.conv.build(self.resampled_shape(input_shape))

    def call(self, inputs):
        return self.conv(self.resample(inputs))


@vqct_export("vqct_keras.layers.Downsample2D")
class Downsample2D(_Resampling2D):
    """Halve height and width: zero-pad right/bottom by 1, 3x3 conv stride 2.

    Keeps the channel count. Odd sizes are not supported by the VQGAN; the
    tokenizer checks divisibility before calling it.

    Example:

    >>> tuple(Downsample2D()(keras.ops.ones((1, 8, 8, 16))).shape)
    (1, 4, 4, 16)
    """

    CONV_ARGUMENTS = {"strides": 2, "padding": "valid"}

    def resample(self, inputs):
        return ops.pad(inputs, ((0, 0), (0, 1), (0, 1), (0, 0)))

    def resampled_shape(self, input_shape):
        return resized_shape(input_shape, lambda size: size + 1)

    def compute_output_shape(self, input_shape):
        return resized_shape(input_shape, lambda size: size // 2)


@vqct_export("vqct_keras.layers.Upsample2D")
class Upsample2D(_Resampling2D):
    """Double height and width: nearest-neighbour x2, then a 3x3 conv.

    Example:

    >>> tuple(Upsample2D()(keras.ops.ones((1, 4, 4, 16))).shape)
    (1, 8, 8, 16)
    """

    def resample(self, inputs):
        return ops.repeat(ops.repeat(inputs, 2, axis=1), 2, axis=2)

    def resampled_shape(self, input_shape):
        return self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        return resized_shape(input_shape, lambda size: size * 2)
