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


def isolated_prior(num_codes=400, dim=64, seed=0):
    """A prior without edges: `A_hat` is the identity."""
    rng = np.random.default_rng(seed)
    return CodebookPrior(
        adjectives=[f"adj{i}" for i in range(num_codes // 4)],
        nouns=[f"noun{i}" for i in range(num_codes - num_codes // 4)],
        vectors=rng.normal(size=(num_codes, dim)),
        edges=np.zeros((0, 2), "int32"),
    )


@pytest.mark.parametrize("rate", [0.5, 0.2])
def test_gcn_dropout_rate_and_scaling_measured(rate):
    """Each hidden unit is dropped with probability `rate` and the kept ones
    are scaled by `1 / (1 - rate)`, independently per unit and per call."""
    prior = isolated_prior()
    dim = prior.prior_dim
    layer = TransferredCodebook.from_prior(
        prior, embed_dim=dim, hidden_dim=dim, dropout=rate, seed=5
    )
    # With A_hat = I, W2 = I and b2 = 0 the codebook is the hidden layer:
    # training: dropout(relu(X W1 + b1)); inference: relu(X W1 + b1).
    assert np.array_equal(dense_adjacency(layer), np.eye(prior.num_codes))
    layer.kernel_2.assign(np.eye(dim))
    hidden = ops.convert_to_numpy(layer.codebook(training=False))
    active = hidden > 0
    assert active.sum() > 10000
    masks = []
    for _ in range(3):
        training = ops.convert_to_numpy(layer.codebook(training=True))
        kept = training[active] != 0
        # Kept units are exactly scaled; inactive (relu 0) units stay 0.
        np.testing.assert_allclose(
            training[active][kept], hidden[active][kept] / (1.0 - rate), 1e-6
        )
        assert not np.any(training[~active])
        # Dropped fraction: binomial, n > 10000, so 5 sigma < 0.025.
        assert abs((1.0 - kept.mean()) - rate) < 0.025
        masks.append(kept)
        # Units are dropped one by one, not whole codes: a code with many
        # active units keeps some and loses some.
        dropped = active & (training == 0)
        many = active.sum(axis=1) >= 20
        mixed = dropped.any(axis=1) & (active & ~dropped).any(axis=1)
        assert mixed[many].mean() > 0.95
    # A fresh mask per call (steps), not one mask reused.
    assert not np.array_equal(masks[0], masks[1])


def test_gcn_kernels_are_independent_glorot_draws():
    prior = isolated_prior(num_codes=40, dim=64)
    layer = TransferredCodebook.from_prior(
        prior, embed_dim=64, hidden_dim=64, seed=3
    )
    kernel_1 = ops.convert_to_numpy(layer.kernel_1)
    kernel_2 = ops.convert_to_numpy(layer.kernel_2)
    # Same shape, same seed argument: still two different draws.
    assert kernel_1.shape == kernel_2.shape == (64, 64)
    correlation = np.corrcoef(kernel_1.ravel(), kernel_2.ravel())[0, 1]
    assert abs(correlation) < 0.05  # 4096 pairs: 3 sigma is 0.047
    bound = np.sqrt(6.0 / (64 + 64))  # Glorot uniform
    for kernel in (kernel_1, kernel_2):
        assert np.abs(kernel).max() <= bound
        np.testing.assert_allclose(kernel.var(), bound**2 / 3, rtol=0.1)
    for bias in (layer.bias_1, layer.bias_2):
        assert not np.any(ops.convert_to_numpy(bias))  # GCNConv: zeros
    # The seed makes them reproducible.
    again = TransferredCodebook.from_prior(
        prior, embed_dim=64, hidden_dim=64, seed=3
    )
    np.testing.assert_array_equal(
        ops.convert_to_numpy(again.kernel_1), kernel_1
    )
    np.testing.assert_array_equal(
        ops.convert_to_numpy(again.kernel_2), kernel_2
    )


def test_mlp_variant_uses_pytorch_linear_initialisation():
    prior = isolated_prior(num_codes=40, dim=400)
    layer = TransferredCodebook.from_prior(
        prior, embed_dim=300, hidden_dim=300, transfer="mlp", seed=1
    )
    # nn.Linear: kernel and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    for kernel, bias, fan_in in (
        (layer.kernel_1, layer.bias_1, 400),
        (layer.kernel_2, layer.bias_2, 300),
    ):
        bound = 1.0 / np.sqrt(fan_in)
        for values in (kernel, bias):
            values = ops.convert_to_numpy(values)
            assert np.abs(values).max() <= bound
            assert np.abs(values).max() > 0.9 * bound
        np.testing.assert_allclose(
            ops.convert_to_numpy(kernel).var(), bound**2 / 3, rtol=0.05
        )
