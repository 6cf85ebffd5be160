import os
import pickle

import numpy as np
import pytest
from PIL import Image

from vqct_keras.data import errors
from vqct_keras.data.celeba_hq_builder import read_name_list
from vqct_keras.data.celeba_hq_builder import resolve_image
from vqct_keras.data.loading import dataset_info


def make_celeba_hq(manual_dir, use_text_lists=False):
    root = os.path.join(manual_dir, "celeba_hq")
    os.makedirs(os.path.join(root, "CelebA-HQ-img"))
    for index in range(5):
        array = np.full((20, 20, 3), index * 40, np.uint8)
        Image.fromarray(array).save(
            os.path.join(root, "CelebA-HQ-img", f"{index}.jpg")
        )
    lists = {"train": ["0", "1", "2", "9"], "test": ["3.jpg", "4"]}
    for split, names in lists.items():
        if use_text_lists:
            with open(os.path.join(root, split + ".txt"), "w") as file:
                file.write("\n".join(names) + "\n")
        else:
            os.makedirs(os.path.join(root, split))
            with open(os.path.join(root, split, "filenames.pickle"), "wb") as f:
                pickle.dump(names, f)


@pytest.mark.parametrize("use_text_lists", [False, True])
def test_splits_follow_the_lists_and_missing_files_are_counted(
    tmp_path, use_text_lists
):
    make_celeba_hq(str(tmp_path / "manual"), use_text_lists)
    kwargs = dict(
        data_dir=str(tmp_path / "tfds"), manual_dir=str(tmp_path / "manual")
    )
    train = dataset_info("celeba_hq", "train", image_size=8, **kwargs)
    assert train.num_examples == 3
    assert train.num_skipped == 1  # "9" is listed but absent
    assert train.skipped_files[0].filename == "9.jpg"
    assert dataset_info("celeba_hq", "test", **kwargs).num_examples == 2


def test_pickles_with_objects_are_refused(tmp_path):
    (tmp_path / "train").mkdir()
    with open(tmp_path / "train" / "filenames.pickle", "wb") as file:
        pickle.dump([np.int64(1)], file)
    with pytest.raises(pickle.UnpicklingError):
        read_name_list(str(tmp_path / "train"))


def test_resolve_image_tries_extensions(tmp_path):
    (tmp_path / "7.png").write_bytes(b"x")
    assert resolve_image(str(tmp_path), "7") == "7.png"
    assert resolve_image(str(tmp_path), "8") == "8.jpg"


def test_missing_layout(tmp_path):
    with pytest.raises(errors.DatasetNotAvailableError, match="CelebA-HQ-img"):
        dataset_info("celeba_hq", data_dir=str(tmp_path))
