"""One input contract on every path: NumPy, backend tensors, compiled code.

Each test feeds a malformed input where the old code accepted it silently
(values outside [-1, 1], NaN pixels, out-of-range indices as tensors, empty
batches, NaN in the training stream).
"""

import keras
import numpy as np
import pytest
from keras import ops

from tests.trainers import tiny_trainer


@pytest.fixture(scope="module")
def model():
    return tiny_trainer.build_models()[0]


@pytest.fixture(scope="module")
def trainer():
    # One trainer for the module: a refused batch leaves it usable, and
    # its compiled steps are reused.
    return tiny_trainer.build_trainer(disc_start=1)


def compiled(fn):
    """`fn` compiled by the backend (`tf.function` or `jax.jit`)."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    import tensorflow as tf

    return tf.function(fn)


def images(count=2, seed=0):
    return tiny_trainer.make_images(count, seed)


def valid_indices(model, count=2):
    return ops.convert_to_numpy(model.encode_to_indices(images(count)))


def test_tensor_images_out_of_range_raise(model):
    scaled = ops.convert_to_tensor((images() + 1) * 127.5)
    for method in (model.encode_to_indices, model.encode, model):
        with pytest.raises(ValueError, match=r"images / 127.5 - 1.0"):
            method(scaled)


def test_tensor_images_with_nan_raise(model):
    array = images()
    array[1, 3, 4, 0] = np.nan
    with pytest.raises(ValueError, match=r"Images \[1\] .* NaN or infinite"):
        model.encode_to_indices(ops.convert_to_tensor(array))


@pytest.mark.parametrize("bad", [-1, "range"])
def test_tensor_indices_out_of_range_raise(model, bad):
    indices = valid_indices(model)
    bound = model.quantizer.index_ranges[-1]
    indices[0, 1, 1, -1] = -1 if bad == -1 else bound
    with pytest.raises(ValueError, match=rf"\[0, {bound}\)"):
        model.decode_from_indices(ops.convert_to_tensor(indices))


def test_compiled_decode_of_bad_indices_gives_nan_not_a_wrapped_code(model):
    indices = valid_indices(model)
    expected = ops.convert_to_numpy(model.decode_from_indices(indices))
    indices[0, 1, 1, 0] = -1
    decoded = ops.convert_to_numpy(
        compiled(model.decode_from_indices)(ops.convert_to_tensor(indices))
    )
    assert np.isnan(decoded[0]).all()
    np.testing.assert_allclose(decoded[1], expected[1], atol=1e-5)


def test_compiled_encode_of_nan_image_gives_invalid_indices(model):
    array = images()
    expected = ops.convert_to_numpy(model.encode_to_indices(array))
    array[0, 2, 2, 1] = np.nan
    indices = ops.convert_to_numpy(
        compiled(model.encode_to_indices)(ops.convert_to_tensor(array))
    )
    assert (indices[0] == -1).all()
    np.testing.assert_array_equal(indices[1], expected[1])


def test_empty_batches_give_a_clear_error(model):
    with pytest.raises(ValueError, match="empty batch"):
        model.encode_to_indices(np.zeros((0, 16, 16, 3), "float32"))
    depth = model.quantizer.index_depth
    with pytest.raises(ValueError, match="empty batch"):
        model.decode_from_indices(np.zeros((0, 8, 8, depth), "int32"))


def _finite(trainer):
    return all(
        np.isfinite(ops.convert_to_numpy(v)).all()
        for v in trainer.tokenizer.trainable_variables
    )


@pytest.mark.parametrize("fault", ["nan", "0_255"])
def test_fit_stops_at_a_bad_batch_with_finite_weights(trainer, fault):
    data = images(8, seed=1)
    if fault == "nan":
        data[5, 0, 0, 0] = np.nan
        message = r"batch 1 of this epoch held images with NaN or infinite"
    else:
        data[4:] = (data[4:] + 1) * 127.5
        message = r"batch 1 of this epoch held images outside \[-1, 1\]"
    with pytest.raises(ValueError, match=message):
        trainer.fit(data, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert _finite(trainer)


def test_fit_logs_the_bad_batch_fractions(trainer):
    from vqct_keras.trainers.bad_batch_stop import BadBatchStop

    data = images(4)
    history = trainer.fit(
        data, batch_size=4, epochs=1, verbose=0, callbacks=[BadBatchStop()]
    )
    assert history.history["nonfinite_batches"] == [0.0]
    assert history.history["out_of_range_batches"] == [0.0]


def test_predict_marks_bad_images_instead_of_reconstructing_them(trainer):
    data = images(4)
    data[2] = 200.0
    reconstruction = trainer.predict(data, batch_size=4, verbose=0)
    assert np.isnan(reconstruction[2]).all()
    assert np.isfinite(np.delete(reconstruction, 2, axis=0)).all()


def test_trainer_save_points_to_the_tokenizer(trainer, tmp_path):
    with pytest.raises(NotImplementedError, match=r"trainer.tokenizer.save"):
        trainer.save(str(tmp_path / "x.keras"))
