import doctest
import filecmp
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.evaluation_test import random_images
from tests.evaluation_test import tiny_tokenizer
from vqct_keras import pretokenize

SOURCE = {"dataset": "random", "split": "test", "crop": "center"}


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer("part_of_speech")


@pytest.fixture(scope="module")
def images():
    return random_images(11, seed=5)


def tokenize(tokenizer, dataset, folder, **kwargs):
    kwargs = {"shard_size": 4, "batch_size": 3, "progress": False, **kwargs}
    return pretokenize.tokenize_dataset(
        tokenizer, dataset, str(folder), source=SOURCE, **kwargs
    )


def assert_same_files(folder_a, folder_b):
    names = sorted(os.listdir(folder_a))
    assert names == sorted(os.listdir(folder_b))
    for name in names:
        assert filecmp.cmp(
            os.path.join(folder_a, name),
            os.path.join(folder_b, name),
            shallow=False,
        ), name


@pytest.fixture(scope="module")
def reference(tokenizer, images, tmp_path_factory):
    """An uninterrupted run over an unbatched tf.data dataset."""
    folder = tmp_path_factory.mktemp("reference")
    dataset = tf.data.Dataset.from_tensor_slices(images)
    manifest = tokenize(tokenizer, dataset, folder, num_examples=11)
    return folder, manifest


def test_uninterrupted_run_writes_shards_and_manifest(reference, images):
    folder, manifest = reference
    assert sorted(os.listdir(folder)) == [
        "manifest.json",
        "shard-00000.npz",
        "shard-00001.npz",
        "shard-00002.npz",
    ]
    assert manifest["complete"] and manifest["num_examples"] == 11
    assert manifest["shards_written"] == 3 and manifest["shards_skipped"] == 0
    assert [s["count"] for s in manifest["shards"]] == [4, 4, 3]
    assert [s["start"] for s in manifest["shards"]] == [0, 4, 8]
    assert manifest["source"] == SOURCE
    assert manifest["image_shape"] == [16, 16, 3]
    assert manifest["index_shape"] == [8, 8, 3]
    description = manifest["tokenizer"]
    assert description["codebooks"] == {"adjective": 6, "noun": 10}
    assert description["index_ranges"] == [6, 6, 10]
    assert pretokenize.read_manifest(str(folder)) == {
        key: value
        for key, value in manifest.items()
        if key not in ("shards_written", "shards_skipped")
    }
    orders = [shard["order"] for shard in pretokenize.iterate_shards(folder)]
    np.testing.assert_array_equal(np.concatenate(orders), np.arange(11))
    for shard in pretokenize.iterate_shards(folder):
        assert shard["indices"].dtype == np.int32
        assert shard["indices"].shape[1:] == (8, 8, 3)
        assert shard["filenames"] is None  # The source had no file names.


def test_decoding_reproduces_the_reconstructions_exactly(
    reference, tokenizer, images
):
    folder, _ = reference
    # Bit-exact when decoding runs op by op, as the reconstruction does (the
    # compiled default agrees to float32 rounding).
    tokenizer.run_eagerly = True
    for path in pretokenize.shard_paths(str(folder)):
        shard = pretokenize.load_shard(path)
        decoded = pretokenize.decode_shard(tokenizer, path, batch_size=4)
        expected = tokenizer(images[shard["order"]], training=False)
        np.testing.assert_array_equal(
            decoded, keras.ops.convert_to_numpy(expected["reconstruction"])
        )
        np.testing.assert_array_equal(
            shard["indices"], keras.ops.convert_to_numpy(expected["indices"])
        )


def test_interrupted_runs_resume_to_identical_files(
    reference, tokenizer, images, tmp_path
):
    folder, _ = reference
    batched = tf.data.Dataset.from_tensor_slices(images).batch(5)
    first = tokenize(tokenizer, batched, tmp_path, max_shards=1)
    assert not first["complete"] and first["shards_written"] == 1
    assert sorted(os.listdir(tmp_path)) == ["manifest.json", "shard-00000.npz"]
    # A crash while writing leaves only a temporary file: it is ignored.
    (tmp_path / "shard-00001.npz.123.tmp").write_bytes(b"truncated")
    second = tokenize(tokenizer, batched, tmp_path, max_shards=1)
    assert not second["complete"]
    assert (second["shards_written"], second["shards_skipped"]) == (1, 1)
    # The last run reads a plain list of numpy batches.
    as_list = [images[:2], images[2:9], images[9:]]
    third = tokenize(tokenizer, as_list, tmp_path)
    assert third["complete"]
    assert (third["shards_written"], third["shards_skipped"]) == (1, 2)
    assert_same_files(folder, tmp_path)
    again = tokenize(tokenizer, as_list, tmp_path)  # Nothing left to do.
    assert again["shards_written"] == 0 and again["complete"]
    assert_same_files(folder, tmp_path)


NAMES = [f"photos/{index:02d}.jpg" for index in range(11)]


def test_shards_keep_file_names_and_resume_identically(
    tokenizer, images, tmp_path
):
    whole = tokenize(tokenizer, [images], tmp_path / "whole", filenames=NAMES)
    assert whole["complete"]
    for shard in pretokenize.iterate_shards(tmp_path / "whole"):
        assert shard["filenames"].tolist() == [
            NAMES[position] for position in shard["order"]
        ]
    resumed = tmp_path / "resumed"
    tokenize(tokenizer, [images], resumed, max_shards=2, filenames=NAMES)
    tokenize(tokenizer, [images], resumed, filenames=NAMES)
    assert_same_files(tmp_path / "whole", resumed)
    with pytest.raises(ValueError, match="11 images but 10 file names"):
        tokenize(tokenizer, [images], tmp_path / "short", filenames=NAMES[:10])


def test_a_missing_middle_shard_is_rewritten(reference, tokenizer, images):
    folder, _ = reference
    copy = folder.parent / "copy"
    copy.mkdir()
    for name in ("shard-00000.npz", "shard-00002.npz"):
        (copy / name).write_bytes((folder / name).read_bytes())
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(complete=False, shards=[], num_shards=0)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = tokenize(tokenizer, [images], copy)
    assert (result["shards_written"], result["shards_skipped"]) == (1, 2)
    assert_same_files(folder, copy)


def test_other_options_are_refused_unless_overwriting(
    reference, tokenizer, images, tmp_path
):
    folder, _ = reference
    for name in os.listdir(folder):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    with pytest.raises(ValueError, match="shard_size"):
        tokenize(tokenizer, [images], tmp_path, shard_size=5)
    with pytest.raises(ValueError, match="source"):
        pretokenize.tokenize_dataset(
            tokenizer, [images], str(tmp_path), shard_size=4, progress=False
        )
    other = tiny_tokenizer("vector")
    with pytest.raises(ValueError, match="tokenizer"):
        tokenize(other, [images], tmp_path)
    result = tokenize(other, [images], tmp_path, shard_size=6, overwrite=True)
    assert result["complete"] and result["num_shards"] == 2
    assert result["tokenizer"]["codebooks"] == {"codebook": 16}


def test_bad_inputs(tokenizer, tmp_path):
    with pytest.raises(ValueError, match="x / 127.5 - 1"):
        tokenize(tokenizer, [np.full((2, 16, 16, 3), 9.0)], tmp_path / "a")
    with pytest.raises(ValueError, match="no images"):
        tokenize(tokenizer, [], tmp_path / "b")
    with pytest.raises(FileNotFoundError, match="manifest"):
        pretokenize.read_manifest(str(tmp_path / "b" / "nothing"))


def test_docstring_examples():
    failures, _ = doctest.testmod(pretokenize)
    assert failures == 0
