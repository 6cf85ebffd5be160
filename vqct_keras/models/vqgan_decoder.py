"""The VQGAN (taming-transformers) convolutional decoder."""

import keras  # noqa: F401 (used by the docstring example)

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.resampling import Upsample2D
from vqct_keras.layers.resampling import resized_shape
from vqct_keras.models.vqgan_conv_stack import VQGANConvStack


@vqct_export("vqct_keras.models.VQGANDecoder")
class VQGANDecoder(VQGANConvStack):
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
    >>> tuple(decoder(keras.ops.ones((1, 8, 8, 16))).shape)
    (1, 16, 16, 3)
    """

    def __init__(self, out_channels=3, **kwargs):
        super().__init__(out_channels, **kwargs)
        self.out_channels = out_channels
        self.blocks += self.middle_blocks()
        current_resolution = self.resolution // self.resampling_factor
        for level in reversed(range(len(self.ch_mult))):
            self.blocks += self.level_blocks(
                "up", level, self.num_res_blocks + 1, current_resolution
            )
            if level != 0:
                self.blocks.append(
                    Upsample2D(
                        dtype=self.dtype_policy, name=f"up_{level}_upsample"
                    )
                )
                current_resolution *= 2

    @property
    def input_conv_filters(self):
        return self.ch * self.ch_mult[-1]

    @property
    def upsampling_factor(self):
        return self.resampling_factor

    @property
    def last_layer_kernel(self):
        """Kernel of the final conv (the adaptive GAN weight's reference)."""
        return self.conv_out.kernel

    def compute_output_shape(self, input_shape):
        factor = self.upsampling_factor
        return resized_shape(
            input_shape, lambda size: size * factor, self.out_channels
        )

    def get_config(self):
        config = super().get_config()
        config["out_channels"] = self.out_channels
        return config
