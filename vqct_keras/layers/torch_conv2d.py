"""A `Conv2D` initialised as PyTorch's `nn.Conv2d`."""

import math

import keras

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.initializers import FanInUniform
from vqct_keras.layers.initializers import torch_default_kernel_initializer


@vqct_export("vqct_keras.layers.TorchConv2D")
class TorchConv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` with PyTorch's default initialisation.

    Kernel `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` (`kaiming_uniform_` with
    `a=sqrt(5)`) and bias from the same range (a `FanInUniform` with the
    kernel's fan-in, known at build time), as the official code's
    `nn.Conv2d` layers, which it never re-initialises. Either initialiser
    can be replaced through the usual `kernel_initializer` and
    `bias_initializer` arguments. Channels-last, `groups=1`.

    Args:
        filters: int. Output channels.
        kernel_size: int or tuple of 2 ints.
        kernel_initializer: Defaults to PyTorch's kernel initialisation.
        bias_initializer: Defaults to `FanInUniform(fan_in)` of the kernel.
        **kwargs: the other `keras.layers.Conv2D` arguments.

    Example:

    >>> conv = TorchConv2D(8, 3, padding="same")
    >>> conv.build((None, 4, 4, 2))
    >>> conv.bias_initializer.fan_in  # 2 channels x 3 x 3
    18
    """

    def __init__(
        self,
        filters,
        kernel_size,
        kernel_initializer=None,
        bias_initializer=None,
        **kwargs,
    ):
        self.torch_default_bias = bias_initializer is None
        super().__init__(
            filters,
            kernel_size,
            kernel_initializer=kernel_initializer
            or torch_default_kernel_initializer(),
            bias_initializer=bias_initializer or "zeros",
            **kwargs,
        )
        if self.data_format != "channels_last" or self.groups != 1:
            raise ValueError(
                "TorchConv2D supports channels_last data and groups=1 only."
            )

    def build(self, input_shape):
        if self.torch_default_bias:
            fan_in = input_shape[-1] * math.prod(self.kernel_size)
            self.bias_initializer = FanInUniform(fan_in)
        super().build(input_shape)

    def get_config(self):
        config = super().get_config()
        if self.torch_default_bias and not self.built:
            # Not built yet: the fan-in is unknown, keep the default.
            config["bias_initializer"] = None
        return config


def torch_like_conv2d(
    filters, kernel_size, name, dtype=None, strides=1, padding="same"
):
    """A `TorchConv2D` (PyTorch-default kernel and bias initialisation).

    Example:

    >>> conv = torch_like_conv2d(8, 3, name="conv")
    >>> tuple(conv(keras.ops.ones((1, 4, 4, 2))).shape)
    (1, 4, 4, 8)
    """
    return TorchConv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        dtype=dtype,
        name=name,
    )
