"""Layers of the VQCT tokenizer: blocks, codebooks and quantizers."""

from vqct_keras.layers.attention_block import AttentionBlock2D
from vqct_keras.layers.initializers import FanInUniform
from vqct_keras.layers.part_of_speech_quantizer import PartOfSpeechQuantizer
from vqct_keras.layers.quantizer import Quantizer
from vqct_keras.layers.resampling import Downsample2D
from vqct_keras.layers.resampling import Upsample2D
from vqct_keras.layers.residual_vector_quantizer import ResidualVectorQuantizer
from vqct_keras.layers.resnet_block import ResNetBlock
from vqct_keras.layers.torch_conv2d import TorchConv2D
from vqct_keras.layers.transferred_codebook import TransferredCodebook
from vqct_keras.layers.vector_quantizer import VectorQuantizer

__all__ = [
    "AttentionBlock2D",
    "Downsample2D",
    "FanInUniform",
    "PartOfSpeechQuantizer",
    "Quantizer",
    "ResidualVectorQuantizer",
    "ResNetBlock",
    "TorchConv2D",
    "TransferredCodebook",
    "Upsample2D",
    "VectorQuantizer",
]
