"""VQGAN/VQCT adversarial training with two optimizers, as a `keras.Model`."""

import keras
import numpy as np
from keras import ops

from vqct_keras import losses
from vqct_keras.api_export import vqct_export
from vqct_keras.models import input_contract
from vqct_keras.trainers.bad_batch_stop import BAD_BATCH_LOGS
from vqct_keras.trainers.bad_batch_stop import BadBatchStop

# Per-step values logged by `fit`, in display order.
LOG_NAMES = (
    "loss",
    "nll",
    "l1",
    "perceptual",
    "vq_loss",
    "commitment_loss",
    "codebook_loss",
    "g_loss",
    "d_weight",
    "disc_factor",
    "d_loss",
    "logits_real",
    "logits_fake",
) + BAD_BATCH_LOGS


class OptimizerPair:
    """The autoencoder and discriminator optimizers seen as one.

    Keras' JAX trainer threads `model.optimizer.variables` through the
    stateless train step; exposing both optimizers' variables here lets one
    `train_step` update both. `iterations` and `learning_rate` are the
    autoencoder optimizer's (what callbacks read).
    """

    def __init__(self, g_optimizer, d_optimizer):
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    @property
    def variables(self):
        return list(self.g_optimizer.variables) + list(
            self.d_optimizer.variables
        )

    @property
    def built(self):
        return self.g_optimizer.built and self.d_optimizer.built

    @property
    def iterations(self):
        return self.g_optimizer.iterations

    @property
    def learning_rate(self):
        return self.g_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        # Learning-rate callbacks set both players' rates.
        self.g_optimizer.learning_rate = value
        self.d_optimizer.learning_rate = value

    def finalize_variable_values(self, variables):
        pass


@vqct_export("vqct_keras.trainers.VQGANTrainer")
class VQGANTrainer(keras.Model):
    """Trains a `VQCTTokenizer` against a `PatchDiscriminator`.

    Each step, as the official VQCT/taming code:
    1. Autoencoder update (autoencoder optimizer):
       `L_G = nll + d_weight * f * g_loss + codebook_weight * vq_loss` with
       `nll = mean|x - x_hat| + perceptual_weight * mean(LPIPS(x, x_hat))`,
       `g_loss = -mean(D(x_hat))`, `d_weight` the adaptive weight (gradient
       norm ratio at the decoder's last conv, clipped to
       `[0, max_adaptive_weight]`, times `disc_weight`), and
       `f = disc_factor` from step `disc_start` on, else 0.
    2. Discriminator update (discriminator optimizer):
       `L_D = f * 0.5 * (mean(relu(1 - D(x))) + mean(relu(1 + D(x_hat))))`
       with `x_hat` recomputed by the updated autoencoder (as the official
       two-optimizer loop) or reused from step 1
       (`recompute_reconstruction=False`, one forward pass cheaper).

    The discriminator runs in training mode in both updates (its BatchNorm
    uses batch statistics), as in the official code. Steps count autoencoder
    updates; the official PyTorch-Lightning 1.6 `global_step` counts both
    optimizers' steps, so its `disc_start: 10000` means 5000 of our steps.

    Multi-replica: losses are divided by the replica count once, before
    differentiation; the adaptive weight uses the all-reduced (global)
    gradients, so N replicas give the update of one device on the same
    global batch; logged values are the unscaled per-replica values,
    averaged over replicas by the metric trackers.

    Args:
        tokenizer: a built `VQCTTokenizer`.
        discriminator: a built `PatchDiscriminator`.
        perceptual_loss: a layer `(x, x_hat) -> (B,)` distances, e.g.
            `vqct_keras.metrics.lpips.LPIPS()`; `None` disables the term.
        perceptual_weight: float. Defaults to `1.0`.
        codebook_weight: float. Weight of the quantizer loss. Defaults to
            `1.0`.
        disc_weight: float. Defaults to `0.8`.
        disc_factor: float. Defaults to `1.0`.
        disc_start: int. First step with the GAN losses. Defaults to `5000`.
        max_adaptive_weight: float. Defaults to `1e4`.
        recompute_reconstruction: bool. Defaults to `True`.

    Example:

    >>> import numpy as np
    >>> from vqct_keras.models.vqct_presets import build_tokenizer
    >>> from vqct_keras.models.patch_discriminator import PatchDiscriminator
    >>> tokenizer = build_tokenizer("vqct_tiny_32", quantizer="vector",
    ...                             num_codes=16)
    >>> discriminator = PatchDiscriminator(ndf=8, n_layers=2)
    >>> discriminator.build((None, 32, 32, 3))
    >>> trainer = VQGANTrainer(tokenizer, discriminator, disc_start=1)
    >>> trainer.compile(keras.optimizers.Adam(1e-4, 0.5, 0.9),
    ...                 keras.optimizers.Adam(1e-4, 0.5, 0.9))
    >>> history = trainer.fit(np.zeros((4, 32, 32, 3), "float32"),
    ...                       batch_size=2, epochs=1, verbose=0)
    >>> int(trainer.step)
    2
    """

    def __init__(
        self,
        tokenizer,
        discriminator,
        perceptual_loss=None,
        perceptual_weight=1.0,
        codebook_weight=1.0,
        disc_weight=0.8,
        disc_factor=1.0,
        disc_start=5000,
        max_adaptive_weight=1e4,
        recompute_reconstruction=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.tokenizer = tokenizer
        self.discriminator = discriminator
        self.perceptual_loss = perceptual_loss
        self.perceptual_weight = perceptual_weight
        self.codebook_weight = codebook_weight
        self.disc_weight = disc_weight
        self.disc_factor = disc_factor
        self.disc_start = disc_start
        self.max_adaptive_weight = max_adaptive_weight
        self.recompute_reconstruction = recompute_reconstruction
        self.usage_names = tuple(tokenizer.quantizer.usage_names)
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in LOG_NAMES + self.usage_names
        }
        self.g_optimizer = None
        self.d_optimizer = None

    # === Setup ===

    def build(self, input_shape=None):
        if not self.tokenizer.built:
            self.tokenizer.build(input_shape)
        shape = input_shape or (
            None,
            self.tokenizer.resolution,
            self.tokenizer.resolution,
            self.tokenizer.in_channels,
        )
        if not self.discriminator.built:
            self.discriminator.build(shape)
        if self.perceptual_loss is not None and not self.perceptual_loss.built:
            self.perceptual_loss.build(shape, shape)
        self.built = True

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """Set (and build) the autoencoder and discriminator optimizers.

        Call inside `strategy.scope()` under `tf.distribute`: both
        optimizers are built here, not lazily inside `train_step`.
        """
        super().compile(optimizer=g_optimizer, **kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.build()
        self.g_optimizer.build(self.tokenizer.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.optimizer = OptimizerPair(g_optimizer, d_optimizer)

    @property
    def step(self):
        """Autoencoder updates so far (the step `disc_start` refers to)."""
        return self.g_optimizer.iterations

    def current_step(self):
        """`step` as a Python int (also for mirrored variables)."""
        return int(np.asarray(ops.convert_to_numpy(self.step.value)))

    @property
    def metrics(self):
        return list(self.trackers.values())

    # === Loss pieces shared by the backends ===

    def generator_losses(
        self, images, outputs, logits_fake, perceptual_fn=None
    ):
        """Scalar terms of the autoencoder loss (float32), as a dict.

        `perceptual_fn` replaces `self.perceptual_loss` (the JAX step passes
        a stateless version of it).
        """
        reconstruction = ops.cast(outputs["reconstruction"], "float32")
        images = ops.cast(images, "float32")
        l1 = losses.l1_loss(images, reconstruction)
        perceptual_fn = perceptual_fn or self.perceptual_loss
        if perceptual_fn is not None:
            perceptual = ops.mean(
                ops.cast(perceptual_fn(images, reconstruction), "float32")
            )
        else:
            perceptual = ops.zeros((), "float32")
        nll = l1 + self.perceptual_weight * perceptual
        return {
            "nll": nll,
            "l1": l1,
            "perceptual": perceptual,
            "g_loss": losses.generator_adversarial_loss(logits_fake),
            "vq_loss": outputs["vq_loss"],
            "commitment_loss": outputs["commitment_loss"],
            "codebook_loss": outputs["codebook_loss"],
        }

    def total_generator_loss(self, terms, d_weight, factor):
        return (
            terms["nll"]
            + d_weight * factor * terms["g_loss"]
            + self.codebook_weight * terms["vq_loss"]
        )

    def discriminator_factor(self, step):
        return losses.discriminator_factor(
            step, self.disc_start, self.disc_factor
        )

    def adaptive_weight(self, nll_grad, g_grad):
        return losses.adaptive_weight(
            nll_grad, g_grad, self.disc_weight, self.max_adaptive_weight
        )

    def checked_images(self, images):
        """`(images, flags)`: a blank batch replaces an invalid one.

        Reduces the batch to two scalars (finite, in `[-1, 1]`), the only
        check a compiled step can afford on every backend. An invalid
        batch is replaced by zeros, so the weights stay finite, and
        `flags` (`nonfinite_batches`, `out_of_range_batches`: 0 or 1) let
        `BadBatchStop` stop training with a clear message.
        """
        finite, valid = input_contract.image_flags(images)
        all_finite = ops.all(finite)
        all_valid = ops.all(valid)
        images = ops.where(all_valid, images, ops.zeros_like(images))
        flags = {
            "nonfinite_batches": ops.cast(
                ops.logical_not(all_finite), "float32"
            ),
            "out_of_range_batches": ops.cast(
                ops.logical_and(all_finite, ops.logical_not(all_valid)),
                "float32",
            ),
        }
        return images, flags

    def fit(self, *args, callbacks=None, **kwargs):
        """`keras.Model.fit`, stopping at the first invalid batch.

        Adds a `BadBatchStop` unless a callback with
        `stops_on_bad_batches = True` is among `callbacks`.
        """
        callbacks = list(callbacks or [])
        if not any(
            getattr(callback, "stops_on_bad_batches", False)
            for callback in callbacks
        ):
            callbacks.append(BadBatchStop())
        return super().fit(*args, callbacks=callbacks, **kwargs)

    def save(self, filepath, *args, **kwargs):
        raise NotImplementedError(
            "A VQGANTrainer is not saved as a whole: save the tokenizer with "
            "`trainer.tokenizer.save('tokenizer.keras')` (the serving "
            "artifact), and the full training state with "
            "`trainer.state_arrays()` (what training/train.py checkpoints)."
        )

    @staticmethod
    def images_from(data):
        """Images from a batch given as `x`, `(x, ...)` or `{"images": x}`."""
        if isinstance(data, dict):
            return data["images"]
        if isinstance(data, (tuple, list)):
            return data[0]
        return data

    # === Steps (backend-specific code lives in `backend_steps`) ===

    def train_step(self, *args):
        from vqct_keras.trainers import backend_steps

        return backend_steps.train_step(self, *args)

    def test_step(self, *args):
        from vqct_keras.trainers import backend_steps

        return backend_steps.test_step(self, *args)

    def make_test_function(self, force=False):
        # Keras' JAX test step gets no optimizer state, so the jitted step
        # holds the discriminator factor of the step it was traced at as a
        # constant: trace it again once `disc_start` has been crossed.
        if keras.backend.backend() == "jax":
            factor = float(self.discriminator_factor(self.step))
            force = force or factor != getattr(self, "_test_factor", None)
            self._test_factor = factor
        return super().make_test_function(force=force)

    def call(self, images, training=False):
        return self.tokenizer(images, training=training)["reconstruction"]

    # === Full training state (for resumable checkpoints) ===

    def state_arrays(self):
        """Every value training needs to resume: weights, optimizers, step."""
        groups = self._state_groups()
        return {
            f"{group}/{index:04d}/{variable.path}": np.asarray(
                ops.convert_to_numpy(variable.value)
            )
            for group, variables in groups.items()
            for index, variable in enumerate(variables)
        }

    def load_state_arrays(self, arrays):
        """Restore values written by `state_arrays` (same architecture)."""
        for group, variables in self._state_groups().items():
            keys = sorted(k for k in arrays if k.startswith(group + "/"))
            if len(keys) != len(variables):
                raise ValueError(
                    f"The checkpoint holds {len(keys)} {group} values but "
                    f"this trainer has {len(variables)}: it was written by "
                    "another configuration. Use a fresh --output_dir or the "
                    "same flags as the interrupted run."
                )
            for key, variable in zip(keys, variables):
                value = arrays[key]
                if tuple(value.shape) != tuple(variable.shape):
                    raise ValueError(
                        f"Checkpoint value {key} has shape {value.shape}; "
                        f"the trainer expects {tuple(variable.shape)}."
                    )
                variable.assign(value)

    def _state_groups(self):
        if self.g_optimizer is None:
            raise ValueError("Compile the trainer before saving its state.")
        return {
            "tokenizer": list(self.tokenizer.variables),
            "discriminator": list(self.discriminator.variables),
            "g_optimizer": list(self.g_optimizer.variables),
            "d_optimizer": list(self.d_optimizer.variables),
        }
