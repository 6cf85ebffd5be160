"""Models: the VQCT tokenizer, its encoder and decoder, the discriminator,
and the architecture presets (`build_tokenizer`)."""

from vqct_keras.models.patch_discriminator import PatchDiscriminator
from vqct_keras.models.vqct_presets import build_tokenizer
from vqct_keras.models.vqct_presets import preset_names
from vqct_keras.models.vqct_tokenizer import VQCTTokenizer
from vqct_keras.models.vqgan_decoder import VQGANDecoder
from vqct_keras.models.vqgan_encoder import VQGANEncoder

__all__ = [
    "PatchDiscriminator",
    "VQCTTokenizer",
    "VQGANDecoder",
    "VQGANEncoder",
    "build_tokenizer",
    "preset_names",
]
