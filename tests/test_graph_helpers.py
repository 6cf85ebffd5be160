"""Dense NumPy reference of the normalised adjacency, for tests."""

import numpy as np


def dense_reference(num_nodes, edges, weights):
    """`D^-1/2 (A + I) D^-1/2` written densely from scratch, torch_geometric
    style: undirected edges, duplicates summed, a self-loop of weight 1 on
    nodes that have none."""
    adjacency = np.zeros((num_nodes, num_nodes))
    for (i, j), weight in zip(edges, weights):
        adjacency[i, j] += weight
        if i != j:
            adjacency[j, i] += weight
    for i in range(num_nodes):
        if adjacency[i, i] == 0:
            adjacency[i, i] = 1.0
    degree = adjacency.sum(axis=1)
    return adjacency / np.sqrt(np.outer(degree, degree))


def dense_normalized(prior):
    """`dense_reference` of a prior's graph."""
    return dense_reference(prior.num_codes, prior.edges, prior.edge_weights)
