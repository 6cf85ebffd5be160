"""The VQGAN (taming-transformers) convolutional encoder."""

import keras  # noqa: F401 (used by the docstring example)

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.resampling import Downsample2D
from vqct_keras.layers.resampling import resized_shape
from vqct_keras.models.vqgan_conv_stack import VQGANConvStack


@vqct_export("vqct_keras.models.VQGANEncoder")
class VQGANEncoder(VQGANConvStack):
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
    >>> tuple(encoder(keras.ops.ones((1, 16, 16, 3))).shape)
    (1, 8, 8, 16)
    """

    def __init__(self, z_channels=256, **kwargs):
        super().__init__(z_channels, **kwargs)
        self.z_channels = z_channels
        current_resolution = self.resolution
        for level in range(len(self.ch_mult)):
            self.blocks += self.level_blocks(
                "down", level, self.num_res_blocks, current_resolution
            )
            if level != len(self.ch_mult) - 1:
                self.blocks.append(
                    Downsample2D(
                        dtype=self.dtype_policy, name=f"down_{level}_downsample"
                    )
                )
                current_resolution //= 2
        self.blocks += self.middle_blocks()

    @property
    def input_conv_filters(self):
        return self.ch

    @property
    def downsampling_factor(self):
        return self.resampling_factor

    def compute_output_shape(self, input_shape):
        factor = self.downsampling_factor
        return resized_shape(
            input_shape, lambda size: size // factor, self.z_channels
        )

    def get_config(self):
        config = super().get_config()
        config["z_channels"] = self.z_channels
        return config
