"""Fault injection on training run folders: nothing of a run is lost.

Concurrent processes on one folder, `--noresume` over a finished run, a full
disk and kill -9 during a checkpoint write, records after a NaN stop.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from absl import flags

from tests.builders import lock_held_elsewhere
from training import callbacks
from training import cli_utils
from vqct_keras.utils import files

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


WRITE_CHECKPOINTS = r"""
import sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from vqct_keras.utils.files import save_npz
big = np.ones((8, 1024, 1024), "float32")
while True:
    save_npz(sys.argv[1], {"w": big, "__step__": np.asarray(1)})
"""


def _write_history(folder, steps):
    with open(folder / "history.jsonl", "w") as file:
        for step in steps:
            file.write(json.dumps({"epoch": step, "step": step}) + "\n")


def test_flags_file_is_rewritten_and_each_start_kept(tmp_path, monkeypatch):
    values = flags.FlagValues()
    flags.DEFINE_integer("steps", 2, "steps", flag_values=values)
    values(["prog", "--steps=5"])
    monkeypatch.setattr(cli_utils.flags, "FLAGS", values)
    cli_utils.write_flags(str(tmp_path))
    values(["prog", "--steps=7"])
    cli_utils.write_flags(str(tmp_path), notes=["held-out slice: auto"])
    text = (tmp_path / "flags.txt").read_text()
    assert text.count("--steps") == 1
    assert "--steps=7" in text and "# held-out slice: auto" in text
    history = sorted(os.listdir(tmp_path / "flags_history"))
    assert len(history) == 2
    first = (tmp_path / "flags_history" / history[0]).read_text()
    assert "--steps=5" in first


def test_second_process_is_refused_and_a_dead_ones_lock_taken_over(tmp_path):
    from training.run_folder import RunFolder
    from training.run_folder import RunFolderError

    with lock_held_elsewhere(tmp_path) as holder:
        with pytest.raises(RunFolderError, match=rf"pid {holder.pid}"):
            RunFolder(tmp_path).lock()
    folder = RunFolder(tmp_path)
    folder.lock()  # The dead process's lock file is still there.
    assert f"pid {os.getpid()}" in (tmp_path / ".lock").read_text()
    folder.release()


def test_noresume_over_a_run_refuses_then_moves_it_aside(tmp_path):
    from training.run_folder import RunFolder
    from training.run_folder import RunFolderError

    run = tmp_path / "run"
    run.mkdir()
    files.save_npz(str(run / "checkpoint.npz"), {"__step__": np.asarray(4)})
    _write_history(run, [1, 2, 3, 4])
    folder = RunFolder(run)
    folder.lock()
    with pytest.raises(RunFolderError, match="--overwrite"):
        folder.start(resume=False, overwrite=False)
    assert (run / "checkpoint.npz").exists()
    assert folder.start(resume=True, overwrite=False) is None
    aside = folder.start(resume=False, overwrite=True)
    assert sorted(os.listdir(aside)) == ["checkpoint.npz", "history.jsonl"]
    assert os.listdir(run) == [".lock"]
    folder.release()


def test_records_are_trimmed_to_the_checkpoint_step(tmp_path):
    from training.run_folder import RunFolder

    _write_history(tmp_path, [1, 2, 3])
    with open(tmp_path / "history.jsonl", "a") as file:
        file.write('{"epoch": 4, "st')  # cut short by a kill
    for step in (1, 2, 3):
        (tmp_path / f"reconstructions_{step:07d}.png").write_bytes(b"png")
    RunFolder(tmp_path).trim_to_step(2)
    records = callbacks.read_history(str(tmp_path / "history.jsonl"))
    assert [r["step"] for r in records] == [1, 2]
    assert not (tmp_path / "reconstructions_0000003.png").exists()
    assert (tmp_path / "reconstructions_0000002.png").exists()


def test_full_disk_during_a_checkpoint_keeps_the_old_one(tmp_path, monkeypatch):
    path = str(tmp_path / "checkpoint.npz")
    files.save_npz(path, {"w": np.zeros(3), "__step__": 1})

    def full_disk(file, **arrays):
        file.write(b"PK\x03\x04 partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(callbacks.np, "savez", full_disk)
    with pytest.raises(OSError, match="No space left"):
        files.save_npz(path, {"w": np.ones(3), "__step__": 2})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["checkpoint.npz"]
    arrays, step = callbacks.load_checkpoint(str(tmp_path))
    assert step == 1 and not arrays["w"].any()


@pytest.mark.large
def test_kill_9_during_a_checkpoint_write(tmp_path):
    from training.run_folder import RunFolder

    path = tmp_path / "checkpoint.npz"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITE_CHECKPOINTS, str(path), ROOT]
    )
    try:
        deadline = time.time() + 120
        # Wait for a complete checkpoint, then for the next write.
        while not path.exists() and time.time() < deadline:
            time.sleep(0.05)
        while not list(tmp_path.glob("checkpoint.npz.*.tmp")):
            assert time.time() < deadline, "no checkpoint write seen"
            time.sleep(0.01)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    arrays, step = callbacks.load_checkpoint(str(tmp_path))
    assert step == 1 and arrays["w"].shape == (8, 1024, 1024)
    folder = RunFolder(tmp_path)
    folder.lock()
    folder.start(resume=True, overwrite=False)
    assert sorted(os.listdir(tmp_path)) == [".lock", "checkpoint.npz"]
    folder.release()


def test_nan_stop_names_the_batch_and_keeps_no_record(tmp_path):
    stop = callbacks.NonFiniteLossStop()
    stop.set_model(type("Model", (), {"stop_training": False})())
    stop.on_train_batch_end(3, {"loss": 0.5, "nonfinite_batches": 1.0})
    assert stop.triggered
    assert "batch 3 of this epoch held images with NaN" in stop.message
    history = callbacks.HistoryFile(str(tmp_path / "history.jsonl"), stop)
    history.on_epoch_end(0, {"loss": float("nan")})
    grid = callbacks.ReconstructionGrid(
        np.zeros((1, 8, 8, 3)), str(tmp_path), nonfinite_stop=stop
    )
    grid.on_epoch_end(0)
    assert os.listdir(tmp_path) == []
