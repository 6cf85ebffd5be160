"""A tfds builder for any local folder of images."""

import hashlib
import os

import tensorflow_datasets as tfds
from absl import logging

from vqct_keras.data import errors
from vqct_keras.data import image_files
from vqct_keras.data.image_files_builder import ImageFilesBuilder

# Folder names that mark splits, and the tfds split each one becomes.
SPLIT_FOLDER_NAMES = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "val": "validation",
    "valid": "validation",
    "test": "test",
    "testing": "test",
}


def folder_splits(root):
    """`{split: subfolder}` for a folder of images.

    A folder whose sub-folders include split names (`train`, `training`,
    `val`, `validation`, `test`, ... as in tfds `ImageFolder`'s
    `root/split/label/image.jpg` layout) has those splits, each read
    recursively; images outside them are ignored. Any other folder is one
    split, `train`, read recursively (slice it, e.g. `"train[:90%]"` and
    `"train[90%:]"`, for a held-out part).

    Args:
        root: str. The folder.

    Returns:
        dict of split name to sub-folder (`""` for the root itself).
    """
    splits = {}
    with os.scandir(root) as entries:
        subfolders = sorted(entry.name for entry in entries if entry.is_dir())
    for name in subfolders:
        split = SPLIT_FOLDER_NAMES.get(name.lower())
        if split is None:
            continue
        if split in splits:
            raise ValueError(
                f"{root}: both {splits[split]!r} and {name!r} look like the "
                f"{split!r} split; rename one of them."
            )
        splits[split] = name
    return splits or {"train": ""}


def folder_config_name(root):
    """The tfds config name of a folder: a hash of its real path."""
    real_path = os.path.realpath(os.path.expanduser(root))
    return "folder_" + hashlib.sha256(real_path.encode()).hexdigest()[:16]


class ImageFolderBuilder(ImageFilesBuilder, skip_registration=True):
    """Images in a local folder, as a tfds dataset (prepared once, cached).

    Accepts tfds `ImageFolder`'s layout (`root/train/<label>/x.jpg`,
    `root/test/...`) and any flat or nested folder of images (one `train`
    split); see `folder_splits`. Labels are not kept: a tokenizer needs
    images only. Unreadable files are counted and skipped (see
    `ImageFilesBuilder`). The prepared data lives under
    `<data_dir>/vqct_image_folder/folder_<hash of path>/`, and is prepared
    again when a file is added, removed or changed.

    Args:
        root_dir: str. The folder.
        **kwargs: passed to `tfds.core.GeneratorBasedBuilder` (`data_dir`).

    Example:

    ```python
    builder = ImageFolderBuilder(root_dir="/data/photos")
    builder.download_and_prepare()
    print(builder.info.splits["train"].num_examples)
    print(builder.info.metadata["num_skipped"])  # {"train": 0}
    ```
    """

    name = "vqct_image_folder"
    DESCRIPTION = "A local folder of images."

    def __init__(self, *, root_dir, **kwargs):
        self.root_dir = os.path.realpath(os.path.expanduser(root_dir))
        if not os.path.isdir(self.root_dir):
            raise errors.DatasetNotAvailableError(
                f"Not a folder of images: {root_dir}"
            )
        kwargs.setdefault(
            "config",
            tfds.core.BuilderConfig(
                name=folder_config_name(self.root_dir),
                description=self.root_dir,
            ),
        )
        self._split_files = None
        super().__init__(**kwargs)

    def split_files(self):
        """`{split: (root, [relative paths])}`, listed once per builder."""
        if self._split_files is None:
            split_files = {}
            for split, subfolder in folder_splits(self.root_dir).items():
                root = os.path.join(self.root_dir, subfolder)
                paths = image_files.list_image_files(root)
                if paths:
                    split_files[split] = (root, paths)
                else:
                    logging.warning(
                        "%s has no images: split %r left out.", root, split
                    )
            if not split_files:
                raise errors.DatasetNotAvailableError(
                    f"No image files ({', '.join(image_files.IMAGE_EXTENSIONS)}"
                    f") found under {self.root_dir}."
                )
            self._split_files = split_files
        return self._split_files

    def source_fingerprint(self):
        parts = []
        for split, (root, paths) in sorted(self.split_files().items()):
            parts.append(
                f"{split}={image_files.files_fingerprint(root, paths)}"
            )
        return ";".join(parts)

    def _list_files(self, dl_manager):
        del dl_manager
        return self.split_files()
