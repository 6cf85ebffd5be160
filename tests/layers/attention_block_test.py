import keras
import numpy as np

from tests.test_case import run_layer_test
from vqct_keras.layers.attention_block import AttentionBlock2D


def test_shapes_weights_and_config():
    x = np.random.rand(2, 4, 4, 32).astype("float32")
    # GroupNorm (2) + q, k, v, projection (2 each).
    run_layer_test(
        AttentionBlock2D,
        {"num_groups": 8},
        x,
        (2, 4, 4, 32),
        expected_num_trainable_weights=10,
    )


def test_matches_numpy_attention():
    layer = AttentionBlock2D(num_groups=1)
    x = np.random.RandomState(0).rand(1, 2, 3, 4).astype("float32")
    output = keras.ops.convert_to_numpy(layer(x))
    normed = keras.ops.convert_to_numpy(layer.norm(x)).reshape(6, 4)

    def project(conv, values):
        kernel = keras.ops.convert_to_numpy(conv.kernel)[0, 0]
        return values @ kernel + keras.ops.convert_to_numpy(conv.bias)

    q, k, v = (
        project(c, normed) for c in (layer.query, layer.key, layer.value)
    )
    scores = q @ k.T / 2.0
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    expected = x.reshape(6, 4) + project(layer.output_projection, weights @ v)
    np.testing.assert_allclose(output.reshape(6, 4), expected, atol=1e-5)


def test_attention_is_float32_under_mixed_precision():
    layer = AttentionBlock2D(num_groups=4, dtype="mixed_bfloat16")
    output = layer(np.random.rand(1, 4, 4, 8).astype("float32"))
    assert keras.backend.standardize_dtype(output.dtype) == "bfloat16"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(output)))
