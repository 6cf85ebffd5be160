import numpy as np

from tests.test_case import run_layer_test
from vqct_keras.layers.resnet_block import ResNetBlock


def test_shapes_weights_and_config():
    x = np.random.rand(2, 8, 8, 32).astype("float32")
    # Projection shortcut: 2 GN x2 + 2 convs x2 + 1x1 conv x2 = 10 weights.
    run_layer_test(
        ResNetBlock,
        {"filters": 64, "num_groups": 32},
        x,
        (2, 8, 8, 64),
        expected_num_trainable_weights=10,
    )
    # Identity shortcut when channels do not change.
    run_layer_test(
        ResNetBlock,
        {"filters": 32, "num_groups": 8, "dropout": 0.1},
        x,
        (2, 8, 8, 32),
        expected_num_trainable_weights=8,
    )


def test_residual_identity_when_second_conv_is_zero():
    block = ResNetBlock(filters=16, num_groups=4)
    x = np.random.rand(1, 4, 4, 16).astype("float32")
    block(x)
    block.conv_2.kernel.assign(np.zeros(block.conv_2.kernel.shape))
    block.conv_2.bias.assign(np.zeros(block.conv_2.bias.shape))
    np.testing.assert_allclose(np.asarray(block(x)), x, atol=1e-6)
