"""A dataset added the documented way (`docs/data.md`, "Adding a
dataset"): this builder file, and one `DatasetEntry` (in the test)."""

import os

from vqct_keras.data import image_files
from vqct_keras.data.image_files_builder import ImageFilesBuilder

SPLITS = ("train", "test")


class ToyBuilder(ImageFilesBuilder):
    """Images under `<manual_dir>/toy/<split>/`."""

    name = "vqct_test_toy"
    DESCRIPTION = "A toy folder dataset for the tests."
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Put images in <manual_dir>/toy/train/ and <manual_dir>/toy/test/.
    """

    def missing_manual_files(self, manual_dir):
        folders = [os.path.join(manual_dir, "toy", split) for split in SPLITS]
        return [
            folder + os.sep for folder in folders if not os.path.isdir(folder)
        ]

    def _list_files(self, dl_manager):
        root = os.path.join(os.fspath(dl_manager.manual_dir), "toy")
        return {
            split: (
                os.path.join(root, split),
                image_files.list_image_files(os.path.join(root, split)),
            )
            for split in SPLITS
        }
