"""Dense NumPy reference of the normalised adjacency, for tests."""

import numpy as np


def dense_normalized(prior):
    """`D^-1/2 (A + I) D^-1/2` of a prior, written densely from scratch."""
    n = prior.num_codes
    adjacency = np.zeros((n, n))
    for (i, j), weight in zip(prior.edges, prior.edge_weights):
        adjacency[i, j] += weight
        if i != j:
            adjacency[j, i] += weight
    for i in range(n):
        if adjacency[i, i] == 0:
            adjacency[i, i] = 1.0
    degree = adjacency.sum(axis=1)
    return adjacency / np.sqrt(np.outer(degree, degree))
