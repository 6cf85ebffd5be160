"""A truncated or corrupt `.keras` file gives a clear error on every path."""

import zipfile

import pytest
from absl import app

from tests.builders import tiny_tokenizer
from training import cli_utils
from vqct_keras.models.loading import load_tokenizer


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tokenizer.keras"
    tiny_tokenizer(quantizer="vector").save(str(path))
    return path


def _truncated(saved, tmp_path):
    data = saved.read_bytes()
    path = tmp_path / "tokenizer.keras"
    path.write_bytes(data[: len(data) // 2])
    return path


def _corrupt_member(saved, tmp_path):
    path = tmp_path / "corrupt.keras"
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith(".json"):
                data = data[: len(data) // 2]
            out.writestr(item, data)
    return path


@pytest.mark.parametrize("damage", [_truncated, _corrupt_member])
def test_damaged_keras_file_names_the_problem(saved, tmp_path, damage):
    path = damage(saved, tmp_path)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_tokenizer(str(path))


def test_truncated_keras_file_in_the_export_cli(saved, tmp_path):
    path = _truncated(saved, tmp_path)
    with pytest.raises(app.UsageError, match="truncated or corrupt"):
        cli_utils.load_model_flag(str(path))
