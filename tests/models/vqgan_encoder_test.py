import numpy as np

from tests.builders import TINY_ARCHITECTURE
from tests.builders import attention_parameters as attention
from tests.builders import conv_parameters as conv
from tests.builders import resnet_parameters as resnet
from tests.test_case import run_serialization_test
from vqct_keras.models.vqgan_encoder import VQGANEncoder


def taming_encoder_parameters(ch, ch_mult, num_res_blocks, attn_levels, z):
    """Parameter count of taming's Encoder, from its structure."""
    total, channels = conv(3, ch, 3), ch
    for level, mult in enumerate(ch_mult):
        for _ in range(num_res_blocks):
            total += resnet(channels, ch * mult)
            channels = ch * mult
            if level in attn_levels:
                total += attention(channels)
        if level != len(ch_mult) - 1:
            total += conv(channels, channels, 3)
    total += 2 * resnet(channels, channels) + attention(channels)
    return total + 2 * channels + conv(channels, z, 3)


def test_paper_preset_parameter_count_matches_taming_f16():
    encoder = VQGANEncoder()  # ch 128, ch_mult (1,1,2,2,4), attn [16]
    encoder.build((None, 256, 256, 3))
    expected = taming_encoder_parameters(128, (1, 1, 2, 2, 4), 2, {4}, 256)
    assert expected == 29_298_176
    assert encoder.count_params() == expected


def test_tiny_shapes_and_config():
    encoder = VQGANEncoder(**TINY_ARCHITECTURE)
    x = np.random.rand(2, 16, 16, 3).astype("float32")
    assert tuple(encoder(x).shape) == (2, 8, 8, 16)
    assert encoder.compute_output_shape((2, 16, 16, 3)) == (2, 8, 8, 16)
    # Inputs larger than the nominal resolution work too.
    assert tuple(encoder(np.zeros((1, 32, 32, 3))).shape) == (1, 16, 16, 16)
    assert encoder.count_params() == taming_encoder_parameters(
        32, (1, 2), 1, {1}, 16
    )
    run_serialization_test(encoder)
