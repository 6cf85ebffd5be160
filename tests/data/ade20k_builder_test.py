import os

import numpy as np
import pytest
from PIL import Image

from vqct_keras.data import errors
from vqct_keras.data.loading import dataset_info
from vqct_keras.data.loading import load_dataset


def make_ade20k(manual_dir):
    root = os.path.join(manual_dir, "ADE20K_2021_17_01", "images", "ADE")
    files = {
        "training/cultural/apse_indoor/ADE_train_00000001.jpg": (30, 40),
        "training/cultural/apse_indoor/ADE_train_00000001_seg.png": (30, 40),
        "training/urban/street/ADE_train_00000002.jpg": (50, 20),
        "training/urban/street/ADE_train_00000003.jpg": None,  # corrupt
        "validation/urban/street/ADE_val_00000001.jpg": (24, 24),
    }
    for relative_path, size in files.items():
        path = os.path.join(root, relative_path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if size is None:
            with open(path, "wb") as file:
                file.write(b"\xff\xd8\xff\xe0 truncated")
        else:
            array = np.full(size + (3,), 128, np.uint8)
            Image.fromarray(array).save(path)


def test_reads_only_jpgs_per_split_and_counts_unreadable(tmp_path):
    make_ade20k(str(tmp_path / "manual"))
    kwargs = dict(
        data_dir=str(tmp_path / "tfds"), manual_dir=str(tmp_path / "manual")
    )
    train, info = load_dataset("ade20k", image_size=8, with_info=True, **kwargs)
    assert info.num_examples == 2  # the _seg.png is not an image of ADE20K
    assert info.num_skipped == 1
    assert info.skipped_files[0].filename.endswith("ADE_train_00000003.jpg")
    assert [image.shape for image in train] == [(8, 8, 3)] * 2
    validation = dataset_info("ade20k", "validation", **kwargs)
    assert validation.num_examples == 1 and validation.num_skipped == 0


def test_missing_layout_names_the_folders(tmp_path):
    (tmp_path / "manual" / "ADE20K_2021_17_01").mkdir(parents=True)
    with pytest.raises(errors.DatasetNotAvailableError) as raised:
        load_dataset(
            "ade20k",
            data_dir=str(tmp_path / "tfds"),
            manual_dir=str(tmp_path / "manual"),
        )
    message = str(raised.value)
    assert "ADE20K_2021_17_01/images/ADE/validation/" in message
    assert "<scene>/<class>/*.jpg" in message
