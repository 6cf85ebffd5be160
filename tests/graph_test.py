import numpy as np
import pytest

from vqct_keras.graph import normalized_adjacency


def dense_reference(num_nodes, edges, weights):
    """D^-1/2 (A + I) D^-1/2 built densely, torch_geometric style."""
    adjacency = np.zeros((num_nodes, num_nodes))
    for (i, j), w in zip(edges, weights):
        if i == j:
            adjacency[i, i] += w
        else:
            adjacency[i, j] += w
            adjacency[j, i] += w
    for i in range(num_nodes):
        if adjacency[i, i] == 0:
            adjacency[i, i] = 1.0
    degree = adjacency.sum(axis=1)
    return adjacency / np.sqrt(degree)[:, None] / np.sqrt(degree)[None, :]


def test_matches_dense_reference_with_duplicates_loops_and_isolated_node():
    # Node 4 is isolated; (0, 2) appears twice; node 3 has its own loop.
    edges = [[0, 2], [0, 2], [1, 2], [0, 3], [3, 3]]
    weights = [1.0, 2.0, 1.0, 1.0, 5.0]
    rows, cols, values = normalized_adjacency(5, edges, weights)
    dense = np.zeros((5, 5))
    dense[rows, cols] = values
    np.testing.assert_allclose(
        dense, dense_reference(5, edges, weights), rtol=1e-6
    )
    assert dense[4, 4] == pytest.approx(1.0)
    assert np.allclose(dense, dense.T)
    order = np.lexsort((cols, rows))
    assert np.array_equal(order, np.arange(len(rows)))


def test_rejects_out_of_range_edges():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        normalized_adjacency(3, [[0, 3]])
