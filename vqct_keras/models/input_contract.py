"""The input contract of `VQCTTokenizer`, on every path.

Images are `(batch, height, width, channels)` floats in `[-1, 1]`, finite,
with height and width divisible by the downsampling factor; indices are
`(batch, h, w, index_depth)` integers with slot `k` in
`[0, index_ranges[k])`. The shape and dtype checks are static and raise on
every path. The value checks reduce a batch to a few scalars:

- on concrete values (NumPy arrays, eager TensorFlow tensors, JAX arrays)
  they raise a `ValueError` that names the fix;
- inside compiled code (`tf.function`, `jax.jit`, `fit`, `predict`), where
  a graph cannot raise on every backend, `image_flags` and `index_flags`
  give per-item flags that the tokenizer turns into NaN outputs (or `-1`
  indices) for the offending items and the trainer into a clear stop.

Only `keras.ops`: the same code runs on both backends.
"""

import keras
import numpy as np
from keras import ops

# Images a little outside [-1, 1] (resampling overshoot) are accepted.
RANGE_TOLERANCE = 1e-3


def concrete(value):
    """`value` as a NumPy array, or `None` inside a traced function."""
    if isinstance(value, np.ndarray):
        return value
    if keras.backend.is_keras_tensor(value):
        return None
    try:
        return np.asarray(ops.convert_to_numpy(value))
    except Exception:  # A tracer or symbolic tensor: no value yet.
        return None


def check_image_shape(images, channels, factor):
    """Static checks of rank, channels, dtype, size and batch."""
    shape = tuple(images.shape)
    if len(shape) != 4:
        raise ValueError(
            f"Expected images of shape (batch, height, width, {channels}); "
            f"got rank {len(shape)} shape {shape}. Add a batch axis with "
            "`images[None]` for a single image."
        )
    if shape[-1] != channels:
        raise ValueError(
            f"Expected {channels} image channels (channels last); got shape "
            f"{shape}. Convert grayscale to RGB, drop alpha, or transpose "
            "channels-first images with `ops.transpose(images, (0, 2, 3, "
            "1))`."
        )
    dtype = keras.backend.standardize_dtype(images.dtype)
    if "float" not in dtype:
        raise ValueError(
            f"Expected float images in [-1, 1]; got dtype {dtype}. Convert "
            "uint8 images with `images / 127.5 - 1.0`."
        )
    for size in shape[1:3]:
        if size is not None and size % factor:
            raise ValueError(
                f"Image height and width must be divisible by the "
                f"downsampling factor {factor}; got shape {shape}. Resize "
                "or crop the images."
            )
    if shape[0] == 0:
        raise ValueError(
            f"Got an empty batch (shape {shape}); pass at least one image."
        )


def check_image_values(images):
    """Raise on NaN/inf or values outside [-1, 1] (concrete values only)."""
    array = concrete(images)
    if array is None or not array.size:
        return
    array = array.astype("float32", copy=False)
    finite = np.isfinite(array)
    if not finite.all():
        bad = sorted({int(i) for i in np.nonzero(~finite)[0]})
        raise ValueError(
            f"Images {bad[:10]} of the batch hold NaN or infinite pixels "
            f"({int((~finite).sum())} values). Check the decoding and "
            "scaling of the data."
        )
    low, high = float(array.min()), float(array.max())
    if low < -1 - RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        raise ValueError(
            f"Expected image values in [-1, 1]; got [{low:.3g}, "
            f"{high:.3g}]. Scale [0, 255] images with `images / 127.5 - "
            "1.0` and [0, 1] images with `images * 2 - 1`."
        )


def check_index_shape(indices, depth):
    """Static checks of rank, depth, dtype and batch of indices."""
    shape = tuple(indices.shape)
    if len(shape) != 4 or shape[-1] != depth:
        raise ValueError(
            f"Expected indices of shape (batch, height, width, {depth}), as "
            f"`encode_to_indices` returns; got {shape}."
        )
    dtype = keras.backend.standardize_dtype(indices.dtype)
    if "int" not in dtype:
        raise ValueError(
            f"Expected integer indices; got dtype {dtype}. Cast them with "
            "`ops.cast(indices, 'int32')`."
        )
    if shape[0] == 0:
        raise ValueError(
            f"Got an empty batch of indices (shape {shape}); pass at least "
            "one item."
        )


def check_index_values(indices, ranges):
    """Raise on indices outside their slot's range (concrete values only)."""
    array = concrete(indices)
    if array is None or not array.size:
        return
    for slot, bound in enumerate(ranges):
        values = array[..., slot]
        low, high = int(values.min()), int(values.max())
        if low < 0 or high >= bound:
            raise ValueError(
                f"Index slot {slot} must lie in [0, {bound}); got values in "
                f"[{low}, {high}]. Pass indices returned by "
                "`encode_to_indices` of this tokenizer."
            )


def image_flags(images):
    """Per-image `(finite, in_range)` booleans `(batch,)` (`keras.ops`)."""
    images = ops.cast(images, "float32")
    finite = ops.all(ops.isfinite(images), axis=(1, 2, 3))
    low = ops.min(images, axis=(1, 2, 3))
    high = ops.max(images, axis=(1, 2, 3))
    bound = 1.0 + RANGE_TOLERANCE
    in_range = ops.logical_and(low >= -bound, high <= bound)
    return finite, ops.logical_and(finite, in_range)


def index_flags(indices, ranges):
    """Per-item booleans `(batch,)`: every index inside its slot's range."""
    indices = ops.cast(indices, "int32")
    bounds = ops.convert_to_tensor(np.asarray(ranges, "int32"))
    valid = ops.logical_and(indices >= 0, indices < bounds)
    return ops.all(valid, axis=(1, 2, 3))


def clip_indices(indices, ranges):
    """Indices clipped into range, so a lookup can neither wrap nor fail."""
    indices = ops.cast(indices, "int32")
    bounds = ops.convert_to_tensor(np.asarray(ranges, "int32"))
    return ops.clip(indices, 0, bounds - 1)


def mark_invalid(values, valid, fill):
    """`values` with the items where `valid` is False set to `fill`."""
    shape = (-1,) + (1,) * (len(values.shape) - 1)
    valid = ops.reshape(valid, shape)
    return ops.where(valid, values, ops.cast(fill, values.dtype))


def resolve_image_size(image_size, source):
    """The side of the images fed to a tokenizer: `image_size` when set,
    else the tokenizer's nominal `resolution`.

    The one image-size rule of the commands and helpers: `resolution` is
    the architecture field of a tokenizer (or preset) that it was built
    for; `image_size` is the side of the images a command reads, and
    defaults to it.

    Args:
        image_size: int or None. The requested side; `None` (or 0) picks
            the default.
        source: a tokenizer (its `resolution` attribute) or a preset's
            architecture dict (its `"resolution"` key). A source without a
            resolution gives `None`.

    Returns:
        int or None.

    Example:

    >>> resolve_image_size(None, {"resolution": 32})
    32
    >>> resolve_image_size(64, {"resolution": 32})
    64
    """
    if image_size:
        return image_size
    if isinstance(source, dict):
        return source.get("resolution")
    return getattr(source, "resolution", None)
