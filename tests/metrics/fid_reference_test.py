"""FID reference statistics cached in a file give the same rFID, fewer
Inception passes, and are refused for other images or another protocol."""

import numpy as np
import pytest

from vqct_keras.evaluation import ReconstructionEvaluator
from vqct_keras.layers.vector_quantizer import VectorQuantizer
from vqct_keras.metrics.fid_reference import FIDReferenceCache


class CountingExtractor:
    """Features = per-channel means and stds of uint8 images; counts rows."""

    def __init__(self):
        self.rows = 0

    def __call__(self, images):
        images = np.asarray(images, "float64")
        self.rows += images.shape[0]
        return np.concatenate(
            [images.mean(axis=(1, 2)), images.std(axis=(1, 2))], axis=1
        )


def batches(seed, count=4, size=8):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        images = rng.uniform(-1, 1, (size, 8, 8, 3)).astype("float32")
        noise = rng.normal(0, 0.2, images.shape).astype("float32")
        yield images, np.clip(images + noise, -1, 1)


def rfid(seed=0, cache=None, extractor=None, fid_protocol="pytorch_fid"):
    extractor = extractor or CountingExtractor()
    evaluator = ReconstructionEvaluator(
        VectorQuantizer(num_codes=4, embed_dim=2),
        compute_lpips=False,
        fid_feature_extractor=extractor,
        fid_reference_cache=cache,
        fid_protocol=fid_protocol,
    )
    for images, reconstructions in batches(seed):
        indices = np.zeros((images.shape[0], 2, 2, 1), "int32")
        evaluator.update(images, reconstructions, indices)
    return evaluator.result(), extractor.rows


def test_cached_reference_gives_the_same_rfid_with_half_the_passes(tmp_path):
    path = tmp_path / "reference.npz"
    plain, plain_rows = rfid()
    first, first_rows = rfid(cache=str(path))
    second, second_rows = rfid(cache=str(path))
    assert path.exists()
    assert first["rfid"] == pytest.approx(plain["rfid"], rel=1e-12)
    assert second["rfid"] == pytest.approx(plain["rfid"], rel=1e-9)
    assert plain_rows == first_rows == 64
    assert second_rows == 32  # only the reconstructions
    assert "read from" in second["notes"]["rfid_reference"]


def test_cache_of_other_images_is_refused(tmp_path):
    path = str(tmp_path / "reference.npz")
    rfid(seed=0, cache=path)
    with pytest.raises(ValueError, match="other images.*Delete the file"):
        rfid(seed=1, cache=path)


def test_cache_of_another_protocol_is_refused(tmp_path):
    path = str(tmp_path / "reference.npz")
    rfid(cache=path)
    with pytest.raises(ValueError, match="computed with"):
        rfid(cache=path, fid_protocol="tensorflow")


def test_unreadable_cache_says_delete_it(tmp_path):
    path = tmp_path / "reference.npz"
    path.write_bytes(b"not an npz")
    with pytest.raises(ValueError, match="Delete it"):
        FIDReferenceCache(str(path)).load()
