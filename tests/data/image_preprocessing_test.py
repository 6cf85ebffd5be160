import doctest

import numpy as np
import pytest
import tensorflow as tf

from vqct_keras.data import image_preprocessing
from vqct_keras.data.image_preprocessing import ImagePreprocessing
from vqct_keras.data.image_preprocessing import preprocess_image


def _gradient(height, width):
    """uint8 RGB image whose pixels encode their position."""
    rows = np.linspace(0, 255, height)[:, None] * np.ones((1, width))
    cols = np.ones((height, 1)) * np.linspace(0, 255, width)[None, :]
    return np.stack([rows, cols, 255 - rows], -1).round().astype(np.uint8)


def _expected_resize(image, height, width):
    resized = tf.image.resize(
        tf.cast(image, tf.float32), [height, width], antialias=True
    )
    return np.round(np.clip(resized.numpy(), 0, 255)) / 127.5 - 1


def test_doctests():
    result = doctest.testmod(image_preprocessing)
    assert result.failed == 0 and result.attempted > 0


def test_short_side_center_crop_matches_torchvision_arithmetic():
    image = _gradient(30, 45)  # Resize(20): 20 x int(20 * 45 / 30) = 20 x 30.
    output = ImagePreprocessing(20)(image).numpy()
    expected = _expected_resize(image, 20, 30)[:, 5:25]  # round(10/2) = 5
    np.testing.assert_allclose(output, expected, atol=1e-6)


def test_center_crop_rounds_half_to_even():
    image = _gradient(20, 25)  # 20 x 25, crop 20: offset round(2.5) = 2.
    output = ImagePreprocessing(20)(image).numpy()
    expected = _expected_resize(image, 20, 25)[:, 2:22]
    np.testing.assert_allclose(output, expected, atol=1e-6)


def test_square_resize_does_not_keep_aspect_ratio():
    image = _gradient(10, 40)
    output = ImagePreprocessing(16, resize="square", crop=None)(image)
    np.testing.assert_allclose(
        output.numpy(), _expected_resize(image, 16, 16), atol=1e-6
    )


def test_output_range_dtype_and_exact_extremes():
    image = np.zeros((12, 12, 3), np.uint8)
    image[:6] = 255
    output = ImagePreprocessing(12)(image).numpy()
    assert output.dtype == np.float32 and output.shape == (12, 12, 3)
    assert output.min() == -1.0 and output.max() == 1.0


def test_gray_and_alpha_become_rgb():
    gray = np.full((8, 8, 1), 100, np.uint8)
    rgba = np.concatenate(
        [np.full((8, 8, 3), 50, np.uint8), np.zeros((8, 8, 1), np.uint8)], -1
    )
    for image, value in ((gray, 100), (rgba, 50)):
        output = ImagePreprocessing(8)(image).numpy()
        assert output.shape == (8, 8, 3)
        np.testing.assert_allclose(output, value / 127.5 - 1, atol=1e-6)


def test_random_crop_is_a_window_of_the_resized_image_and_seeded():
    image = _gradient(16, 64)
    resized = _expected_resize(image, 16, 64)
    preprocess = ImagePreprocessing(16, crop="random")
    offsets = set()
    for seed in range(12):
        output = preprocess(image, seed=[seed, 7]).numpy()
        again = preprocess(image, seed=[seed, 7]).numpy()
        np.testing.assert_array_equal(output, again)
        matches = [
            left
            for left in range(64 - 16 + 1)
            if np.allclose(output, resized[:, left : left + 16], atol=1e-6)
        ]
        assert len(matches) == 1
        offsets.add(matches[0])
    assert len(offsets) > 3  # Crops move with the seed.


def test_random_flip_mirrors_about_half_the_time():
    image = _gradient(8, 8)
    plain = ImagePreprocessing(8)(image).numpy()
    preprocess = ImagePreprocessing(8, random_flip=True)
    flipped = 0
    for seed in range(40):
        output = preprocess(image, seed=[seed, 0]).numpy()
        if np.array_equal(output, plain[:, ::-1]):
            flipped += 1
        else:
            np.testing.assert_array_equal(output, plain)
    assert 8 <= flipped <= 32


def test_not_random_without_crop_or_flip():
    preprocess = ImagePreprocessing(8)
    assert not preprocess.is_random
    assert ImagePreprocessing(8, random_flip=True).is_random
    assert ImagePreprocessing(8, crop="random").is_random


def test_inside_tf_data_with_per_element_seeds():
    images = tf.data.Dataset.from_tensor_slices(
        np.stack([_gradient(20, 30)] * 4)
    )
    seeds = tf.data.Dataset.random(seed=3).batch(2)
    preprocess = ImagePreprocessing(10, crop="random", random_flip=True)
    dataset = tf.data.Dataset.zip(images, seeds).map(preprocess).batch(4)
    batch = next(iter(dataset))
    assert batch.shape == (4, 10, 10, 3)
    assert batch.dtype == tf.float32


def test_config_round_trip_and_describe():
    preprocess = ImagePreprocessing(64, resize="square", crop=None)
    again = ImagePreprocessing.from_config(preprocess.get_config())
    assert again == preprocess
    assert preprocess.describe() == "resize to 64x64"
    assert preprocess.replace(image_size=32).image_size == 32


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(image_size=0),
        dict(resize="shortest"),
        dict(crop="corner"),
        dict(crop=None),  # short-side resize needs a crop
    ],
)
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        ImagePreprocessing(**kwargs)


def test_functional_form():
    output = preprocess_image(_gradient(9, 13), 5, crop="center")
    assert output.shape == (5, 5, 3)
