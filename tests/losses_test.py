import keras
import numpy as np
import pytest
from keras import ops

from vqct_keras import losses


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def _gradient(fn, x):
    """d fn(x) / d x for a scalar `fn` (TensorFlow or JAX)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        grad = tape.gradient(value, x)
        return np.zeros(x.shape) if grad is None else _np(grad)
    import jax

    return _np(jax.grad(fn)(ops.convert_to_tensor(x)))


def test_l1_loss():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 4, 4, 3)).astype("float32")
    y = rng.uniform(-1, 1, (2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(
        _np(losses.l1_loss(x, y)), np.mean(np.abs(x - y)), rtol=1e-6
    )


def test_hinge_discriminator_loss_by_hand():
    real = np.array([[2.0, 0.5], [-1.0, 1.0]], "float32")
    fake = np.array([[-3.0, -0.25], [0.5, 2.0]], "float32")
    # relu(1 - real): 0, 0.5, 2, 0 -> mean 0.625;
    # relu(1 + fake): 0, 0.75, 1.5, 3 -> mean 1.3125.
    expected = 0.5 * (0.625 + 1.3125)
    value = _np(losses.hinge_discriminator_loss(real, fake))
    assert value.shape == ()
    np.testing.assert_allclose(value, expected, rtol=1e-6)
    # Confident and correct on both sides: no loss.
    assert float(losses.hinge_discriminator_loss(real + 5, fake - 5)) == 0.0


def test_hinge_discriminator_loss_random_maps():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(3, 6, 6, 1)).astype("float32")
    fake = rng.normal(size=(3, 6, 6, 1)).astype("float32")
    expected = 0.5 * (
        np.maximum(1 - real, 0).mean() + np.maximum(1 + fake, 0).mean()
    )
    np.testing.assert_allclose(
        _np(losses.hinge_discriminator_loss(real, fake)), expected, rtol=1e-6
    )


def test_generator_adversarial_loss():
    fake = np.array([[1.0, -3.0], [0.5, 0.5]], "float32")
    np.testing.assert_allclose(
        _np(losses.generator_adversarial_loss(fake)), 0.25, rtol=1e-6
    )


def test_adaptive_weight_by_hand():
    reconstruction = np.array([3.0, 4.0], "float32")  # norm 5
    adversarial = np.array([[0.0, 2.0], [0.0, 0.0]], "float32")  # norm 2
    weight = losses.adaptive_weight(reconstruction, adversarial, 0.8)
    np.testing.assert_allclose(_np(weight), 5.0 / (2.0 + 1e-4) * 0.8, rtol=1e-6)
    # The default disc_weight is the paper's 0.8.
    np.testing.assert_allclose(
        _np(losses.adaptive_weight(reconstruction, adversarial)),
        _np(weight),
        rtol=0,
    )


def test_adaptive_weight_eps_and_clipping():
    rec = np.array([3.0, 4.0], "float32")
    # eps: the adversarial norm is offset by 1e-4 (not a relative eps).
    small = np.array([0.0, 1e-3], "float32")
    np.testing.assert_allclose(
        _np(losses.adaptive_weight(rec, small, 1.0)), 5.0 / 1.1e-3, rtol=1e-5
    )
    # A zero adversarial gradient: 5 / 1e-4 = 5e4 is clipped to 1e4 * w.
    zero = np.zeros((2,), "float32")
    np.testing.assert_allclose(
        _np(losses.adaptive_weight(rec, zero, 0.8)), 1e4 * 0.8, rtol=1e-6
    )
    np.testing.assert_allclose(
        _np(losses.adaptive_weight(rec, zero, 0.8, max_weight=10.0)),
        8.0,
        rtol=1e-6,
    )
    # Both zero: 0 / 1e-4 = 0 (the lower clip bound).
    assert float(losses.adaptive_weight(zero, zero, 0.8)) == 0.0


def test_adaptive_weight_is_a_constant_for_training():
    rec = np.array([3.0, 4.0], "float32")
    adv = np.array([1.0, 2.0], "float32")
    grad_rec = _gradient(lambda x: losses.adaptive_weight(x, adv), rec)
    grad_adv = _gradient(lambda x: losses.adaptive_weight(rec, x), adv)
    np.testing.assert_array_equal(grad_rec, 0.0)
    np.testing.assert_array_equal(grad_adv, 0.0)


@pytest.mark.parametrize(
    "step, expected", [(0, 0.0), (9, 0.0), (10, 0.5), (11, 0.5), (10**6, 0.5)]
)
def test_discriminator_factor_switches_on_at_disc_start(step, expected):
    value = losses.discriminator_factor(step, disc_start=10, disc_factor=0.5)
    assert _np(value).dtype == np.float32
    assert float(value) == expected


def test_discriminator_factor_from_an_optimizer_step_counter():
    step = keras.Variable(4, dtype="int32", trainable=False)
    assert float(losses.discriminator_factor(step, 5)) == 0.0
    step.assign(5)
    assert float(losses.discriminator_factor(step, 5)) == 1.0
    # disc_start=0: on from the first step.
    assert float(losses.discriminator_factor(0, 0)) == 1.0
