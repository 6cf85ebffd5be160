"""Base tfds builder for datasets that are folders of image files."""

import os

import tensorflow_datasets as tfds
from absl import logging

from vqct_keras.data import image_files

# At most this many skipped files are listed per split in the metadata (all
# are counted).
MAX_LISTED_SKIPPED_FILES = 1000


class ImageFilesBuilder(
    tfds.core.GeneratorBasedBuilder, skip_registration=True
):
    """A tfds builder whose examples are image files, listed per split.

    Subclasses implement `_list_files(dl_manager)`. Each file is decoded
    once while the dataset is prepared (see `image_files.read_image_bytes`);
    unreadable ones are logged, counted and left out, and the dataset's
    metadata keeps them: `info.metadata["skipped_files"][split]` lists
    `[filename, reason]` pairs (the first 1000) and
    `info.metadata["num_skipped"][split]` counts them all.

    Subclasses with sources that may change after preparation (a user's
    folder, installed packages) override `source_fingerprint()`; the loader
    prepares the dataset again when it no longer matches the one recorded.

    Features: `image` (encoded RGB or gray JPEG/PNG, decoded as RGB) and
    `image/filename` (the path relative to the split's root).
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    DESCRIPTION = "Images read from files."
    HOMEPAGE = None

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.DESCRIPTION,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(None, None, 3)),
                    "image/filename": tfds.features.Text(),
                }
            ),
            homepage=self.HOMEPAGE,
            metadata=tfds.core.MetadataDict(),
        )

    def source_fingerprint(self):
        """A string that changes when the source files change, or None."""
        return None

    def find_manual_dir(self, manual_dir):
        """The folder to prepare from: `manual_dir` unless the builder's
        data lies elsewhere (installed packages).

        Raises:
            DatasetNotAvailableError: when the builder's data cannot be
                found anywhere (say how to get it).
        """
        return manual_dir

    def missing_manual_files(self, manual_dir):
        """What is missing from `manual_dir`; empty when all is there.

        Builders that read `manual_dir` override this so that the loader
        can say exactly what to put where before tfds starts.
        """
        del manual_dir
        return []

    def _list_files(self, dl_manager):
        """`{split: (root, [relative paths])}` of the files to read."""
        raise NotImplementedError

    def _split_generators(self, dl_manager):
        split_files = self._list_files(dl_manager)
        metadata = self.info.metadata
        metadata["fingerprint"] = self.source_fingerprint()
        metadata["skipped_files"] = {split: [] for split in split_files}
        metadata["num_skipped"] = {split: 0 for split in split_files}
        return {
            split: self._generate_examples(split, root, relative_paths)
            for split, (root, relative_paths) in split_files.items()
        }

    def _generate_examples(self, split, root, relative_paths):
        for relative_path in relative_paths:
            path = os.path.join(root, relative_path)
            try:
                data = image_files.read_image_bytes(path)
            except image_files.UnreadableImageError as error:
                self._record_skipped(split, relative_path, str(error))
                continue
            yield (
                relative_path,
                {"image": data, "image/filename": relative_path},
            )

    def _record_skipped(self, split, filename, reason):
        metadata = self.info.metadata
        metadata["num_skipped"][split] += 1
        if len(metadata["skipped_files"][split]) < MAX_LISTED_SKIPPED_FILES:
            metadata["skipped_files"][split].append([filename, reason])
        logging.warning(
            "%s/%s: skipping unreadable image %s (%s); %d skipped so far.",
            self.name,
            split,
            filename,
            reason,
            metadata["num_skipped"][split],
        )
