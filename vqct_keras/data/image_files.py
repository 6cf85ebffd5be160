"""Finding image files, and checking that each one decodes.

Every image a vqct_keras builder stores has been decoded once by
TensorFlow, so the training pipeline never meets an unreadable one. Files
TensorFlow cannot decode but PIL can (TIFF, CMYK, 16-bit, WebP, animated
GIF) are stored re-encoded as PNG; files neither can decode are reported.
"""

import hashlib
import io
import os

import numpy as np
import tensorflow as tf

IMAGE_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".gif",
    ".webp",
    ".tif",
    ".tiff",
)
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"


class UnreadableImageError(ValueError):
    """One file is not a readable image (empty, truncated, not an image)."""


def is_image_file(path):
    """Whether `path` has an image extension and is not a hidden file."""
    name = os.path.basename(path)
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def list_image_files(root, extensions=IMAGE_EXTENSIONS):
    """Image files under `root` (recursively), as sorted relative paths.

    Hidden files and folders (names starting with `.`) are left out.

    Args:
        root: str. A folder.
        extensions: tuple of str. Lower-case extensions to keep.

    Returns:
        list of str, relative to `root`, with `/` separators.
    """
    found = []
    for directory, subdirectories, filenames in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if not d[0] == "."]
        for filename in filenames:
            if filename.startswith("."):
                continue
            if filename.lower().endswith(extensions):
                path = os.path.join(directory, filename)
                found.append(os.path.relpath(path, root).replace(os.sep, "/"))
    return sorted(found)


def files_fingerprint(root, relative_paths):
    """A string that changes when any listed file is added, removed or edited.

    Uses names, sizes and modification times (not contents): cheap enough
    to recompute on every load.
    """
    digest = hashlib.sha256()
    for relative_path in relative_paths:
        stat = os.stat(os.path.join(root, relative_path))
        digest.update(
            f"{relative_path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode()
        )
    return f"{len(relative_paths)}:{digest.hexdigest()[:32]}"


def read_image_bytes(path):
    """The bytes to store for an image file, after checking that it decodes.

    JPEG and PNG files that TensorFlow decodes are returned unchanged;
    anything else PIL can read is converted to RGB and returned as PNG.

    Args:
        path: str. An image file.

    Returns:
        bytes: an encoded JPEG or PNG image.

    Raises:
        UnreadableImageError: when the file cannot be read or decoded.
    """
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise UnreadableImageError(f"cannot read file: {error}") from error
    return check_image_bytes(data)


def check_image_bytes(data):
    """`read_image_bytes` for bytes already in memory."""
    if not data:
        raise UnreadableImageError("empty file")
    if data.startswith((_JPEG_MAGIC, _PNG_MAGIC)):
        try:
            tf.io.decode_image(data, channels=3, expand_animations=False)
            return data
        except (tf.errors.InvalidArgumentError, tf.errors.UnknownError):
            pass  # Let PIL try: it reads some files TensorFlow refuses.
    return _reencode_with_pil(data)


def _reencode_with_pil(data):
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            array = np.asarray(pil_to_rgb(image))
    except Exception as error:  # PIL raises many types for bad files.
        message = str(error) or type(error).__name__
        raise UnreadableImageError(f"cannot decode image: {message}") from error
    return tf.io.encode_png(array).numpy()


def pil_to_rgb(image):
    """A PIL image as 8-bit RGB: gray is repeated, alpha dropped, 16-bit
    gray scaled down (not clipped)."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image).astype(np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") else array.max() or 1
        array = np.clip(array / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(np.stack([array] * 3, axis=-1))
    if image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    ):
        return image.convert("RGBA").convert("RGB")
    return image.convert("RGB")
