"""Where vqct_keras keeps downloaded or converted assets (weights, priors)."""

import os


def asset_dir(*parts, create=False):
    """Path under the vqct_keras asset home.

    The home is `$VQCT_KERAS_HOME` when set, else `~/.cache/vqct_keras`.
    `scripts/setup.sh` fills it with the offline assets.

    Args:
        *parts: str. Sub-path components.
        create: bool. Create the directory if it does not exist.

    Example:

    >>> asset_dir("metrics").endswith(os.path.join("vqct_keras", "metrics"))
    True
    """
    home = os.environ.get("VQCT_KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache", "vqct_keras"
    )
    path = os.path.join(home, *parts)
    if create:
        os.makedirs(path, exist_ok=True)
    return path
