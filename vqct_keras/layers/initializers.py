"""Weight initialisers shared by the VQGAN layers."""

import keras


def torch_default_kernel_initializer(seed=None):
    """PyTorch's default conv/linear kernel init, `U(-1/sqrt(fan_in), ...)`.

    PyTorch initialises `nn.Conv2d` and `nn.Linear` kernels with
    `kaiming_uniform_(a=sqrt(5))`, whose bound is `1 / sqrt(fan_in)`. That is
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


def torch_like_conv2d(
    filters, kernel_size, name, dtype=None, strides=1, padding="same"
):
    """A `Conv2D` initialised like PyTorch's `nn.Conv2d` kernel (zero bias).

    Example:

    >>> conv = torch_like_conv2d(8, 3, name="conv")
    >>> tuple(conv(keras.ops.ones((1, 4, 4, 2))).shape)
    (1, 4, 4, 8)
    """
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        kernel_initializer=torch_default_kernel_initializer(),
        dtype=dtype,
        name=name,
    )
