"""Adjective, noun and adjective-noun pair counts from image captions.

This follows the official `big_code_book_make_clip.py`: every caption is
tokenised and lower-cased, tagged in context with NLTK's perceptron tagger
(Penn Treebank tags); nouns (`NN`, `NNS`, `NNP`, `NNPS`) are lemmatised to
the singular with WordNet, adjectives (`JJ` only) are kept as they are, and
an adjective directly followed by a noun makes an adjective-noun pair.
Words and pairs are counted; the dicts keep the order of first appearance.

Captions come from text files (one caption per line; a `.json` file is
read as COCO caption annotations) or from a TensorFlow Datasets captions
dataset.
"""

import collections
import dataclasses
import json
import os

import tqdm

from vqct_keras.prior.tagging import tagger as tagger_lib


class CorpusError(ValueError):
    """A caption corpus cannot be read; the message says how to fix it."""


@dataclasses.dataclass
class CorpusCounts:
    """Counts of tagged words in a caption corpus.

    Args:
        adjective_counts: dict from adjective to count, in order of first
            appearance.
        noun_counts: dict from noun lemma to count, same order.
        pair_counts: dict from `(adjective, noun lemma)` to the number of
            times the adjective stands right before the noun.
        num_captions: int. Captions read.
    """

    adjective_counts: dict
    noun_counts: dict
    pair_counts: dict
    num_captions: int

    def kept_words(self, counts, min_count, max_words=None):
        """Words counted more than `min_count` times, in first-appearance
        order; with `max_words`, only the most frequent ones (ties broken
        by first appearance)."""
        kept = [word for word, count in counts.items() if count > min_count]
        if max_words is not None and len(kept) > max_words:
            rank = {word: i for i, word in enumerate(kept)}
            top = sorted(kept, key=lambda w: (-counts[w], rank[w]))
            chosen = set(top[:max_words])
            kept = [word for word in kept if word in chosen]
        return kept


def count_captions(captions, progress=False, total=None):
    """Tag captions in context and count adjectives, nouns and pairs.

    Args:
        captions: iterable of str.
        progress: bool. Show a progress bar.
        total: int. Number of captions, for the progress bar.

    Returns:
        A `CorpusCounts`.
    """
    from nltk.stem import WordNetLemmatizer

    tagger = tagger_lib.load_tagger()
    tagger_lib.load_wordnet()
    lemmatizer = WordNetLemmatizer()
    lemma_cache = {}
    adjectives = collections.Counter()
    nouns = collections.Counter()
    pairs = collections.Counter()
    num_captions = 0
    for caption in tqdm.tqdm(
        captions,
        desc="tagging captions",
        unit="caption",
        total=total,
        disable=not progress,
        mininterval=1.0,
    ):
        num_captions += 1
        for tokens in tagger_lib.tokenize(caption):
            tagged = tagger.tag(tokens)
            previous_adjective = None
            for word, tag in tagged:
                if tag in tagger_lib.NOUN_TAGS:
                    lemma = lemma_cache.get(word)
                    if lemma is None:
                        lemma = lemmatizer.lemmatize(word, "n")
                        lemma_cache[word] = lemma
                    nouns[lemma] += 1
                    if previous_adjective is not None:
                        pairs[(previous_adjective, lemma)] += 1
                    previous_adjective = None
                elif tag == tagger_lib.ADJECTIVE_TAG:
                    adjectives[word] += 1
                    previous_adjective = word
                else:
                    previous_adjective = None
    # Counter keeps insertion (first appearance) order.
    return CorpusCounts(
        adjective_counts=dict(adjectives),
        noun_counts=dict(nouns),
        pair_counts=dict(pairs),
        num_captions=num_captions,
    )


def _read_coco_json(path):
    with open(path, encoding="utf-8") as file:
        try:
            data = json.load(file)
        except json.JSONDecodeError as error:
            raise CorpusError(f"{path} is not valid JSON: {error}") from error
    annotations = data.get("annotations") if isinstance(data, dict) else None
    if not isinstance(annotations, list):
        raise CorpusError(
            f"{path} is JSON without an `annotations` list; caption JSON "
            "files must be COCO caption annotations."
        )
    for annotation in annotations:
        caption = annotation.get("caption")
        if caption:
            yield str(caption)


def read_caption_files(paths):
    """Yield the captions of text files (one per non-empty line) and COCO
    caption JSON files, in the order given."""
    for path in paths:
        if not os.path.isfile(path):
            raise CorpusError(f"Caption file {path!r} does not exist.")
    for path in paths:
        if path.endswith(".json"):
            yield from _read_coco_json(path)
            continue
        with open(path, encoding="utf-8") as file:
            for line in file:
                line = line.strip()
                if line:
                    yield line


def _texts_at(value, key_path):
    for key in key_path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def read_tfds_captions(
    name, split="train", text_key="captions/text", data_dir=None
):
    """Yield the captions of a TensorFlow Datasets dataset.

    Args:
        name: str. The dataset, e.g. `"coco_captions"`.
        split: str. Defaults to `"train"`.
        text_key: str. `/`-separated path of the caption feature; a
            sequence of captions per example is flattened. Defaults to
            `"captions/text"` (coco_captions).
        data_dir: str. TFDS data folder. Defaults to TFDS's default.

    The dataset is read from `data_dir`, and downloaded and prepared when
    TFDS can do so.
    """
    import numpy as np
    import tensorflow_datasets as tfds

    try:
        dataset = tfds.load(name, split=split, data_dir=data_dir)
    except Exception as error:  # TFDS raises many kinds here.
        raise CorpusError(
            f"Could not load the TFDS dataset {name!r} (split {split!r}): "
            f"{error}. Prepare it on a machine with network access "
            f"(`tfds build {name}`) and copy its data folder, or pass "
            "caption text files with --corpus."
        ) from error
    key_path = text_key.split("/")
    for example in tfds.as_numpy(dataset):
        texts = _texts_at(example, key_path)
        if texts is None:
            raise CorpusError(
                f"TFDS dataset {name!r} has no feature {text_key!r}; pass "
                "the path of its caption feature with --tfds_text_key."
            )
        for text in np.atleast_1d(texts).reshape(-1):
            if isinstance(text, bytes):
                text = text.decode("utf-8")
            if text:
                yield str(text)
