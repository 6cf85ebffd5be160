"""Errors raised by the data pipelines, and the record of a skipped file."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class SkippedFile:
    """An image that could not be read and was left out of a dataset.

    Args:
        source: str. Where it came from: a tfds dataset name with its split
            (`"vqct_image_folder/train"`) or a folder.
        filename: str. The file, relative to its dataset root, or the
            record id for data that tfds prepared.
        reason: str. Why it was left out (the decoder's message).
    """

    source: str
    filename: str
    reason: str


class DatasetNotAvailableError(FileNotFoundError):
    """A dataset is neither prepared nor downloadable from this machine.

    The message says which files to put where (the manual layout).
    """


class UnreadableImagesError(RuntimeError):
    """A dataset holds unreadable images and `on_error="fail"` was asked.

    Args:
        message: str. What happened.
        skipped_files: sequence of `SkippedFile`.
    """

    def __init__(self, message, skipped_files=()):
        super().__init__(message)
        self.skipped_files = tuple(skipped_files)
