"""Reconstruction metrics of the VQCT evaluation protocol (numpy, per image).

The released VQCT test script (see docs/metrics.md) clamps targets and
reconstructions to [-1, 1], maps them to uint8
(`vqct_keras.utils.images.to_uint8`, the library's one rounding rule), saves
both as
JPEG quality 75 (`jpeg_round_trip`), then computes per image:
PSNR on the RGB uint8 pixels (`psnr`), SSIM on the PIL grayscale images
(`ssim(..., grayscale=True)`) with scikit-image's defaults, and L1 / MSE on
the [-1, 1] tensors (`l1_error`, `mean_squared_error`).

Every function takes batches `(B, H, W, C)` (or one image `(H, W, C)`) as
numpy arrays or backend tensors, and returns float64 values per image.
"""

import io

import numpy as np
import PIL.Image
from keras import ops

SSIM_WINDOW_SIZE = 7
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _numpy(x):
    return x if isinstance(x, np.ndarray) else ops.convert_to_numpy(x)


def _check_pair(images, reference):
    images, reference = _numpy(images), _numpy(reference)
    if images.shape != reference.shape:
        raise ValueError(f"shapes differ: {images.shape} {reference.shape}")
    if images.ndim not in (3, 4):
        raise ValueError(f"expected (B, H, W, C) or (H, W, C): {images.shape}")
    return images, reference


def jpeg_round_trip(images, quality=75):
    """Encode uint8 RGB images as JPEG with PIL and decode them again.

    With `quality=75` (PIL's default, and PIL's default 4:2:0 chroma
    subsampling) this is what saving `.jpg` files and reading them back does
    in the VQCT test script.

    Args:
        images: uint8 `(B, H, W, 3)` or `(H, W, 3)`.
        quality: int. JPEG quality. Defaults to `75`.

    Returns:
        uint8 array of the same shape.

    Example:

    >>> images = np.zeros((2, 16, 16, 3), "uint8")
    >>> jpeg_round_trip(images).shape
    (2, 16, 16, 3)
    """
    images = _numpy(images)
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {images.dtype}")
    single = images.ndim == 3
    batch = images[None] if single else images
    decoded = []
    for image in batch:
        buffer = io.BytesIO()
        PIL.Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        with PIL.Image.open(buffer) as reopened:
            decoded.append(np.asarray(reopened.convert("RGB")))
    decoded = np.stack(decoded)
    return decoded[0] if single else decoded


def rgb_to_grayscale(images):
    """PIL's `Image.convert("L")` on uint8 RGB, vectorised and bit-exact.

    `L = (19595 R + 38470 G + 7471 B + 32768) >> 16`, the ITU-R 601-2 luma
    (0.299, 0.587, 0.114) in PIL's 16-bit fixed point.

    Args:
        images: uint8 `(..., 3)`.

    Returns:
        uint8 `(..., 1)`.

    Example:

    >>> rgb_to_grayscale(np.array([[255, 0, 0], [0, 255, 0]], "uint8"))
    array([[ 76],
           [150]], dtype=uint8)
    """
    images = _numpy(images)
    if images.dtype != np.uint8 or images.shape[-1] != 3:
        raise ValueError("expected uint8 RGB images (..., 3)")
    rgb = images.astype("uint32")
    luma = (
        rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 32768
    ) >> 16
    return luma.astype("uint8")[..., None]


def psnr(images, reference, data_range=255.0):
    """Per-image PSNR in dB: `20 log10(data_range / sqrt(MSE))`.

    The MSE runs over all pixels and channels of each image (RGB uint8 in
    the VQCT protocol). Identical images give `inf`.

    Args:
        images: `(B, H, W, C)` or `(H, W, C)`.
        reference: same shape.
        data_range: float. Defaults to `255.0` (uint8 pixels).

    Returns:
        float64 `(B,)` (or a scalar for one image).

    Example:

    >>> a = np.zeros((1, 4, 4, 3), "uint8")
    >>> round(float(psnr(a, a + 1)[0]), 4)
    48.1308
    """
    images, reference = _check_pair(images, reference)
    difference = images.astype("float64") - reference.astype("float64")
    mse = np.mean(np.square(difference), axis=(-3, -2, -1))
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(data_range / np.sqrt(mse))


def _window_mean(x, size):
    """Mean over every valid `size x size` window of axes 1, 2."""
    windows = np.lib.stride_tricks.sliding_window_view(
        x, (size, size), axis=(1, 2)
    )
    return windows.mean(axis=(-2, -1))


def ssim(images, reference, grayscale=False, data_range=None):
    """Per-image SSIM with `skimage.metrics.structural_similarity` defaults.

    7x7 uniform window, K1 = 0.01, K2 = 0.03, sample covariances
    (`N / (N - 1)`), mean of the SSIM map over the pixels whose window fits
    inside the image; for several channels the mean over channels.

    Args:
        images: `(B, H, W, C)` or `(H, W, C)`, both sides >= 7.
        reference: same shape.
        grayscale: bool. Compare PIL-grayscale versions of uint8 RGB images
            (the VQCT protocol) instead of the channels. Defaults to `False`.
        data_range: float. Defaults to 255 for uint8 inputs; required for
            float inputs.

    Returns:
        float64 `(B,)` (or a scalar for one image).

    Example:

    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 256, (2, 16, 16, 3), dtype="uint8")
    >>> ssim(a, a).tolist()
    [1.0, 1.0]
    """
    images, reference = _check_pair(images, reference)
    if grayscale:
        images, reference = (
            rgb_to_grayscale(images),
            rgb_to_grayscale(reference),
        )
    if data_range is None:
        if images.dtype != np.uint8 or reference.dtype != np.uint8:
            raise ValueError("data_range is required for non-uint8 images")
        data_range = 255.0
    single = images.ndim == 3
    x = (images[None] if single else images).astype("float64")
    y = (reference[None] if single else reference).astype("float64")
    size = SSIM_WINDOW_SIZE
    if min(x.shape[1:3]) < size:
        raise ValueError(f"images must be at least {size}x{size}")
    count = size * size
    covariance_norm = count / (count - 1.0)
    mean_x = _window_mean(x, size)
    mean_y = _window_mean(y, size)
    variance_x = covariance_norm * (_window_mean(x * x, size) - mean_x**2)
    variance_y = covariance_norm * (_window_mean(y * y, size) - mean_y**2)
    covariance = covariance_norm * (_window_mean(x * y, size) - mean_x * mean_y)
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    numerator = (2 * mean_x * mean_y + c1) * (2 * covariance + c2)
    denominator = (mean_x**2 + mean_y**2 + c1) * (variance_x + variance_y + c2)
    per_channel = np.mean(numerator / denominator, axis=(1, 2))
    values = per_channel.mean(axis=-1)
    return values[0] if single else values


def l1_error(images, reference):
    """Per-image mean absolute error (on [-1, 1] tensors in the protocol).

    Example:

    >>> l1_error(np.zeros((1, 2, 2, 3)), np.ones((1, 2, 2, 3))).tolist()
    [1.0]
    """
    images, reference = _check_pair(images, reference)
    difference = images.astype("float64") - reference.astype("float64")
    return np.mean(np.abs(difference), axis=(-3, -2, -1))


def mean_squared_error(images, reference):
    """Per-image mean squared error (on [-1, 1] tensors in the protocol).

    Example:

    >>> mean_squared_error(np.zeros((1, 2, 2, 3)), np.full((1, 2, 2, 3), 2.0))
    array([4.])
    """
    images, reference = _check_pair(images, reference)
    difference = images.astype("float64") - reference.astype("float64")
    return np.mean(np.square(difference), axis=(-3, -2, -1))
