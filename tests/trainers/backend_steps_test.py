"""The backend train steps: replicas vs one device, TensorFlow vs JAX."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.trainers.tiny_trainer import BATCH
from tests.trainers.tiny_trainer import STEPS
from tests.trainers.tiny_trainer import build_trainer
from tests.trainers.tiny_trainer import make_images
from vqct_keras.trainers.vqgan_trainer import LOG_NAMES

BACKEND = keras.backend.backend()
HELPER = os.path.join(os.path.dirname(__file__), "tiny_trainer.py")


def global_batches(images):
    return tf.data.Dataset.from_tensor_slices(images).batch(
        BATCH, drop_remainder=True
    )


def train(trainer, images):
    history = trainer.fit(
        global_batches(images), epochs=1, shuffle=False, verbose=0
    )
    return {name: values[-1] for name, values in history.history.items()}


def assert_same_training(actual_logs, actual, expected_logs, expected):
    """Same logged losses and state (weights, BN stats, optimizer slots)."""
    # Not the codebook usage: per replica, it is not a mean over the batch.
    for name in LOG_NAMES:
        np.testing.assert_allclose(
            actual_logs[name],
            expected_logs[name],
            rtol=1e-5,
            atol=1e-6,
            err_msg=name,
        )
    # (Layer names differ: a second model in a process gets a suffix.)
    assert len(actual) == len(expected)
    for (key, value), reference in zip(actual.items(), expected.values()):
        assert_close_to_scale(value, reference, 1e-5, key)


def assert_close_to_scale(actual, expected, tolerance, name):
    """Equal up to `tolerance` times the array's scale (float32 rounding
    differs between eager, graph, XLA and replicated runs)."""
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-2)
    np.testing.assert_allclose(
        actual, expected, rtol=tolerance, atol=tolerance * scale, err_msg=name
    )


def one_device_reference(images):
    """Initial state, logs and final state of 2 steps on one device."""
    # Eager on TensorFlow: cheaper than tracing the step for 2 steps.
    trainer = build_trainer(disc_start=0, run_eagerly=BACKEND == "tensorflow")
    initial = trainer.state_arrays()
    logs = train(trainer, images)
    assert int(trainer.step.numpy()) == STEPS
    return initial, logs, trainer.state_arrays()


def state_variables(trainer):
    return (
        trainer.tokenizer.variables
        + trainer.discriminator.variables
        + trainer.g_optimizer.variables
        + trainer.d_optimizer.variables
    )


@pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.distribute")
def test_mirrored_replicas_train_as_one_device():
    """2 replicas x 2 images == 1 device x 4 images, GAN terms on.

    Checks the 1/replicas loss scaling of both updates, the all-reduced
    adaptive weight, synchronized BatchNorm, the logged (not doubled)
    values, and that every replica copy of every variable stays equal.
    """
    images = make_images(STEPS * BATCH, seed=5)
    initial, expected_logs, expected = one_device_reference(images)

    strategy = tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"])
    with strategy.scope():
        trainer = build_trainer(disc_start=0)
    trainer.load_state_arrays(initial)
    batch_sizes = []

    def images_from(data):
        batch_sizes.append(data.shape[0])
        return data

    trainer.images_from = images_from
    logs = train(trainer, images)

    assert trainer.distribute_strategy.num_replicas_in_sync == 2
    assert batch_sizes and set(batch_sizes) == {BATCH // 2}
    assert int(trainer.step.numpy()) == STEPS
    assert_same_training(logs, trainer.state_arrays(), expected_logs, expected)
    for variable in state_variables(trainer):
        copies = strategy.experimental_local_results(variable.value)
        assert len(copies) == 2, variable.path
        np.testing.assert_array_equal(
            copies[1].numpy(), copies[0].numpy(), err_msg=variable.path
        )


@pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution")
def test_data_parallel_trains_as_one_device():
    import jax

    images = make_images(STEPS * BATCH, seed=5)
    initial, expected_logs, expected = one_device_reference(images)

    devices = jax.devices()
    assert len(devices) == 2  # conftest's XLA_FLAGS
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=devices)
    )
    try:
        trainer = build_trainer(disc_start=0)
        trainer.load_state_arrays(initial)
        logs = train(trainer, images)
    finally:
        keras.distribution.set_distribution(None)

    assert int(trainer.step.numpy()) == STEPS
    assert_same_training(logs, trainer.state_arrays(), expected_logs, expected)
    for variable in state_variables(trainer):
        value = variable.value
        assert len(value.sharding.device_set) == 2, variable.path
        assert value.sharding.is_fully_replicated, variable.path
        shards = [np.asarray(s.data) for s in value.addressable_shards]
        np.testing.assert_array_equal(shards[1], shards[0], variable.path)


def _run_helper(backend, tmp_path, *args):
    env = dict(os.environ, KERAS_BACKEND=backend)
    root = os.path.dirname(os.path.dirname(os.path.dirname(HELPER)))
    env["PYTHONPATH"] = os.pathsep.join(
        [root] + [p for p in [env.get("PYTHONPATH")] if p]
    )
    output = tmp_path / f"{backend}.npz"
    result = subprocess.run(
        [sys.executable, HELPER, "--output", str(output), *args],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    with np.load(output) as arrays:
        assert str(arrays["backend"]) == backend
        return dict(arrays)


@pytest.mark.large
def test_tensorflow_and_jax_steps_agree(tmp_path):
    """The GradientTape step and the jax.vjp step: same losses and updates.

    Same initial state (written by the TensorFlow run, loaded by the JAX
    run: both backends name and order the trainer state alike), same
    images, `STEPS` steps with `disc_start=1` (GAN terms off, then on).
    """
    state = str(tmp_path / "initial.npz")
    tf_out = _run_helper("tensorflow", tmp_path, "--write_state", state)
    jax_out = _run_helper("jax", tmp_path, "--initial_state", state)
    assert list(tf_out) == list(jax_out)
    for step in range(STEPS):
        factor = tf_out[f"log/{step}/disc_factor"]
        assert factor == (0.0 if step == 0 else 1.0)
        for name in LOG_NAMES:
            key = f"log/{step}/{name}"
            np.testing.assert_allclose(
                jax_out[key], tf_out[key], rtol=1e-4, atol=1e-6, err_msg=key
            )
    for key in tf_out:
        if key.startswith("state/"):
            assert_close_to_scale(jax_out[key], tf_out[key], 1e-4, key)
