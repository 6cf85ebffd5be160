import numpy as np
import PIL.Image
import pytest
import tensorflow_datasets as tfds

from tests.data.images import write_images
from vqct_keras.data import errors
from vqct_keras.data import loading
from vqct_keras.data import photo_sources
from vqct_keras.data.loading import dataset_info
from vqct_keras.data.loading import load_dataset


@pytest.fixture
def folder(tmp_path):
    """7 readable images of varied sizes and 2 unreadable files."""
    root = tmp_path / "photos"
    write_images(root, 4, size=(20, 30))
    write_images(root / "nested", 3, size=(40, 24), start=4)
    (root / "empty.png").write_bytes(b"")
    (root / "nested" / "text.jpg").write_text("not a jpeg")
    (root / "notes.txt").write_text("ignored: not an image extension")
    return root


def _all(dataset):
    return np.concatenate([batch for batch in dataset.as_numpy_iterator()])


def test_folder_loads_skips_and_counts_unreadable_files(folder, tmp_path):
    dataset, info = load_dataset(
        str(folder),
        image_size=16,
        batch_size=4,
        data_dir=str(tmp_path / "tfds"),
        with_info=True,
    )
    images = _all(dataset)
    assert images.shape == (7, 16, 16, 3) and images.dtype == np.float32
    assert -1 <= images.min() and images.max() <= 1
    assert info.num_examples == 7
    assert info.num_skipped == 2
    assert sorted(f.filename for f in info.skipped_files) == [
        "empty.png",
        "nested/text.jpg",
    ]
    assert all(f.reason for f in info.skipped_files)


def test_folder_with_on_error_fail_raises(folder, tmp_path):
    with pytest.raises(errors.UnreadableImagesError) as raised:
        load_dataset(
            str(folder), on_error="fail", data_dir=str(tmp_path / "tfds")
        )
    assert len(raised.value.skipped_files) == 2
    assert "2 unreadable" in str(raised.value)


def test_clean_folder_with_on_error_fail_loads(tmp_path):
    write_images(tmp_path / "clean", 3)
    dataset = load_dataset(
        str(tmp_path / "clean"),
        image_size=8,
        on_error="fail",
        data_dir=str(tmp_path / "tfds"),
    )
    assert len(list(dataset)) == 3


def test_folder_is_prepared_again_when_files_change(tmp_path):
    root = tmp_path / "growing"
    write_images(root, 2)
    data_dir = str(tmp_path / "tfds")
    assert dataset_info(str(root), data_dir=data_dir).num_examples == 2
    write_images(root, 3, start=2)
    assert dataset_info(str(root), data_dir=data_dir).num_examples == 5


def test_image_folder_layout_splits_and_slicing(tmp_path):
    root = tmp_path / "layout"
    write_images(root / "train" / "a", 4)
    write_images(root / "train" / "b", 4, start=4)
    write_images(root / "test" / "a", 2, start=8)
    data_dir = str(tmp_path / "tfds")
    assert dataset_info(str(root), "test", data_dir=data_dir).num_examples == 2
    info = dataset_info(str(root), "train[:50%]", data_dir=data_dir)
    assert info.num_examples == 4
    assert info.preprocessing.random_flip  # train: flipped
    test = dataset_info(str(root), "test", data_dir=data_dir)
    assert not test.preprocessing.random_flip
    with pytest.raises(ValueError, match="no split"):
        dataset_info(str(root), "validation", data_dir=data_dir)


def test_seed_makes_order_and_augmentation_reproducible(folder, tmp_path):
    kwargs = dict(
        image_size=8, shuffle=True, seed=5, data_dir=str(tmp_path / "tfds")
    )
    first = _all(load_dataset(str(folder), batch_size=7, **kwargs))
    second = _all(load_dataset(str(folder), batch_size=7, **kwargs))
    np.testing.assert_array_equal(first, second)


def test_batching_repeat_and_drop_remainder(folder, tmp_path):
    kwargs = dict(image_size=8, data_dir=str(tmp_path / "tfds"))
    dataset = load_dataset(
        str(folder), batch_size=3, drop_remainder=True, repeat=2, **kwargs
    )
    shapes = [tuple(batch.shape) for batch in dataset]
    assert shapes == [(3, 8, 8, 3)] * 4  # 14 images -> 4 full batches
    assert dataset.element_spec.shape == (3, 8, 8, 3)
    endless = load_dataset(str(folder), batch_size=5, repeat=True, **kwargs)
    assert len(list(endless.take(10))) == 10


def test_custom_preprocessing_wins(folder, tmp_path):
    from vqct_keras.data import ImagePreprocessing

    dataset, info = load_dataset(
        str(folder),
        preprocessing=ImagePreprocessing(12, resize="square", crop=None),
        data_dir=str(tmp_path / "tfds"),
        with_info=True,
    )
    assert info.image_size == 12
    assert next(iter(dataset)).shape == (12, 12, 3)


def test_unknown_names_and_paths(tmp_path):
    with pytest.raises(ValueError, match="Unknown dataset"):
        load_dataset("imagenet_typo", data_dir=str(tmp_path))
    with pytest.raises(errors.DatasetNotAvailableError, match="No such"):
        load_dataset(str(tmp_path / "absent"), data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="on_error"):
        load_dataset("default", on_error="ignore")
    with pytest.raises(ValueError, match="no split"):
        load_dataset("cub200", split="validation", data_dir=str(tmp_path))


def test_data_dir_follows_tfds_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    assert loading.default_data_dir() == str(tmp_path)
    monkeypatch.delenv("TFDS_DATA_DIR")
    monkeypatch.setenv("VQCT_KERAS_HOME", str(tmp_path / "home"))
    assert loading.default_data_dir() == str(
        tmp_path / "home" / "tensorflow_datasets"
    )


def _default_installed():
    return any(
        source.split == "test" for source in photo_sources.find_photo_sources()
    )


@pytest.mark.skipif(
    not _default_installed(),
    reason="Debian image packages missing: run scripts/setup.sh",
)
def test_default_dataset_loads_with_disjoint_photo_sources():
    # Reads the real data that scripts/setup.d/40-images.sh prepared.
    train, train_info = load_dataset(
        "default",
        batch_size=64,
        seed=0,
        shuffle_buffer_size=256,
        with_info=True,
    )
    test, test_info = load_dataset("default", "test", with_info=True)
    batch = next(iter(train)).numpy()
    assert batch.shape == (64, 32, 32, 3) and batch.dtype == np.float32
    assert -1 <= batch.min() < -0.9 and 0.9 < batch.max() <= 1
    assert next(iter(test)).shape == (32, 32, 3)
    installed = photo_sources.find_photo_sources()
    num_train = sum(source.split == "train" for source in installed)
    num_test = sum(source.split == "test" for source in installed)
    assert train_info.num_examples == 320 * num_train
    assert test_info.num_examples == 192 * num_test
    assert train_info.num_skipped == test_info.num_skipped == 0
    # Natural colour photos: most images have chroma (gray ones do not).
    test_batch = next(iter(test.batch(256))).numpy()
    chroma = np.abs(test_batch - test_batch.mean(-1, keepdims=True))
    assert (chroma.mean(axis=(1, 2, 3)) > 0.01).mean() > 0.8
    # Train and test crops come from different photos.
    builder = tfds.builder("vqct_photo_crops/64", data_dir=train_info.data_dir)
    sources = {}
    for split in ("train", "test"):
        records = builder.as_dataset(
            split=split,
            decoders=tfds.decode.PartialDecoding({"source": True}),
        ).map(lambda example: example["source"])
        sources[split] = {s.decode() for s in records.as_numpy_iterator()}
    assert sources["test"] == {
        source.source_id for source in installed if source.split == "test"
    }
    assert not sources["train"] & sources["test"]
    assert len(sources["train"]) >= 20


@pytest.mark.large
@pytest.mark.skipif(not _default_installed(), reason="run scripts/setup.sh")
def test_default_test_split_full_pass():
    dataset, info = load_dataset(
        "default", "test", batch_size=512, with_info=True
    )
    count, low, high = 0, 1.0, -1.0
    for batch in dataset.as_numpy_iterator():
        count += len(batch)
        low, high = min(low, batch.min()), max(high, batch.max())
    assert count == info.num_examples
    assert low == -1.0 and high == 1.0


def test_dataset_filenames_follow_the_unshuffled_image_order(tmp_path):
    root = tmp_path / "flat"
    root.mkdir()
    # Each image a flat grey whose level names it: 10.png is grey 10.
    for level in (10, 60, 110, 160, 210):
        pixels = np.full((8, 8, 3), level, np.uint8)
        PIL.Image.fromarray(pixels).save(root / f"{level}.png")
    (root / "broken.png").write_bytes(b"\x89PNG not an image")
    data_dir = str(tmp_path / "tfds")
    names = loading.dataset_filenames(root, "train", data_dir=data_dir)
    images = _all(
        load_dataset(
            root,
            "train",
            image_size=8,
            batch_size=2,
            shuffle=False,
            data_dir=data_dir,
        )
    )
    assert sorted(names) == sorted(
        f"{level}.png" for level in (10, 60, 110, 160, 210)
    )
    levels = np.round((images[:, 0, 0, 0] + 1) * 127.5).astype(int)
    assert names == [f"{level}.png" for level in levels]


def test_dataset_filenames_are_none_without_names(monkeypatch, tmp_path):
    root = tmp_path / "flat"
    write_images(root, 2)
    monkeypatch.setattr(loading._Part, "_filename_key", lambda self: None)
    assert (
        loading.dataset_filenames(root, data_dir=str(tmp_path / "tfds")) is None
    )
