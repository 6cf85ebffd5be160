import numpy as np
import pytest

from tests.test_graph_helpers import dense_reference
from vqct_keras.normalized_adjacency import normalized_adjacency


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
