import numpy as np
import pytest

from vqct_keras.prior import graph


def test_cooccurrence_edges_weights_and_order():
    edges, weights = graph.cooccurrence_edges(
        ["red", "small"],
        ["car", "dog"],
        {
            ("small", "dog"): 2,
            ("red", "car"): 3,
            ("red", "dog"): 1,
            ("big", "dog"): 5,  # "big" is not kept: ignored.
            ("red", "tree"): 4,  # "tree" is not kept: ignored.
        },
    )
    assert edges.dtype == np.int32 and weights.dtype == np.float32
    assert edges.tolist() == [[0, 2], [0, 3], [1, 3]]
    assert weights.tolist() == [3.0, 1.0, 2.0]


def test_cooccurrence_edges_empty():
    edges, weights = graph.cooccurrence_edges(["red"], ["dog"], {})
    assert edges.shape == (0, 2) and weights.shape == (0,)


def test_knn_edges_link_each_word_to_its_nearest():
    rng = np.random.default_rng(0)
    adjectives = rng.normal(size=(6, 5))
    nouns = rng.normal(size=(9, 5))
    edges, weights = graph.knn_edges(adjectives, nouns, k=2)
    a = adjectives / np.linalg.norm(adjectives, axis=1, keepdims=True)
    n = nouns / np.linalg.norm(nouns, axis=1, keepdims=True)
    similarity = a @ n.T
    expected = set()
    for i in range(6):
        for j in np.argsort(-similarity[i])[:2]:
            if similarity[i, j] > 0:
                expected.add((i, 6 + j))
    for j in range(9):
        for i in np.argsort(-similarity[:, j])[:2]:
            if similarity[i, j] > 0:
                expected.add((i, 6 + j))
    assert {tuple(edge) for edge in edges.tolist()} == expected
    assert len(edges) == len(expected)  # Each pair once.
    for (i, j), weight in zip(edges, weights):
        np.testing.assert_allclose(weight, similarity[i, j - 6], rtol=1e-5)
    assert edges.tolist() == sorted(edges.tolist())


def test_knn_edges_binary_and_small_sets():
    adjectives = np.array([[1.0, 0.0]])
    nouns = np.array([[1.0, 0.1], [0.5, 0.5]])
    edges, weights = graph.knn_edges(adjectives, nouns, k=5, weighting="binary")
    assert edges.tolist() == [[0, 1], [0, 2]]
    assert weights.tolist() == [1.0, 1.0]


def test_knn_edges_drop_non_positive_similarity():
    edges, _ = graph.knn_edges(
        np.array([[1.0, 0.0]]), np.array([[-1.0, 0.0]]), k=1
    )
    assert edges.shape == (0, 2)


def test_knn_edges_deterministic_in_chunks():
    rng = np.random.default_rng(1)
    adjectives = rng.normal(size=(30, 4))
    nouns = rng.normal(size=(40, 4))
    whole = graph.knn_edges(adjectives, nouns, k=3)
    chunked = graph.knn_edges(adjectives, nouns, k=3, chunk_size=7)
    for a, b in zip(whole, chunked):
        np.testing.assert_array_equal(a, b)


def test_knn_bad_weighting():
    with pytest.raises(ValueError, match="weighting"):
        graph.knn_edges(np.ones((1, 2)), np.ones((1, 2)), weighting="x")
