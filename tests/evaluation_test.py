import doctest
import json
import os

import numpy as np
import PIL.Image
import pytest
import tensorflow as tf

from vqct_keras import evaluation
from vqct_keras.evaluation import ReconstructionEvaluator
from vqct_keras.evaluation import evaluate_tokenizer
from vqct_keras.layers.part_of_speech_quantizer import PartOfSpeechQuantizer
from vqct_keras.layers.vector_quantizer import VectorQuantizer
from vqct_keras.metrics import fid as fid_lib
from vqct_keras.metrics import image_quality
from vqct_keras.models.vqct_tokenizer import VQCTTokenizer
from vqct_keras.prior.codebook_prior import CodebookPrior
from vqct_keras.utils.images import to_uint8

SIZE = 16


def tiny_tokenizer(quantizer="part_of_speech"):
    """A random f2 tokenizer for 16 px images (6 adjectives, 10 nouns)."""
    rng = np.random.default_rng(0)
    if quantizer == "part_of_speech":
        prior = CodebookPrior(
            adjectives=[f"adj{i}" for i in range(6)],
            nouns=[f"noun{i}" for i in range(10)],
            vectors=rng.normal(size=(16, 12)),
            edges=rng.integers(0, 16, size=(24, 2)),
        )
        layer = PartOfSpeechQuantizer.from_prior(
            prior, embed_dim=8, seed=0, name="quantizer"
        )
    else:
        layer = VectorQuantizer(16, 8, seed=0, name="quantizer")
    tokenizer = VQCTTokenizer(
        layer,
        resolution=SIZE,
        ch=32,
        ch_mult=(1, 2),
        num_res_blocks=1,
        attn_resolutions=(),
        z_channels=16,
    )
    tokenizer.build()
    return tokenizer


def random_images(count, seed=0, size=SIZE):
    """Smooth random images in [-1, 1] (so JPEG and SSIM are not trivial)."""
    rng = np.random.default_rng(seed)
    low = rng.uniform(-1, 1, (count, size // 4, size // 4, 3))
    images = np.repeat(np.repeat(low, 4, axis=1), 4, axis=2)
    noise = rng.normal(0, 0.1, images.shape)
    return np.clip(images + noise, -1, 1).astype("float32")


def fake_features(images):
    """Cheap stand-in for Inception: 4x4 average pools of the pixels."""
    images = np.asarray(images, "float64") / 255.0
    batch, height, width, channels = images.shape
    pooled = images.reshape(batch, height // 4, 4, width // 4, 4, channels)
    return pooled.mean(axis=(2, 4)).reshape(batch, -1)


def fake_lpips(images_0, images_1):
    return np.mean(np.abs(images_0 - images_1), axis=(1, 2, 3))


CHEAP = dict(fid_feature_extractor=fake_features, lpips_model=fake_lpips)


@pytest.fixture(scope="module")
def tokenizers():
    return {
        "part_of_speech": tiny_tokenizer("part_of_speech"),
        "vector": tiny_tokenizer("vector"),
    }


def batches(images, batch_size):
    return [
        images[start : start + batch_size]
        for start in range(0, len(images), batch_size)
    ]


def test_evaluator_equals_one_shot_computation():
    """Streaming over uneven batches gives the whole-set figures."""
    images = random_images(10, seed=1)
    reconstructions = np.clip(
        images + np.random.default_rng(2).normal(0, 0.2, images.shape), -1.2, 1
    ).astype("float32")
    indices = np.random.default_rng(3).integers(0, 16, (10, 4, 4, 1))
    evaluator = ReconstructionEvaluator(
        VectorQuantizer(num_codes=20, embed_dim=2), **CHEAP
    )
    for start, stop in [(0, 4), (4, 5), (5, 10)]:
        evaluator.update(
            images[start:stop], reconstructions[start:stop], indices[start:stop]
        )
    results = evaluator.result()

    originals = to_uint8(images)
    rebuilt = to_uint8(reconstructions)
    np.testing.assert_allclose(
        results["psnr"], image_quality.psnr(rebuilt, originals).mean()
    )
    np.testing.assert_allclose(
        results["ssim"],
        image_quality.ssim(rebuilt, originals, grayscale=True).mean(),
    )
    np.testing.assert_allclose(
        results["ssim_rgb"], image_quality.ssim(rebuilt, originals).mean()
    )
    np.testing.assert_allclose(
        results["l1"], np.abs(reconstructions - images).mean(), rtol=1e-6
    )
    np.testing.assert_allclose(
        results["mse"], np.square(reconstructions - images).mean(), rtol=1e-6
    )
    np.testing.assert_allclose(
        results["lpips"],
        np.abs(np.clip(reconstructions, -1, 1) - images).mean(),
        rtol=1e-6,
    )
    reference, generated = fake_features(originals), fake_features(rebuilt)
    expected_fid = fid_lib.frechet_distance(
        reference.mean(0),
        np.cov(reference, rowvar=False),
        generated.mean(0),
        np.cov(generated, rowvar=False),
    )
    # Streaming and one-shot covariances round differently, and the matrix
    # square root of a rank-deficient product amplifies that to ~1e-6.
    np.testing.assert_allclose(results["rfid"], expected_fid, rtol=1e-5)
    assert "rank deficient" in results["notes"]["rfid"]  # 10 < 48 dims
    counts = np.bincount(indices.ravel(), minlength=20)
    assert results["codebooks"]["codebook"]["total"] == indices.size
    assert results["codebook_dead_codes"] == int(np.sum(counts == 0))
    assert results["codebook_usage"] == np.count_nonzero(counts) / 20
    probabilities = counts[counts > 0] / counts.sum()
    np.testing.assert_allclose(
        results["codebook_perplexity"],
        np.exp(-np.sum(probabilities * np.log(probabilities))),
    )
    assert results["num_images"] == 10
    assert results["image_shape"] == [SIZE, SIZE, 3]


def test_evaluate_vqct_tokenizer_whole_pass_and_files(tokenizers, tmp_path):
    tokenizer = tokenizers["part_of_speech"]
    images = random_images(7)
    results = evaluate_tokenizer(
        tokenizer,
        batches(images, 3),
        output_dir=str(tmp_path),
        grid_size=5,
        progress=False,
        metadata={"dataset": "random"},
        **CHEAP,
    )
    assert results["num_images"] == 7 and results["num_batches"] == 3
    outputs = tokenizer.predict_on_batch(images)
    indices = outputs["indices"]
    assert results["index_shape"] == list(indices.shape[1:])
    adjective = results["codebooks"]["adjective"]
    noun = results["codebooks"]["noun"]
    assert adjective["num_codes"] == 6 and noun["num_codes"] == 10
    assert adjective["total"] == indices[..., :-1].size  # all top-k picks
    assert noun["total"] == indices[..., -1].size
    assert noun["used_codes"] == len(np.unique(indices[..., -1]))
    assert results["noun_dead_codes"] == 10 - noun["used_codes"]
    np.testing.assert_allclose(
        results["l1"],
        np.abs(outputs["reconstruction"] - images).mean(),
        rtol=1e-4,
    )
    for key in ("rfid", "lpips", "psnr", "ssim", "ssim_rgb", "l1", "mse"):
        assert np.isfinite(results[key]), key
    assert results["metadata"] == {"dataset": "random"}

    with open(tmp_path / "metrics.json") as file:
        saved = json.load(file, parse_constant=pytest.fail)  # strict JSON
    assert saved["psnr"] == pytest.approx(results["psnr"])
    assert saved["protocol"]["jpeg_quality"] is None
    assert saved["files"]["reconstructions"] == "reconstructions.png"
    with PIL.Image.open(tmp_path / "reconstructions.png") as grid:
        # 5 tiles of 16 px enlarged 4x, 2 px gaps; two rows.
        assert grid.size == (5 * 64 + 6 * 2, 2 * 64 + 3 * 2)
    with PIL.Image.open(tmp_path / "code_histogram.png") as histogram:
        assert histogram.size[0] > 0


def test_vector_quantizer_has_one_codebook(tokenizers):
    results = evaluate_tokenizer(
        tokenizers["vector"],
        batches(random_images(4), 2),
        compute_fid=False,
        compute_lpips=False,
        progress=False,
    )
    assert list(results["codebooks"]) == ["codebook"]
    assert results["codebooks"]["codebook"]["total"] == 4 * 8 * 8
    assert "adjective_usage" not in results
    assert results["rfid"] is None and results["lpips"] is None
    assert "compute_fid=False" in results["notes"]["rfid"]
    assert "compute_lpips=False" in results["notes"]["lpips"]


def test_jpeg_round_trip_changes_pixel_metrics_only(tokenizers):
    tokenizer = tokenizers["vector"]
    data = batches(random_images(4), 4)
    plain = evaluate_tokenizer(tokenizer, data, progress=False, **CHEAP)
    jpeg = evaluate_tokenizer(
        tokenizer, data, jpeg_quality=75, progress=False, **CHEAP
    )
    assert jpeg["protocol"]["jpeg_quality"] == 75
    assert "quality 75" in jpeg["protocol"]["psnr"]
    assert jpeg["l1"] == plain["l1"] and jpeg["lpips"] == plain["lpips"]
    assert jpeg["psnr"] != plain["psnr"] and jpeg["ssim"] != plain["ssim"]
    assert jpeg["rfid"] != plain["rfid"]


def test_tf_data_tuples_and_max_batches(tokenizers):
    images = random_images(10)
    dataset = tf.data.Dataset.from_tensor_slices((images, np.arange(10)))
    results = evaluate_tokenizer(
        tokenizers["vector"],
        dataset.batch(3),
        max_batches=2,
        compute_fid=False,
        compute_lpips=False,
        progress=True,
    )
    assert results["num_batches"] == 2 and results["num_images"] == 6
    assert results["protocol"]["max_batches"] == 2


def test_too_few_images_for_fid(tokenizers):
    tokenizer = tokenizers["vector"]
    one = evaluate_tokenizer(
        tokenizer, [random_images(1)], progress=False, **CHEAP
    )
    assert one["rfid"] is None
    assert "at least 2 images" in one["notes"]["rfid"]
    assert one["psnr"] is not None
    two = evaluate_tokenizer(
        tokenizer, [random_images(2)], progress=False, **CHEAP
    )
    assert two["rfid"] >= 0.0
    assert "rank deficient" in two["notes"]["rfid"]


def test_identical_images_give_null_psnr_in_json(tmp_path):
    images = random_images(2)
    evaluator = ReconstructionEvaluator(
        VectorQuantizer(num_codes=4, embed_dim=2), **CHEAP
    )
    evaluator.update(images, images, np.zeros((2, 2, 2, 1), "int32"))
    results = evaluator.result()
    assert results["psnr"] == float("inf") and results["ssim"] == 1.0
    assert results["rfid"] == pytest.approx(0.0, abs=1e-9)
    evaluator.write(str(tmp_path), results)
    with open(tmp_path / "metrics.json") as file:
        assert json.load(file)["psnr"] is None


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "no batches"),
        ([random_images(2)[0]], "Batch the dataset"),
        ([np.zeros((1, SIZE, SIZE, 3), "uint8")], "dtype uint8"),
        ([np.full((1, SIZE, SIZE, 3), 255.0, "float32")], "x / 127.5 - 1"),
        ([np.zeros((1, SIZE, SIZE, 1), "float32")], "3 channels"),
        ([np.zeros((1, 15, 15, 3), "float32")], "divisible"),
        ([np.full((1, SIZE, SIZE, 3), np.nan, "float32")], "NaN"),
        (tf.data.Dataset.from_tensors(random_images(1)).repeat(), "infinite"),
        ([{"label": np.zeros(1)}], "'image'"),
    ],
)
def test_bad_datasets_are_explained(tokenizers, data, message):
    with pytest.raises(ValueError, match=message):
        evaluate_tokenizer(
            tokenizers["vector"],
            data,
            compute_fid=False,
            compute_lpips=False,
            progress=False,
        )


def test_dict_elements_and_small_images_skip_lpips(tokenizers):
    images = random_images(2, size=8)
    results = evaluate_tokenizer(
        tokenizers["vector"],
        [{"image": images}],
        compute_fid=False,
        progress=False,
    )
    assert results["lpips"] is None
    assert "16 px" in results["notes"]["lpips"]
    assert results["ssim"] is not None


def test_docstring_examples():
    failures, _ = doctest.testmod(evaluation, optionflags=doctest.ELLIPSIS)
    assert failures == 0


@pytest.mark.large
def test_real_fid_and_lpips_networks(tokenizers, tmp_path):
    images = random_images(4)
    evaluator = ReconstructionEvaluator(
        VectorQuantizer(num_codes=4, embed_dim=2)
    )
    evaluator.update(images, images, np.zeros((4, 2, 2, 1), "int32"))
    same = evaluator.result()
    assert same["rfid"] == pytest.approx(0.0, abs=1e-3)
    assert same["lpips"] == pytest.approx(0.0, abs=1e-6)
    results = evaluate_tokenizer(
        tokenizers["part_of_speech"],
        batches(images, 3),
        output_dir=str(tmp_path),
        jpeg_quality=75,
        progress=False,
    )
    assert results["rfid"] > 1.0 and 0.0 < results["lpips"] < 1.5
    assert "FIDInceptionV3" in results["protocol"]["rfid"]
    assert os.path.exists(tmp_path / "metrics.json")
