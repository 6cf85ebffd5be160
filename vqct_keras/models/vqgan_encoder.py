"""The VQGAN (taming-transformers) convolutional encoder."""

import keras
from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.attention_block import AttentionBlock2D
from vqct_keras.layers.initializers import torch_like_conv2d
from vqct_keras.layers.resampling import Downsample2D
from vqct_keras.layers.resnet_block import ResNetBlock


@vqct_export("vqct_keras.models.VQGANEncoder")
class VQGANEncoder(keras.layers.Layer):
    """Images `(B, H, W, C)` to latents `(B, H/f, W/f, z_channels)`.

    `f = 2 ** (len(ch_mult) - 1)`. Level `i` has `num_res_blocks` residual
    blocks of `ch * ch_mult[i]` channels, each followed by attention when
    the level's resolution (relative to `resolution`) is in
    `attn_resolutions`, then a downsampling (except the last level); a
    middle block (residual, attention, residual); GroupNorm, swish, and a
    3x3 conv to `z_channels`.

    Args:
        ch: int. Base channels. Defaults to `128`.
        ch_mult: tuple of int. Channel multiplier per level. Defaults to
            `(1, 1, 2, 2, 4)`.
        num_res_blocks: int. Residual blocks per level. Defaults to `2`.
        attn_resolutions: tuple of int. Resolutions with attention.
            Defaults to `(16,)`.
        z_channels: int. Output channels. Defaults to `256`.
        resolution: int. Nominal input resolution (selects the attention
            levels). Defaults to `256`.
        num_groups: int. GroupNorm groups. Defaults to `32`.
        dropout: float. Dropout in the residual blocks. Defaults to `0.0`.

    Example:

    >>> encoder = VQGANEncoder(ch=32, ch_mult=(1, 2), num_res_blocks=1,
    ...                        attn_resolutions=(8,), z_channels=16,
    ...                        resolution=16)
    >>> encoder(keras.ops.ones((1, 16, 16, 3))).shape
    (1, 8, 8, 16)
    """

    def __init__(
        self,
        ch=128,
        ch_mult=(1, 1, 2, 2, 4),
        num_res_blocks=2,
        attn_resolutions=(16,),
        z_channels=256,
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
        self.z_channels = z_channels
        self.resolution = resolution
        self.num_groups = num_groups
        self.dropout = dropout

        dtype = self.dtype_policy
        self.conv_in = torch_like_conv2d(ch, 3, "conv_in", dtype)
        self.down_blocks = []
        current_resolution = resolution
        for level, multiplier in enumerate(self.ch_mult):
            for block in range(num_res_blocks):
                self.down_blocks.append(
                    ResNetBlock(
                        ch * multiplier,
                        num_groups=num_groups,
                        dropout=dropout,
                        dtype=dtype,
                        name=f"down_{level}_block_{block}",
                    )
                )
                if current_resolution in self.attn_resolutions:
                    self.down_blocks.append(
                        AttentionBlock2D(
                            num_groups=num_groups,
                            dtype=dtype,
                            name=f"down_{level}_attention_{block}",
                        )
                    )
            if level != len(self.ch_mult) - 1:
                self.down_blocks.append(
                    Downsample2D(dtype=dtype, name=f"down_{level}_downsample")
                )
                current_resolution //= 2
        top_channels = ch * self.ch_mult[-1]
        self.mid_blocks = [
            ResNetBlock(
                top_channels,
                num_groups=num_groups,
                dropout=dropout,
                dtype=dtype,
                name="mid_block_1",
            ),
            AttentionBlock2D(
                num_groups=num_groups, dtype=dtype, name="mid_attention"
            ),
            ResNetBlock(
                top_channels,
                num_groups=num_groups,
                dropout=dropout,
                dtype=dtype,
                name="mid_block_2",
            ),
        ]
        self.norm_out = keras.layers.GroupNormalization(
            groups=num_groups, epsilon=1e-6, dtype=dtype, name="norm_out"
        )
        self.conv_out = torch_like_conv2d(z_channels, 3, "conv_out", dtype)

    @property
    def downsampling_factor(self):
        return 2 ** (len(self.ch_mult) - 1)

    def build(self, input_shape):
        shape = tuple(input_shape)
        self.conv_in.build(shape)
        shape = self.conv_in.compute_output_shape(shape)
        for layer in self.down_blocks + self.mid_blocks:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.norm_out.build(shape)
        self.conv_out.build(shape)

    def call(self, images, training=None):
        x = self.conv_in(images)
        for layer in self.down_blocks + self.mid_blocks:
            if isinstance(layer, ResNetBlock):
                x = layer(x, training=training)
            else:
                x = layer(x)
        return self.conv_out(ops.silu(self.norm_out(x)))

    def compute_output_shape(self, input_shape):
        factor = self.downsampling_factor
        height, width = input_shape[1], input_shape[2]
        return (
            input_shape[0],
            None if height is None else height // factor,
            None if width is None else width // factor,
            self.z_channels,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "ch": self.ch,
                "ch_mult": list(self.ch_mult),
                "num_res_blocks": self.num_res_blocks,
                "attn_resolutions": list(self.attn_resolutions),
                "z_channels": self.z_channels,
                "resolution": self.resolution,
                "num_groups": self.num_groups,
                "dropout": self.dropout,
            }
        )
        return config
