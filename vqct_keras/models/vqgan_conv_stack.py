"""What the VQGAN encoder and decoder share: arguments, blocks, build, call."""

import keras
from keras import ops

from vqct_keras.layers.attention_block import AttentionBlock2D
from vqct_keras.layers.resnet_block import ResNetBlock
from vqct_keras.layers.resnet_block import group_norm
from vqct_keras.layers.torch_conv2d import torch_like_conv2d


class VQGANConvStack(keras.layers.Layer):
    """Base of `VQGANEncoder` and `VQGANDecoder` (not used on its own).

    A 3x3 `conv_in` to `input_conv_filters` (each subclass says how many),
    then `self.blocks` in order (residual blocks get the `training` flag),
    then GroupNorm, swish and a 3x3 `conv_out` to `output_channels`.
    Subclasses fill `self.blocks` in `__init__` with the helpers below.

    Args:
        output_channels: int. Channels of `conv_out`.
        ch, ch_mult, num_res_blocks, attn_resolutions, resolution,
            num_groups, dropout: the architecture (`ARCHITECTURE`), as
            documented in `VQGANEncoder`, with its defaults.
    """

    # The architecture arguments (and attributes) that the encoder, the
    # decoder and `VQCTTokenizer` share, in `get_config` order.
    ARCHITECTURE = (
        "ch",
        "ch_mult",
        "num_res_blocks",
        "attn_resolutions",
        "resolution",
        "num_groups",
        "dropout",
    )

    def __init__(
        self,
        output_channels,
        ch=128,
        ch_mult=(1, 1, 2, 2, 4),
        num_res_blocks=2,
        attn_resolutions=(16,),
        resolution=256,
        num_groups=32,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.ch = ch
        self.ch_mult = tuple(ch_mult)
        self.num_res_blocks = num_res_blocks
        self.attn_resolutions = tuple(attn_resolutions)
        self.resolution = resolution
        self.num_groups = num_groups
        self.dropout = dropout
        dtype = self.dtype_policy
        self.conv_in = torch_like_conv2d(
            self.input_conv_filters, 3, "conv_in", dtype
        )
        self.norm_out = group_norm(num_groups, 1e-6, dtype, "norm_out")
        self.conv_out = torch_like_conv2d(output_channels, 3, "conv_out", dtype)
        self.blocks = []

    @property
    def input_conv_filters(self):
        """Output channels of `conv_in`."""
        raise NotImplementedError

    @property
    def resampling_factor(self):
        return 2 ** (len(self.ch_mult) - 1)

    def residual_block(self, filters, name):
        return ResNetBlock(
            filters,
            num_groups=self.num_groups,
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name=name,
        )

    def attention_block(self, name):
        return AttentionBlock2D(
            num_groups=self.num_groups, dtype=self.dtype_policy, name=name
        )

    def level_blocks(self, prefix, level, count, resolution):
        """`count` residual blocks of level `level`, each followed by
        attention when `resolution` is in `attn_resolutions`; named
        `{prefix}_{level}_block_{i}` and `{prefix}_{level}_attention_{i}`."""
        channels = self.ch * self.ch_mult[level]
        blocks = []
        for block in range(count):
            blocks.append(
                self.residual_block(channels, f"{prefix}_{level}_block_{block}")
            )
            if resolution in self.attn_resolutions:
                blocks.append(
                    self.attention_block(f"{prefix}_{level}_attention_{block}")
                )
        return blocks

    def middle_blocks(self):
        """Residual, attention, residual at the deepest channel count."""
        channels = self.ch * self.ch_mult[-1]
        return [
            self.residual_block(channels, "mid_block_1"),
            self.attention_block("mid_attention"),
            self.residual_block(channels, "mid_block_2"),
        ]

    def build(self, input_shape):
        shape = tuple(input_shape)
        self.conv_in.build(shape)
        shape = self.conv_in.compute_output_shape(shape)
        for layer in self.blocks:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.norm_out.build(shape)
        self.conv_out.build(shape)

    def call(self, inputs, training=None):
        x = self.conv_in(inputs)
        for layer in self.blocks:
            if isinstance(layer, ResNetBlock):
                x = layer(x, training=training)
            else:
                x = layer(x)
        return self.conv_out(ops.silu(self.norm_out(x)))

    def architecture_config(self):
        """The `ARCHITECTURE` arguments as config values (tuples as lists)."""
        config = {}
        for name in self.ARCHITECTURE:
            value = getattr(self, name)
            config[name] = list(value) if isinstance(value, tuple) else value
        return config

    def get_config(self):
        config = super().get_config()
        config.update(self.architecture_config())
        return config
