import pytest

from vqct_keras.prior import nltk_resources
from vqct_keras.prior.tagging import evaluate
from vqct_keras.prior.tagging import labelled_words
from vqct_keras.prior.tagging import vocabulary


@pytest.fixture(scope="module")
def tagger():
    nltk_resources.ensure_nltk_resources(download=False)
    return vocabulary.VocabularyTagger()


def classify(tagger):
    return lambda word: tagger.classify_word(word).part_of_speech


def test_hand_labelled_words_at_least_90_percent(tagger):
    result = evaluate.evaluate(classify(tagger), labelled_words.LABELLED_WORDS)
    assert result.num_words >= 150
    assert result.accuracy >= 0.9, result.errors
    assert result.adjective_recall >= 0.85, result.errors
    assert result.reject_recall >= 0.95, result.errors


def test_held_out_words_at_least_90_percent(tagger):
    result = evaluate.evaluate(classify(tagger), labelled_words.HELD_OUT_WORDS)
    assert result.num_words >= 150
    assert result.accuracy >= 0.9, result.errors


def test_better_than_tagging_in_isolation(tagger):
    ours = evaluate.evaluate(classify(tagger), labelled_words.LABELLED_WORDS)
    baseline = evaluate.evaluate(
        vocabulary.isolation_baseline, labelled_words.LABELLED_WORDS
    )
    assert baseline.adjective_recall < 0.7
    assert ours.adjective_recall > baseline.adjective_recall + 0.3


@pytest.mark.parametrize(
    "word, part_of_speech, lemma",
    [
        ("fluffy", "adj", "fluffy"),
        ("striped", "adj", "striped"),
        ("dogs", "noun", "dog"),
        ("mice", "noun", "mouse"),
        ("building", "noun", "building"),
        ("the", None, "the"),
        ("quickly", None, "quickly"),
        ("said", None, "said"),
        ("many", None, "many"),
        ("ten", None, "ten"),
        ("bigger", None, "bigger"),
        ("xq", None, "xq"),
        ("well-known", None, "well-known"),
    ],
)
def test_decisions(tagger, word, part_of_speech, lemma):
    decision = tagger.classify_word(word)
    assert decision.part_of_speech == part_of_speech, decision.reason
    assert decision.lemma == lemma


def test_visual_filter(tagger):
    everything = vocabulary.VocabularyTagger(word_filter="none")
    assert tagger.classify_word("idea").part_of_speech is None
    assert everything.classify_word("idea").part_of_speech == "noun"
    assert tagger.classify_word("administrative").part_of_speech is None
    assert everything.classify_word("administrative").part_of_speech == "adj"
    assert tagger.classify_word("chicago").part_of_speech is None


def test_classify_keeps_order_and_config(tagger):
    decisions = tagger.classify(["red", "of", "cats"])
    assert [d.word for d in decisions] == ["red", "of", "cats"]
    assert [d.part_of_speech for d in decisions] == ["adj", None, "noun"]
    config = tagger.config()
    assert config["templates"][0] == "{word}"
    assert config["word_filter"] == "visual"


def test_bad_arguments():
    with pytest.raises(ValueError, match="word_filter"):
        vocabulary.VocabularyTagger(word_filter="abstract")
    with pytest.raises(ValueError, match="exactly one"):
        vocabulary.VocabularyTagger(templates=("a {word} {word}",))
