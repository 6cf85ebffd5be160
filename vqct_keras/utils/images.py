"""uint8 pixels of [-1, 1] images, and the picture of image rows.

`to_uint8` is the one float-to-pixel rule of the library: the metrics, the
evaluation pictures and the training pictures all use it.
"""

import math

import numpy as np
import PIL.Image
from keras import ops

from vqct_keras.utils import files


def to_uint8(images):
    """[-1, 1] floats -> uint8 pixels, as the VQCT test script does.

    `uint8((clip(x, -1, 1) + 1) * 0.5 * 255 + 0.5)`: truncation after
    adding 0.5, i.e. rounding; in float32, the script's (torch) precision.

    Example:

    >>> to_uint8(np.array([-1.0, 0.0, 1.0, 2.0])).tolist()
    [0, 128, 255, 255]
    """
    if not isinstance(images, np.ndarray):
        images = ops.convert_to_numpy(images)
    images = images.astype("float32")
    unit = (np.clip(images, -1.0, 1.0) + 1.0) * np.float32(0.5)
    return (unit * np.float32(255.0) + np.float32(0.5)).astype("uint8")


def save_image_grid(rows, path, min_tile=64):
    """Save rows of images (e.g. originals above reconstructions) as a PNG.

    Tiles are separated by 2 white pixels; small images are enlarged
    (nearest neighbour, by an integer factor) to at least `min_tile`
    pixels. The file is written atomically.

    Args:
        rows: list of `(N, H, W, C)` arrays of one shape (C = 1 or 3):
            uint8 pixels, or floats in [-1, 1] (converted by `to_uint8`).
        path: str. Output `.png`.
        min_tile: int. Defaults to `64`.

    Returns:
        str. `path`.

    Example:

    >>> import os, tempfile
    >>> images = np.zeros((3, 8, 8, 3), "uint8")
    >>> path = os.path.join(tempfile.mkdtemp(), "grid.png")
    >>> path = save_image_grid([images, images], path)
    >>> with PIL.Image.open(path) as png:
    ...     png.size
    (200, 134)
    """
    rows = [
        row if row.dtype == np.uint8 else to_uint8(row)
        for row in (
            x if isinstance(x, np.ndarray) else ops.convert_to_numpy(x)
            for x in rows
        )
    ]
    shapes = {row.shape for row in rows}
    if len(shapes) != 1 or rows[0].ndim != 4:
        raise ValueError(
            "rows must be equal (N, H, W, C) arrays; got shapes "
            f"{[row.shape for row in rows]}"
        )
    count, height, width, channels = rows[0].shape
    scale = max(1, math.ceil(min_tile / max(1, min(height, width))))
    gap = 2
    tile_height, tile_width = height * scale, width * scale
    grid = np.full(
        (
            len(rows) * (tile_height + gap) + gap,
            count * tile_width + (count + 1) * gap,
            channels,
        ),
        255,
        "uint8",
    )
    for number, images in enumerate(rows):
        top = gap + number * (tile_height + gap)
        for column, image in enumerate(images):
            left = gap + column * (tile_width + gap)
            tile = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
            grid[top : top + tile_height, left : left + tile_width] = tile
    if channels == 1:
        grid = grid[..., 0]
    with files.atomic_open(path, "wb") as file:
        PIL.Image.fromarray(grid).save(file, format="PNG")
    return path
