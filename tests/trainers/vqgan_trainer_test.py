"""`VQGANTrainer` on one device: both updates, disc_start, fit, resuming.

One compiled trainer serves the whole module (the first train step traces
for ~30 s on 2 CPU cores); each test restores its initial state first.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from tests.trainers.tiny_trainer import BATCH
from tests.trainers.tiny_trainer import build_trainer
from tests.trainers.tiny_trainer import make_images
from vqct_keras.trainers.vqgan_trainer import LOG_NAMES
from vqct_keras.trainers.vqgan_trainer import VQGANTrainer

BETA_1 = 0.5
IMAGES = make_images(BATCH, seed=1)


def adam():
    return keras.optimizers.Adam(1e-3, beta_1=BETA_1, beta_2=0.9)


@pytest.fixture(scope="module")
def compiled():
    trainer = build_trainer(disc_start=1, optimizer_fn=adam)
    return trainer, trainer.state_arrays()


@pytest.fixture
def trainer(compiled):
    """The module's trainer, back at its initial state."""
    trainer, initial = compiled
    trainer.load_state_arrays(initial)
    return trainer


def dataset(images, labels=None):
    data = images if labels is None else (images, labels)
    return tf.data.Dataset.from_tensor_slices(data).batch(
        BATCH, drop_remainder=True
    )


def fit_logs(trainer, data):
    history = trainer.fit(data, epochs=1, shuffle=False, verbose=0)
    return {name: values[-1] for name, values in history.history.items()}


def one_step(trainer):
    return fit_logs(trainer, dataset(IMAGES))


def values(variables):
    return [np.array(ops.convert_to_numpy(v.value)) for v in variables]


def group(arrays, name):
    return {k: v for k, v in arrays.items() if k.startswith(name + "/")}


def assert_same_arrays(actual, expected):
    assert list(actual) == list(expected)
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)


def assert_all_moved(before, discriminator):
    for value, variable in zip(before, discriminator.trainable_variables):
        if variable.path.endswith("logits/bias"):
            # Its hinge gradient is exactly 0 while every logit lies within
            # the margin (-1, 1), as with these small random weights.
            continue
        after = ops.convert_to_numpy(variable.value)
        assert not np.array_equal(after, value), variable.path


# === Reference gradients (written from the paper's formulas) ===


def _value_and_grad(fn, params, *args):
    """`(value, aux), grads` of `fn(params, *args) -> (value, aux)`."""
    if keras.backend.backend() == "tensorflow":
        params = [tf.convert_to_tensor(p) for p in params]
        with tf.GradientTape() as tape:
            tape.watch(params)
            value, aux = fn(params, *args)
        return (value, aux), tape.gradient(value, params)
    import jax

    if not hasattr(fn, "jitted"):
        fn.jitted = jax.jit(jax.value_and_grad(fn, has_aux=True))
    return fn.jitted(params, *args)


def reference_functions(trainer):
    """`(generator_objective, discriminator_objective)`, stateless."""
    tokenizer, discriminator = trainer.tokenizer, trainer.discriminator

    def generator_objective(tok_params, weight, tok_state, d_vars, images):
        outputs, _ = tokenizer.stateless_call(
            tok_params, tok_state, images, training=True
        )
        reconstruction = outputs["reconstruction"]
        logits, _ = discriminator.stateless_call(
            d_vars[0], d_vars[1], reconstruction, training=True
        )
        nll = ops.mean(ops.abs(images - reconstruction))
        g_loss = -ops.mean(logits)
        vq_loss = outputs["vq_loss"]
        return nll + weight * g_loss + vq_loss, (nll, g_loss, vq_loss)

    def discriminator_objective(d_params, d_state, tok_vars, images):
        outputs, _ = tokenizer.stateless_call(
            tok_vars[0], tok_vars[1], images, training=True
        )
        reconstruction = ops.stop_gradient(outputs["reconstruction"])
        real, d_state = discriminator.stateless_call(
            d_params, d_state, images, training=True
        )
        fake, _ = discriminator.stateless_call(
            d_params, d_state, reconstruction, training=True
        )
        hinge = 0.5 * (
            ops.mean(ops.relu(1.0 - real)) + ops.mean(ops.relu(1.0 + fake))
        )
        return hinge, ()

    return generator_objective, discriminator_objective


def momentum_gradients(before, after):
    """The gradients of an Adam step, from its first-moment slots."""
    return [
        m0 + (m1 - m0) / (1.0 - BETA_1)
        for m0, m1 in zip(before, after)  # m1 = m0 + (1 - b1) (g - m0)
    ]


def assert_gradients_close(actual, expected, names):
    scale = max(float(np.max(np.abs(g))) for g in expected)
    for a, e, name in zip(actual, expected, names):
        np.testing.assert_allclose(
            a, e, rtol=1e-3, atol=1e-5 * scale, err_msg=name
        )


# === Tests ===


def test_disc_start_switches_the_gan_losses_on(trainer):
    discriminator = trainer.discriminator
    trainable = values(discriminator.trainable_variables)
    moving = values(discriminator.non_trainable_variables)

    logs = one_step(trainer)  # step 0 < disc_start = 1
    assert int(trainer.step) == 1
    assert int(trainer.d_optimizer.iterations) == 1  # ran, zero gradients
    assert logs["disc_factor"] == 0.0
    assert logs["d_loss"] == 0.0
    assert logs["d_weight"] > 0.0  # computed, multiplied by f = 0
    np.testing.assert_allclose(
        logs["loss"], logs["nll"] + logs["vq_loss"], rtol=1e-6
    )
    for before, after in zip(
        trainable, values(discriminator.trainable_variables)
    ):
        np.testing.assert_array_equal(after, before)
    # BatchNorm still tracked the (training-mode) batches.
    assert any(
        not np.array_equal(before, after)
        for before, after in zip(
            moving, values(discriminator.non_trainable_variables)
        )
    )

    logs = one_step(trainer)  # step 1 = disc_start
    assert int(trainer.step) == 2
    assert logs["disc_factor"] == 1.0
    assert logs["d_loss"] > 0.0
    np.testing.assert_allclose(
        logs["loss"],
        logs["nll"] + logs["d_weight"] * logs["g_loss"] + logs["vq_loss"],
        rtol=1e-5,
    )
    assert_all_moved(trainable, discriminator)


def test_each_update_moves_only_its_player(trainer):
    """G step: reference gradients, D untouched; D step: tokenizer untouched."""
    tokenizer, discriminator = trainer.tokenizer, trainer.discriminator
    one_step(trainer)  # Now at step 1 = disc_start: the GAN terms are on.
    start = trainer.state_arrays()
    g_momentum = values(trainer.g_optimizer._momentums)
    d_momentum = values(trainer.d_optimizer._momentums)
    tok_vars = (
        values(tokenizer.trainable_variables),
        values(tokenizer.non_trainable_variables),
    )
    d_vars = (
        values(discriminator.trainable_variables),
        values(discriminator.non_trainable_variables),
    )

    # Generator-only step: the discriminator's learning rate is 0, so its
    # update is a no-op and the step shows what the G update alone does.
    trainer.d_optimizer.learning_rate = 0.0
    g_logs = one_step(trainer)
    g_only = trainer.state_arrays()
    for before, after in zip(
        d_vars[0], values(discriminator.trainable_variables)
    ):
        np.testing.assert_array_equal(after, before)
    g_grads = momentum_gradients(
        g_momentum, values(trainer.g_optimizer._momentums)
    )

    # The full step: the D update must leave the tokenizer exactly as the
    # G update left it, and move every discriminator weight.
    trainer.load_state_arrays(start)  # also restores the learning rate
    logs = one_step(trainer)
    full = trainer.state_arrays()
    assert_same_arrays(group(full, "tokenizer"), group(g_only, "tokenizer"))
    assert_same_arrays(group(full, "g_optimizer"), group(g_only, "g_optimizer"))
    assert_all_moved(d_vars[0], discriminator)
    for name in LOG_NAMES:
        if name not in ("d_loss", "logits_real", "logits_fake"):
            assert logs[name] == g_logs[name], name
    d_grads = momentum_gradients(
        d_momentum, values(trainer.d_optimizer._momentums)
    )

    # Reference: L_G = nll + lambda * f * g_loss + vq_loss with
    # lambda = clip(|dnll/dW| / (|dg/dW| + 1e-4), 0, 1e4) * 0.8 at the
    # decoder's last conv W. (vq_loss does not depend on W.)
    generator_objective, discriminator_objective = reference_functions(trainer)
    last = [id(v) for v in tokenizer.trainable_variables].index(
        id(tokenizer.last_layer_kernel)
    )
    args = (tok_vars[1], d_vars, IMAGES)
    (_, (nll, g_loss, vq_loss)), grads_0 = _value_and_grad(
        generator_objective, tok_vars[0], 0.0, *args
    )
    _, grads_1 = _value_and_grad(generator_objective, tok_vars[0], 1.0, *args)
    nll_last = np.asarray(grads_0[last], "float64")
    g_last = np.asarray(grads_1[last], "float64") - nll_last
    d_weight = 0.8 * np.clip(
        np.linalg.norm(nll_last) / (np.linalg.norm(g_last) + 1e-4), 0, 1e4
    )
    np.testing.assert_allclose(logs["d_weight"], d_weight, rtol=1e-4)
    np.testing.assert_allclose(logs["nll"], nll, rtol=1e-5)
    np.testing.assert_allclose(logs["g_loss"], g_loss, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(logs["vq_loss"], vq_loss, rtol=1e-5)
    _, expected = _value_and_grad(
        generator_objective, tok_vars[0], float(d_weight), *args
    )
    names = [v.path for v in tokenizer.trainable_variables]
    assert_gradients_close(g_grads, [np.asarray(g) for g in expected], names)

    # Reference: L_D = hinge(D(x), D(x_hat)) with x_hat recomputed by the
    # updated tokenizer, at the discriminator weights before the step.
    updated = (
        values(tokenizer.trainable_variables),
        values(tokenizer.non_trainable_variables),
    )
    (d_loss, _), expected = _value_and_grad(
        discriminator_objective, d_vars[0], d_vars[1], updated, IMAGES
    )
    np.testing.assert_allclose(logs["d_loss"], d_loss, rtol=1e-5)
    names = [v.path for v in discriminator.trainable_variables]
    assert_gradients_close(d_grads, [np.asarray(g) for g in expected], names)


def test_fit_on_datasets_of_images_and_of_labelled_images(trainer):
    images = make_images(2 * BATCH, seed=2)
    initial = trainer.state_arrays()
    logs = fit_logs(trainer, dataset(images))
    assert int(trainer.step) == 2
    assert set(LOG_NAMES + trainer.usage_names) == set(logs)
    assert all(np.isfinite(v) for v in logs.values())

    # Labels are ignored: the same images give the same training.
    trainer.load_state_arrays(initial)
    labels = np.arange(2 * BATCH, dtype="int32")
    labelled = fit_logs(trainer, dataset(images, labels))
    assert int(trainer.step) == 2
    for name in logs:
        np.testing.assert_allclose(labelled[name], logs[name], rtol=1e-6)


def test_images_from_batches():
    x = np.zeros((1, 2, 2, 3))
    assert VQGANTrainer.images_from(x) is x
    assert VQGANTrainer.images_from((x, None)) is x
    assert VQGANTrainer.images_from([x, x]) is x
    assert VQGANTrainer.images_from({"images": x, "labels": 0}) is x


def test_evaluate_follows_disc_start(trainer):
    logs = trainer.evaluate(
        IMAGES, batch_size=BATCH, verbose=0, return_dict=True
    )
    assert logs["disc_factor"] == 0.0
    assert logs["d_loss"] == 0.0
    one_step(trainer)
    logs = trainer.evaluate(
        IMAGES, batch_size=BATCH, verbose=0, return_dict=True
    )
    assert logs["disc_factor"] == 1.0
    assert logs["d_loss"] > 0.0


def test_state_arrays_round_trip_resumes_identically(trainer, tmp_path):
    one_step(trainer)
    saved = trainer.state_arrays()
    np.savez(tmp_path / "state.npz", **saved)
    logs = one_step(trainer)
    after = list(trainer.state_arrays().values())

    # A fresh trainer (other initial weights) resumes from the file.
    fresh = build_trainer(disc_start=1, optimizer_fn=adam, seed=1)
    with np.load(tmp_path / "state.npz") as arrays:
        assert sorted(arrays.files) == sorted(saved)
        fresh.load_state_arrays(arrays)
    assert int(fresh.step) == 1
    assert_next_step(fresh, logs, after)

    # So does the trained-on trainer (weights, Adam slots, BN statistics
    # and the step all moved on).
    one_step(trainer)
    trainer.load_state_arrays(saved)
    assert int(trainer.step) == 1
    assert_same_arrays(trainer.state_arrays(), saved)
    assert_next_step(trainer, logs, after)


def assert_next_step(trainer, logs, state):
    """The next step logs `logs` and leaves the state values `state`."""
    assert one_step(trainer) == logs
    actual = list(trainer.state_arrays().values())
    assert len(actual) == len(state)
    for index, (value, expected) in enumerate(zip(actual, state)):
        np.testing.assert_array_equal(value, expected, err_msg=str(index))


def test_load_state_arrays_rejects_other_configurations(trainer):
    arrays = trainer.state_arrays()
    first = next(iter(arrays))
    with pytest.raises(ValueError, match="holds"):
        trainer.load_state_arrays(
            {k: v for k, v in arrays.items() if k != first}
        )
    arrays[first] = np.zeros(arrays[first].shape + (1,), "float32")
    with pytest.raises(ValueError, match="shape"):
        trainer.load_state_arrays(arrays)
