"""Graph normalisation for the codebook-transfer GCN (NumPy, done once)."""

import numpy as np


def normalized_adjacency(num_nodes, edges, edge_weights=None):
    """Sparse `D^-1/2 (A + I) D^-1/2` of an undirected weighted graph.

    Follows torch_geometric's `GCNConv` defaults, as the official VQCT code
    uses them: every edge is made undirected (both directions), duplicate
    edges are summed into the weight, a self-loop of weight 1 is added only
    to nodes that have none, and `D` is the row sum of `A + I`. An isolated
    node therefore keeps its own features (`A_hat[i, i] = 1`).

    Args:
        num_nodes: int. Number of nodes.
        edges: int array `(E, 2)` of node index pairs (one direction; the
            reverse is added here). Self-loop pairs `(i, i)` are allowed.
        edge_weights: float array `(E,)`. Defaults to ones.

    Returns:
        `(rows, cols, values)`: int32, int32 and float32 arrays of the
        non-zero entries, sorted by row then column.

    Example:

    >>> rows, cols, values = normalized_adjacency(3, [[0, 1], [0, 1]])
    >>> dense = np.zeros((3, 3)); dense[rows, cols] = values
    >>> np.round(dense, 3).tolist()
    [[0.333, 0.667, 0.0], [0.667, 0.333, 0.0], [0.0, 0.0, 1.0]]
    """
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if edge_weights is None:
        edge_weights = np.ones(len(edges), dtype=np.float64)
    edge_weights = np.asarray(edge_weights, dtype=np.float64)
    if len(edges) and (edges.min() < 0 or edges.max() >= num_nodes):
        raise ValueError(
            f"Edge indices must lie in [0, {num_nodes}); got "
            f"[{edges.min()}, {edges.max()}]."
        )
    is_loop = edges[:, 0] == edges[:, 1]
    off = edges[~is_loop]
    off_weights = edge_weights[~is_loop]
    rows = np.concatenate([off[:, 0], off[:, 1], edges[is_loop, 0]])
    cols = np.concatenate([off[:, 1], off[:, 0], edges[is_loop, 1]])
    weights = np.concatenate([off_weights, off_weights, edge_weights[is_loop]])
    has_loop = np.zeros(num_nodes, dtype=bool)
    has_loop[edges[is_loop, 0]] = True
    missing = np.flatnonzero(~has_loop)
    rows = np.concatenate([rows, missing])
    cols = np.concatenate([cols, missing])
    weights = np.concatenate([weights, np.ones(len(missing))])

    # Sum duplicates.
    keys = rows * num_nodes + cols
    unique_keys, inverse = np.unique(keys, return_inverse=True)
    summed = np.zeros(len(unique_keys), dtype=np.float64)
    np.add.at(summed, inverse, weights)
    rows = unique_keys // num_nodes
    cols = unique_keys % num_nodes

    degree = np.zeros(num_nodes, dtype=np.float64)
    np.add.at(degree, rows, summed)
    inv_sqrt = 1.0 / np.sqrt(degree)
    values = inv_sqrt[rows] * summed * inv_sqrt[cols]
    return (
        rows.astype(np.int32),
        cols.astype(np.int32),
        values.astype(np.float32),
    )
