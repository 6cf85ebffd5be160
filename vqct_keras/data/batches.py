"""Image batches of a dataset, one at a time, checked for a tokenizer.

`iterate_image_batches` reads numpy batches from a `tf.data.Dataset` or
any iterable (tuples and dicts of images accepted), `check_image_batch`
says what to fix in a batch a tokenizer cannot take, `BatchPadder` pads a
short last batch so compiled functions see one shape, and
`expected_batches` counts the batches of a pass.
"""

import itertools
import math

import keras
import numpy as np

_RANGE_TOLERANCE = 1e-3


def to_numpy(x, dtype=None):
    """`x` (a numpy array or a backend tensor) as numpy, optionally cast.

    Example:

    >>> to_numpy(keras.ops.ones((2,)), "float64")
    array([1., 1.])
    """
    if not isinstance(x, np.ndarray):
        x = keras.ops.convert_to_numpy(x)
    return x if dtype is None else x.astype(dtype, copy=False)


class BatchPadder:
    """Pads smaller (last) batches to the first batch's size, so compiled
    functions see one shape; `unpad` drops the padding rows."""

    def __init__(self):
        self.size = None
        self.count = None

    def pad(self, batch):
        self.count = batch.shape[0]
        if self.size is None or self.count > self.size:
            self.size = self.count
        if self.count == self.size:
            return batch
        filler = np.repeat(batch[-1:], self.size - self.count, axis=0)
        return np.concatenate([batch, filler])

    def unpad(self, batch):
        return to_numpy(batch)[: self.count]


def expected_batches(dataset, max_batches):
    """The number of batches the pass will see, or None when unknown."""
    count = None
    cardinality = getattr(dataset, "cardinality", None)
    if callable(cardinality):
        value = int(cardinality())
        if value == -1 and max_batches is None:  # tf.data.INFINITE
            raise ValueError(
                "The dataset is infinite (repeat()): pass max_batches."
            )
        count = value if value >= 0 else None
    elif hasattr(dataset, "__len__"):
        count = len(dataset)
    if max_batches is not None:
        count = int(max_batches) if count is None else min(count, max_batches)
    return count


def iterate_image_batches(dataset, max_batches=None):
    """Numpy image batches of a `tf.data.Dataset` or any iterable.

    Tuple elements give their first item (`(images, labels)`), dict
    elements their `"image"` or `"images"` entry.
    """
    iterator = (
        dataset.as_numpy_iterator()
        if hasattr(dataset, "as_numpy_iterator")
        else iter(dataset)
    )
    if max_batches is not None:
        iterator = itertools.islice(iterator, int(max_batches))
    for element in iterator:
        if isinstance(element, dict):
            key = "image" if "image" in element else "images"
            if key not in element:
                raise ValueError(
                    "Dataset elements are dicts without an 'image' or "
                    f"'images' key (keys: {sorted(element)})."
                )
            element = element[key]
        elif isinstance(element, (tuple, list)):
            element = element[0]
        yield to_numpy(element)


def check_image_batch(images, where, tokenizer):
    """Raise a `ValueError` that says what to fix unless `images` is a
    `(B, H, W, C)` float batch in [-1, 1] that `tokenizer` accepts.

    Args:
        images: numpy array.
        where: str. How the message names the batch (`"Dataset batch 3"`).
        tokenizer: the tokenizer (its `in_channels` and
            `downsampling_factor` are checked when it has them).
    """
    if images.ndim != 4:
        hint = (
            " Batch the dataset (`dataset.batch(n)` or "
            "`load_dataset(..., batch_size=n)`)."
            if images.ndim == 3
            else ""
        )
        raise ValueError(
            f"{where}: expected images (batch, height, width, channels); got "
            f"shape {images.shape}.{hint}"
        )
    channels = getattr(tokenizer, "in_channels", images.shape[-1])
    if images.shape[-1] != channels:
        raise ValueError(
            f"{where}: expected {channels} channels (channels last); got "
            f"shape {images.shape}."
        )
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"{where}: expected float images in [-1, 1]; got dtype "
            f"{images.dtype}. Scale uint8 images with `x / 127.5 - 1`."
        )
    factor = getattr(tokenizer, "downsampling_factor", 1)
    if images.shape[1] % factor or images.shape[2] % factor:
        raise ValueError(
            f"{where}: height and width must be divisible by the tokenizer's "
            f"downsampling factor {factor}; got shape {images.shape}."
        )
    if images.size:
        low, high = float(images.min()), float(images.max())
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"{where}: images contain NaN or inf.")
        if low < -1 - _RANGE_TOLERANCE or high > 1 + _RANGE_TOLERANCE:
            raise ValueError(
                f"{where}: expected values in [-1, 1]; got [{low:.4g}, "
                f"{high:.4g}]. Scale [0, 255] images with `x / 127.5 - 1` "
                "and [0, 1] images with `x * 2 - 1` (`load_dataset` already "
                "gives [-1, 1])."
            )
