import doctest
import json

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tests.evaluation_test import CHEAP
from tests.evaluation_test import tiny_tokenizer
from tests.training.evaluate_test import write_image_folder
from vqct_keras import evaluation_protocol
from vqct_keras.evaluation_protocol import EvaluationProtocol


@pytest.mark.parametrize(
    "dataset, split",
    [
        ("ade20k", "validation"),
        ("coco2014", "validation"),
        ("cub200", "test"),
        ("celeba_hq", "test"),
    ],
)
def test_paper_datasets_default_to_the_paper_protocol(dataset, split):
    protocol = EvaluationProtocol.for_dataset(dataset)
    assert protocol == EvaluationProtocol(
        split=split, jpeg_quality=75, max_images=None
    )
    assert protocol.paper_differences(dataset) == []


def test_other_datasets_and_overrides():
    assert EvaluationProtocol.for_dataset("default") == EvaluationProtocol()
    assert EvaluationProtocol.for_dataset("/data/photos").split == "test"
    assert (
        EvaluationProtocol.for_dataset("default").paper_differences("default")
        is None
    )
    protocol = EvaluationProtocol.for_dataset(
        "cub200", split="train", jpeg_quality=0, max_images=10
    )
    assert protocol.jpeg_quality is None  # 0 switches JPEG off
    assert protocol.paper_differences("cub200") == [
        "split 'train', not 'test'",
        "no JPEG round trip",
        "the first 10 images, not the whole split",
    ]
    # Unset flags (None) keep the dataset's defaults.
    assert EvaluationProtocol.for_dataset(
        "coco2014", split=None, jpeg_quality=None
    ) == EvaluationProtocol.for_dataset("coco2014")


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(jpeg_quality=100), "jpeg_quality must be in"),
        (dict(max_images=0), "max_images must be >= 1"),
        (dict(fid_protocol="clean"), "fid_protocol must be one of"),
    ],
)
def test_bad_fields_are_explained(fields, message):
    with pytest.raises(ValueError, match=message):
        EvaluationProtocol(**fields)


def test_coco_validation_is_scored_without_flips(tmp_path, monkeypatch):
    """COCO's validation pipeline flips at random (as the official loader);
    the protocol reads it deterministically, in order."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    protocol = EvaluationProtocol.for_dataset("coco2014")
    with tfds.testing.mock_data(num_examples=5):
        passes = []
        for _ in range(2):
            batches, info, count = protocol.load("coco2014", 16, 2)
            passes.append(np.concatenate(list(batches.as_numpy_iterator())))
    assert info.split == "validation" and count == info.num_examples == 5
    assert not info.preprocessing.is_random
    np.testing.assert_array_equal(passes[0], passes[1])
    assert passes[0].shape == (5, 16, 16, 3)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    return write_image_folder(
        str(tmp_path_factory.mktemp("images")), 5, unreadable=True
    )


def test_evaluate_states_the_protocol(image_folder, tmp_path):
    protocol = EvaluationProtocol(max_images=3, jpeg_quality=75)
    results = protocol.evaluate(
        tiny_tokenizer(),
        image_folder,
        batch_size=2,
        data_dir=str(tmp_path / "tfds"),
        output_dir=str(tmp_path / "eval"),
        progress=False,
        **CHEAP,
    )
    assert results["num_images"] == 3 and results["num_batches"] == 2
    with open(tmp_path / "eval" / "metrics.json") as file:
        saved = json.load(file)
    for stored in (results, saved):
        described = stored["protocol"]
        assert described["split"] == "test"
        assert described["split_size"] == 5
        assert described["num_images"] == 3
        assert described["whole_split"] is False
        assert described["jpeg_quality"] == 75
        assert described["paper_protocol"] is None
        assert "center crop" in described["preprocessing"]
        assert stored["metadata"]["split_size"] == 5
        assert described["num_skipped"] == 1
        assert stored["metadata"]["num_skipped"] == 1
        assert stored["metadata"]["skipped_files"][0][0] == "broken.png"
        assert any("rFID from 3 images" in w for w in stored["warnings"])
    lines = evaluation_protocol.console_lines(saved)
    assert lines[0].startswith("Protocol: ")
    assert "3 of 5 images (prefix)" in lines[0]
    assert "JPEG q75 round trip" in lines[0]
    assert "1 unreadable file skipped" in lines[0]
    assert lines[-1].startswith("WARNING: rFID from 3 images")


def test_no_rfid_warning_without_rfid(image_folder, tmp_path):
    protocol = EvaluationProtocol(compute_fid=False, compute_lpips=False)
    results = protocol.evaluate(
        tiny_tokenizer(),
        image_folder,
        batch_size=5,
        data_dir=str(tmp_path / "tfds"),
        progress=False,
    )
    assert results["protocol"]["whole_split"] is True
    assert results["warnings"] == []
    assert results["protocol"]["fid_inception_weights"] is None


def test_docstring_examples():
    result = doctest.testmod(evaluation_protocol)
    assert result.failed == 0 and result.attempted > 0
