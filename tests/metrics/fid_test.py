import doctest

import numpy as np
import pytest
from keras import ops

from vqct_keras.metrics import fid as fid_lib
from vqct_keras.metrics.fid import FrechetInceptionDistance
from vqct_keras.metrics.fid import frechet_distance


def random_covariance(rng, dim, rank=None):
    factor = rng.normal(size=(dim, rank or dim))
    return factor @ factor.T / dim


def test_closed_form_gaussians():
    dim = 16
    mean = np.full(dim, 0.5)
    # N(0, I) vs N(m, s^2 I): |m|^2 + dim * (1 - s)^2.
    for scale in (1.0, 2.0, 0.25):
        expected = np.sum(mean**2) + dim * (1.0 - scale) ** 2
        for method in ("eigen", "sqrtm"):
            actual = frechet_distance(
                np.zeros(dim),
                np.eye(dim),
                mean,
                scale**2 * np.eye(dim),
                method=method,
            )
            np.testing.assert_allclose(actual, expected, rtol=1e-9)


def test_eigen_and_sqrtm_agree_also_when_rank_deficient():
    rng = np.random.default_rng(0)
    for rank in (None, 20):  # 20 < 64: singular, as with few images
        covariance_1 = random_covariance(rng, 64, rank)
        covariance_2 = random_covariance(rng, 64, rank)
        mean_1, mean_2 = rng.normal(size=64), rng.normal(size=64)
        eigen = frechet_distance(mean_1, covariance_1, mean_2, covariance_2)
        sqrtm = frechet_distance(
            mean_1, covariance_1, mean_2, covariance_2, method="sqrtm"
        )
        np.testing.assert_allclose(eigen, sqrtm, rtol=1e-6)
        assert frechet_distance(mean_1, covariance_1, mean_1, covariance_1) < (
            1e-8
        )
    with pytest.raises(ValueError, match="method"):
        frechet_distance(mean_1, covariance_1, mean_2, covariance_2, "svd")


def test_streaming_statistics_equal_one_shot():
    rng = np.random.default_rng(1)
    features = rng.normal(3.0, 2.0, size=(203, 32)) @ rng.normal(size=(32, 32))
    fid = FrechetInceptionDistance(feature_extractor=lambda x: x)
    for start, stop in [(0, 1), (1, 64), (64, 65), (65, 150), (150, 203)]:
        fid.update_features(reference=features[start:stop])
    mean, covariance, count = fid.statistics("reference")
    assert count == 203
    np.testing.assert_allclose(mean, features.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(
        covariance, np.cov(features, rowvar=False), rtol=1e-10, atol=1e-10
    )
    # Same set on both sides: FID ~ 0.
    fid.update_features(generated=features)
    assert fid.result() < 1e-6
    fid.reset()
    with pytest.raises(ValueError, match="at least 2"):
        fid.result()


def test_update_runs_the_feature_extractor_on_images():
    rng = np.random.default_rng(2)
    images = rng.uniform(-1, 1, (40, 4, 4, 3)).astype("float32")
    fid = FrechetInceptionDistance(
        feature_extractor=lambda x: ops.reshape(x, (x.shape[0], -1))
    )
    fid.update(reference=images[:20], generated=images[:20])
    fid.update(reference=images[20:], generated=images[20:] + 0.5)
    flat = images.reshape(40, -1)
    shifted = flat.copy()
    shifted[20:] += 0.5
    expected = frechet_distance(
        flat.mean(0),
        np.cov(flat, rowvar=False),
        shifted.mean(0),
        np.cov(shifted, rowvar=False),
    )
    # Streaming and one-shot covariances round differently (seen: 2e-8).
    np.testing.assert_allclose(fid.result(), expected, rtol=1e-6)


def test_docstring_examples():
    assert doctest.testmod(fid_lib, raise_on_error=True).failed == 0


def _photo_crops(count, size, seed):
    import skimage.data

    rng = np.random.default_rng(seed)
    photos = [
        getattr(skimage.data, name)()
        for name in ("astronaut", "chelsea", "coffee", "rocket")
    ]
    crops = []
    for index in range(count):
        photo = photos[index % len(photos)]
        top = rng.integers(0, photo.shape[0] - size)
        left = rng.integers(0, photo.shape[1] - size)
        crops.append(photo[top : top + size, left : left + size, :3])
    return np.stack(crops).astype("uint8")


@pytest.mark.large
def test_fid_orders_blurred_and_noisy_copies():
    from scipy.ndimage import gaussian_filter

    images = _photo_crops(20, 64, seed=0)
    rng = np.random.default_rng(1)

    def blurred(sigma):
        out = gaussian_filter(images.astype("float64"), (0, sigma, sigma, 0))
        return np.clip(out.round(), 0, 255).astype("uint8")

    def noisy(std):
        out = images + rng.normal(0, std, images.shape)
        return np.clip(out.round(), 0, 255).astype("uint8")

    fid = FrechetInceptionDistance()
    reference_features = fid._extract(images)

    def score(generated):
        fid.reset()
        fid.update_features(reference=reference_features)
        fid.update(generated=generated)
        return fid.result()

    assert score(images) < 1e-3
    # Measured: blur 119 < 279, noise 151 < 297 (20 crops of 64 px).
    blur_small, blur_large = score(blurred(1.0)), score(blurred(3.0))
    noise_small, noise_large = score(noisy(8.0)), score(noisy(40.0))
    assert 10.0 < blur_small < blur_large
    assert 10.0 < noise_small < noise_large
