import numpy as np
import pytest

from tests.prior import tiny_backbones
from vqct_keras.prior import vectors


@pytest.fixture(scope="module")
def bert():
    return tiny_backbones.tiny_bert()


def test_token_vectors_are_table_rows(bert):
    table = bert.embedding_table()
    vocabulary = bert.vocabulary()
    result = vectors.token_vectors(bert, ["red", "dog"])
    np.testing.assert_array_equal(result[0], table[vocabulary.index("red")])
    np.testing.assert_array_equal(result[1], table[vocabulary.index("dog")])


def test_token_vectors_average_pieces(bert):
    (pieces,) = bert.word_pieces(["zebra"])
    assert len(pieces) > 1
    result = vectors.token_vectors(bert, ["zebra"])
    expected = bert.embedding_table()[pieces].mean(axis=0)
    np.testing.assert_allclose(result[0], expected, rtol=1e-6)


def test_prompt_vectors_use_the_paper_prompts(bert):
    result = vectors.word_vectors(bert, ["red"], ["dog", "car"], mode="prompt")
    assert result.shape == (3, 8)
    expected = bert.encode(
        ["a photo of red object", "a photo of dog", "a photo of car"]
    )
    np.testing.assert_allclose(result, expected, atol=1e-5)


def test_word_vectors_token_mode_order(bert):
    result = vectors.word_vectors(bert, ["red"], ["dog"], mode="token")
    np.testing.assert_array_equal(
        result, vectors.token_vectors(bert, ["red", "dog"])
    )


def test_bad_mode(bert):
    with pytest.raises(ValueError, match="vector mode"):
        vectors.word_vectors(bert, ["red"], ["dog"], mode="glove")
