"""The pix2pix PatchGAN discriminator used by the VQGAN."""

import keras
from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.resampling import resized_shape
from vqct_keras.layers.torch_conv2d import TorchConv2D


@vqct_export("vqct_keras.models.PatchDiscriminator")
class PatchDiscriminator(keras.Model):
    """PatchGAN: images `(B, H, W, C)` to a map of real/fake logits.

    taming's `NLayerDiscriminator`: a 4x4 stride-2 conv with LeakyReLU(0.2);
    `n_layers - 1` more 4x4 stride-2 convs (no bias) with BatchNorm and
    LeakyReLU, the filters doubling up to `8 * ndf`; one 4x4 stride-1 conv
    with BatchNorm and LeakyReLU; a 4x4 stride-1 conv to one logit. Every
    conv pads by 1. Conv kernels `N(0, 0.02)`, BatchNorm `gamma ~ N(1,
    0.02)`, and the biases of the first and the last conv PyTorch's default
    `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` (taming's `weights_init` leaves
    them). For a 256x256 input with `n_layers=3` the output is 30x30.

    BatchNorm stays identical across replicas: on TensorFlow it is
    `synchronized=True` (batch statistics all-reduced under
    `tf.distribute`); on JAX, `keras.distribution.DataParallel` computes
    them over the global (sharded) batch, which needs no flag.

    Args:
        ndf: int. Filters of the first conv. Defaults to `64`.
        n_layers: int. Stride-2 convs. Defaults to `3`.
        in_channels: int. Image channels. Defaults to `3`.

    Example:

    >>> discriminator = PatchDiscriminator(ndf=8, n_layers=2)
    >>> tuple(discriminator(keras.ops.ones((2, 32, 32, 3))).shape)
    (2, 6, 6, 1)
    """

    def __init__(self, ndf=64, n_layers=3, in_channels=3, **kwargs):
        super().__init__(**kwargs)
        self.ndf = ndf
        self.n_layers = n_layers
        self.in_channels = in_channels
        self.conv_layers = []
        self.norm_layers = []
        filters = [ndf * min(2**i, 8) for i in range(n_layers + 1)] + [1]
        for index, channels in enumerate(filters):
            last = index == len(filters) - 1
            strides = 2 if index < n_layers else 1
            with_norm = 0 < index < len(filters) - 1
            self.conv_layers.append(
                TorchConv2D(
                    channels,
                    4,
                    strides=strides,
                    use_bias=not with_norm,
                    kernel_initializer=keras.initializers.RandomNormal(
                        0.0, 0.02
                    ),
                    dtype=self.dtype_policy,
                    name="logits" if last else f"conv_{index}",
                )
            )
            self.norm_layers.append(
                keras.layers.BatchNormalization(
                    momentum=0.9,
                    epsilon=1e-5,
                    synchronized=keras.backend.backend() == "tensorflow",
                    gamma_initializer=keras.initializers.RandomNormal(
                        1.0, 0.02
                    ),
                    dtype=self.dtype_policy,
                    name=f"norm_{index}",
                )
                if with_norm
                else None
            )

    def build(self, input_shape):
        shape = tuple(input_shape)
        for conv, norm in zip(self.conv_layers, self.norm_layers):
            shape = _padded(shape)
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            if norm is not None:
                norm.build(shape)
        self.built = True

    def call(self, images, training=None):
        x = images
        last = len(self.conv_layers) - 1
        for index, (conv, norm) in enumerate(
            zip(self.conv_layers, self.norm_layers)
        ):
            x = conv(ops.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))))
            if norm is not None:
                x = norm(x, training=training)
            if index != last:
                x = ops.leaky_relu(x, negative_slope=0.2)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for conv in self.conv_layers:
            shape = conv.compute_output_shape(_padded(shape))
        return shape

    def get_config(self):
        config = super().get_config()
        names = ("ndf", "n_layers", "in_channels")
        config.update({name: getattr(self, name) for name in names})
        return config


def _padded(shape):
    """`shape` with height and width padded by 1 on each side."""
    return resized_shape(shape, lambda size: size + 2)
