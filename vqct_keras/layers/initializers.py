"""PyTorch's default weight initialisation, as Keras initialisers.

The official code (taming-transformers' VQGAN) never re-initialises its
`nn.Conv2d` and `nn.Linear` layers, so they keep PyTorch's defaults: the
kernel is `kaiming_uniform_(a=sqrt(5))`, whose bound is `1 / sqrt(fan_in)`,
and the bias is `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` with the same
`fan_in` (input channels times kernel height times kernel width).
"""

import math

import keras

from vqct_keras.api_export import vqct_export


def torch_default_kernel_initializer(seed=None):
    """PyTorch's default conv/linear kernel init, `U(-1/sqrt(fan_in), ...)`.

    `kaiming_uniform_(a=sqrt(5))` has the bound
    `sqrt(6 / ((1 + 5) * fan_in)) = 1 / sqrt(fan_in)`. That is
    `VarianceScaling(scale=1/3, mode="fan_in", distribution="uniform")`.

    Example:

    >>> init = torch_default_kernel_initializer(seed=0)
    >>> w = keras.ops.convert_to_numpy(init((3, 3, 4, 8)))
    >>> bool(abs(w).max() <= 1 / 6)
    True
    """
    return keras.initializers.VarianceScaling(
        scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=seed
    )


@vqct_export("vqct_keras.layers.FanInUniform")
class FanInUniform(keras.initializers.RandomUniform):
    """`U(-1/sqrt(fan_in), 1/sqrt(fan_in))`: PyTorch's default bias init.

    A bias has no fan-in of its own, so it is given: the fan-in of the
    kernel the bias belongs to.

    Args:
        fan_in: int. Input units of the layer (for a convolution: input
            channels times the kernel's height and width).
        seed: int or `keras.random.SeedGenerator`. Defaults to `None`.

    Example:

    >>> init = FanInUniform(fan_in=16, seed=0)
    >>> b = keras.ops.convert_to_numpy(init((1000,)))
    >>> bool(abs(b).max() <= 0.25)
    True
    >>> FanInUniform.from_config(init.get_config()).fan_in
    16
    """

    def __init__(self, fan_in, seed=None):
        if not fan_in or fan_in < 1:
            raise ValueError(f"`fan_in` must be >= 1; got {fan_in}.")
        self.fan_in = int(fan_in)
        bound = 1.0 / math.sqrt(self.fan_in)
        super().__init__(minval=-bound, maxval=bound, seed=seed)

    def get_config(self):
        return {"fan_in": self.fan_in, "seed": super().get_config()["seed"]}
