"""Adjective-noun edges of the prior graph.

Node `i < num_adjectives` is adjective `i`; node `num_adjectives + j` is
noun `j`. Edges are undirected and listed once, as `(adjective node, noun
node)`, sorted; the transfer layer symmetrises and normalises them.

* With a caption corpus, `cooccurrence_edges` weights each adjective-noun
  pair by how often the adjective stands right before the noun (the
  official code keeps one edge per occurrence, which sums to the same
  weighted adjacency).
* Without one, `knn_edges` links every adjective to its `k` most similar
  nouns and every noun to its `k` most similar adjectives (cosine
  similarity of the prior vectors); an edge found both ways is kept once.
"""

import numpy as np

KNN_WEIGHTINGS = ("similarity", "binary")


def _empty():
    return np.zeros((0, 2), "int32"), np.zeros((0,), "float32")


def cooccurrence_edges(adjectives, nouns, pair_counts):
    """Edges weighted by adjacent adjective-noun counts.

    Args:
        adjectives: list of str, in node order.
        nouns: list of str, in node order.
        pair_counts: dict from `(adjective, noun)` to a count; pairs with a
            word outside the two lists are ignored.

    Returns:
        `(edges, weights)`: int32 `(E, 2)` and float32 `(E,)`.

    Example:

    >>> edges, weights = cooccurrence_edges(
    ...     ["red", "small"], ["car", "dog"],
    ...     {("red", "car"): 3, ("small", "dog"): 1, ("big", "dog"): 5})
    >>> edges.tolist(), weights.tolist()
    ([[0, 2], [1, 3]], [3.0, 1.0])
    """
    adjective_index = {word: i for i, word in enumerate(adjectives)}
    noun_index = {word: len(adjectives) + j for j, word in enumerate(nouns)}
    rows = sorted(
        (adjective_index[adjective], noun_index[noun], count)
        for (adjective, noun), count in pair_counts.items()
        if adjective in adjective_index and noun in noun_index and count > 0
    )
    if not rows:
        return _empty()
    edges = np.array([row[:2] for row in rows], dtype="int32")
    weights = np.array([row[2] for row in rows], dtype="float32")
    return edges, weights


def _normalize(vectors):
    vectors = np.asarray(vectors, dtype="float64")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _top_k(similarity, k):
    """Column indices of each row's `k` largest values (ties: lower index)."""
    order = np.argsort(-similarity, axis=1, kind="stable")
    return order[:, :k]


def knn_edges(
    adjective_vectors,
    noun_vectors,
    k=5,
    weighting="similarity",
    chunk_size=1024,
):
    """Adjective-noun k-nearest-neighbour edges in vector space.

    Args:
        adjective_vectors: array `(num_adjectives, dim)`.
        noun_vectors: array `(num_nouns, dim)`.
        k: int. Neighbours per word, in each direction. Defaults to `5`.
        weighting: str. `"similarity"` weights an edge by the cosine
            similarity of its ends; `"binary"` gives every edge weight 1.
            Pairs with a similarity <= 0 are dropped. Defaults to
            `"similarity"`.
        chunk_size: int. Rows per block of the similarity matrix.

    Returns:
        `(edges, weights)`: int32 `(E, 2)` and float32 `(E,)`, sorted.

    Example:

    >>> import numpy as np
    >>> adjectives = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> nouns = np.array([[0.9, 0.1], [0.1, 0.9], [0.6, 0.8]])
    >>> edges, weights = knn_edges(adjectives, nouns, k=1)
    >>> edges.tolist()
    [[0, 2], [1, 3], [1, 4]]
    """
    if weighting not in KNN_WEIGHTINGS:
        raise ValueError(
            f"weighting must be one of {KNN_WEIGHTINGS}; got {weighting!r}."
        )
    if k < 1:
        return _empty()
    adjectives = _normalize(adjective_vectors)
    nouns = _normalize(noun_vectors)
    num_adjectives = len(adjectives)
    pairs = {}
    for source, target, reverse in (
        (adjectives, nouns, False),
        (nouns, adjectives, True),
    ):
        neighbours = min(k, len(target))
        for begin in range(0, len(source), chunk_size):
            similarity = source[begin : begin + chunk_size] @ target.T
            top = _top_k(similarity, neighbours)
            for row, columns in enumerate(top):
                for column in columns:
                    value = float(similarity[row, column])
                    if value <= 0:
                        continue
                    if reverse:
                        pair = (int(column), begin + row)
                    else:
                        pair = (begin + row, int(column))
                    pairs[pair] = value
    if not pairs:
        return _empty()
    rows = sorted(pairs.items())
    edges = np.array(
        [(i, num_adjectives + j) for (i, j), _ in rows], dtype="int32"
    )
    if weighting == "binary":
        weights = np.ones((len(rows),), dtype="float32")
    else:
        weights = np.array([value for _, value in rows], dtype="float32")
    return edges, weights
