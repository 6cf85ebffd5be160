import keras
import numpy as np

from tests.test_case import run_model_saving_test
from tests.test_case import run_serialization_test
from vqct_keras.models.patch_discriminator import PatchDiscriminator


def test_paper_shape_and_parameter_count():
    discriminator = PatchDiscriminator()
    discriminator.build((None, 256, 256, 3))
    assert discriminator.compute_output_shape((1, 256, 256, 3)) == (
        1,
        30,
        30,
        1,
    )
    # pix2pix prints "[Network D] Total number of parameters : 2.765 M" for
    # NLayerDiscriminator(3, 64, n_layers=3): convs 4x4, the middle three
    # without bias but with BatchNorm (gamma, beta).
    expected = (
        (3 * 64 * 16 + 64)
        + (64 * 128 * 16 + 2 * 128)
        + (128 * 256 * 16 + 2 * 256)
        + (256 * 512 * 16 + 2 * 512)
        + (512 * 1 * 16 + 1)
    )
    assert expected == 2_765_633
    trainable = sum(
        int(np.prod(w.shape)) for w in discriminator.trainable_weights
    )
    assert trainable == expected
    # Keras also counts the BatchNorm moving mean and variance.
    assert discriminator.count_params() == expected + 2 * (128 + 256 + 512)


def test_batchnorm_is_synchronized_and_initialised():
    discriminator = PatchDiscriminator(ndf=8, n_layers=2)
    discriminator(np.zeros((2, 32, 32, 3), "float32"))
    norms = [n for n in discriminator.norm_layers if n is not None]
    assert len(norms) == 2
    if keras.backend.backend() == "tensorflow":
        assert all(n.synchronized for n in norms)
    gamma = keras.ops.convert_to_numpy(norms[0].gamma)
    assert abs(gamma.mean() - 1.0) < 0.05 and gamma.std() > 0


def test_saving_and_config():
    discriminator = PatchDiscriminator(ndf=8, n_layers=2)
    x = np.random.rand(2, 32, 32, 3).astype("float32")
    discriminator(x, training=True)  # moves the BatchNorm statistics
    run_model_saving_test(discriminator, x)
    run_serialization_test(discriminator)
