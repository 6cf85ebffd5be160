"""Single-head spatial self-attention, as in the VQGAN."""

import math

import keras
from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.resnet_block import group_norm
from vqct_keras.layers.torch_conv2d import torch_like_conv2d


@vqct_export("vqct_keras.layers.AttentionBlock2D")
class AttentionBlock2D(keras.layers.Layer):
    """Residual single-head self-attention over all spatial positions.

    GroupNorm, then 1x1 projections to queries, keys and values; softmax of
    `q k^T / sqrt(C)` over the `H*W` positions (computed in float32 under
    mixed precision); a 1x1 output projection; added to the input.

    Args:
        num_groups: int. Groups of the GroupNormalization. Defaults to `32`.
        epsilon: float. GroupNormalization epsilon. Defaults to `1e-6`.

    Example:

    >>> block = AttentionBlock2D()
    >>> tuple(block(keras.ops.ones((2, 4, 4, 64))).shape)
    (2, 4, 4, 64)
    """

    def __init__(self, num_groups=32, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.num_groups = num_groups
        self.epsilon = epsilon
        self.norm = group_norm(num_groups, epsilon, self.dtype_policy, "norm")
        self.query = None
        self.key = None
        self.value = None
        self.output_projection = None

    def build(self, input_shape):
        channels = input_shape[-1]
        self.norm.build(input_shape)
        for name in ("query", "key", "value", "output_projection"):
            layer = torch_like_conv2d(channels, 1, name, self.dtype_policy)
            layer.build(input_shape)
            setattr(self, name, layer)

    def call(self, inputs):
        x = self.norm(inputs)
        query = self.query(x)
        key = self.key(x)
        value = self.value(x)
        shape = ops.shape(inputs)
        batch, height, width = shape[0], shape[1], shape[2]
        channels = inputs.shape[-1]
        query = ops.reshape(query, (batch, height * width, channels))
        key = ops.reshape(key, (batch, height * width, channels))
        value = ops.reshape(value, (batch, height * width, channels))
        scores = ops.matmul(
            ops.cast(query, "float32"),
            ops.transpose(ops.cast(key, "float32"), (0, 2, 1)),
        ) / math.sqrt(channels)
        weights = ops.cast(ops.softmax(scores, axis=-1), value.dtype)
        attended = ops.matmul(weights, value)
        attended = ops.reshape(attended, (batch, height, width, channels))
        return inputs + self.output_projection(attended)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"num_groups": self.num_groups, "epsilon": self.epsilon})
        return config
