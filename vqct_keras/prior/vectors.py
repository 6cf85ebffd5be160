"""Word vectors from a text backbone: token-embedding rows or prompt codes.

Two modes:

* `"token"`: the rows of the backbone's token embedding table; a word
  that the tokenizer splits into several pieces gets the mean of their
  rows.
* `"prompt"` (the official code's choice, with CLIP): each adjective is
  encoded as `"a photo of {word} object"` and each noun as
  `"a photo of {word}"` by the whole backbone, and the token features are
  pooled into one vector. The default pooling, `"auto"`, is CLIP's
  `encode_text` for a `CLIPBackbone` (end-of-text feature times the text
  projection: the official vectors) and the mean of the token features
  otherwise (as sentence-transformers pool MiniLM).
"""

import numpy as np

VECTOR_MODES = ("token", "prompt")
# Prompt poolings (`TextBackbone.encode`); "auto" is "clip" for a
# CLIPBackbone and "mean" otherwise.
POOLINGS = ("auto", "mean", "first", "last", "clip")
ADJECTIVE_PROMPT = "a photo of {word} object"
NOUN_PROMPT = "a photo of {word}"


def token_vectors(text_backbone, words):
    """Mean token-embedding row of each word's in-sentence pieces.

    Args:
        text_backbone: a `TextBackbone`.
        words: list of str.

    Returns:
        float32 array `(len(words), dim)`; a one-piece word's vector is
        exactly its row of `text_backbone.embedding_table()`.
    """
    words = list(words)
    table = text_backbone.embedding_table()
    pieces = text_backbone.word_pieces(words)
    vectors = np.zeros((len(words), table.shape[1]), dtype="float32")
    for row, (word, ids) in enumerate(zip(words, pieces)):
        if not ids:
            raise ValueError(f"The tokenizer gives no tokens for {word!r}.")
        if len(ids) == 1:
            vectors[row] = table[ids[0]]
        else:
            vectors[row] = table[ids].mean(axis=0)
    return vectors


def prompt_vectors(
    text_backbone, words, template, pooling="auto", progress=False
):
    """Pooled backbone features of `template.format(word=word)` per word."""
    words = list(words)
    if not words:
        raise ValueError("No words to encode.")
    prompts = [template.format(word=word) for word in words]
    return text_backbone.encode(prompts, pooling=pooling, progress=progress)


def word_vectors(
    text_backbone,
    adjectives,
    nouns,
    mode="token",
    pooling="auto",
    adjective_prompt=ADJECTIVE_PROMPT,
    noun_prompt=NOUN_PROMPT,
    progress=False,
):
    """Vectors of the adjectives then the nouns, in node order.

    Args:
        text_backbone: a `TextBackbone`.
        adjectives: list of str.
        nouns: list of str.
        mode: str. `"token"` or `"prompt"`. Defaults to `"token"`.
        pooling: str. Pooling of the prompt features (`"auto"`, `"mean"`,
            `"first"`, `"last"`, `"clip"`, see `TextBackbone.encode`);
            prompt mode only. Defaults to `"auto"`.
        adjective_prompt: str. Prompt template of adjectives.
        noun_prompt: str. Prompt template of nouns.
        progress: bool. Show a progress bar while encoding prompts.

    Returns:
        float32 array `(len(adjectives) + len(nouns), dim)`.
    """
    if mode not in VECTOR_MODES:
        raise ValueError(
            f"vector mode must be one of {VECTOR_MODES}; got {mode!r}."
        )
    if mode == "token":
        return token_vectors(text_backbone, list(adjectives) + list(nouns))
    return np.concatenate(
        [
            prompt_vectors(
                text_backbone, adjectives, adjective_prompt, pooling, progress
            ),
            prompt_vectors(
                text_backbone, nouns, noun_prompt, pooling, progress
            ),
        ],
        axis=0,
    )
