import os

import keras
import numpy as np
import pytest
from absl import app

from tests.training.evaluate_test import folder_argv
from tests.training.evaluate_test import run_cli
from tests.training.evaluate_test import write_image_folder
from training import tokenize_dataset
from vqct_keras import pretokenize
from vqct_keras.data import dataset_filenames
from vqct_keras.data.evaluation_dataset import load_evaluation_dataset
from vqct_keras.models.loading import load_tokenizer


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from tests.evaluation_test import tiny_tokenizer

    root = tmp_path_factory.mktemp("tokenize")
    model = str(root / "tokenizer.keras")
    tiny_tokenizer("part_of_speech").save(model)
    folder = write_image_folder(str(root / "images"), 5, unreadable=True)
    return model, folder


def argv(model, folder, output_dir, *extra):
    return folder_argv(
        model, folder, output_dir, "--batch_size=2", "--shard_size=2", *extra
    )


def test_cli_resumes_and_decodes(setup, tmp_path, capsys):
    model, folder = setup
    output_dir = tmp_path / "tokens"
    run_cli(tokenize_dataset, argv(model, folder, output_dir, "--max_shards=2"))
    first = pretokenize.read_manifest(str(output_dir))
    assert not first["complete"] and first["num_shards"] == 2
    assert "incomplete (rerun)" in capsys.readouterr().out
    run_cli(tokenize_dataset, argv(model, folder, output_dir))
    manifest = pretokenize.read_manifest(str(output_dir))
    assert manifest["complete"] and manifest["num_examples"] == 5
    out = capsys.readouterr().out
    assert "1 written, 2 already there" in out
    assert "1 unreadable file skipped" in out
    assert manifest["source"]["preprocessing"]["crop"] == "center"
    assert manifest["source"]["image_size"] == 16
    assert manifest["source"]["num_examples"] == 5
    assert manifest["source"]["num_skipped"] == 1
    assert manifest["source"]["skipped_files"][0][0] == "broken.png"
    assert (output_dir / "flags.txt").exists()
    # Each row's source file, in dataset order; the unreadable one is left
    # out (before and after resuming).
    names = [
        name
        for shard in pretokenize.iterate_shards(str(output_dir))
        for name in shard["filenames"].tolist()
    ]
    assert sorted(names) == [f"{index}.png" for index in range(5)]
    assert names == dataset_filenames(
        folder, split="test", data_dir=os.path.join(folder, "tfds")
    )

    tokenizer = load_tokenizer(model)
    tokenizer.run_eagerly = True  # bit-exact: op by op, as `tokenizer(...)`
    images, _ = load_evaluation_dataset(
        folder,
        split="test",
        image_size=16,
        batch_size=5,
        data_dir=os.path.join(folder, "tfds"),
    )
    images = next(iter(images.as_numpy_iterator()))
    for path in pretokenize.shard_paths(str(output_dir)):
        shard = pretokenize.load_shard(path)
        expected = tokenizer(images[shard["order"]], training=False)
        np.testing.assert_array_equal(
            pretokenize.decode_shard(tokenizer, shard, batch_size=2),
            keras.ops.convert_to_numpy(expected["reconstruction"]),
        )


def test_cli_missing_model_is_a_usage_error(tmp_path):
    with pytest.raises(app.UsageError, match="No model file"):
        run_cli(
            tokenize_dataset,
            [f"--model={tmp_path / 'nope.keras'}", "--noprogress"],
        )
