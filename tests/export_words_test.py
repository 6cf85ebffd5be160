"""The serving export carries the words (`vocabulary.json`)."""

import json
import os

import keras
import numpy as np
import pytest

from tests.evaluation_test import tiny_tokenizer
from vqct_keras.export import export_for_serving
from vqct_keras.vocabulary import CodeVocabulary


@pytest.mark.large
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="export runs on TF here"
)
def test_export_has_the_words_of_its_indices(tmp_path):
    import tensorflow as tf

    tokenizer = tiny_tokenizer("part_of_speech")
    saved = export_for_serving(tokenizer, str(tmp_path / "serving"))
    with open(os.path.join(saved, "export_info.json")) as file:
        info = json.load(file)
    assert info["vocabulary"]["file"] == "vocabulary.json"
    assert info["vocabulary"]["num_nouns"] == 10
    vocabulary = CodeVocabulary.load(saved)
    assert vocabulary == tokenizer.vocabulary
    images = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3))
    loaded = tf.saved_model.load(saved)
    indices = loaded.signatures["encode_to_indices"](
        images=tf.constant(images, tf.float32)
    )["indices"].numpy()
    np.testing.assert_array_equal(
        vocabulary.indices_to_words(indices),
        tokenizer.indices_to_words(indices),
    )


@pytest.mark.large
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="export runs on TF here"
)
def test_baseline_export_has_no_words(tmp_path):
    saved = export_for_serving(
        tiny_tokenizer("vector"), str(tmp_path / "serving")
    )
    with open(os.path.join(saved, "export_info.json")) as file:
        assert json.load(file)["vocabulary"] is None
    assert not os.path.exists(os.path.join(saved, "vocabulary.json"))
