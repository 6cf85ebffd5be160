"""The codebook prior: word vectors, parts of speech, adjective-noun graph.

A `CodebookPrior` is what VQCT transfers into its codebook: the vectors of
the vision-related words (adjectives first, then nouns) that a pretrained
language model learned, and the weighted adjective-noun co-occurrence edges
between them. It is saved as one versioned `.npz` file.
"""

import dataclasses
import hashlib
import json
import os
import zipfile

import numpy as np

from vqct_keras.utils import files
from vqct_keras.vocabulary import PartsOfSpeech

FORMAT_NAME = "vqct_keras.codebook_prior"
FORMAT_VERSION = 1
_ARRAY_KEYS = (
    "adjectives",
    "nouns",
    "vectors",
    "edges",
    "edge_weights",
    "metadata",
)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class PriorFileError(ValueError):
    """A prior file is missing, corrupt, truncated or of another version."""


@dataclasses.dataclass
class CodebookPrior(PartsOfSpeech):
    """Word vectors and adjective-noun graph that seed a VQCT codebook.

    Node `i < num_adjectives` is adjective `adjectives[i]`; node
    `num_adjectives + j` is noun `nouns[j]`. `edges` are undirected pairs of
    node indices; a pair seen `n` times in the corpus has weight `n`.

    Args:
        adjectives: list of str. Adjective words, in node order.
        nouns: list of str. Noun words, in node order.
        vectors: float32 array `(num_adjectives + num_nouns, prior_dim)`.
        edges: int32 array `(num_edges, 2)` of node indices.
        edge_weights: float32 array `(num_edges,)`, positive.
        metadata: dict of JSON-serialisable provenance (backbone, tagger,
            thresholds, date, ...).

    Example:

    >>> import numpy as np
    >>> prior = CodebookPrior(
    ...     adjectives=["red", "small"],
    ...     nouns=["dog", "car", "tree"],
    ...     vectors=np.eye(5, 4, dtype="float32"),
    ...     edges=np.array([[0, 2], [1, 3]], dtype="int32"),
    ...     edge_weights=np.array([3.0, 1.0], dtype="float32"),
    ... )
    >>> prior.num_codes, prior.prior_dim
    (5, 4)
    """

    adjectives: list
    nouns: list
    vectors: np.ndarray
    edges: np.ndarray = None
    edge_weights: np.ndarray = None
    metadata: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self.adjectives = [str(word) for word in self.adjectives]
        self.nouns = [str(word) for word in self.nouns]
        self.vectors = np.asarray(self.vectors, dtype="float32")
        if self.edges is None:
            self.edges = np.zeros((0, 2), dtype="int32")
        self.edges = np.asarray(self.edges, dtype="int32").reshape(-1, 2)
        if self.edge_weights is None:
            self.edge_weights = np.ones((len(self.edges),), dtype="float32")
        self.edge_weights = np.asarray(self.edge_weights, dtype="float32")
        self.metadata = dict(self.metadata or {})
        self.validate()

    @property
    def num_codes(self):
        return self.num_adjectives + self.num_nouns

    @property
    def prior_dim(self):
        return int(self.vectors.shape[-1])

    def validate(self):
        """Raise `ValueError` if the parts do not fit together."""
        if self.num_adjectives == 0 or self.num_nouns == 0:
            raise ValueError(
                "A codebook prior needs at least one adjective and one noun; "
                f"got {self.num_adjectives} adjectives and {self.num_nouns} "
                "nouns. Lower the minimum count or give a larger vocabulary."
            )
        if self.vectors.ndim != 2 or len(self.vectors) != self.num_codes:
            raise ValueError(
                "Expected `vectors` of shape (num_adjectives + num_nouns, "
                f"prior_dim) = ({self.num_codes}, prior_dim); got "
                f"{self.vectors.shape}."
            )
        for name, words in (
            ("adjectives", self.adjectives),
            ("nouns", self.nouns),
        ):
            if len(set(words)) != len(words):
                raise ValueError(f"`{name}` lists a word more than once.")
        if not np.all(np.isfinite(self.vectors)):
            raise ValueError("`vectors` contains NaN or infinite values.")
        if len(self.edge_weights) != len(self.edges):
            raise ValueError(
                f"Got {len(self.edges)} edges but {len(self.edge_weights)} "
                "edge weights; they must have the same length."
            )
        if len(self.edges) and (
            self.edges.min() < 0 or self.edges.max() >= self.num_codes
        ):
            raise ValueError(
                f"Edge node indices must lie in [0, {self.num_codes}); got "
                f"range [{self.edges.min()}, {self.edges.max()}]."
            )
        if len(self.edge_weights) and self.edge_weights.min() <= 0:
            raise ValueError("Edge weights must be positive.")

    def content_sha256(self):
        """SHA-256 of the words, vectors and edges (not the metadata).

        Two priors with the same content have the same digest whatever
        their provenance or build date.
        """
        digest = hashlib.sha256()
        for words in (self.adjectives, self.nouns):
            digest.update(json.dumps(words).encode("utf-8"))
        for array in (self.vectors, self.edges, self.edge_weights):
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
        return digest.hexdigest()

    def save(self, path):
        """Write the prior to one `.npz` file (atomically, reproducibly).

        The archive members carry a fixed timestamp, so the same prior
        always gives the same bytes.
        """
        path = os.fspath(path)
        header = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
        arrays = {
            "header": np.array(json.dumps(header)),
            "adjectives": np.array(self.adjectives, dtype=str),
            "nouns": np.array(self.nouns, dtype=str),
            "vectors": self.vectors,
            "edges": self.edges,
            "edge_weights": self.edge_weights,
            "metadata": np.array(json.dumps(self.metadata, sort_keys=True)),
        }
        with files.atomic_open(path, "wb") as target:
            with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
                for key, value in arrays.items():
                    info = zipfile.ZipInfo(key + ".npy", date_time=_ZIP_DATE)
                    info.external_attr = 0o644 << 16
                    with archive.open(info, "w", force_zip64=True) as member:
                        np.lib.format.write_array(
                            member, np.asanyarray(value), allow_pickle=False
                        )
        return path

    @classmethod
    def load(cls, path):
        """Read a prior written by `save`, with clear errors when it is bad."""
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"No codebook prior at {path!r}. Build one with "
                "`python training/build_prior.py --output_dir=...`."
            )
        try:
            with open(path, "rb") as file:
                with np.load(file, allow_pickle=False) as data:
                    arrays = {key: data[key] for key in data.files}
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
            raise PriorFileError(
                f"{path!r} is not a readable codebook prior (corrupt or "
                f"truncated .npz: {error}). Rebuild it with "
                "`python training/build_prior.py`."
            ) from error
        if "header" not in arrays:
            raise PriorFileError(
                f"{path!r} has no header: it was not written by "
                "CodebookPrior.save."
            )
        try:
            header = json.loads(str(arrays["header"]))
        except (json.JSONDecodeError, ValueError) as error:
            raise PriorFileError(
                f"{path!r} has an unreadable header: {error}."
            ) from error
        if not isinstance(header, dict) or (
            header.get("format") != FORMAT_NAME
        ):
            found = header.get("format") if isinstance(header, dict) else None
            raise PriorFileError(
                f"{path!r} holds {found!r}, not a codebook prior."
            )
        if header.get("version") != FORMAT_VERSION:
            raise PriorFileError(
                f"{path!r} is prior format version {header.get('version')}; "
                f"this vqct_keras reads version {FORMAT_VERSION}. Rebuild it "
                "with this version's `training/build_prior.py`."
            )
        missing = [key for key in _ARRAY_KEYS if key not in arrays]
        if missing:
            raise PriorFileError(f"{path!r} lacks the arrays {missing}.")
        try:
            metadata = json.loads(str(arrays["metadata"]))
            return cls(
                adjectives=arrays["adjectives"].tolist(),
                nouns=arrays["nouns"].tolist(),
                vectors=arrays["vectors"],
                edges=arrays["edges"],
                edge_weights=arrays["edge_weights"],
                metadata=metadata,
            )
        except (ValueError, TypeError) as error:
            raise PriorFileError(
                f"{path!r} is not a consistent codebook prior: {error} "
                "Rebuild it with `python training/build_prior.py`."
            ) from error
