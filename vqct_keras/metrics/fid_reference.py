"""Reference-set FID statistics computed once and reused from a file.

rFID needs Inception features of the originals and of the reconstructions.
When many tokenizers are scored on the same held-out images (an ablation
study, every epoch of a run), the originals' statistics are the same each
time: `FIDReferenceCache` stores them (count, mean, scatter matrix) with a
SHA-256 digest of the exact uint8 pixels that produced them, so a later
evaluation feeds only its reconstructions through Inception and still
proves that it saw the same originals.
"""

import hashlib
import json
import os

import numpy as np

from vqct_keras.utils import files

CACHE_VERSION = 1


class FIDReferenceCache:
    """Reference FID moments in an `.npz` file, checked by pixel digest.

    Args:
        path: str. The `.npz` file (created on first use).

    Example:

    >>> import os, tempfile
    >>> import numpy as np
    >>> cache = FIDReferenceCache(os.path.join(tempfile.mkdtemp(), "r.npz"))
    >>> cache.load() is None
    True
    >>> state = {"count": 2, "mean": np.zeros(3), "scatter": np.eye(3)}
    >>> cache.save(state, digest="ab", description={"fid_protocol": "x"})
    >>> cache.load()["count"]
    2
    """

    def __init__(self, path):
        self.path = os.fspath(path)

    def load(self):
        """The stored state (`count`, `mean`, `scatter`, `digest`,
        `description`), or `None` when the file does not exist."""
        if not os.path.exists(self.path):
            return None
        try:
            with np.load(self.path, allow_pickle=False) as data:
                version = int(data["version"])
                state = {
                    "count": int(data["count"]),
                    "mean": np.array(data["mean"], "float64"),
                    "scatter": np.array(data["scatter"], "float64"),
                    "digest": str(data["digest"]),
                    "description": json.loads(str(data["description"])),
                }
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(
                f"{self.path} is not a readable FID reference cache "
                f"({error}). Delete it; the next evaluation rebuilds it."
            ) from error
        if version != CACHE_VERSION:
            raise ValueError(
                f"{self.path} has cache version {version}, this library "
                f"writes {CACHE_VERSION}. Delete it; the next evaluation "
                "rebuilds it."
            )
        return state

    def save(self, state, digest, description):
        """Write `state` (`count`, `mean`, `scatter`) atomically."""
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        files.save_npz(
            self.path,
            {
                "version": np.asarray(CACHE_VERSION),
                "count": np.asarray(state["count"]),
                "mean": np.asarray(state["mean"], "float64"),
                "scatter": np.asarray(state["scatter"], "float64"),
                "digest": np.asarray(digest),
                "description": np.asarray(
                    json.dumps(description, sort_keys=True)
                ),
            },
        )

    def check(self, state, digest, count, description):
        """Raise if the stored statistics came from other pixels or another
        feature protocol (`description`, as given to `save`)."""
        if state["description"] != description:
            raise ValueError(
                f"The FID reference cache {self.path} was computed with "
                f"{state['description']}, this evaluation uses "
                f"{description}: its rFID would be wrong. Delete the file "
                "(the next evaluation rebuilds it) or give each protocol its "
                "own cache."
            )
        if state["count"] != count or state["digest"] != digest:
            raise ValueError(
                f"The FID reference cache {self.path} was computed from "
                f"{state['count']} other images (pixel digest "
                f"{state['digest'][:12]}...), not the {count} images of this "
                f"evaluation (digest {digest[:12]}...): its rFID would be "
                "wrong. Delete the file (the next evaluation rebuilds it) or "
                "give each dataset, split and image count its own cache."
            )


class PixelDigest:
    """A running SHA-256 of uint8 image batches (shape and bytes)."""

    def __init__(self):
        self._hash = hashlib.sha256()

    def update(self, images):
        images = np.ascontiguousarray(images, dtype="uint8")
        self._hash.update(repr(images.shape[1:]).encode())
        self._hash.update(images.tobytes())

    def hexdigest(self):
        return self._hash.hexdigest()
