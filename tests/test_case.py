"""Shared test helpers: layer, serialization and `.keras` saving checks."""

import os
import tempfile

import keras
import numpy as np
from keras import ops


def assert_allclose(actual, expected, atol=1e-6, rtol=1e-6):
    np.testing.assert_allclose(
        ops.convert_to_numpy(actual),
        ops.convert_to_numpy(expected),
        atol=atol,
        rtol=rtol,
    )


def run_serialization_test(instance):
    """Config round trip: `from_config(get_config())` gives the same config."""
    config = instance.get_config()
    revived = instance.__class__.from_config(config)
    assert revived.get_config() == config
    serialized = keras.saving.serialize_keras_object(instance)
    again = keras.saving.deserialize_keras_object(serialized)
    assert type(again) is type(instance)
    assert again.get_config() == config
    return revived


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    expected_output_shape,
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
):
    """Build, call and serialize a layer; check shapes and weight counts."""
    layer = layer_cls(**init_kwargs)
    output = layer(input_data)
    assert tuple(output.shape) == tuple(expected_output_shape)
    assert tuple(layer.compute_output_shape(input_data.shape)) == tuple(
        expected_output_shape
    )
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert (
            len(layer.non_trainable_weights)
            == expected_num_non_trainable_weights
        )
    run_serialization_test(layer)
    return layer, output


def run_model_saving_test(model, input_data, output_fn=None, atol=1e-6):
    """Save to `.keras`, reload, and compare outputs and weights."""
    output_fn = output_fn or (lambda m, x: m(x, training=False))
    expected = output_fn(model, input_data)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        restored = keras.saving.load_model(path)
    actual = output_fn(restored, input_data)
    for exp, act in zip(
        keras.tree.flatten(expected), keras.tree.flatten(actual)
    ):
        assert_allclose(act, exp, atol=atol, rtol=atol)
    assert len(restored.weights) == len(model.weights)
    for original, loaded in zip(model.weights, restored.weights):
        assert_allclose(loaded.value, original.value, atol=0, rtol=0)
    return restored


def value_and_gradients(layer, inputs, loss_fn, training=True):
    """`(loss, d loss / d inputs, [d loss / d w for w in trainable])`.

    `loss_fn` maps the layer's output to a scalar. Works on the TensorFlow
    (GradientTape) and JAX (`stateless_call` + `jax.grad`) backends.
    """
    if not layer.built:
        layer(inputs, training=False)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(inputs)
        weights = [v.value for v in layer.trainable_variables]
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            loss = loss_fn(layer(x, training=training))
        input_grad = tape.gradient(loss, x)
        weight_grads = tape.gradient(loss, weights)
        return loss, input_grad, weight_grads
    if backend == "jax":
        import jax

        trainable = [v.value for v in layer.trainable_variables]
        non_trainable = [v.value for v in layer.non_trainable_variables]

        def compute(trainable_values, x):
            output, _ = layer.stateless_call(
                trainable_values, non_trainable, x, training=training
            )
            return loss_fn(output)

        loss, (weight_grads, input_grad) = jax.value_and_grad(
            compute, argnums=(0, 1)
        )(trainable, ops.convert_to_tensor(inputs))
        return loss, input_grad, weight_grads
    raise NotImplementedError(f"No gradient helper for backend {backend}.")
