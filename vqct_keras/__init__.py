"""vqct_keras: VQCT image tokenizers (codebook transfer with part-of-speech)
in Keras 3."""

from vqct_keras.layers.attention_block import AttentionBlock2D
from vqct_keras.layers.part_of_speech_quantizer import PartOfSpeechQuantizer
from vqct_keras.layers.resampling import Downsample2D
from vqct_keras.layers.resampling import Upsample2D
from vqct_keras.layers.resnet_block import ResNetBlock
from vqct_keras.layers.transferred_codebook import TransferredCodebook
from vqct_keras.layers.vector_quantizer import VectorQuantizer
from vqct_keras.models.patch_discriminator import PatchDiscriminator
from vqct_keras.models.vqct_tokenizer import VQCTTokenizer
from vqct_keras.models.vqgan_decoder import VQGANDecoder
from vqct_keras.models.vqgan_encoder import VQGANEncoder
from vqct_keras.prior.codebook_prior import CodebookPrior
from vqct_keras.version import __version__

__all__ = [
    "AttentionBlock2D",
    "CodebookPrior",
    "Downsample2D",
    "PartOfSpeechQuantizer",
    "PatchDiscriminator",
    "ResNetBlock",
    "TransferredCodebook",
    "Upsample2D",
    "VQCTTokenizer",
    "VQGANDecoder",
    "VQGANEncoder",
    "VectorQuantizer",
    "__version__",
]
