"""The VQGAN residual block."""

import keras
from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.torch_conv2d import torch_like_conv2d


def group_norm(groups, epsilon, dtype, name):
    """The `GroupNormalization` of the VQGAN blocks (taming's
    `Normalize`)."""
    return keras.layers.GroupNormalization(
        groups=groups, epsilon=epsilon, dtype=dtype, name=name
    )


@vqct_export("vqct_keras.layers.ResNetBlock")
class ResNetBlock(keras.layers.Layer):
    """Residual block: (GroupNorm, swish, 3x3 conv) twice, plus a shortcut.

    The shortcut is the identity when the channel count does not change and a
    1x1 convolution otherwise, as in taming-transformers' `ResnetBlock`
    (without a timestep embedding). Channels-last.

    Args:
        filters: int. Output channels.
        num_groups: int. Groups of the GroupNormalization layers. Defaults
            to `32`.
        dropout: float. Dropout rate before the second convolution.
            Defaults to `0.0`.
        epsilon: float. GroupNormalization epsilon. Defaults to `1e-6`.

    Example:

    >>> block = ResNetBlock(filters=64)
    >>> tuple(block(keras.ops.ones((2, 8, 8, 32))).shape)
    (2, 8, 8, 64)
    """

    def __init__(
        self, filters, num_groups=32, dropout=0.0, epsilon=1e-6, **kwargs
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.num_groups = num_groups
        self.dropout = dropout
        self.epsilon = epsilon

        self.norm_1 = group_norm(
            num_groups, epsilon, self.dtype_policy, "norm_1"
        )
        self.conv_1 = torch_like_conv2d(filters, 3, "conv_1", self.dtype_policy)
        self.norm_2 = group_norm(
            num_groups, epsilon, self.dtype_policy, "norm_2"
        )
        self.dropout_layer = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="dropout"
        )
        self.conv_2 = torch_like_conv2d(filters, 3, "conv_2", self.dtype_policy)
        self.shortcut = None

    def build(self, input_shape):
        input_channels = input_shape[-1]
        output_shape = tuple(input_shape[:-1]) + (self.filters,)
        self.norm_1.build(input_shape)
        self.conv_1.build(input_shape)
        self.norm_2.build(output_shape)
        self.conv_2.build(output_shape)
        if input_channels != self.filters:
            self.shortcut = torch_like_conv2d(
                self.filters, 1, "shortcut", self.dtype_policy
            )
            self.shortcut.build(input_shape)

    def call(self, inputs, training=None):
        x = self.conv_1(ops.silu(self.norm_1(inputs)))
        x = ops.silu(self.norm_2(x))
        x = self.conv_2(self.dropout_layer(x, training=training))
        shortcut = inputs if self.shortcut is None else self.shortcut(inputs)
        return shortcut + x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "num_groups": self.num_groups,
                "dropout": self.dropout,
                "epsilon": self.epsilon,
            }
        )
        return config
