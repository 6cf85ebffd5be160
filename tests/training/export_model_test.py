import json
import os
import subprocess
import sys
import zipfile

import pytest
from absl import app

from training import cli_utils
from training import export_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
EXPORT = os.path.join(ROOT, "training", "export_model.py")


def run_cli(*flags, backend="tensorflow", timeout=900):
    # Export runs with the TensorFlow backend, as docs/export.md says; the
    # .keras file may come from either backend.
    env = dict(
        os.environ,
        KERAS_BACKEND=backend,
        TF_CPP_MIN_LOG_LEVEL="3",
        CUDA_VISIBLE_DEVICES="",
    )
    return subprocess.run(
        [sys.executable, EXPORT, *flags],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_parse_image_size():
    assert export_model.parse_image_size(None) is None
    assert export_model.parse_image_size("") is None
    assert export_model.parse_image_size("32") == 32
    assert export_model.parse_image_size("64x48") == (64, 48)
    assert export_model.parse_image_size("64,48") == (64, 48)
    assert export_model.parse_image_size("Dynamic") == "dynamic"
    for bad in ("big", "32x", "1x2x3"):
        with pytest.raises(app.UsageError, match="N, HxW or 'dynamic'"):
            export_model.parse_image_size(bad)


def test_bad_model_paths_fail_clearly(tmp_path):
    cases = [
        (None, "--model is required"),
        (str(tmp_path / "missing.keras"), "no such file"),
        (str(tmp_path), "is a folder; pass the .keras file"),
    ]
    weights = tmp_path / "model.weights.h5"
    weights.write_bytes(b"\x89HDF")
    cases.append((str(weights), "is not a .keras file"))
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip")
    cases.append((str(broken), "not a readable .keras archive"))
    for path, message in cases:
        with pytest.raises(app.UsageError, match=message):
            cli_utils.load_model_flag(path)

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with zipfile.ZipFile(run_dir / "tokenizer.keras", "w"):
        pass
    with pytest.raises(app.UsageError, match="Did you mean --model="):
        cli_utils.load_model_flag(str(run_dir))


def test_cli_reports_a_missing_model(tmp_path):
    result = run_cli(
        f"--model={tmp_path / 'nope.keras'}",
        f"--output_dir={tmp_path / 'out'}",
        timeout=300,
    )
    assert result.returncode != 0
    assert "no such file" in result.stderr


@pytest.mark.large
def test_cli_exports_a_saved_tokenizer(tmp_path):
    from tests.builders import tiny_tokenizer

    model_path = tmp_path / "tokenizer.keras"
    tiny_tokenizer().save(model_path)
    output_dir = tmp_path / "serving"
    result = run_cli(f"--model={model_path}", f"--output_dir={output_dir}")
    assert result.returncode == 0, result.stderr[-4000:]
    assert f"Outputs written to: {output_dir}" in result.stdout
    assert "encode_uint8: images uint8(?, 16, 16, 3)" in result.stdout
    for name in (
        "flags.txt",
        "1/saved_model.pb",
        "1/variables",
        "1/export_info.json",
    ):
        assert (output_dir / name).exists(), name
    assert f"--model={model_path}" in (output_dir / "flags.txt").read_text()
    info = json.loads((output_dir / "1" / "export_info.json").read_text())
    assert info["keras_backend"] == "tensorflow"
    assert info["verified"] is True
    assert info["index_layout"]["slots"] == [
        "adjective_1",
        "adjective_2",
        "noun",
    ]

    again = run_cli(
        f"--model={model_path}", f"--output_dir={output_dir}", timeout=300
    )
    assert again.returncode != 0
    assert "--overwrite" in again.stderr
