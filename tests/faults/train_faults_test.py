"""Fault injection on `training/train.py`: one run per folder, no mixing.

`train.py` in a subprocess: `--noresume` over a finished run (refused,
then `--overwrite`), a second process on a folder in use (refused before
TensorFlow starts), and a folder of images without split subfolders.
"""

import json
import os
import subprocess
import time

import numpy as np
import pytest

from tests.builders import lock_held_elsewhere
from tests.training.train_cli_test import history
from tests.training.train_cli_test import train_command


def run(command, timeout=600):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env
    )


def _finished_run(output_dir):
    """A run folder as a finished two-step run leaves it."""
    from vqct_keras.utils.files import save_npz

    output_dir.mkdir()
    save_npz(str(output_dir / "checkpoint.npz"), {"__step__": np.asarray(2)})
    with open(output_dir / "history.jsonl", "w") as file:
        file.write('{"epoch": 1, "step": 1}\n{"epoch": 2, "step": 2}\n')
    (output_dir / "tokenizer.keras").write_bytes(b"model")
    return (output_dir / "checkpoint.npz").read_bytes()


def test_noresume_over_a_finished_run_is_refused(tmp_path):
    output_dir = tmp_path / "run"
    checkpoint = _finished_run(output_dir)
    refused = run(train_command(output_dir, "--noresume"))
    assert refused.returncode == 2
    assert "--overwrite" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert (output_dir / "checkpoint.npz").read_bytes() == checkpoint
    assert not (output_dir / "flags_history").exists()


def test_second_train_process_on_a_folder_in_use_is_refused(tmp_path):
    output_dir = tmp_path / "run"
    with lock_held_elsewhere(output_dir) as holder:
        second = run(train_command(output_dir), timeout=300)
        assert second.returncode == 2
        assert f"in use by another training process (pid {holder.pid}" in (
            second.stderr
        )
        assert holder.poll() is None


@pytest.mark.large
def test_noresume_overwrite_moves_the_finished_run_aside(tmp_path):
    start = time.perf_counter()
    output_dir = tmp_path / "run"
    checkpoint = _finished_run(output_dir)
    replaced = run(
        train_command(output_dir, "--noresume", "--overwrite", "--steps=1")
    )
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    aside = [p for p in os.listdir(tmp_path) if p.startswith("run.replaced-")]
    assert len(aside) == 1
    assert (tmp_path / aside[0] / "checkpoint.npz").read_bytes() == checkpoint
    assert [r["step"] for r in history(tmp_path / aside[0])] == [1, 2]
    assert [r["step"] for r in history(output_dir)] == [1]
    flags_text = (output_dir / "flags.txt").read_text()
    assert flags_text.count("--steps=") == 1 and "--steps=1" in flags_text
    print(f"\nwall time {time.perf_counter() - start:.1f} s")


def _image_folder(folder, count):
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(count):
        pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"photo_{index:03d}.png")
    return folder


@pytest.mark.large
def test_own_folder_without_splits_trains_with_a_held_out_slice(tmp_path):
    start = time.perf_counter()
    images = _image_folder(tmp_path / "photos", 24)
    (images / "broken.png").write_bytes(b"\x89PNG not an image")
    output_dir = tmp_path / "run"
    result = run(
        train_command(
            output_dir, f"--dataset={images}", "--steps=1", "--batch_size=4"
        )
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "the last 4 of its 24 images (train[-4:]) are held out" in (
        result.stdout
    )
    flags_text = (output_dir / "flags.txt").read_text()
    assert "# held-out slice:" in flags_text
    # The unreadable file is left out of both slices, and counted.
    with open(output_dir / "metrics.json") as file:
        metadata = json.load(file)["metadata"]
    assert metadata["train_num_skipped"] == 1
    assert metadata["num_skipped"] == 1
    assert metadata["skipped_files"][0][0] == "broken.png"

    too_few = run(
        train_command(
            tmp_path / "few",
            f"--dataset={_image_folder(tmp_path / 'few_photos', 6)}",
            "--batch_size=4",
        )
    )
    assert too_few.returncode == 2
    assert "lower --batch_size" in too_few.stderr
    assert "Traceback" not in too_few.stderr
    print(f"\nwall time {time.perf_counter() - start:.1f} s")
