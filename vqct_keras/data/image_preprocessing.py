"""Resize, crop, flip and scale one image to float32 RGB in [-1, 1].

The operations mirror torchvision's `Resize`, `CenterCrop`, `RandomCrop` and
`RandomHorizontalFlip`, which the official VQCT data loaders use, with
TensorFlow ops that run inside `tf.data` whatever the Keras backend.
"""

import dataclasses

import tensorflow as tf

RESIZE_MODES = ("short_side", "square")
CROP_MODES = ("center", "random", None)


@dataclasses.dataclass(frozen=True)
class ImagePreprocessing:
    """Turns one decoded image into a float32 `(size, size, 3)` tensor.

    Steps, in order:

    1. Grayscale (1 channel) becomes RGB; an alpha channel is dropped.
    2. Resize (bilinear, antialiased, like PIL):
       `"short_side"` scales the shorter side to `image_size` and keeps the
       aspect ratio (torchvision `Resize(size)`); `"square"` scales both
       sides to `image_size` (torchvision `Resize((size, size))`). Values are
       then rounded to whole 8-bit levels, as PIL's uint8 output is.
    3. Crop an `image_size` square: `"center"` (torchvision `CenterCrop`),
       `"random"` (torchvision `RandomCrop`) or `None` (only with
       `resize="square"`, whose output is already square).
    4. Optionally flip left-right with probability 1/2.
    5. Scale `x / 127.5 - 1` into [-1, 1].

    Random steps draw from stateless ops: the same `seed` gives the same
    crop and flip, so a pipeline with a fixed seed is reproducible.

    Args:
        image_size: int. Side of the output square. Defaults to `256`.
        resize: str. `"short_side"` or `"square"`. Defaults to
            `"short_side"`.
        crop: str or None. `"center"`, `"random"` or `None`. Defaults to
            `"center"`.
        random_flip: bool. Flip left-right at random. Defaults to `False`.

    Call arguments:
        image: uint8 (or float in [0, 255]) tensor `(height, width,
            channels)`, channels 1, 3 or 4.
        seed: optional int tensor of shape `(2,)`: the stateless seed of
            the random steps. Without it a fresh random seed is drawn.

    Returns:
        float32 tensor `(image_size, image_size, 3)` in [-1, 1].

    Example:

    >>> import numpy as np
    >>> image = np.full((30, 40, 1), 255, np.uint8)
    >>> preprocess = ImagePreprocessing(image_size=16, random_flip=True)
    >>> output = preprocess(image, seed=[1, 2])
    >>> tuple(output.shape), float(output.numpy().min())
    ((16, 16, 3), 1.0)

    Inside `tf.data`:

    >>> images = tf.data.Dataset.from_tensor_slices(np.zeros((4, 20, 24, 3)))
    >>> images = images.map(ImagePreprocessing(image_size=8))
    >>> next(iter(images)).shape
    TensorShape([8, 8, 3])
    """

    image_size: int = 256
    resize: str = "short_side"
    crop: str | None = "center"
    random_flip: bool = False

    def __post_init__(self):
        if int(self.image_size) != self.image_size or self.image_size < 1:
            raise ValueError(
                f"`image_size` must be a positive int, got {self.image_size}."
            )
        if self.resize not in RESIZE_MODES:
            raise ValueError(
                f"`resize` must be one of {RESIZE_MODES}, got {self.resize!r}."
            )
        if self.crop not in CROP_MODES:
            raise ValueError(
                f"`crop` must be one of {CROP_MODES}, got {self.crop!r}."
            )
        if self.crop is None and self.resize != "square":
            raise ValueError(
                "`crop=None` needs `resize='square'`: a short-side resize "
                "keeps the aspect ratio, so its output must be cropped."
            )

    @property
    def is_random(self):
        """Whether two calls with different seeds may differ."""
        return self.crop == "random" or self.random_flip

    def describe(self):
        """A one-line summary, e.g. for docs and logs.

        >>> ImagePreprocessing(64, crop="random", random_flip=True).describe()
        'resize short side to 64 -> random crop 64 -> random flip'
        """
        if self.resize == "square":
            steps = [f"resize to {self.image_size}x{self.image_size}"]
        else:
            steps = [f"resize short side to {self.image_size}"]
        if self.crop:
            steps.append(f"{self.crop} crop {self.image_size}")
        if self.random_flip:
            steps.append("random flip")
        return " -> ".join(steps)

    def get_config(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def replace(self, **changes):
        """A copy with some fields changed (`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)

    def __call__(self, image, seed=None):
        image = to_rgb(tf.convert_to_tensor(image))
        image = tf.cast(image, tf.float32)
        if seed is None and self.is_random:
            seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
        if self.is_random:
            crop_seed, flip_seed = tf.unstack(
                tf.random.experimental.stateless_split(seed, 2)
            )
        size = self.image_size
        if self.resize == "square":
            image = _resize(image, size, size)
        else:
            image = _resize_short_side(image, size)
        if self.crop == "center":
            image = _center_crop(image, size)
        elif self.crop == "random":
            image = _random_crop(image, size, crop_seed)
        if self.random_flip:
            image = tf.image.stateless_random_flip_left_right(image, flip_seed)
        image = tf.ensure_shape(image, (size, size, 3))
        return image / 127.5 - 1.0


def preprocess_image(image, image_size=256, seed=None, **kwargs):
    """Functional form of `ImagePreprocessing`.

    Args:
        image: uint8 tensor `(height, width, channels)`.
        image_size: int. Output side. Defaults to `256`.
        seed: optional `(2,)` int tensor for the random steps.
        **kwargs: `resize`, `crop`, `random_flip` of `ImagePreprocessing`.

    Returns:
        float32 tensor `(image_size, image_size, 3)` in [-1, 1].

    Example:

    >>> import numpy as np
    >>> image = np.zeros((10, 20, 3), np.uint8)
    >>> preprocess_image(image, 4, resize="square", crop=None).shape
    TensorShape([4, 4, 3])
    """
    return ImagePreprocessing(image_size=image_size, **kwargs)(image, seed)


def to_rgb(image):
    """Gray becomes RGB, gray+alpha and RGBA lose alpha; RGB is unchanged.

    The channel count must be static (as it is after
    `tf.io.decode_image(..., channels=3)` or from a tfds `Image` feature);
    an unknown count is taken to be 3.
    """
    channels = image.shape[-1]
    if channels in (1, 2):
        return tf.image.grayscale_to_rgb(image[..., :1])
    if channels == 4:
        return image[..., :3]
    if channels not in (3, None):
        raise ValueError(f"Expected 1 to 4 channels, got shape {image.shape}.")
    return image


def _resize(image, height, width):
    resized = tf.image.resize(
        image, [height, width], method="bilinear", antialias=True
    )
    return tf.round(tf.clip_by_value(resized, 0.0, 255.0))


def _resize_short_side(image, size):
    # torchvision Resize(size): short side -> size, long side ->
    # int(size * long / short).
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    short = tf.minimum(height, width)
    long = tf.maximum(height, width)
    new_long = tf.cast(
        tf.cast(size, tf.int64)
        * tf.cast(long, tf.int64)
        // tf.cast(short, tf.int64),
        tf.int32,
    )
    new_height = tf.where(height <= width, size, new_long)
    new_width = tf.where(height <= width, new_long, size)
    return _resize(image, new_height, new_width)


def _center_crop(image, size):
    # torchvision CenterCrop: offset = round((extent - size) / 2), with
    # Python's round-half-to-even, which tf.round also does.
    shape = tf.shape(image)
    top = tf.cast(tf.round(tf.cast(shape[0] - size, tf.float32) / 2), tf.int32)
    left = tf.cast(tf.round(tf.cast(shape[1] - size, tf.float32) / 2), tf.int32)
    return image[top : top + size, left : left + size]


def _random_crop(image, size, seed):
    # torchvision RandomCrop: offsets uniform in [0, extent - size].
    shape = tf.shape(image)
    extents = tf.stack([shape[0] - size + 1, shape[1] - size + 1])
    uniform = tf.random.stateless_uniform([2], seed=seed)
    offsets = tf.cast(uniform * tf.cast(extents, tf.float32), tf.int32)
    offsets = tf.minimum(offsets, extents - 1)
    return image[offsets[0] : offsets[0] + size, offsets[1] : offsets[1] + size]
