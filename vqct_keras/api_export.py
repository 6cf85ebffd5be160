"""Registration of vqct_keras classes for Keras serialization."""

import keras

PACKAGE = "vqct_keras"


def vqct_export(name):
    """Register a class so that `.keras` files can rebuild it.

    Args:
        name: str. The public name, e.g. `"vqct_keras.layers.ResNetBlock"`.
            Only the last component is used as the registered name; the
            package is always `"vqct_keras"`.

    Example:

    >>> @vqct_export("vqct_keras.layers.Identity")
    ... class Identity(keras.layers.Layer):
    ...     def call(self, x):
    ...         return x
    >>> keras.saving.get_registered_name(Identity)
    'vqct_keras>Identity'
    """

    def register(cls):
        return keras.saving.register_keras_serializable(
            package=PACKAGE, name=name.split(".")[-1]
        )(cls)

    return register
