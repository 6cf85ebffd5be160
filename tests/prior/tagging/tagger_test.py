import pytest

from vqct_keras.prior import nltk_resources
from vqct_keras.prior.tagging import tagger


@pytest.fixture(scope="module", autouse=True)
def nltk_data():
    nltk_resources.ensure_nltk_resources(download=False)


def test_word_class():
    assert tagger.word_class("JJ") == "adj"
    assert tagger.word_class("JJS") == "other"
    assert tagger.word_class("NNPS") == "noun"
    assert tagger.word_class("VBG") == "verb"
    assert tagger.word_class("RBR") == "adv"
    assert tagger.word_class("PRP$") == "closed"


def test_tokenize_splits_sentences_and_lowercases():
    assert tagger.tokenize("A Red car. Two dogs!\nA cat") == [
        ["a", "red", "car", "."],
        ["two", "dogs", "!"],
        ["a", "cat"],
    ]
    assert tagger.tokenize("") == []


def test_tagger_and_wordnet_load():
    perceptron = tagger.load_tagger()
    assert perceptron.tag(["a", "red", "dog"])[1] == ("red", "JJ")
    wordnet = tagger.load_wordnet()
    assert wordnet.morphy("dogs", "n") == "dog"
    provenance = tagger.tagger_provenance()
    assert provenance["wordnet_version"] == "3.0"
    assert provenance["tagger_data"]["source"]
