import io
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from vqct_keras.data import image_files


def _encode(array, format, **kwargs):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=format, **kwargs)
    return buffer.getvalue()


def _decode(data):
    return tf.io.decode_image(data, channels=3, expand_animations=False)


RGB = (np.arange(12 * 10 * 3) % 251).astype(np.uint8).reshape(12, 10, 3)


@pytest.mark.parametrize("format", ["PNG", "JPEG"])
def test_jpeg_and_png_are_kept_unchanged(format):
    data = _encode(RGB, format)
    assert image_files.check_image_bytes(data) is data


@pytest.mark.parametrize("format", ["BMP", "TIFF", "GIF", "WEBP"])
def test_other_formats_become_png(format):
    data = _encode(RGB, format)
    stored = image_files.check_image_bytes(data)
    assert stored.startswith(b"\x89PNG")
    assert _decode(stored).shape == (12, 10, 3)


def test_sixteen_bit_gray_is_scaled_to_eight_bits():
    gray = (np.arange(64, dtype=np.uint16) * 1000).reshape(8, 8)
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="TIFF")
    decoded = _decode(image_files.check_image_bytes(buffer.getvalue()))
    assert decoded.shape == (8, 8, 3)
    assert int(decoded[-1, -1, 0]) == round(63000 / 65535 * 255)


def test_rgba_png_loses_alpha():
    rgba = np.concatenate([RGB, np.full((12, 10, 1), 7, np.uint8)], -1)
    stored = image_files.check_image_bytes(_encode(rgba, "PNG"))
    np.testing.assert_array_equal(_decode(stored).numpy(), RGB)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        _encode(RGB, "JPEG")[:200],  # truncated
        _encode(RGB, "PNG")[:60],
    ],
    ids=["empty", "text", "truncated_jpeg", "truncated_png"],
)
def test_unreadable_bytes_raise(data):
    with pytest.raises(image_files.UnreadableImageError):
        image_files.check_image_bytes(data)


def test_missing_file_raises(tmp_path):
    with pytest.raises(image_files.UnreadableImageError, match="cannot read"):
        image_files.read_image_bytes(str(tmp_path / "absent.jpg"))


def test_list_image_files_is_recursive_sorted_and_skips_hidden(tmp_path):
    for name in ["b.png", "a/c.JPG", "a/.d.png", ".h/e.png", "f.txt"]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    assert image_files.list_image_files(str(tmp_path)) == ["a/c.JPG", "b.png"]


def test_fingerprint_changes_with_files(tmp_path):
    (tmp_path / "a.png").write_bytes(b"1")
    first = image_files.files_fingerprint(str(tmp_path), ["a.png"])
    (tmp_path / "a.png").write_bytes(b"22")
    assert image_files.files_fingerprint(str(tmp_path), ["a.png"]) != first
    assert os.path.exists(tmp_path / "a.png")
