"""The backend-specific train and test steps of `VQGANTrainer`.

This is the one module of vqct_keras with TensorFlow- and JAX-specific code:
`GradientTape` and `tf.distribute` for TensorFlow, `stateless_call` and
`jax.vjp` for JAX. Everything else (losses, the adaptive weight, logging)
comes from `VQGANTrainer` and `vqct_keras.losses` in `keras.ops`.

It also compiles the tokenizer's public inference calls
(`compiled_call`: `tf.function` / `jax.jit`), the only other place where
the backends differ.
"""

import keras
from keras import ops

from vqct_keras.losses import hinge_discriminator_loss


def train_step(trainer, *args):
    backend = keras.backend.backend()
    if backend not in _STEPS:
        raise NotImplementedError(
            f"VQGANTrainer supports the tensorflow and jax backends; got "
            f"{backend!r}. Set KERAS_BACKEND=tensorflow or jax."
        )
    train, _ = _STEPS[backend]
    return train(trainer, *args)


def test_step(trainer, *args):
    backend = keras.backend.backend()
    if backend not in _STEPS:
        raise NotImplementedError(f"Unsupported backend {backend!r}.")
    _, test = _STEPS[backend]
    return test(trainer, *args)


def _images(trainer, data):
    """The batch's images (blank if invalid) and the bad-batch flags."""
    return trainer.checked_images(trainer.images_from(data))


def _logs(trainer, values):
    return {name: trainer.trackers[name].result() for name in values}


# === TensorFlow ===


def _tensorflow_train_step(trainer, data):
    import tensorflow as tf

    images, flags = _images(trainer, data)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    tokenizer, discriminator = trainer.tokenizer, trainer.discriminator
    factor = trainer.discriminator_factor(trainer.step)
    last_kernel = tokenizer.last_layer_kernel

    # Autoencoder update.
    with tf.GradientTape() as tape:
        with tf.GradientTape(persistent=True) as last_layer_tape:
            outputs = tokenizer(images, training=True)
            logits_fake = discriminator(
                outputs["reconstruction"], training=True
            )
            terms = trainer.generator_losses(images, outputs, logits_fake)
        with tape.stop_recording():
            # Per-replica means; scaled so that their all-reduced sum is the
            # gradient of the global-batch mean.
            nll_grad = (
                last_layer_tape.gradient(terms["nll"], last_kernel) / replicas
            )
            g_grad = (
                last_layer_tape.gradient(terms["g_loss"], last_kernel)
                / replicas
            )
            context = tf.distribute.get_replica_context()
            if context is not None and replicas > 1:
                nll_grad, g_grad = context.all_reduce("sum", [nll_grad, g_grad])
            d_weight = trainer.adaptive_weight(nll_grad, g_grad)
        loss = trainer.total_generator_loss(terms, d_weight, factor)
        scaled_loss = loss / replicas
    variables = tokenizer.trainable_variables
    trainer.g_optimizer.apply(tape.gradient(scaled_loss, variables), variables)

    # Discriminator update.
    reconstruction = outputs["reconstruction"]
    if trainer.recompute_reconstruction:
        reconstruction = tokenizer(images, training=True)["reconstruction"]
    reconstruction = tf.stop_gradient(reconstruction)
    with tf.GradientTape() as tape:
        logits = (
            discriminator(images, training=True),
            discriminator(reconstruction, training=True),
        )
        d_loss = factor * hinge_discriminator_loss(*logits)
        scaled_d_loss = d_loss / replicas
    variables = discriminator.trainable_variables
    trainer.d_optimizer.apply(
        tape.gradient(scaled_d_loss, variables), variables
    )

    totals = dict(loss=loss, d_loss=d_loss, d_weight=d_weight)
    values = _step_values(
        trainer, terms, outputs, logits, totals, factor, flags
    )
    return _tensorflow_track(trainer, values)


def _tensorflow_test_step(trainer, data):
    return _tensorflow_track(
        trainer, _evaluate(trainer, *_images(trainer, data))
    )


def _tensorflow_track(trainer, values):
    """Update the trackers and return the logs of one replica.

    Keras averages the replicas' logs. Under `MultiWorkerMirroredStrategy`
    it does so with `strategy.reduce("MEAN", value, axis=0)`, which needs a
    batch axis: the logs get a length-1 axis there.
    """
    import tensorflow as tf

    for name, value in values.items():
        trainer.trackers[name].update_state(value)
    logs = _logs(trainer, values)
    strategy = tf.distribute.get_strategy()
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        logs = {name: tf.reshape(value, (1,)) for name, value in logs.items()}
    return logs


def _step_values(trainer, terms, outputs, logits, totals, factor, flags):
    """Everything logged for a step: loss terms and totals, the bad-batch
    flags, logit means, usage.

    `logits` are the discriminator's `(real, fake)` logits; `totals` holds
    the step's `loss`, `d_loss` and `d_weight`, as computed for its updates.
    """
    logits_real, logits_fake = logits
    values = dict(terms, **totals, disc_factor=factor, **flags)
    values["logits_real"] = ops.mean(ops.cast(logits_real, "float32"))
    values["logits_fake"] = ops.mean(ops.cast(logits_fake, "float32"))
    for name in trainer.usage_names:
        values[name] = outputs[name]
    return values


def _evaluate(trainer, images, flags):
    """Losses without updates (the adaptive weight is not defined here)."""
    outputs = trainer.tokenizer(images, training=False)
    logits_fake = trainer.discriminator(
        outputs["reconstruction"], training=False
    )
    logits_real = trainer.discriminator(images, training=False)
    terms = trainer.generator_losses(images, outputs, logits_fake)
    factor = trainer.discriminator_factor(trainer.step)
    d_weight = ops.zeros((), "float32")
    totals = dict(
        loss=trainer.total_generator_loss(terms, d_weight, factor),
        d_loss=factor * hinge_discriminator_loss(logits_real, logits_fake),
        d_weight=d_weight,
    )
    logits = (logits_real, logits_fake)
    return _step_values(trainer, terms, outputs, logits, totals, factor, flags)


# === JAX ===


class _JaxState:
    """Splits the trainer's flat stateless state into its players' parts."""

    def __init__(self, trainer, state):
        (
            self.trainable,
            self.non_trainable,
            self.optimizer_variables,
            self.metrics_variables,
        ) = state
        self.trainer = trainer
        self._trainable_index = {
            id(v): i for i, v in enumerate(trainer.trainable_variables)
        }
        self._non_trainable_index = {
            id(v): i for i, v in enumerate(trainer.non_trainable_variables)
        }

    def values(self, layer):
        trainable = [
            self.trainable[self._trainable_index[id(v)]]
            for v in layer.trainable_variables
        ]
        non_trainable = [
            self.non_trainable[self._non_trainable_index[id(v)]]
            for v in layer.non_trainable_variables
        ]
        return trainable, non_trainable

    def set_values(self, layer, trainable=None, non_trainable=None):
        self.trainable = list(self.trainable)
        self.non_trainable = list(self.non_trainable)
        if trainable is not None:
            for v, value in zip(layer.trainable_variables, trainable):
                self.trainable[self._trainable_index[id(v)]] = value
        if non_trainable is not None:
            for v, value in zip(layer.non_trainable_variables, non_trainable):
                self.non_trainable[self._non_trainable_index[id(v)]] = value

    def optimizer_split(self):
        count = len(self.trainer.g_optimizer.variables)
        return (
            list(self.optimizer_variables[:count]),
            list(self.optimizer_variables[count:]),
        )

    def update_metrics(self, values):
        logs, self.metrics_variables = _stateless_update_metrics(
            self.trainer, self.metrics_variables, values
        )
        return logs

    def as_tuple(self):
        return (
            self.trainable,
            self.non_trainable,
            self.optimizer_variables,
            self.metrics_variables,
        )


def _stateless_update_metrics(trainer, metrics_variables, values):
    logs, new_variables, start = {}, [], 0
    for metric in trainer.metrics:
        size = len(metric.variables)
        variables = metrics_variables[start : start + size]
        start += size
        if metric.name in values:
            variables = metric.stateless_update_state(
                variables, values[metric.name]
            )
            logs[metric.name] = metric.stateless_result(variables)
        new_variables += list(variables)
    return logs, new_variables


def _perceptual_call(trainer, state):
    """A stateless version of `trainer.perceptual_loss` (frozen weights)."""
    layer = trainer.perceptual_loss
    if layer is None:
        return None
    trainable, non_trainable = state.values(layer)

    def call(images, reconstruction):
        output, _ = layer.stateless_call(
            trainable, non_trainable, images, reconstruction
        )
        return output

    return call


def _jax_generator_terms(trainer, state, images, tok_trainable):
    """Stateless autoencoder forward: `(nll, g_loss, vq_loss)` + aux."""
    tok_non_trainable = state.values(trainer.tokenizer)[1]
    d_trainable, d_non_trainable = state.values(trainer.discriminator)
    perceptual = _perceptual_call(trainer, state)
    outputs, tok_non_trainable = trainer.tokenizer.stateless_call(
        tok_trainable, tok_non_trainable, images, training=True
    )
    logits_fake, d_non_trainable = trainer.discriminator.stateless_call(
        d_trainable, d_non_trainable, outputs["reconstruction"], training=True
    )
    terms = trainer.generator_losses(
        images, outputs, logits_fake, perceptual_fn=perceptual
    )
    heads = (terms["nll"], terms["g_loss"], terms["vq_loss"])
    return heads, (terms, outputs, tok_non_trainable, d_non_trainable)


def _jax_train_step(trainer, state, data):
    import jax

    state = _JaxState(trainer, state)
    images, flags = _images(trainer, data)
    tokenizer, discriminator = trainer.tokenizer, trainer.discriminator
    g_opt_vars, d_opt_vars = state.optimizer_split()
    iterations_index = [id(v) for v in trainer.g_optimizer.variables].index(
        id(trainer.g_optimizer.iterations)
    )
    step = g_opt_vars[iterations_index]
    factor = trainer.discriminator_factor(step)
    tok_trainable = state.values(tokenizer)[0]
    last_index = [id(v) for v in tokenizer.trainable_variables].index(
        id(tokenizer.last_layer_kernel)
    )

    # Autoencoder update: one forward, vector-Jacobian products per term.
    (nll, g_loss, vq_loss), vjp, aux = jax.vjp(
        lambda params: _jax_generator_terms(trainer, state, images, params),
        tok_trainable,
        has_aux=True,
    )
    terms, outputs, tok_non_trainable, d_non_trainable = aux
    one, zero = ops.ones_like(nll), ops.zeros_like(nll)
    nll_grad = vjp((one, zero, zero))[0][last_index]
    g_grad = vjp((zero, one, zero))[0][last_index]
    d_weight = trainer.adaptive_weight(nll_grad, g_grad)
    grads = vjp((one, d_weight * factor * one, trainer.codebook_weight * one))[
        0
    ]
    tok_trainable, g_opt_vars = trainer.g_optimizer.stateless_apply(
        g_opt_vars, grads, tok_trainable
    )
    state.set_values(tokenizer, tok_trainable, tok_non_trainable)
    state.set_values(discriminator, non_trainable=d_non_trainable)

    # Discriminator update.
    reconstruction = outputs["reconstruction"]
    if trainer.recompute_reconstruction:
        tok_non_trainable = state.values(tokenizer)[1]
        recomputed, tok_non_trainable = tokenizer.stateless_call(
            tok_trainable, tok_non_trainable, images, training=True
        )
        reconstruction = recomputed["reconstruction"]
        state.set_values(tokenizer, non_trainable=tok_non_trainable)
    reconstruction = jax.lax.stop_gradient(reconstruction)
    d_trainable, d_non_trainable = state.values(discriminator)

    def discriminator_loss(d_params, d_state):
        logits_real, d_state = discriminator.stateless_call(
            d_params, d_state, images, training=True
        )
        logits_fake, d_state = discriminator.stateless_call(
            d_params, d_state, reconstruction, training=True
        )
        d_loss = factor * hinge_discriminator_loss(logits_real, logits_fake)
        return d_loss, (d_state, (logits_real, logits_fake))

    (d_loss, (d_non_trainable, logits)), d_grads = jax.value_and_grad(
        discriminator_loss, has_aux=True
    )(d_trainable, d_non_trainable)
    d_trainable, d_opt_vars = trainer.d_optimizer.stateless_apply(
        d_opt_vars, d_grads, d_trainable
    )
    state.set_values(discriminator, d_trainable, d_non_trainable)
    state.optimizer_variables = g_opt_vars + d_opt_vars

    # The autoencoder loss itself is never formed here (its gradient comes
    # from the weighted vector-Jacobian product): computed for the logs.
    totals = dict(
        loss=trainer.total_generator_loss(terms, d_weight, factor),
        d_loss=d_loss,
        d_weight=d_weight,
    )
    values = _step_values(
        trainer, terms, outputs, logits, totals, factor, flags
    )
    logs = state.update_metrics(values)
    return logs, state.as_tuple()


def _jax_test_step(trainer, state, data):
    trainable, non_trainable, metrics_variables = state
    mapping = list(zip(trainer.trainable_variables, trainable)) + list(
        zip(trainer.non_trainable_variables, non_trainable)
    )
    with keras.StatelessScope(state_mapping=mapping):
        values = _evaluate(trainer, *_images(trainer, data))
    logs, metrics_variables = _stateless_update_metrics(
        trainer, metrics_variables, values
    )
    return logs, (trainable, non_trainable, metrics_variables)


# The train and test steps of each backend.
_STEPS = {
    "tensorflow": (_tensorflow_train_step, _tensorflow_test_step),
    "jax": (_jax_train_step, _jax_test_step),
}


# === Compiled inference calls (VQCTTokenizer.encode_to_indices, ...) ===


def is_traced(*values):
    """Whether the caller runs inside a traced function.

    True inside `tf.function`, inside `jax.jit` (a `values` leaf is a
    tracer) and inside a `keras.StatelessScope`; then an inference call
    must run op by op in the enclosing trace, with no cache.
    """
    from keras.src.backend.common.stateless_scope import in_stateless_scope

    if in_stateless_scope():
        return True
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return not tf.executing_eagerly()
    if backend == "jax":
        import jax

        return any(
            isinstance(value, jax.core.Tracer)
            for value in keras.tree.flatten(values)
        )
    return False


class _CompiledCalls:
    """Compiled methods of one model (a plain object: never saved)."""

    def __init__(self):
        self.functions = {}


def compiled_call(model, method_name, *args):
    """`getattr(model, method_name)(*args)`, compiled once per signature.

    TensorFlow: a `tf.function` (retraced per new input signature, with
    `reduce_retracing`), which reads the model's variables live. JAX:
    `jax.jit` of a stateless version of the method that takes the
    variables' values as arguments, so a later weight change is seen
    without retracing. Other backends run the method as it is.
    """
    backend = keras.backend.backend()
    if backend not in ("tensorflow", "jax"):
        return getattr(model, method_name)(*args)
    calls = model.__dict__.get("_compiled_calls")
    if calls is None:
        calls = _CompiledCalls()
        model._compiled_calls = calls
    function = calls.functions.get(method_name)
    if function is None:
        method = getattr(model, method_name)
        if backend == "tensorflow":
            function = _tensorflow_compiled(method)
        else:
            function = _jax_compiled(model, method)
        calls.functions[method_name] = function
    return function(*args)


def _tensorflow_compiled(method):
    import tensorflow as tf

    return tf.function(method, reduce_retracing=True)


def _jax_compiled(model, method):
    import jax

    variables = list(model.trainable_variables) + list(
        model.non_trainable_variables
    )

    def stateless(values, *args):
        mapping = list(zip(variables, values))
        with keras.StatelessScope(state_mapping=mapping):
            return method(*args)

    jitted = jax.jit(stateless)

    def call(*args):
        return jitted([variable.value for variable in variables], *args)

    return call
