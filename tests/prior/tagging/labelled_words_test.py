import pytest

from vqct_keras.prior.tagging import labelled_words

CLASSES = {("adj",), ("noun",), ("reject",), ("adj", "noun")}


@pytest.mark.parametrize(
    "labelled", [labelled_words.LABELLED_WORDS, labelled_words.HELD_OUT_WORDS]
)
def test_lists_are_large_and_well_formed(labelled):
    assert len(labelled) >= 150
    assert set(labelled.values()) <= CLASSES
    for name in ("adj", "noun", "reject"):
        assert sum(classes == (name,) for classes in labelled.values()) >= 50
    assert all(word.isalpha() and word.islower() for word in labelled)


def test_lists_are_disjoint():
    design = set(labelled_words.LABELLED_WORDS)
    assert not design & set(labelled_words.HELD_OUT_WORDS)


def test_a_word_cannot_be_labelled_twice():
    with pytest.raises(ValueError, match="labelled twice"):
        labelled_words._merge(
            labelled_words._labels("red blue", labelled_words.ADJ),
            labelled_words._labels("red", labelled_words.NOUN),
        )
