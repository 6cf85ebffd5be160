import numpy as np
import pytest
from keras import ops

from tests.test_case import run_serialization_test
from tests.test_case import value_and_gradients
from vqct_keras.layers.vector_quantizer import VectorQuantizer


def test_nearest_code_losses_and_usage():
    quantizer = VectorQuantizer(num_codes=10, embed_dim=3, seed=0)
    z = np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype("float32")
    out = quantizer(z)
    codes = ops.convert_to_numpy(quantizer.embeddings)
    distances = ((z.reshape(-1, 1, 3) - codes[None]) ** 2).sum(-1)
    nearest = distances.argmin(axis=1)
    indices = ops.convert_to_numpy(out["indices"])
    assert indices.shape == (2, 4, 4, 1)
    np.testing.assert_array_equal(indices.reshape(-1), nearest)
    mse = ((codes[nearest].reshape(z.shape) - z) ** 2).mean()
    assert float(out["vq_loss"]) == pytest.approx(1.25 * mse, rel=1e-5)
    assert float(out["usage"]) == pytest.approx(len(set(nearest)) / 10)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(quantizer.indices_to_codes(out["indices"])),
        ops.convert_to_numpy(out["quantized"]),
    )
    run_serialization_test(quantizer)


def test_codebook_loss_trains_the_table():
    quantizer = VectorQuantizer(num_codes=4, embed_dim=2, seed=0)
    z = np.ones((1, 2, 2, 2), "float32")
    _, _, (grad,) = value_and_gradients(
        quantizer, z, lambda out: out["codebook_loss"]
    )
    assert np.abs(ops.convert_to_numpy(grad)).max() > 0


def test_wrong_channels():
    with pytest.raises(ValueError, match="embed_dim = 3"):
        VectorQuantizer(num_codes=4, embed_dim=3)(np.zeros((1, 2, 2, 4)))
