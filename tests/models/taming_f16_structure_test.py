"""The paper tokenizer, layer by layer, against taming's f16 VQGAN.

The expected structure is written out below from taming-transformers'
`Encoder` and `Decoder` (`taming/modules/diffusionmodules/model.py`) with
the official `ddconfig` (ch 128, ch_mult (1, 1, 2, 2, 4), 2 residual
blocks, attention at resolution 16, z_channels 256, 256x256 RGB), one row
per taming module in forward order: its stack (encoder or decoder), name,
kind, input and output channels and output size. Each of our layers must
match its row in type, output shape and parameter count, and its weights
must have the shapes of the taming module's (so a reordering with the
same count fails too).
"""

import keras
import numpy as np
import pytest

from vqct_keras.layers.attention_block import AttentionBlock2D
from vqct_keras.layers.part_of_speech_quantizer import PartOfSpeechQuantizer
from vqct_keras.layers.resampling import Downsample2D
from vqct_keras.layers.resampling import Upsample2D
from vqct_keras.layers.resnet_block import ResNetBlock
from vqct_keras.layers.torch_conv2d import TorchConv2D
from vqct_keras.models.vqct_tokenizer import VQCTTokenizer
from vqct_keras.prior.codebook_prior import CodebookPrior

# (stack, taming module, kind, in channels, out channels, output height =
# width)
TAMING_F16 = [
    ("encoder", "conv_in", "conv3", 3, 128, 256),
    ("encoder", "down.0.block.0", "resnet", 128, 128, 256),
    ("encoder", "down.0.block.1", "resnet", 128, 128, 256),
    ("encoder", "down.0.downsample", "downsample", 128, 128, 128),
    ("encoder", "down.1.block.0", "resnet", 128, 128, 128),
    ("encoder", "down.1.block.1", "resnet", 128, 128, 128),
    ("encoder", "down.1.downsample", "downsample", 128, 128, 64),
    ("encoder", "down.2.block.0", "resnet", 128, 256, 64),
    ("encoder", "down.2.block.1", "resnet", 256, 256, 64),
    ("encoder", "down.2.downsample", "downsample", 256, 256, 32),
    ("encoder", "down.3.block.0", "resnet", 256, 256, 32),
    ("encoder", "down.3.block.1", "resnet", 256, 256, 32),
    ("encoder", "down.3.downsample", "downsample", 256, 256, 16),
    ("encoder", "down.4.block.0", "resnet", 256, 512, 16),
    ("encoder", "down.4.attn.0", "attention", 512, 512, 16),
    ("encoder", "down.4.block.1", "resnet", 512, 512, 16),
    ("encoder", "down.4.attn.1", "attention", 512, 512, 16),
    ("encoder", "mid.block_1", "resnet", 512, 512, 16),
    ("encoder", "mid.attn_1", "attention", 512, 512, 16),
    ("encoder", "mid.block_2", "resnet", 512, 512, 16),
    ("encoder", "norm_out", "groupnorm", 512, 512, 16),
    ("encoder", "conv_out", "conv3", 512, 256, 16),
    ("decoder", "conv_in", "conv3", 256, 512, 16),
    ("decoder", "mid.block_1", "resnet", 512, 512, 16),
    ("decoder", "mid.attn_1", "attention", 512, 512, 16),
    ("decoder", "mid.block_2", "resnet", 512, 512, 16),
    ("decoder", "up.4.block.0", "resnet", 512, 512, 16),
    ("decoder", "up.4.attn.0", "attention", 512, 512, 16),
    ("decoder", "up.4.block.1", "resnet", 512, 512, 16),
    ("decoder", "up.4.attn.1", "attention", 512, 512, 16),
    ("decoder", "up.4.block.2", "resnet", 512, 512, 16),
    ("decoder", "up.4.attn.2", "attention", 512, 512, 16),
    ("decoder", "up.4.upsample", "upsample", 512, 512, 32),
    ("decoder", "up.3.block.0", "resnet", 512, 256, 32),
    ("decoder", "up.3.block.1", "resnet", 256, 256, 32),
    ("decoder", "up.3.block.2", "resnet", 256, 256, 32),
    ("decoder", "up.3.upsample", "upsample", 256, 256, 64),
    ("decoder", "up.2.block.0", "resnet", 256, 256, 64),
    ("decoder", "up.2.block.1", "resnet", 256, 256, 64),
    ("decoder", "up.2.block.2", "resnet", 256, 256, 64),
    ("decoder", "up.2.upsample", "upsample", 256, 256, 128),
    ("decoder", "up.1.block.0", "resnet", 256, 128, 128),
    ("decoder", "up.1.block.1", "resnet", 128, 128, 128),
    ("decoder", "up.1.block.2", "resnet", 128, 128, 128),
    ("decoder", "up.1.upsample", "upsample", 128, 128, 256),
    ("decoder", "up.0.block.0", "resnet", 128, 128, 256),
    ("decoder", "up.0.block.1", "resnet", 128, 128, 256),
    ("decoder", "up.0.block.2", "resnet", 128, 128, 256),
    ("decoder", "norm_out", "groupnorm", 128, 128, 256),
    ("decoder", "conv_out", "conv3", 128, 3, 256),
]

KIND_TO_CLASS = {
    "conv1": TorchConv2D,
    "conv3": TorchConv2D,
    "resnet": ResNetBlock,
    "attention": AttentionBlock2D,
    "downsample": Downsample2D,
    "upsample": Upsample2D,
    "groupnorm": keras.layers.GroupNormalization,
}


def taming_weight_shapes(kind, i, o):
    """Weight shapes of a taming module, channels-last (PyTorch's
    `(out, in, k, k)` conv weight is `(k, k, in, out)` here), in the order
    of the module's forward pass."""

    def conv(k, i, o):
        return [(k, k, i, o), (o,)]

    def norm(c):
        return [(c,), (c,)]

    if kind in ("conv1", "conv3"):
        return conv(int(kind[-1]), i, o)
    if kind == "groupnorm":
        return norm(o)
    if kind in ("downsample", "upsample"):
        return conv(3, i, o)
    if kind == "resnet":  # norm1, conv1, norm2, conv2, nin_shortcut
        shortcut = conv(1, i, o) if i != o else []
        return norm(i) + conv(3, i, o) + norm(o) + conv(3, o, o) + shortcut
    if kind == "attention":  # norm, q, k, v, proj_out
        return norm(i) + 4 * conv(1, i, i)
    raise ValueError(kind)


def check_sequence(layers, rows, input_shape):
    assert len(layers) == len(rows)
    x = keras.KerasTensor(input_shape)
    for layer, (name, kind, i, o, size) in zip(layers, rows):
        x = layer(x)
        assert type(layer) is KIND_TO_CLASS[kind], name
        assert tuple(x.shape) == (1, size, size, o), name
        shapes = taming_weight_shapes(kind, i, o)
        assert [tuple(w.shape) for w in layer.weights] == shapes, name
        assert layer.count_params() == sum(int(np.prod(s)) for s in shapes)
        if kind == "groupnorm" or kind in ("resnet", "attention"):
            norms = [
                sub
                for sub in layer._flatten_layers()
                if isinstance(sub, keras.layers.GroupNormalization)
            ]
            assert all(n.groups == 32 and n.epsilon == 1e-6 for n in norms)
        if kind == "downsample":
            assert layer.conv.strides == (2, 2)
            assert layer.conv.padding == "valid", name
    return x


@pytest.fixture(scope="module")
def tokenizer():
    rng = np.random.default_rng(0)
    prior = CodebookPrior(
        ["red", "big"], ["dog", "car", "sky"], rng.normal(size=(5, 8))
    )
    quantizer = PartOfSpeechQuantizer.from_prior(prior, embed_dim=256)
    tokenizer = VQCTTokenizer(quantizer)  # the paper's f16 defaults
    tokenizer.build()
    return tokenizer


def stack_layers(stack):
    return (
        [stack.conv_in] + list(stack.blocks) + [stack.norm_out, stack.conv_out]
    )


@pytest.mark.parametrize(
    "stack, input_shape",
    [("encoder", (1, 256, 256, 3)), ("decoder", (1, 16, 16, 256))],
)
def test_stack_is_taming_f16_layer_by_layer(tokenizer, stack, input_shape):
    rows = [row[1:] for row in TAMING_F16 if row[0] == stack]
    check_sequence(stack_layers(getattr(tokenizer, stack)), rows, input_shape)


def test_quant_convs_are_vqct_1x1_convs(tokenizer):
    # VQModel: quant_conv z_channels -> 2 * embed_dim (adjective and noun
    # halves), post_quant_conv 2 * embed_dim -> z_channels.
    for layer, i, o in (
        (tokenizer.quant_conv, 256, 512),
        (tokenizer.post_quant_conv, 512, 256),
    ):
        assert type(layer) is TorchConv2D
        shapes = [tuple(w.shape) for w in layer.weights]
        assert shapes == taming_weight_shapes("conv1", i, o)
