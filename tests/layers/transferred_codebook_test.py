import keras
import numpy as np
import pytest
from keras import ops

from tests.test_case import run_serialization_test
from tests.test_graph_helpers import dense_normalized
from vqct_keras.layers.transferred_codebook import TransferredCodebook
from vqct_keras.layers.transferred_codebook import dense_adjacency
from vqct_keras.prior.codebook_prior import CodebookPrior


def small_prior(prior_dim=6):
    rng = np.random.default_rng(0)
    # 2 adjectives, 4 nouns; (0, 2) twice (weight summed), node 5 isolated.
    return CodebookPrior(
        adjectives=["crimson", "soft"],
        nouns=["dog", "car", "tree", "moon"],
        vectors=rng.normal(size=(6, prior_dim)),
        edges=[[0, 2], [0, 2], [1, 3], [0, 4]],
        edge_weights=[1.0, 1.0, 2.0, 1.0],
    )


def test_gcn_matches_numpy_reference():
    prior = small_prior()
    layer = TransferredCodebook.from_prior(prior, embed_dim=4, hidden_dim=5)
    a_hat = dense_normalized(prior)
    np.testing.assert_allclose(dense_adjacency(layer), a_hat, rtol=1e-6)
    assert a_hat[5, 5] == pytest.approx(1.0)  # isolated node keeps itself
    w1, b1, w2, b2 = (
        ops.convert_to_numpy(v)
        for v in (layer.kernel_1, layer.bias_1, layer.kernel_2, layer.bias_2)
    )
    b1 = b1 + 0.1  # non-zero biases make the reference check meaningful
    layer.bias_1.assign(b1)
    hidden = np.maximum(a_hat @ (prior.vectors @ w1) + b1, 0.0)
    expected = a_hat @ (hidden @ w2) + b2
    np.testing.assert_allclose(
        ops.convert_to_numpy(layer.codebook()), expected, atol=1e-5
    )


def test_dropout_only_in_training():
    layer = TransferredCodebook.from_prior(small_prior(), embed_dim=4, seed=1)
    inference = ops.convert_to_numpy(layer.codebook(training=False))
    np.testing.assert_array_equal(
        inference, ops.convert_to_numpy(layer.codebook(training=False))
    )
    training = ops.convert_to_numpy(layer.codebook(training=True))
    assert not np.allclose(training, inference)


@pytest.mark.parametrize("transfer", ["mlp", "frozen", "learned"])
def test_variants(transfer):
    prior = small_prior(prior_dim=4)
    layer = TransferredCodebook.from_prior(
        prior, embed_dim=4, transfer=transfer
    )
    codes = ops.convert_to_numpy(layer.codebook())
    assert codes.shape == (6, 4)
    if transfer == "frozen":
        np.testing.assert_allclose(codes, prior.vectors)
        assert not layer.trainable_weights
    if transfer == "learned":
        assert np.abs(codes).max() <= 1.0 / 6
        assert not layer.non_trainable_weights
    if transfer == "mlp":
        assert len(layer.trainable_weights) == 4


def test_frozen_projects_when_dimensions_differ():
    layer = TransferredCodebook.from_prior(
        small_prior(prior_dim=6), embed_dim=4, transfer="frozen"
    )
    assert layer.codebook().shape == (6, 4)
    assert len(layer.trainable_weights) == 1


def test_prior_lives_in_weights_not_config():
    layer = TransferredCodebook.from_prior(small_prior(), embed_dim=4)
    config = layer.get_config()
    assert "crimson" not in str(config)
    revived = run_serialization_test(layer)
    revived.build()
    revived.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        ops.convert_to_numpy(revived.codebook()),
        ops.convert_to_numpy(layer.codebook()),
    )
    names = {w.name for w in layer.non_trainable_weights}
    assert {"prior_vectors", "adjacency_values"} <= names


def test_mismatched_prior_is_rejected():
    layer = TransferredCodebook.from_prior(small_prior(), embed_dim=4)
    other = CodebookPrior(["red"], ["dog"], np.ones((2, 6)))
    with pytest.raises(ValueError, match="does not fit"):
        layer.set_prior(other)
    with pytest.raises(ValueError, match="transfer"):
        TransferredCodebook(2, 2, 4, prior_dim=3, transfer="attention")
    with pytest.raises(ValueError, match="num_adjacency_entries"):
        TransferredCodebook(2, 2, 4, prior_dim=3)


def test_dtype_is_float32_under_mixed_precision():
    layer = TransferredCodebook.from_prior(
        small_prior(), embed_dim=4, dtype="mixed_bfloat16"
    )
    codes = layer.codebook()
    assert keras.backend.standardize_dtype(codes.dtype) == "float32"
