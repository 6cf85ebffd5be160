"""Each paper dataset's pipeline, run on `tfds.testing.mock_data` (random
images of random sizes through the real builders' features): shapes,
ranges, and the official preprocessing of every split."""

import importlib
import inspect

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tests.data.images import write_images
from vqct_keras.data import catalog
from vqct_keras.data import errors
from vqct_keras.data import loading
from vqct_keras.data.image_preprocessing import ImagePreprocessing
from vqct_keras.data.loading import load_dataset

SIZE = 16
NUM_EXAMPLES = 6


def _raw_images(builder_name, split, data_dir):
    """The mocked images, read as the pipeline reads them (the mock draws
    different random images for a different set of decoded features)."""
    builder = tfds.builder(builder_name, data_dir=data_dir)
    decoders = tfds.decode.PartialDecoding(
        {"image": True}, decoders={"image": tfds.decode.SkipDecoding()}
    )
    dataset = builder.as_dataset(
        split=split, decoders=decoders, shuffle_files=False
    )
    return [
        tf.io.decode_image(example["image"], channels=3).numpy()
        for example in dataset
    ]


def _outputs(name, split, data_dir, seed):
    dataset, info = load_dataset(
        name,
        split,
        image_size=SIZE,
        shuffle=False,
        seed=seed,
        data_dir=data_dir,
        with_info=True,
    )
    images = [image for image in dataset.as_numpy_iterator()]
    assert info.num_examples == len(images) == NUM_EXAMPLES
    for image in images:
        assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.float32
        assert -1 <= image.min() and image.max() <= 1
    return images, info


def _is_window(output, resized):
    """Whether `output` is a SIZE-square window of `resized` (or its mirror)."""
    height, width = resized.shape[:2]
    for top in range(height - SIZE + 1):
        for left in range(width - SIZE + 1):
            window = resized[top : top + SIZE, left : left + SIZE]
            if np.allclose(output, window) or np.allclose(
                output, window[:, ::-1]
            ):
                return (top, left)
    return None


@pytest.fixture
def mocked(tmp_path):
    with tfds.testing.mock_data(num_examples=NUM_EXAMPLES):
        yield str(tmp_path)


def test_names():
    assert set(catalog.dataset_names()) == {
        "default",
        "fashion_mnist",
        "photo_crops",
        "ade20k",
        "coco2014",
        "cub200",
        "celeba_hq",
    }


@pytest.mark.parametrize("split", ["train", "validation"])
def test_coco_center_crops_and_flips_both_splits(mocked, split):
    raw = _raw_images("coco/2014", split, mocked)
    center = ImagePreprocessing(SIZE)
    flips = 0
    for seed in range(3):
        outputs, info = _outputs("coco2014", split, mocked, seed)
        assert info.preprocessing == ImagePreprocessing(
            SIZE, "short_side", "center", random_flip=True
        )
        for image, output in zip(raw, outputs):
            expected = center(image).numpy()
            if np.allclose(output, expected[:, ::-1]) and not np.allclose(
                output, expected
            ):
                flips += 1
            else:
                np.testing.assert_allclose(output, expected)
    assert flips > 0


def test_cub_train_random_crop_and_flip(mocked):
    raw = _raw_images("caltech_birds2011", "train", mocked)
    windows = set()
    for seed in range(4):
        outputs, info = _outputs("cub200", "train", mocked, seed)
        assert info.preprocessing.crop == "random"
        assert info.preprocessing.random_flip
        for index, (image, output) in enumerate(zip(raw, outputs)):
            resized = _short_side_resized(image)
            position = _is_window(output, resized)
            assert position is not None
            windows.add((index, position))
    # Crops move between seeds for non-square images.
    assert len(windows) > NUM_EXAMPLES


def test_cub_test_is_deterministic_center_crop(mocked):
    raw = _raw_images("caltech_birds2011", "test", mocked)
    first, info = _outputs("cub200", "test", mocked, seed=0)
    second, _ = _outputs("cub200", "test", mocked, seed=1)
    assert not info.preprocessing.is_random
    for image, a, b in zip(raw, first, second):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, ImagePreprocessing(SIZE)(image).numpy())


@pytest.mark.parametrize("split", ["train", "validation"])
def test_ade20k_squashes_without_crop_or_flip(mocked, split):
    raw = _raw_images("vqct_ade20k", split, mocked)
    outputs, info = _outputs("ade20k", split, mocked, seed=0)
    assert info.preprocessing.describe() == f"resize to {SIZE}x{SIZE}"
    for image, output in zip(raw, outputs):
        expected = tf.image.resize(
            tf.cast(image, tf.float32), [SIZE, SIZE], antialias=True
        )
        expected = np.round(np.clip(expected.numpy(), 0, 255)) / 127.5 - 1
        np.testing.assert_allclose(output, expected, atol=1e-6)


@pytest.mark.parametrize("split", ["train", "test"])
def test_celeba_hq_resizes_without_flip(mocked, split):
    raw = _raw_images("vqct_celeba_hq", split, mocked)
    outputs, info = _outputs("celeba_hq", split, mocked, seed=0)
    assert not info.preprocessing.is_random
    for image, output in zip(raw, outputs):
        np.testing.assert_allclose(output, ImagePreprocessing(SIZE)(image))


def test_default_is_natural_photo_crops_only(mocked):
    dataset, info = load_dataset(
        "default",
        image_size=SIZE,
        batch_size=4,
        seed=0,
        data_dir=mocked,
        with_info=True,
    )
    # No Fashion-MNIST: the demo learns natural colour photos.
    assert info.builders == ("vqct_photo_crops/64/2.0.0",)
    assert info.num_examples == NUM_EXAMPLES
    assert [batch.shape[0] for batch in dataset] == [4, 2]


def test_photo_crops_config_follows_image_size():
    assert catalog.photo_crops_part(64).builder_name.endswith("/64")
    assert catalog.photo_crops_part(65).builder_name.endswith("/256")


def _short_side_resized(image):
    height, width = image.shape[:2]
    if height <= width:
        new = (SIZE, SIZE * width // height)
    else:
        new = (SIZE * height // width, SIZE)
    resized = tf.image.resize(tf.cast(image, tf.float32), new, antialias=True)
    return np.round(np.clip(resized.numpy(), 0, 255)) / 127.5 - 1


@pytest.mark.parametrize(
    "name, expected",
    [
        ("ade20k", "ADE20K_2021_17_01/images/ADE/training"),
        ("celeba_hq", "celeba_hq/train/filenames.pickle"),
        ("coco2014", "train2014.zip"),
        ("cub200", "CUB_200_2011.tgz"),
    ],
)
def test_missing_data_says_where_to_put_it(tmp_path, name, expected):
    with pytest.raises(errors.DatasetNotAvailableError) as raised:
        load_dataset(name, data_dir=str(tmp_path), download=False)
    message = str(raised.value)
    assert expected in message
    assert str(tmp_path / "downloads" / "manual") in message


def test_unreachable_download_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setattr(loading, "_reachable", lambda url: False)
    with pytest.raises(errors.DatasetNotAvailableError, match="unreachable"):
        load_dataset("coco2014", data_dir=str(tmp_path))


def test_doctests():
    import doctest

    result = doctest.testmod(catalog)
    assert result.failed == 0 and result.attempted > 0


def test_any_tfds_dataset_offline_names_its_archives(tmp_path):
    with pytest.raises(errors.DatasetNotAvailableError) as raised:
        load_dataset("tfds:mnist", data_dir=str(tmp_path), download=False)
    assert "train-images-idx3-ubyte.gz" in str(raised.value)


def test_every_part_names_the_module_of_its_builder():
    for entry in catalog.ENTRIES.values():
        for size in (32, 256):
            for part in entry.parts(size):
                if part.native:
                    continue
                module = importlib.import_module(part.module)
                name = part.builder_name.split("/")[0]
                builders = [
                    value
                    for value in vars(module).values()
                    if getattr(value, "name", None) == name
                ]
                assert builders, (entry.name, part)
    with pytest.raises(ValueError, match="module="):
        catalog.DatasetPart("vqct_nowhere")


def test_loader_knows_no_builder_by_class():
    source = inspect.getsource(loading)
    for name in ("FashionMnist", "PhotoCrops", "Ade20k", "CelebaHq"):
        assert name not in source, name
    for module in ("fashion_mnist_builder", "photo_sources", "ade20k_builder"):
        assert module not in source, module
    assert "isinstance(builder" not in source


def test_a_new_dataset_is_a_builder_file_and_a_catalog_entry(
    tmp_path, monkeypatch
):
    manual_dir = tmp_path / "manual"
    write_images(str(manual_dir / "toy" / "train"), 3)
    write_images(str(manual_dir / "toy" / "test"), 2, start=3)
    entry = catalog.DatasetEntry(
        name="toy",
        description="A toy dataset.",
        parts=lambda size: (
            catalog.DatasetPart(
                "vqct_test_toy", module="tests.data.toy_builder"
            ),
        ),
        default_image_size=8,
    )
    monkeypatch.setitem(catalog.ENTRIES, "toy", entry)
    kwargs = dict(data_dir=str(tmp_path / "tfds"), manual_dir=str(manual_dir))
    train, info = load_dataset("toy", with_info=True, seed=0, **kwargs)
    assert info.num_examples == 3 and info.builders[0].startswith(
        "vqct_test_toy"
    )
    assert [image.shape for image in train] == [(8, 8, 3)] * 3
    assert loading.dataset_info("toy", "test", **kwargs).num_examples == 2
    with pytest.raises(errors.DatasetNotAvailableError, match="toy/test"):
        load_dataset(
            "toy", data_dir=str(tmp_path / "other"), manual_dir=str(tmp_path)
        )
