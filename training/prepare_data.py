"""Prepare datasets once and print their sizes.

    python training/prepare_data.py --datasets=default,photo_crops

prints, per dataset and split, the number of images, the skipped
(unreadable) files and the preprocessing (`vqct_keras.data.prepare`).
`scripts/setup.d/40-images.sh` runs it for `default` with `--stamp`, so
that later set-ups skip it.
"""

import os

from absl import app
from absl import flags

_DATASETS = None
_DATA_DIR = None
_MANUAL_DIR = None
_IMAGE_SIZE = None
_STAMP = None


def define_flags():
    """Define this tool's flags (call once, under `__main__`)."""
    global _DATASETS, _DATA_DIR, _MANUAL_DIR, _IMAGE_SIZE, _STAMP
    _DATASETS = flags.DEFINE_list(
        "datasets",
        ["default"],
        "Names from dataset_names() or folders of images.",
    )
    _DATA_DIR = flags.DEFINE_string(
        "data_dir", None, "tfds data folder (default: default_data_dir())."
    )
    _MANUAL_DIR = flags.DEFINE_string(
        "manual_dir",
        None,
        "Manual downloads (default: <data_dir>/downloads/manual).",
    )
    _IMAGE_SIZE = flags.DEFINE_integer(
        "image_size", None, "Output side (default: each dataset's own)."
    )
    _STAMP = flags.DEFINE_string(
        "stamp",
        None,
        "After success, write the installed photos' fingerprint here.",
    )


def main(argv):
    del argv
    from absl import logging

    from vqct_keras.data import photo_sources
    from vqct_keras.data import prepare

    if not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)

    infos = prepare.prepare(
        _DATASETS.value, _DATA_DIR.value, _MANUAL_DIR.value, _IMAGE_SIZE.value
    )
    print(prepare.format_table(infos))
    if _STAMP.value:
        os.makedirs(
            os.path.dirname(os.path.abspath(_STAMP.value)), exist_ok=True
        )
        with open(_STAMP.value, "w") as file:
            file.write(photo_sources.sources_fingerprint() + "\n")


if __name__ == "__main__":
    define_flags()
    app.run(main)
