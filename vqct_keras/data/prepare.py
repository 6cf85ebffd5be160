"""Prepare datasets once and print their sizes.

    python -m vqct_keras.data.prepare --datasets=default,photo_crops

prints, per dataset and split, the number of images, the skipped
(unreadable) files and the preprocessing. `scripts/setup.d/40-images.sh`
runs it for `default` with `--stamp`, so that later set-ups skip it.
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


def prepare(names, data_dir=None, manual_dir=None, image_size=None):
    """Prepare every split of `names`; return one row per split.

    Returns:
        list of `DatasetInfo`.
    """
    from vqct_keras.data import catalog
    from vqct_keras.data import loading

    infos = []
    for name in names:
        entry = catalog.ENTRIES.get(name)
        splits = entry.splits if entry else ("train",)
        if entry is None and os.path.isdir(os.path.expanduser(name)):
            from vqct_keras.data.image_folder_builder import folder_splits

            splits = tuple(folder_splits(os.path.expanduser(name)))
        for split in splits:
            infos.append(
                loading.dataset_info(
                    name,
                    split,
                    image_size=image_size,
                    data_dir=data_dir,
                    manual_dir=manual_dir,
                )
            )
    return infos


def format_table(infos):
    """A Markdown table of `DatasetInfo` rows."""
    lines = [
        "| dataset | split | images | skipped | preprocessing |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for info in infos:
        lines.append(
            f"| {info.name} | {info.split} | {info.num_examples:,} | "
            f"{info.num_skipped} | {info.preprocessing.describe()} |"
        )
    return "\n".join(lines)


def main(argv):
    del argv
    from absl import logging

    from vqct_keras.data import photo_sources

    if not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)

    infos = prepare(
        _DATASETS.value, _DATA_DIR.value, _MANUAL_DIR.value, _IMAGE_SIZE.value
    )
    print(format_table(infos))
    if _STAMP.value:
        os.makedirs(
            os.path.dirname(os.path.abspath(_STAMP.value)), exist_ok=True
        )
        with open(_STAMP.value, "w") as file:
            file.write(photo_sources.sources_fingerprint() + "\n")


if __name__ == "__main__":
    define_flags()
    app.run(main)
