import doctest
import io

import numpy as np
import PIL.Image
import pytest
import skimage.data
import skimage.metrics
from keras import ops

from vqct_keras.metrics import image_quality
from vqct_keras.metrics.image_quality import jpeg_round_trip
from vqct_keras.metrics.image_quality import l1_error
from vqct_keras.metrics.image_quality import mean_squared_error
from vqct_keras.metrics.image_quality import psnr
from vqct_keras.metrics.image_quality import rgb_to_grayscale
from vqct_keras.metrics.image_quality import ssim
from vqct_keras.utils.images import to_uint8


@pytest.fixture(scope="module")
def pairs():
    """Photo crops (astronaut, coffee) and distorted copies, uint8."""
    rng = np.random.default_rng(0)
    crops = np.stack(
        [
            skimage.data.astronaut()[100:164, 150:230],
            skimage.data.coffee()[50:114, 200:280],
            skimage.data.chelsea()[60:124, 120:200],
        ]
    )
    noisy = np.clip(crops + rng.normal(0, 12, crops.shape), 0, 255)
    distorted = np.concatenate(
        [noisy.round().astype("uint8"), jpeg_round_trip(crops, quality=30)]
    )
    return np.concatenate([crops, crops]), distorted


def test_psnr_matches_official_formula_and_skimage(pairs):
    originals, distorted = pairs
    values = psnr(distorted, originals)
    assert values.shape == (6,)
    for value, a, b in zip(values, distorted, originals):
        mse = np.mean((a.astype("float64") - b.astype("float64")) ** 2)
        assert value == pytest.approx(20 * np.log10(255 / np.sqrt(mse)))
        expected = skimage.metrics.peak_signal_noise_ratio(b, a)
        assert value == pytest.approx(expected, abs=1e-10)
    assert np.isinf(psnr(originals[0], originals[0]))


def test_ssim_rgb_matches_skimage(pairs):
    originals, distorted = pairs
    values = ssim(distorted, originals)
    for value, a, b in zip(values, distorted, originals):
        expected = skimage.metrics.structural_similarity(b, a, channel_axis=-1)
        assert value == pytest.approx(expected, abs=1e-10)
    np.testing.assert_allclose(ssim(originals, originals), 1.0)


def test_ssim_grayscale_is_the_official_pil_variant(pairs):
    originals, distorted = pairs
    values = ssim(distorted, originals, grayscale=True)
    for value, a, b in zip(values, distorted, originals):
        gray_a = np.asarray(PIL.Image.fromarray(a).convert("L"))
        gray_b = np.asarray(PIL.Image.fromarray(b).convert("L"))
        expected = skimage.metrics.structural_similarity(gray_b, gray_a)
        assert value == pytest.approx(expected, abs=1e-10)
    # One image in, one value out; backend tensors work.
    single = ssim(
        ops.convert_to_tensor(distorted[0]), originals[0], grayscale=True
    )
    assert single == pytest.approx(values[0])


def test_ssim_argument_checks(pairs):
    originals, _ = pairs
    with pytest.raises(ValueError, match="data_range"):
        ssim(originals.astype("float32"), originals.astype("float32"))
    value = ssim(
        originals.astype("float32") / 255, originals / 255.0, data_range=1.0
    )
    np.testing.assert_allclose(value, 1.0)
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim(originals[:, :6], originals[:, :6])
    with pytest.raises(ValueError, match="shapes differ"):
        ssim(originals[:1], originals[:2])


def test_grayscale_is_bit_exact_with_pil():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (128, 128, 3), dtype="uint8")
    image[0, :8] = [[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0]] * 2
    expected = np.asarray(PIL.Image.fromarray(image).convert("L"))
    np.testing.assert_array_equal(rgb_to_grayscale(image)[..., 0], expected)


def test_jpeg_round_trip_is_pil_default_save(pairs):
    originals, _ = pairs
    decoded = jpeg_round_trip(originals[:3])
    for image, ours in zip(originals[:3], decoded):
        buffer = io.BytesIO()
        PIL.Image.fromarray(image).save(buffer, format="JPEG")  # defaults
        expected = np.asarray(PIL.Image.open(buffer).convert("RGB"))
        np.testing.assert_array_equal(ours, expected)
    assert not np.array_equal(decoded, originals[:3])
    assert jpeg_round_trip(originals[0]).shape == originals[0].shape
    with pytest.raises(ValueError, match="uint8"):
        jpeg_round_trip(originals.astype("float32"))


def test_to_uint8_rounds_like_the_test_script():
    x = np.array([-2.0, -1.0, -0.999, 0.0, 0.5, 1.0, 3.0], "float32")
    expected = np.floor((np.clip(x, -1, 1) + 1) * 0.5 * 255 + 0.5)
    np.testing.assert_array_equal(to_uint8(x), expected.astype("uint8"))
    assert to_uint8(ops.convert_to_tensor(x)).dtype == np.uint8


def test_l1_and_mse_per_image():
    a = np.zeros((2, 4, 4, 3), "float32")
    b = np.stack([np.full((4, 4, 3), 0.5), np.full((4, 4, 3), -1.0)])
    np.testing.assert_allclose(l1_error(a, b), [0.5, 1.0])
    np.testing.assert_allclose(mean_squared_error(a, b), [0.25, 1.0])


def test_docstring_examples():
    assert doctest.testmod(image_quality, raise_on_error=True).failed == 0
