"""The VQGAN (taming-transformers) convolutional decoder."""

import keras
from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.attention_block import AttentionBlock2D
from vqct_keras.layers.initializers import torch_like_conv2d
from vqct_keras.layers.resampling import Upsample2D
from vqct_keras.layers.resnet_block import ResNetBlock


@vqct_export("vqct_keras.models.VQGANDecoder")
class VQGANDecoder(keras.layers.Layer):
    """Latents `(B, h, w, z_channels)` to images `(B, h*f, w*f, out_channels)`.

    Mirror of `VQGANEncoder`: a 3x3 conv to `ch * ch_mult[-1]` channels, a
    middle block (residual, attention, residual), then levels from the
    deepest up, each with `num_res_blocks + 1` residual blocks (attention
    after each at the resolutions in `attn_resolutions`) and an upsampling
    (except the shallowest level); GroupNorm, swish, and a 3x3 conv to
    `out_channels`. No output activation.

    Args:
        ch: int. Base channels. Defaults to `128`.
        ch_mult: tuple of int. Channel multiplier per level. Defaults to
            `(1, 1, 2, 2, 4)`.
        num_res_blocks: int. The decoder uses one more per level. Defaults
            to `2`.
        attn_resolutions: tuple of int. Defaults to `(16,)`.
        out_channels: int. Output channels. Defaults to `3`.
        resolution: int. Nominal output resolution. Defaults to `256`.
        num_groups: int. GroupNorm groups. Defaults to `32`.
        dropout: float. Defaults to `0.0`.

    Example:

    >>> decoder = VQGANDecoder(ch=32, ch_mult=(1, 2), num_res_blocks=1,
    ...                        attn_resolutions=(8,), resolution=16)
    >>> decoder(keras.ops.ones((1, 8, 8, 16))).shape
    (1, 16, 16, 3)
    """

    def __init__(
        self,
        ch=128,
        ch_mult=(1, 1, 2, 2, 4),
        num_res_blocks=2,
        attn_resolutions=(16,),
        out_channels=3,
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
        self.out_channels = out_channels
        self.resolution = resolution
        self.num_groups = num_groups
        self.dropout = dropout

        dtype = self.dtype_policy
        top_channels = ch * self.ch_mult[-1]
        current_resolution = resolution // 2 ** (len(self.ch_mult) - 1)
        self.conv_in = torch_like_conv2d(top_channels, 3, "conv_in", dtype)
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
        self.up_blocks = []
        for level in reversed(range(len(self.ch_mult))):
            for block in range(num_res_blocks + 1):
                self.up_blocks.append(
                    ResNetBlock(
                        ch * self.ch_mult[level],
                        num_groups=num_groups,
                        dropout=dropout,
                        dtype=dtype,
                        name=f"up_{level}_block_{block}",
                    )
                )
                if current_resolution in self.attn_resolutions:
                    self.up_blocks.append(
                        AttentionBlock2D(
                            num_groups=num_groups,
                            dtype=dtype,
                            name=f"up_{level}_attention_{block}",
                        )
                    )
            if level != 0:
                self.up_blocks.append(
                    Upsample2D(dtype=dtype, name=f"up_{level}_upsample")
                )
                current_resolution *= 2
        self.norm_out = keras.layers.GroupNormalization(
            groups=num_groups, epsilon=1e-6, dtype=dtype, name="norm_out"
        )
        self.conv_out = torch_like_conv2d(out_channels, 3, "conv_out", dtype)

    @property
    def upsampling_factor(self):
        return 2 ** (len(self.ch_mult) - 1)

    @property
    def last_layer_kernel(self):
        """Kernel of the final conv (the adaptive GAN weight's reference)."""
        return self.conv_out.kernel

    def build(self, input_shape):
        shape = tuple(input_shape)
        self.conv_in.build(shape)
        shape = self.conv_in.compute_output_shape(shape)
        for layer in self.mid_blocks + self.up_blocks:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.norm_out.build(shape)
        self.conv_out.build(shape)

    def call(self, latents, training=None):
        x = self.conv_in(latents)
        for layer in self.mid_blocks + self.up_blocks:
            if isinstance(layer, ResNetBlock):
                x = layer(x, training=training)
            else:
                x = layer(x)
        return self.conv_out(ops.silu(self.norm_out(x)))

    def compute_output_shape(self, input_shape):
        factor = self.upsampling_factor
        height, width = input_shape[1], input_shape[2]
        return (
            input_shape[0],
            None if height is None else height * factor,
            None if width is None else width * factor,
            self.out_channels,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "ch": self.ch,
                "ch_mult": list(self.ch_mult),
                "num_res_blocks": self.num_res_blocks,
                "attn_resolutions": list(self.attn_resolutions),
                "out_channels": self.out_channels,
                "resolution": self.resolution,
                "num_groups": self.num_groups,
                "dropout": self.dropout,
            }
        )
        return config
