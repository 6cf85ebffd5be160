"""The words of a VQCT codebook: one adjective or noun per code.

A `CodeVocabulary` is what makes VQCT codes readable: adjective code `i` is
`adjectives[i]`, noun code `j` is `nouns[j]`, in the order of the codebook
prior the tokenizer was built from, together with the prior's provenance.
The `PartOfSpeechQuantizer` carries one and saves it as a Keras *asset*
(`vocabulary.json` inside the `.keras` archive), not in its config: the
default prior's 7k words are ~76 kB of JSON, which would make
`config.json` (and every `get_config()`, `export_info.json` and model
summary) 25 times larger for data that is not architecture.
"""

import dataclasses
import json
import os

import numpy as np

from vqct_keras.utils import files

__all__ = [
    "VOCABULARY_FILENAME",
    "CodeVocabulary",
    "WordsUnavailableError",
]

VOCABULARY_FILENAME = "vocabulary.json"
VOCABULARY_FORMAT = "vqct_keras.code_vocabulary"
VOCABULARY_VERSION = 1


class WordsUnavailableError(ValueError):
    """A tokenizer or export has no words for its codes."""


class PartsOfSpeech:
    """`num_adjectives` and `num_nouns` of a class with the word lists
    `adjectives` and `nouns` (the vocabulary and the prior)."""

    @property
    def num_adjectives(self):
        return len(self.adjectives)

    @property
    def num_nouns(self):
        return len(self.nouns)


@dataclasses.dataclass(frozen=True)
class CodeVocabulary(PartsOfSpeech):
    """Adjective and noun words of a codebook, with the prior's provenance.

    Args:
        adjectives: sequence of str. The word of each adjective code.
        nouns: sequence of str. The word of each noun code.
        provenance: dict of JSON-ready values: where the words come from
            (the prior's content digest, text backbone, tagger, ...).
            Defaults to `{}`.

    Example:

    >>> vocabulary = CodeVocabulary(["red", "big"], ["dog", "car", "sky"])
    >>> vocabulary.num_adjectives, vocabulary.nouns[2]
    (2, 'sky')
    >>> CodeVocabulary.from_json(vocabulary.to_json()) == vocabulary
    True
    >>> vocabulary.indices_to_words(np.array([[1, 0, 2], [0, 1, 0]])).tolist()
    ['big red sky', 'red big dog']
    """

    adjectives: tuple
    nouns: tuple
    provenance: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(
            self, "adjectives", tuple(str(w) for w in self.adjectives)
        )
        object.__setattr__(self, "nouns", tuple(str(w) for w in self.nouns))
        object.__setattr__(self, "provenance", dict(self.provenance or {}))
        if not self.adjectives or not self.nouns:
            raise ValueError(
                "A code vocabulary needs at least one adjective and one noun; "
                f"got {len(self.adjectives)} and {len(self.nouns)}."
            )

    @classmethod
    def from_prior(cls, prior):
        """The words of a `CodebookPrior`, with its digest and metadata."""
        provenance = {
            "source": "vqct_keras.prior.CodebookPrior",
            "content_sha256": prior.content_sha256(),
            "num_adjectives": prior.num_adjectives,
            "num_nouns": prior.num_nouns,
            "prior_dim": prior.prior_dim,
            "num_edges": int(len(prior.edges)),
            "metadata": files.json_ready(prior.metadata),
        }
        return cls(prior.adjectives, prior.nouns, provenance)

    def check_sizes(self, num_adjectives, num_nouns):
        """Raise `ValueError` unless the word counts match the codebooks."""
        if (self.num_adjectives, self.num_nouns) != (num_adjectives, num_nouns):
            raise ValueError(
                "The vocabulary does not fit the codebooks: it has "
                f"{self.num_adjectives} adjectives and {self.num_nouns} "
                f"nouns; the quantizer has {num_adjectives} adjective and "
                f"{num_nouns} noun codes. Use the prior the tokenizer was "
                "built from."
            )

    def index_words(self, indices):
        """The word of every index: a str array `(..., depth)`.

        `indices` follow the VQCT index layout `[adj_1, ..., adj_k, noun]`
        on the last axis (`depth = k + 1`, any `k >= 1`).
        """
        indices = np.asarray(indices)
        if indices.ndim < 1 or indices.shape[-1] < 2:
            raise ValueError(
                "Expected indices (..., k + 1) laid out as [adjective_1, "
                f"..., adjective_k, noun]; got shape {indices.shape}."
            )
        if not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(
                f"Expected integer indices; got dtype {indices.dtype}."
            )
        adjective_indices = indices[..., :-1]
        noun_indices = indices[..., -1:]
        for name, values, bound in (
            ("adjective", adjective_indices, self.num_adjectives),
            ("noun", noun_indices, self.num_nouns),
        ):
            if values.size and (values.min() < 0 or values.max() >= bound):
                raise ValueError(
                    f"{name.capitalize()} indices must lie in [0, {bound}); "
                    f"got [{values.min()}, {values.max()}]."
                )
        adjectives = np.asarray(self.adjectives, dtype=object)
        nouns = np.asarray(self.nouns, dtype=object)
        return np.concatenate(
            [adjectives[adjective_indices], nouns[noun_indices]], axis=-1
        ).astype(str)

    def indices_to_words(self, indices):
        """Per position `"adj_1 ... adj_k noun"`: a str array `(...)`."""
        words = self.index_words(indices)
        flat = words.reshape(-1, words.shape[-1])
        joined = [" ".join(row) for row in flat]
        return np.array(joined, dtype=str).reshape(words.shape[:-1])

    def to_json(self):
        """The vocabulary as a JSON string (see `VOCABULARY_FORMAT`)."""
        return json.dumps(
            {
                "format": VOCABULARY_FORMAT,
                "version": VOCABULARY_VERSION,
                "adjectives": list(self.adjectives),
                "nouns": list(self.nouns),
                "provenance": self.provenance,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text, source="the vocabulary"):
        """Parse `to_json` output, with an error naming `source`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{source} is not valid JSON: {error}") from error
        if not isinstance(data, dict) or data.get("format") != (
            VOCABULARY_FORMAT
        ):
            raise ValueError(f"{source} is not a {VOCABULARY_FORMAT} file.")
        if data.get("version") != VOCABULARY_VERSION:
            raise ValueError(
                f"{source} is vocabulary version {data.get('version')}; this "
                f"vqct_keras reads version {VOCABULARY_VERSION}."
            )
        return cls(data["adjectives"], data["nouns"], data.get("provenance"))

    def save(self, directory):
        """Write `vocabulary.json` into `directory`; returns its path."""
        path = os.path.join(os.fspath(directory), VOCABULARY_FILENAME)
        return files.write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, directory_or_file):
        """Read a vocabulary saved by `save` (a folder or the file)."""
        path = os.fspath(directory_or_file)
        if os.path.isdir(path):
            path = os.path.join(path, VOCABULARY_FILENAME)
        if not os.path.isfile(path):
            raise WordsUnavailableError(
                f"No code vocabulary at {path}: this export or folder was "
                "written without words (a VQGAN baseline, or vqct_keras "
                "before words were saved)."
            )
        with open(path, encoding="utf-8") as file:
            return cls.from_json(file.read(), source=path)
