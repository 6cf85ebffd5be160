import doctest
import os

import keras
import numpy as np
import pytest
from keras import ops

from tests.test_case import run_model_saving_test
from tests.test_case import run_serialization_test
from vqct_keras.metrics import lpips as lpips_lib
from vqct_keras.metrics import weights
from vqct_keras.metrics.lpips import LPIPS

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "metrics")


def to_unit_range(images):
    return images.astype("float32") / 127.5 - 1.0


@pytest.fixture(scope="module")
def reference():
    with np.load(os.path.join(FIXTURES, "lpips_reference.npz")) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def lpips():
    return LPIPS()


@pytest.mark.parametrize("size", [64, 48])
def test_matches_official_lpips(reference, lpips, size):
    images_0 = to_unit_range(reference[f"images_0_{size}"])
    images_1 = to_unit_range(reference[f"images_1_{size}"])
    distance = ops.convert_to_numpy(lpips(images_0, images_1))
    # Measured max |diff| 3e-8 (TF) / 1.2e-7 (JAX) for distances 0-0.9.
    np.testing.assert_allclose(
        distance, reference[f"distance_{size}"], atol=1e-6, rtol=0
    )
    assert distance[-2] == 0.0  # identical pair


def test_gradients_match_official_lpips_and_stay_finite(reference, lpips):
    images_0 = to_unit_range(reference["gradient_images_0"])
    images_1 = to_unit_range(reference["gradient_images_1"])
    # An extra (black, grey) pair: a black image has all-zero VGG features
    # at several stages, where the official normalisation's gradient is NaN.
    images_0 = np.concatenate([images_0, -np.ones_like(images_0[:1])])
    images_1 = np.concatenate([images_1, np.zeros_like(images_1[:1])])
    if keras.backend.backend() == "jax":
        import jax

        gradients = jax.jit(
            jax.grad(lambda a, b: lpips(a, b).sum(), argnums=(0, 1))
        )(images_0, images_1)
    else:
        import tensorflow as tf

        images_0, images_1 = tf.constant(images_0), tf.constant(images_1)
        with tf.GradientTape() as tape:
            tape.watch([images_0, images_1])
            total = tf.reduce_sum(lpips(images_0, images_1))
        gradients = tape.gradient(total, [images_0, images_1])
    for gradient, expected in zip(gradients, ["gradient_0", "gradient_1"]):
        gradient = ops.convert_to_numpy(gradient)
        assert np.isfinite(gradient).all()
        # Measured max |diff| 1e-7 for gradients up to 0.03.
        np.testing.assert_allclose(
            gradient[:-1], reference[expected], atol=1e-6, rtol=0
        )


def test_frozen_shapes_and_config():
    x = np.random.RandomState(0).uniform(-1, 1, (2, 32, 32, 3))
    layer = LPIPS(pretrained=False)
    assert tuple(layer(x, x).shape) == (2,)
    assert layer.trainable_weights == []
    assert len(layer.non_trainable_weights) == 13 * 2 + 5
    assert layer.compute_output_shape((2, 32, 32, 3)) == (2,)
    revived = run_serialization_test(
        LPIPS(pretrained=False, head_dropout=True, epsilon=1e-8)
    )
    assert revived.head_dropout and revived.epsilon == 1e-8
    config = LPIPS(pretrained=False).get_config()
    assert set(config) >= {"head_dropout", "epsilon", "pretrained"}
    assert "conv1_1_kernel" not in str(config)  # weights are not config


def test_head_dropout_only_in_training(lpips, reference):
    # Same shapes as test_matches_official_lpips: JAX reuses its kernels.
    images_0 = to_unit_range(reference["images_0_64"])
    images_1 = to_unit_range(reference["images_1_64"])
    with_dropout = LPIPS(head_dropout=True)
    deterministic = ops.convert_to_numpy(lpips(images_0, images_1))
    np.testing.assert_allclose(
        ops.convert_to_numpy(with_dropout(images_0, images_1)),
        deterministic,
        atol=1e-6,
    )
    dropped = ops.convert_to_numpy(
        with_dropout(images_0, images_1, training=True)
    )
    assert not np.allclose(dropped, deterministic, atol=1e-4)
    np.testing.assert_allclose(
        ops.convert_to_numpy(lpips(images_0, images_1, training=True)),
        deterministic,
        atol=1e-6,
    )


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="tf.distribute is the TF backend's distribution API",
)
def test_loss_under_mirrored_strategy_and_mixed_precision(reference):
    import tensorflow as tf

    images = to_unit_range(reference["gradient_images_0"])
    strategy = tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"])
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        with strategy.scope():
            lpips = LPIPS()
            conv = keras.layers.Conv2D(3, 3, padding="same")
            conv.build((None, 32, 32, 3))
    finally:
        keras.config.set_dtype_policy(previous_policy)
    assert lpips.compute_dtype == "float32"

    @tf.function
    def step(batch):
        def replica_step(x):
            with tf.GradientTape() as tape:
                x_hat = tf.cast(conv(x), "float32")
                loss = tf.reduce_mean(lpips(x, x_hat))
            gradients = tape.gradient(loss, conv.trainable_variables)
            return loss, tf.add_n([tf.reduce_sum(g) for g in gradients])

        return strategy.run(replica_step, args=(batch,))

    dataset = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(images).batch(4)
    )
    for batch in dataset:
        losses, gradient_sums = step(batch)
    for value in strategy.experimental_local_results(
        losses
    ) + strategy.experimental_local_results(gradient_sums):
        assert np.isfinite(value.numpy())


def test_saving_keeps_weights(lpips, reference):
    images_0 = to_unit_range(reference["images_0_48"])
    images_1 = to_unit_range(reference["images_1_48"])
    inputs_0 = keras.Input((48, 40, 3))
    inputs_1 = keras.Input((48, 40, 3))
    model = keras.Model(
        [inputs_0, inputs_1], LPIPS(name="lpips")(inputs_0, inputs_1)
    )
    # pretrained=True reloads the .npz on rebuild; the saved weights win.
    run_model_saving_test(model, [images_0, images_1], atol=1e-6)


def test_missing_weights_name_the_setup_script(tmp_path, monkeypatch):
    monkeypatch.setenv("VQCT_KERAS_HOME", str(tmp_path))
    x = np.zeros((1, 16, 16, 3), "float32")
    with pytest.raises(weights.MissingWeightsError, match="scripts/setup.sh"):
        LPIPS()(x, x)


def test_docstring_examples():
    assert doctest.testmod(lpips_lib, raise_on_error=True).failed == 0
