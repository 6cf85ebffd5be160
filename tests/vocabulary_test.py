import json

import numpy as np
import pytest

from vqct_keras.prior.codebook_prior import CodebookPrior
from vqct_keras.vocabulary import CodeVocabulary
from vqct_keras.vocabulary import WordsUnavailableError


def toy_prior():
    return CodebookPrior(
        ["red", "big", "old"],
        ["dog", "car", "sky", "tree"],
        np.arange(14, dtype="float32").reshape(7, 2),
        edges=[[0, 3], [1, 4]],
        metadata={"backbone": {"name": "toy"}},
    )


def test_from_prior_keeps_words_and_provenance():
    prior = toy_prior()
    vocabulary = CodeVocabulary.from_prior(prior)
    assert vocabulary.adjectives == ("red", "big", "old")
    assert vocabulary.nouns == ("dog", "car", "sky", "tree")
    provenance = vocabulary.provenance
    assert provenance["content_sha256"] == prior.content_sha256()
    assert provenance["metadata"] == {"backbone": {"name": "toy"}}
    assert provenance["num_edges"] == 2


def test_save_and_load_round_trip(tmp_path):
    vocabulary = CodeVocabulary.from_prior(toy_prior())
    path = vocabulary.save(tmp_path)
    assert CodeVocabulary.load(tmp_path) == vocabulary
    assert CodeVocabulary.load(path) == vocabulary
    with open(path) as file:
        assert json.load(file)["format"] == "vqct_keras.code_vocabulary"


def test_load_errors_name_the_problem(tmp_path):
    with pytest.raises(WordsUnavailableError, match="without words"):
        CodeVocabulary.load(tmp_path)
    (tmp_path / "vocabulary.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="not a vqct_keras.code_vocabulary"):
        CodeVocabulary.load(tmp_path)
    (tmp_path / "vocabulary.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        CodeVocabulary.load(tmp_path)


def test_indices_to_words_for_any_number_of_adjectives():
    vocabulary = CodeVocabulary.from_prior(toy_prior())
    one = vocabulary.indices_to_words(np.array([[[2, 3], [0, 0]]]))
    assert one.tolist() == [["old tree", "red dog"]]
    three = vocabulary.indices_to_words(np.array([[1, 2, 0, 1]]))
    assert three.tolist() == ["big old red car"]
    assert vocabulary.index_words(np.array([1, 2, 0, 1])).tolist() == [
        "big",
        "old",
        "red",
        "car",
    ]


def test_out_of_range_and_bad_layouts_are_errors():
    vocabulary = CodeVocabulary.from_prior(toy_prior())
    with pytest.raises(ValueError, match=r"Noun indices must lie in \[0, 4\)"):
        vocabulary.indices_to_words(np.array([[0, 0, 4]]))
    with pytest.raises(ValueError, match=r"Adjective indices .* \[0, 3\)"):
        vocabulary.indices_to_words(np.array([[-1, 0, 1]]))
    with pytest.raises(ValueError, match="integer indices"):
        vocabulary.indices_to_words(np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="laid out as"):
        vocabulary.indices_to_words(np.array([[0]]))
    with pytest.raises(ValueError, match="does not fit the codebooks"):
        vocabulary.check_sizes(3, 5)
