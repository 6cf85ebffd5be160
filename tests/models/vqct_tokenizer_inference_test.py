"""The fast inference path: compiled calls and the cached codebook."""

import keras
import numpy as np
import pytest
from keras import ops

from tests.builders import random_images as images
from tests.builders import tiny_tokenizer


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def computations(tokenizer):
    return tokenizer.quantizer._inference_cache.computations


def recomputed_indices(tokenizer, x):
    """Op by op, codebook recomputed from the weights (no cache)."""
    return numpy(tokenizer._encode_to_indices(ops.convert_to_tensor(x)))


def test_cached_and_recomputed_indices_are_identical():
    tokenizer = tiny_tokenizer()
    x = images(batch=3)
    fast = numpy(tokenizer.encode_to_indices(x))
    np.testing.assert_array_equal(fast, recomputed_indices(tokenizer, x))
    decoded = numpy(tokenizer.decode_from_indices(fast))
    expected = numpy(
        tokenizer._decode_from_indices(ops.convert_to_tensor(fast))
    )
    np.testing.assert_allclose(decoded, expected, atol=1e-5, rtol=1e-5)


def test_codebook_is_computed_once_while_weights_do_not_change():
    tokenizer = tiny_tokenizer()
    x = images()
    for _ in range(3):
        indices = numpy(tokenizer.encode_to_indices(x))
    tokenizer.decode_from_indices(indices)
    assert computations(tokenizer) == 1
    # Training calls never use (or fill) the cache.
    tokenizer(x, training=True)
    assert computations(tokenizer) == 1


def test_cache_refreshes_after_assignment():
    tokenizer = tiny_tokenizer()
    x = images()
    before = numpy(tokenizer.encode_to_indices(x))
    codebook = tokenizer.quantizer.transferred_codebook
    rng = np.random.default_rng(1)
    codebook.kernel_1.assign(rng.normal(size=codebook.kernel_1.shape))
    after = numpy(tokenizer.encode_to_indices(x))
    assert computations(tokenizer) == 2
    np.testing.assert_array_equal(after, recomputed_indices(tokenizer, x))
    assert not np.array_equal(before, after)
    # A change of a non-trainable weight (the prior) is seen too.
    vectors = numpy(codebook.prior_vectors.value)
    codebook.prior_vectors.assign(vectors[::-1].copy())
    np.testing.assert_array_equal(
        numpy(tokenizer.encode_to_indices(x)), recomputed_indices(tokenizer, x)
    )
    assert computations(tokenizer) == 3


def test_cache_refreshes_after_load_weights(tmp_path):
    source = tiny_tokenizer()
    rng = np.random.default_rng(2)
    kernel = source.quantizer.transferred_codebook.kernel_2
    kernel.assign(rng.normal(size=kernel.shape))
    path = str(tmp_path / "source.weights.h5")
    source.save_weights(path)
    tokenizer = tiny_tokenizer()
    x = images()
    before = numpy(tokenizer.encode_to_indices(x))
    tokenizer.load_weights(path)
    after = numpy(tokenizer.encode_to_indices(x))
    np.testing.assert_array_equal(after, recomputed_indices(source, x))
    assert not np.array_equal(before, after)


def test_vector_quantizer_has_no_cache_and_still_compiles():
    tokenizer = tiny_tokenizer("vector")
    x = images()
    assert tokenizer.inference_codebooks() is None
    np.testing.assert_array_equal(
        numpy(tokenizer.encode_to_indices(x)), recomputed_indices(tokenizer, x)
    )


def test_run_eagerly_and_traced_calls_give_the_same_indices():
    tokenizer = tiny_tokenizer()
    x = images()
    compiled = numpy(tokenizer.encode_to_indices(x))
    tokenizer.run_eagerly = True
    np.testing.assert_array_equal(
        numpy(tokenizer.encode_to_indices(x)), compiled
    )
    tokenizer.run_eagerly = False
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        traced = tf.function(tokenizer.encode_to_indices)
    else:
        import jax

        traced = jax.jit(tokenizer.encode_to_indices)
    np.testing.assert_array_equal(numpy(traced(x)), compiled)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="Keras' JAX predict cannot concatenate the scalar loss outputs",
)
def test_predict_uses_the_cache_and_sees_new_weights():
    tokenizer = tiny_tokenizer()
    x = images()
    first = tokenizer.predict(x, verbose=0)["indices"]
    tokenizer.predict(x, verbose=0)
    assert computations(tokenizer) == 1
    np.testing.assert_array_equal(first, recomputed_indices(tokenizer, x))
    codebook = tokenizer.quantizer.transferred_codebook
    rng = np.random.default_rng(3)
    codebook.kernel_1.assign(rng.normal(size=codebook.kernel_1.shape))
    again = tokenizer.predict(x, verbose=0)["indices"]
    np.testing.assert_array_equal(again, recomputed_indices(tokenizer, x))
    assert computations(tokenizer) == 2


@pytest.mark.large
def test_cache_refreshes_after_fit():
    from tests.trainers.tiny_trainer import BATCH
    from tests.trainers.tiny_trainer import build_trainer
    from tests.trainers.tiny_trainer import make_images

    trainer = build_trainer(disc_start=0)
    tokenizer = trainer.tokenizer
    x = make_images(BATCH, seed=4)
    before = numpy(tokenizer.encode_to_indices(x))
    trainer.fit(x, batch_size=BATCH, epochs=1, verbose=0)
    after = numpy(tokenizer.encode_to_indices(x))
    assert computations(tokenizer) == 2
    np.testing.assert_array_equal(after, recomputed_indices(tokenizer, x))
    del before


@pytest.mark.large
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="with JAX the archive tracks every variable (jax2tf)",
)
def test_export_stores_the_computed_codebook_as_a_constant(tmp_path):
    import tensorflow as tf

    from vqct_keras.export import export_for_serving

    tokenizer = tiny_tokenizer()
    x = images()
    saved = export_for_serving(tokenizer, str(tmp_path / "serving"))
    loaded = tf.saved_model.load(saved)
    prior_shape = tuple(
        tokenizer.quantizer.transferred_codebook.prior_vectors.shape
    )
    shapes = [tuple(variable.shape) for variable in loaded.variables]
    assert prior_shape not in shapes
    indices = loaded.signatures["encode_to_indices"](images=tf.constant(x))
    np.testing.assert_array_equal(
        indices["indices"].numpy(), recomputed_indices(tokenizer, x)
    )
