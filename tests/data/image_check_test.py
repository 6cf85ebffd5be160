import io
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from vqct_keras.data import errors
from vqct_keras.data.image_check import check_split_images
from vqct_keras.data.loading import load_dataset


def _png(value):
    buffer = io.BytesIO()
    Image.fromarray(np.full((6, 9, 3), value, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


class VqctTestCorruptRecords(tfds.core.GeneratorBasedBuilder):
    """Stores image bytes unchecked, as tfds's own builders (coco) do."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(None, None, 3)),
                    "image/filename": tfds.features.Text(),
                }
            ),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for index in range(5):
            data = b"\x89PNG garbage" if index == 3 else _png(index * 50)
            yield index, {"image": data, "image/filename": f"{index}.png"}


@pytest.fixture
def builder(tmp_path):
    builder = VqctTestCorruptRecords(data_dir=str(tmp_path / "tfds"))
    builder.download_and_prepare()
    return builder


def test_finds_and_caches_undecodable_records(builder, tmp_path):
    cache = str(tmp_path / "checks")
    [(tfds_id, skipped)] = check_split_images(
        builder, "train", cache, filename_key="image/filename"
    )
    assert skipped.filename == "3.png" and skipped.reason
    assert skipped.source == "vqct_test_corrupt_records/1.0.0/train"
    assert tfds_id.startswith("vqct_test_corrupt_records-train")
    path = os.path.join(cache, builder.info.full_name, "train.json")
    assert os.path.isfile(path)
    again = check_split_images(
        builder, "train", cache, "image", "image/filename"
    )
    assert again == [(tfds_id, skipped)]


def test_loader_leaves_bad_records_out_or_fails(builder, tmp_path):
    name = "tfds:vqct_test_corrupt_records"
    data_dir = str(tmp_path / "tfds")
    dataset, info = load_dataset(
        name,
        image_size=4,
        shuffle=True,
        seed=1,
        data_dir=data_dir,
        with_info=True,
    )
    assert info.num_examples == 4 and info.num_skipped == 1
    assert len(list(dataset)) == 4
    with pytest.raises(errors.UnreadableImagesError, match="3.png"):
        load_dataset(name, data_dir=data_dir, on_error="fail")
