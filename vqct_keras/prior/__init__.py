"""The codebook prior: vision-related words, their vectors and a graph.

`CodebookPrior` is the file format the model consumes. `load_default_prior()`
returns the default all-MiniLM-L6-v2 prior (built on first use);
`build_prior(PriorConfig(...))` builds any other. The builder's names are
loaded lazily, so that importing the file format does not import NLTK.
"""

from vqct_keras.prior.codebook_prior import CodebookPrior
from vqct_keras.prior.codebook_prior import PriorFileError

_LAZY = {
    "PriorConfig": "vqct_keras.prior.builder",
    "build_prior": "vqct_keras.prior.builder",
    "default_prior_path": "vqct_keras.prior.default_prior",
    "load_default_prior": "vqct_keras.prior.default_prior",
}

__all__ = ["CodebookPrior", "PriorFileError", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
