import gzip
import struct

import numpy as np
import pytest
import tensorflow_datasets as tfds

from vqct_keras.data import fashion_mnist_builder
from vqct_keras.data.loading import load_dataset


def write_idx(path, array, compress=True):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


def make_fashion_mnist(folder, num_train=5, num_test=3):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, count in (("train", num_train), ("t10k", num_test)):
        images = rng.integers(0, 256, (count, 28, 28))
        labels = np.arange(count) % 10
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte", labels, False)


def test_read_idx_round_trip_and_truncation(tmp_path):
    array = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(
        fashion_mnist_builder.read_idx(str(tmp_path / "a.gz")), array
    )
    data = gzip.open(tmp_path / "a.gz").read()
    (tmp_path / "b").write_bytes(data[:-10])
    with pytest.raises(ValueError, match="truncated"):
        fashion_mnist_builder.read_idx(str(tmp_path / "b"))
    (tmp_path / "c").write_bytes(b"\x00\x00\x0d\x01")
    with pytest.raises(ValueError, match="unsigned bytes"):
        fashion_mnist_builder.read_idx(str(tmp_path / "c"))


def test_builder_reads_manual_files(tmp_path):
    make_fashion_mnist(tmp_path / "manual")
    builder = tfds.builder("vqct_fashion_mnist", data_dir=str(tmp_path))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=str(tmp_path / "manual")
        )
    )
    assert builder.info.splits["train"].num_examples == 5
    assert builder.info.splits["test"].num_examples == 3
    example = next(iter(builder.as_dataset(split="test")))
    assert example["image"].shape == (28, 28, 1)


def test_gray_images_load_as_rgb(tmp_path):
    make_fashion_mnist(tmp_path / "manual")
    dataset = load_dataset(
        "fashion_mnist",
        "test",
        data_dir=str(tmp_path),
        manual_dir=str(tmp_path / "manual"),
    )
    images = np.stack(list(dataset.as_numpy_iterator()))
    assert images.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
