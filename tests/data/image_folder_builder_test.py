import os

import pytest

from tests.data.images import write_images
from vqct_keras.data import errors
from vqct_keras.data.image_folder_builder import ImageFolderBuilder
from vqct_keras.data.image_folder_builder import folder_config_name
from vqct_keras.data.image_folder_builder import folder_splits


def test_flat_folder_is_one_train_split(tmp_path):
    write_images(tmp_path / "a" / "b", 2)
    assert folder_splits(str(tmp_path)) == {"train": ""}


def test_split_folders_follow_tfds_image_folder_layout(tmp_path):
    for name in ["training", "val", "test", "other"]:
        (tmp_path / name).mkdir()
    assert folder_splits(str(tmp_path)) == {
        "train": "training",
        "validation": "val",
        "test": "test",
    }


def test_two_folders_for_one_split_are_refused(tmp_path):
    (tmp_path / "val").mkdir()
    (tmp_path / "validation").mkdir()
    with pytest.raises(ValueError, match="validation"):
        folder_splits(str(tmp_path))


def test_config_name_depends_on_real_path(tmp_path):
    os.symlink(tmp_path, tmp_path.parent / (tmp_path.name + "_link"))
    link = str(tmp_path.parent / (tmp_path.name + "_link"))
    assert folder_config_name(link) == folder_config_name(str(tmp_path))


def test_prepare_counts_and_records_unreadable_files(tmp_path):
    root = tmp_path / "images"
    write_images(root / "train" / "cats", 3)
    write_images(root / "test" / "cats", 2, start=10)
    (root / "train" / "cats" / "broken.jpg").write_bytes(b"\xff\xd8\xff junk")
    builder = ImageFolderBuilder(
        root_dir=str(root), data_dir=str(tmp_path / "tfds")
    )
    builder.download_and_prepare()
    assert builder.info.splits["train"].num_examples == 3
    assert builder.info.splits["test"].num_examples == 2
    metadata = builder.info.metadata
    assert metadata["num_skipped"] == {"train": 1, "test": 0}
    [[filename, reason]] = metadata["skipped_files"]["train"]
    assert filename == "cats/broken.jpg" and reason
    assert metadata["fingerprint"] == builder.source_fingerprint()


def test_empty_or_missing_folder_is_not_available(tmp_path):
    with pytest.raises(errors.DatasetNotAvailableError):
        ImageFolderBuilder(root_dir=str(tmp_path / "absent"))
    (tmp_path / "empty").mkdir()
    builder = ImageFolderBuilder(
        root_dir=str(tmp_path / "empty"), data_dir=str(tmp_path / "tfds")
    )
    with pytest.raises(errors.DatasetNotAvailableError, match="No image"):
        builder.split_files()
