"""Helpers that write small image files for the data tests."""

import os

import numpy as np
from PIL import Image


def write_images(folder, count, size=(12, 16), start=0):
    """Write `count` random RGB images (alternately JPEG and PNG) named
    `<start>.jpg`, `<start + 1>.png`, ... into `folder`."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(start)
    for index in range(start, start + count):
        array = rng.integers(0, 256, size + (3,), dtype=np.uint8)
        extension = "png" if index % 2 else "jpg"
        path = os.path.join(folder, f"{index}.{extension}")
        Image.fromarray(array).save(path)
