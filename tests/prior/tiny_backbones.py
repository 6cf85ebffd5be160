"""Tiny random KerasHub text backbones with in-memory vocabularies.

Nothing is downloaded: the models are built from configs and the tokenizers
from word lists, so the prior builder can be tested in milliseconds.
"""

import os

import keras_hub

from vqct_keras.prior.text_backbone import TextBackbone

ADJECTIVES = (
    "red blue green small large fluffy wooden striped old shiny tall round"
).split()
NOUNS = (
    "dog cat car tree table bird chair boat house flower grass street man woman"
).split()
PLURALS = "dogs cars birds".split()
OTHERS = (
    "the a an of on in with and is are two run eat sitting quickly photo "
    "object near very"
).split()
WORDS = ADJECTIVES + NOUNS + PLURALS + OTHERS
BERT_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def bert_vocabulary(words=WORDS):
    """WordPiece vocabulary: specials, whole words, letters and pieces."""
    letters = list("abcdefghijklmnopqrstuvwxyz")
    pieces = ["##" + letter for letter in letters]
    tokens = BERT_SPECIAL + list(words) + [".", ","] + letters + pieces
    return list(dict.fromkeys(tokens))


def tiny_bert(words=WORDS, hidden_dim=8, seed=0):
    """A `TextBackbone` with a 1-layer BERT and an in-memory vocabulary."""
    vocabulary = bert_vocabulary(words)
    import keras

    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocabulary),
        num_layers=1,
        num_heads=2,
        hidden_dim=hidden_dim,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=32,
    )
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary)
    return TextBackbone(backbone, tokenizer, handle="tiny-bert")


def clip_vocabulary_and_merges(words=WORDS):
    """BPE vocabulary (CLIP's `</w>` word ends) that spells each word."""
    vocabulary = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for letter in "abcdefghijklmnopqrstuvwxyz.,":
        vocabulary.setdefault(letter, len(vocabulary))
        vocabulary.setdefault(letter + "</w>", len(vocabulary))
    merges = []
    for word in words:
        current = word[0]
        for position, letter in enumerate(word[1:], start=1):
            last = position == len(word) - 1
            following = letter + ("</w>" if last else "")
            merge = f"{current} {following}"
            if merge not in merges:
                merges.append(merge)
            current += following
            vocabulary.setdefault(current, len(vocabulary))
    return vocabulary, merges


def clip_text_encoder(vocabulary_size, hidden_dim, num_layers):
    """A 2-head CLIP text encoder of `num_layers` layers, 32 tokens long."""
    return keras_hub.models.CLIPTextEncoder(
        vocabulary_size=vocabulary_size,
        embedding_dim=hidden_dim,
        hidden_dim=hidden_dim,
        num_layers=num_layers,
        num_heads=2,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=32,
    )


def tiny_clip(words=WORDS, hidden_dim=8, seed=0):
    """A `TextBackbone` with a 1-layer CLIP text encoder and BPE tokenizer."""
    vocabulary, merges = clip_vocabulary_and_merges(words)
    import keras

    keras.utils.set_random_seed(seed)
    backbone = clip_text_encoder(len(vocabulary), hidden_dim, num_layers=1)
    tokenizer = keras_hub.models.CLIPTokenizer(
        vocabulary=vocabulary, merges=merges
    )
    return TextBackbone(backbone, tokenizer, handle="tiny-clip")


def tiny_clip_backbone(
    words=WORDS, hidden_dim=8, projection_dim=6, num_layers=2, seed=0
):
    """A `TextBackbone` on a whole (vision + text) `CLIPBackbone`.

    Every weight is drawn at random (biases, layer norms and the text
    projection included, not left at their zero/one initial values), so
    that a reference computation has to use each of them to agree.
    """
    import keras
    import numpy as np

    vocabulary, merges = clip_vocabulary_and_merges(words)
    keras.utils.set_random_seed(seed)
    text_encoder = clip_text_encoder(len(vocabulary), hidden_dim, num_layers)
    vision_encoder = keras_hub.models.CLIPVisionEncoder(
        patch_size=4,
        hidden_dim=hidden_dim,
        num_layers=1,
        num_heads=2,
        intermediate_dim=2 * hidden_dim,
        image_shape=(8, 8, 3),
    )
    backbone = keras_hub.models.CLIPBackbone(
        vision_encoder, text_encoder, projection_dim=projection_dim
    )
    rng = np.random.default_rng(seed)
    for weight in backbone.weights:
        if "float" in str(weight.dtype):
            weight.assign(rng.normal(0.0, 0.5, weight.shape))
    tokenizer = keras_hub.models.CLIPTokenizer(
        vocabulary=vocabulary, merges=merges
    )
    return TextBackbone(backbone, tokenizer, handle="tiny-clip-backbone")


def save_preset(text_backbone, directory):
    """Save a tiny backbone and tokenizer as a local KerasHub preset."""
    os.makedirs(directory, exist_ok=True)
    text_backbone.backbone.save_to_preset(directory)
    text_backbone.tokenizer.save_to_preset(directory)
    return directory


CAPTIONS_FILE = os.path.join(os.path.dirname(__file__), "captions.txt")
