"""Loss functions of VQGAN/VQCT training (pure `keras.ops`)."""

from keras import ops


def l1_loss(images, reconstructions):
    """Mean absolute error over all elements."""
    return ops.mean(ops.abs(ops.cast(images, "float32") - reconstructions))


def hinge_discriminator_loss(logits_real, logits_fake):
    """`0.5 * (mean(relu(1 - D(x))) + mean(relu(1 + D(x_hat))))`.

    Example:

    >>> float(hinge_discriminator_loss(ops.ones((2,)), -ops.ones((2,))))
    0.0
    """
    real = ops.mean(ops.relu(1.0 - ops.cast(logits_real, "float32")))
    fake = ops.mean(ops.relu(1.0 + ops.cast(logits_fake, "float32")))
    return 0.5 * (real + fake)


def generator_adversarial_loss(logits_fake):
    """`-mean(D(x_hat))`, the VQGAN generator loss."""
    return -ops.mean(ops.cast(logits_fake, "float32"))


def adaptive_weight(
    reconstruction_grad, adversarial_grad, disc_weight=0.8, max_weight=1e4
):
    """VQGAN's adaptive GAN weight from gradients at the decoder's last layer.

    `clip(|g_rec| / (|g_adv| + 1e-4), 0, max_weight) * disc_weight`, with the
    gradient of the stop-gradient applied (it is a constant for training).

    Example:

    >>> w = adaptive_weight(ops.ones((4,)), 2 * ops.ones((4,)), 0.8)
    >>> round(float(w), 4)
    0.4
    """
    reconstruction_norm = ops.sqrt(
        ops.sum(ops.square(ops.cast(reconstruction_grad, "float32")))
    )
    adversarial_norm = ops.sqrt(
        ops.sum(ops.square(ops.cast(adversarial_grad, "float32")))
    )
    weight = reconstruction_norm / (adversarial_norm + 1e-4)
    weight = ops.clip(weight, 0.0, max_weight)
    return ops.stop_gradient(weight * disc_weight)


def discriminator_factor(step, disc_start, disc_factor=1.0):
    """`disc_factor` once `step >= disc_start`, else `0` (float32 scalar).

    Example:

    >>> float(discriminator_factor(9, 10)), float(discriminator_factor(10, 10))
    (0.0, 1.0)
    """
    step = ops.cast(step, "float32")
    return ops.where(step >= float(disc_start), float(disc_factor), 0.0)
