import json

import pytest

from tests.prior import tiny_backbones
from vqct_keras.prior import corpus
from vqct_keras.prior import nltk_resources


@pytest.fixture(scope="module", autouse=True)
def nltk_data():
    nltk_resources.ensure_nltk_resources(download=False)


def test_counts_follow_the_official_rules():
    counts = corpus.count_captions(
        [
            "Two fluffy dogs sitting on the green grass.",
            "A fluffy dog. A red car!",
            "The bigger dogs and the red cars.",
        ]
    )
    # Nouns are lemmatised to the singular, adjectives are JJ only
    # ("bigger" is JJR), in order of first appearance.
    assert list(counts.noun_counts)[:3] == ["dog", "grass", "car"]
    assert counts.noun_counts["dog"] == 3
    assert counts.noun_counts["car"] == 2
    assert list(counts.adjective_counts) == ["fluffy", "green", "red"]
    assert "bigger" not in counts.adjective_counts
    assert counts.pair_counts[("fluffy", "dog")] == 2
    assert counts.pair_counts[("red", "car")] == 2
    assert counts.pair_counts[("green", "grass")] == 1
    assert counts.num_captions == 3


def test_kept_words_threshold_and_cap():
    counts = corpus.CorpusCounts(
        adjective_counts={"red": 3, "big": 11, "old": 12, "wet": 11},
        noun_counts={},
        pair_counts={},
        num_captions=0,
    )
    assert counts.kept_words(counts.adjective_counts, 10) == [
        "big",
        "old",
        "wet",
    ]
    assert counts.kept_words(counts.adjective_counts, 10, max_words=2) == [
        "big",
        "old",
    ]


def test_caption_file_and_coco_json(tmp_path):
    coco = tmp_path / "captions_train.json"
    coco.write_text(
        json.dumps(
            {"annotations": [{"caption": "A red car."}, {"caption": ""}]}
        )
    )
    captions = list(
        corpus.read_caption_files([tiny_backbones.CAPTIONS_FILE, str(coco)])
    )
    assert captions[0] == "A small fluffy dog sitting on the green grass."
    assert captions[-1] == "A red car."
    assert len(captions) == 26


def test_caption_file_errors(tmp_path):
    with pytest.raises(corpus.CorpusError, match="does not exist"):
        list(corpus.read_caption_files([str(tmp_path / "absent.txt")]))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"images": []}))
    with pytest.raises(corpus.CorpusError, match="annotations"):
        list(corpus.read_caption_files([str(bad)]))


def test_tfds_missing_dataset_names_the_fix(tmp_path):
    with pytest.raises(corpus.CorpusError, match="tfds build"):
        list(
            corpus.read_tfds_captions(
                "no_such_captions_dataset", data_dir=str(tmp_path)
            )
        )


def test_tfds_captions_dataset_is_flattened():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(
        num_examples=3, policy=tfds.testing.MockPolicy.USE_CODE
    ):
        captions = list(corpus.read_tfds_captions("coco_captions"))
        with pytest.raises(corpus.CorpusError, match="--tfds_text_key"):
            list(
                corpus.read_tfds_captions(
                    "coco_captions", text_key="captions/words"
                )
            )
    # Several captions per image, as text.
    assert len(captions) > 3
    assert all(isinstance(caption, str) for caption in captions)
