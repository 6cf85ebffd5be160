import numpy as np

from tests.builders import attention_parameters as attention
from tests.builders import conv_parameters as conv
from tests.builders import resnet_parameters as resnet
from tests.test_case import run_serialization_test
from vqct_keras.models.vqgan_decoder import VQGANDecoder


def taming_decoder_parameters(ch, ch_mult, num_res_blocks, attn_levels, z):
    """Parameter count of taming's Decoder, from its structure."""
    channels = ch * ch_mult[-1]
    total = conv(z, channels, 3) + 2 * resnet(channels, channels)
    total += attention(channels)
    for level in reversed(range(len(ch_mult))):
        for _ in range(num_res_blocks + 1):
            total += resnet(channels, ch * ch_mult[level])
            channels = ch * ch_mult[level]
            if level in attn_levels:
                total += attention(channels)
        if level != 0:
            total += conv(channels, channels, 3)
    return total + 2 * channels + conv(channels, 3, 3)


def test_paper_preset_parameter_count_matches_taming_f16():
    decoder = VQGANDecoder()
    decoder.build((None, 16, 16, 256))
    expected = taming_decoder_parameters(128, (1, 1, 2, 2, 4), 2, {4}, 256)
    assert expected == 42_449_795
    assert decoder.count_params() == expected


def test_tiny_shapes_and_config():
    decoder = VQGANDecoder(
        ch=32,
        ch_mult=(1, 2),
        num_res_blocks=1,
        attn_resolutions=(8,),
        resolution=16,
    )
    z = np.random.rand(2, 8, 8, 16).astype("float32")
    assert tuple(decoder(z).shape) == (2, 16, 16, 3)
    assert decoder.last_layer_kernel.shape == (3, 3, 32, 3)
    assert decoder.count_params() == taming_decoder_parameters(
        32, (1, 2), 1, {1}, 16
    )
    run_serialization_test(decoder)
