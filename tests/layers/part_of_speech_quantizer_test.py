import numpy as np
import pytest
from keras import ops

from tests.test_case import run_serialization_test
from tests.test_case import value_and_gradients
from vqct_keras.layers.part_of_speech_quantizer import PartOfSpeechQuantizer
from vqct_keras.prior.codebook_prior import CodebookPrior

EMBED_DIM = 4


def make_quantizer(top_k=2, **kwargs):
    rng = np.random.default_rng(0)
    prior = CodebookPrior(
        adjectives=[f"adj{i}" for i in range(7)],
        nouns=[f"noun{i}" for i in range(9)],
        vectors=rng.normal(size=(16, 5)),
        edges=rng.integers(0, 16, size=(30, 2)),
    )
    return PartOfSpeechQuantizer.from_prior(
        prior, embed_dim=EMBED_DIM, top_k=top_k, seed=0, **kwargs
    )


def latents(seed=1, shape=(2, 3, 3)):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape + (2 * EMBED_DIM,)).astype("float32")


def brute_force(z, adjective_codes, noun_codes, top_k):
    flat_a = z[..., :EMBED_DIM].reshape(-1, EMBED_DIM)
    flat_n = z[..., EMBED_DIM:].reshape(-1, EMBED_DIM)
    d_a = ((flat_a[:, None, :] - adjective_codes[None]) ** 2).sum(-1)
    d_n = ((flat_n[:, None, :] - noun_codes[None]) ** 2).sum(-1)
    adjectives = np.argsort(d_a, axis=1, kind="stable")[:, :top_k]
    nouns = d_n.argmin(axis=1)
    return adjectives, nouns


@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_nearest_codes_topk_mean_and_losses(top_k):
    quantizer = make_quantizer(top_k=top_k)
    z = latents()
    out = quantizer(z, training=False)
    adjective_codes, noun_codes = (
        ops.convert_to_numpy(c) for c in quantizer.codebooks()
    )
    indices = ops.convert_to_numpy(out["indices"])
    assert indices.shape == (2, 3, 3, top_k + 1)
    assert indices.dtype == np.int32
    adjectives, nouns = brute_force(z, adjective_codes, noun_codes, top_k)
    np.testing.assert_array_equal(
        indices.reshape(-1, top_k + 1)[:, :top_k], adjectives
    )
    np.testing.assert_array_equal(indices.reshape(-1, top_k + 1)[:, -1], nouns)

    q_adj = adjective_codes[adjectives].mean(axis=1).reshape(2, 3, 3, -1)
    q_noun = noun_codes[nouns].reshape(2, 3, 3, -1)
    quantized = ops.convert_to_numpy(out["quantized"])
    np.testing.assert_allclose(quantized[..., :EMBED_DIM], q_adj, atol=1e-6)
    np.testing.assert_allclose(quantized[..., EMBED_DIM:], q_noun, atol=1e-6)

    mse_adj = ((q_adj - z[..., :EMBED_DIM]) ** 2).mean()
    mse_noun = ((q_noun - z[..., EMBED_DIM:]) ** 2).mean()
    np.testing.assert_allclose(
        float(out["commitment_loss"]), mse_adj + mse_noun, rtol=1e-5
    )
    np.testing.assert_allclose(
        float(out["codebook_loss"]), 0.25 * (mse_adj + mse_noun), rtol=1e-5
    )
    np.testing.assert_allclose(
        float(out["vq_loss"]), 1.25 * (mse_adj + mse_noun), rtol=1e-5
    )
    used_nouns = len(np.unique(nouns))
    assert float(out["noun_usage"]) == pytest.approx(used_nouns / 9)
    used_adjectives = len(np.unique(adjectives))
    assert float(out["adjective_usage"]) == pytest.approx(used_adjectives / 7)


def test_loss_weights_are_configurable():
    quantizer = make_quantizer(commitment_weight=0.25, codebook_weight=1.0)
    out = quantizer(latents(), training=False)
    np.testing.assert_allclose(
        float(out["codebook_loss"]),
        4 * float(out["commitment_loss"]),
        rtol=1e-5,
    )


def test_straight_through_gradient_reaches_input_and_gcn():
    quantizer = make_quantizer()
    z = latents()
    upstream = np.random.default_rng(3).normal(size=z.shape).astype("float32")

    # Reconstruction-like loss on the quantized output: its gradient passes
    # to the latents unchanged (STE) and does not reach the codebook.
    def reconstruction_loss(out):
        return ops.sum(out["quantized"] * upstream)

    _, input_grad, weight_grads = value_and_gradients(
        quantizer, z, reconstruction_loss, training=False
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(input_grad), upstream, atol=1e-6
    )
    assert all(
        g is None or np.allclose(ops.convert_to_numpy(g), 0)
        for g in weight_grads
    )

    # The codebook loss trains every GCN weight.
    _, _, weight_grads = value_and_gradients(
        quantizer, z, lambda out: out["codebook_loss"], training=True
    )
    names = [v.name for v in quantizer.trainable_variables]
    assert set(names) == {"kernel_1", "bias_1", "kernel_2", "bias_2"}
    for name, grad in zip(names, weight_grads):
        assert grad is not None, name
        assert np.abs(ops.convert_to_numpy(grad)).max() > 0, name


def test_indices_to_codes_is_exact():
    quantizer = make_quantizer()
    out = quantizer(latents(), training=False)
    codes = quantizer.indices_to_codes(out["indices"])
    np.testing.assert_array_equal(
        ops.convert_to_numpy(codes), ops.convert_to_numpy(out["quantized"])
    )


def test_config_and_errors():
    quantizer = make_quantizer()
    run_serialization_test(quantizer)
    with pytest.raises(ValueError, match="2 \\* embed_dim = 8"):
        quantizer(np.zeros((1, 2, 2, 6), "float32"))
    with pytest.raises(ValueError, match="top_k"):
        PartOfSpeechQuantizer(
            3, 4, 4, prior_dim=2, top_k=4, num_adjacency_entries=7
        )


@pytest.mark.parametrize("training", [False, True])
def test_commitment_term_sends_no_gradient_into_the_gcn(training):
    """`mean((sg[q] - z)^2)`: the encoder's term, not the codebook's."""
    quantizer = make_quantizer()
    z = latents()
    loss, input_grad, weight_grads = value_and_gradients(
        quantizer, z, lambda out: out["commitment_loss"], training=training
    )
    names = [v.name for v in quantizer.trainable_variables]
    assert set(names) == {"kernel_1", "bias_1", "kernel_2", "bias_2"}
    for name, grad in zip(names, weight_grads):
        # Exactly zero (None on TensorFlow), not merely small.
        assert grad is None or not np.any(ops.convert_to_numpy(grad)), name
    # It does train the encoder: d/dz = 2 (z - q) / n per half, with q the
    # quantized half (the straight-through output's forward value). With
    # dropout (training) q is recomputed from the same seed state.
    if not training:
        q = ops.convert_to_numpy(quantizer(z, training=False)["quantized"])
        per_half = z[..., :EMBED_DIM].size
        np.testing.assert_allclose(
            ops.convert_to_numpy(input_grad),
            2.0 * (z - q) / per_half,
            rtol=1e-5,
            atol=1e-7,
        )
    else:
        assert np.abs(ops.convert_to_numpy(input_grad)).max() > 0
    assert float(loss) > 0
