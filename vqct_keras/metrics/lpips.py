"""LPIPS (VGG16, v0.1 linear heads) as a frozen, differentiable Keras layer."""

import keras
from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.metrics import weights as weights_lib

# torchvision VGG16 `features`: (name, filters); "pool" = 2x2 max pool.
_VGG16_LAYERS = (
    ("conv1_1", 64),
    ("conv1_2", 64),
    ("pool", None),
    ("conv2_1", 128),
    ("conv2_2", 128),
    ("pool", None),
    ("conv3_1", 256),
    ("conv3_2", 256),
    ("conv3_3", 256),
    ("pool", None),
    ("conv4_1", 512),
    ("conv4_2", 512),
    ("conv4_3", 512),
    ("pool", None),
    ("conv5_1", 512),
    ("conv5_2", 512),
    ("conv5_3", 512),
)
# LPIPS compares the ReLU outputs of these layers (relu1_2 ... relu5_3).
_TAPS = ("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3")
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


@vqct_export("vqct_keras.metrics.LPIPS")
class LPIPS(keras.layers.Layer):
    """Learned perceptual distance (LPIPS v0.1, VGG16) between two batches.

    Both inputs are `(B, H, W, 3)` RGB in [-1, 1]. Each goes through the
    ImageNet VGG16 conv stack after LPIPS's scaling layer
    (`(x - shift) / scale`, shift `(-.030, -.088, -.188)`, scale
    `(.458, .448, .450)`). At relu1_2, relu2_2, relu3_3, relu4_3 and
    relu5_3 the features are unit-normalised over channels, their squared
    difference is weighted by the LPIPS 1x1 linear head and averaged over
    space; the five stage values are summed.

    The layer is a training loss: it is differentiable in both inputs and
    all its weights are non-trainable (they never get gradients, whatever
    `trainable` says). It computes in float32 by default, also under a
    mixed-precision policy.

    Numerical guard: the official code normalises with
    `f / (sqrt(sum f^2) + 1e-10)`, whose gradient is NaN where a feature
    vector is exactly zero (sqrt at 0). Here the norm is
    `sqrt(sum f^2 + epsilon^2)`: the same value to ~1e-10 relative, and a
    finite gradient everywhere.

    Dropout: the official heads have `Dropout(0.5)` before each 1x1 conv,
    and taming's VQGAN training most likely leaves it on (the module is in
    train mode inside Lightning). `head_dropout=True` reproduces that when
    the layer is called with `training=True`; the default is deterministic.

    Args:
        head_dropout: bool. Apply `Dropout(0.5)` to the squared differences
            before each head when `training=True`. Defaults to `False`.
        epsilon: float. Norm guard, see above. Defaults to `1e-10`.
        pretrained: bool. Load the converted weights installed by
            `bash scripts/setup.sh` (raises `MissingWeightsError` if they
            are missing). `False` keeps zero weights, e.g. for shape tests.
            Defaults to `True`. The weights are created and loaded in the
            constructor (they do not depend on the image size), so create
            the layer inside `strategy.scope()` under `tf.distribute`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        images_0: `(B, H, W, 3)` tensor in [-1, 1].
        images_1: `(B, H, W, 3)` tensor in [-1, 1], same shape.
        training: bool. Only matters with `head_dropout=True`.

    Returns:
        `(B,)` tensor of distances (0 for identical images).

    Example:

    >>> import numpy as np
    >>> lpips = LPIPS(pretrained=False)
    >>> x = np.zeros((2, 32, 32, 3), "float32")
    >>> tuple(lpips(x, x).shape)
    (2,)

    Used as a loss, with the real weights:

    ```python
    lpips = LPIPS()
    perceptual_loss = ops.mean(lpips(images, ops.stop_gradient(x_hat)))
    ```

    References:
        - [Zhang et al., 2018](https://arxiv.org/abs/1801.03924)
    """

    def __init__(
        self, head_dropout=False, epsilon=1e-10, pretrained=True, **kwargs
    ):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.head_dropout = head_dropout
        self.epsilon = epsilon
        self.pretrained = pretrained
        self.dropouts = [
            keras.layers.Dropout(
                0.5, name=f"head_dropout_{index}", dtype=self.dtype_policy
            )
            for index in range(len(_TAPS))
        ]
        # The weights do not depend on the image size: create (and load)
        # them now, so that a layer made in a `tf.distribute` scope never
        # creates or assigns variables inside a replica.
        self.build((None, None, None, 3))

    def build(self, images_0_shape, images_1_shape=None):
        channels = 3
        self.conv_kernels = {}
        self.conv_biases = {}
        for name, filters in _VGG16_LAYERS:
            if name == "pool":
                continue
            self.conv_kernels[name] = self.add_weight(
                name=f"{name}_kernel",
                shape=(3, 3, channels, filters),
                initializer="zeros",
                trainable=False,
            )
            self.conv_biases[name] = self.add_weight(
                name=f"{name}_bias",
                shape=(filters,),
                initializer="zeros",
                trainable=False,
            )
            channels = filters
        self.head_kernels = []
        for index, tap in enumerate(_TAPS):
            filters = self.conv_kernels[tap].shape[-1]
            self.head_kernels.append(
                self.add_weight(
                    name=f"lin{index}_kernel",
                    shape=(filters, 1),
                    initializer="zeros",
                    trainable=False,
                )
            )
        for dropout in self.dropouts:
            dropout.build(images_0_shape)
        if self.pretrained:
            self.load_converted_weights()

    def load_converted_weights(self):
        """Assign the `.npz` that `scripts/setup.sh` converted."""
        arrays = weights_lib.load_weights_file(weights_lib.LPIPS_FILENAME)
        for name, kernel in self.conv_kernels.items():
            kernel.assign(arrays[f"{name}/kernel"])
            self.conv_biases[name].assign(arrays[f"{name}/bias"])
        for index, kernel in enumerate(self.head_kernels):
            kernel.assign(arrays[f"lin{index}/kernel"].reshape(-1, 1))

    def _features(self, images):
        shift = ops.convert_to_tensor(_SHIFT, dtype=self.compute_dtype)
        scale = ops.convert_to_tensor(_SCALE, dtype=self.compute_dtype)
        x = (images - shift) / scale
        features = []
        for name, _ in _VGG16_LAYERS:
            if name == "pool":
                x = ops.max_pool(x, 2, strides=2, padding="valid")
                continue
            x = ops.conv(x, self.conv_kernels[name], padding="same")
            x = ops.relu(x + self.conv_biases[name])
            if name in _TAPS:
                features.append(x)
        return features

    def _normalize(self, features):
        features = ops.cast(features, "float32")
        squared_norm = ops.sum(ops.square(features), axis=-1, keepdims=True)
        return features * ops.rsqrt(squared_norm + self.epsilon**2)

    def call(self, images_0, images_1, training=None):
        images_0 = ops.cast(images_0, self.compute_dtype)
        images_1 = ops.cast(images_1, self.compute_dtype)
        # Two VGG passes, not one over the concatenated batches: as a loss,
        # `images_0` (the originals) needs no gradient, and separate passes
        # let autodiff skip its backward (1.7x faster forward + backward at
        # 64 px on TF, 1.35x on JAX; docs/performance.md).
        distance = 0.0
        pairs = zip(self._features(images_0), self._features(images_1))
        for index, (features_0, features_1) in enumerate(pairs):
            squared_difference = ops.square(
                self._normalize(features_0) - self._normalize(features_1)
            )
            if self.head_dropout:
                squared_difference = self.dropouts[index](
                    squared_difference, training=training
                )
            head = ops.cast(self.head_kernels[index], "float32")
            weighted = ops.matmul(squared_difference, head)
            distance = distance + ops.mean(weighted, axis=(1, 2, 3))
        return distance

    def compute_output_shape(self, images_0_shape, images_1_shape=None):
        return (images_0_shape[0],)

    def compute_output_spec(self, images_0, images_1, training=None):
        return keras.KerasTensor((images_0.shape[0],), dtype="float32")

    def get_config(self):
        config = super().get_config()
        names = ("head_dropout", "epsilon", "pretrained")
        config.update({name: getattr(self, name) for name in names})
        return config
