import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
TRAIN = os.path.join(ROOT, "training", "train.py")
TINY = os.path.join(ROOT, "training", "configs", "tiny_cpu.flags")


def train_command(output_dir, *extra):
    return [
        sys.executable,
        TRAIN,
        f"--flagfile={TINY}",
        f"--output_dir={output_dir}",
        *extra,
    ]


def history(output_dir):
    with open(os.path.join(output_dir, "history.jsonl")) as file:
        return [json.loads(line) for line in file]


def run(command, timeout=900):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def test_two_step_smoke_run_writes_the_run_folder(tmp_path):
    output_dir = tmp_path / "run"
    result = run(train_command(output_dir))
    assert f"Outputs written to: {output_dir}" in result.stdout
    # Said before the (slow) first step, after the run's description.
    building = result.stdout.index("Building the training step")
    assert result.stdout.index("Training vqct") < building
    for name in (
        "flags.txt",
        "checkpoint.npz",
        "history.jsonl",
        "tokenizer.keras",
        "metrics.json",
        "training_curves.png",
        "reconstructions_0000002.png",
    ):
        assert (output_dir / name).exists(), name
    records = history(output_dir)
    assert [r["step"] for r in records] == [1, 2]
    assert records[0]["disc_factor"] == 0.0  # disc_start=1
    assert records[1]["disc_factor"] == 1.0
    assert "--steps=2" in (output_dir / "flags.txt").read_text()


def test_bad_flags_fail_clearly(tmp_path):
    result = subprocess.run(
        train_command(tmp_path / "bad", "--preset=vqct_huge"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "--preset must be one of" in result.stderr


@pytest.mark.large
def test_resume_after_kill_equals_uninterrupted_run(tmp_path):
    extra = ("--steps=4", "--steps_per_epoch=1", "--codebook_dropout=0")
    reference = tmp_path / "reference"
    run(train_command(reference, *extra))

    interrupted = tmp_path / "interrupted"
    process = subprocess.Popen(
        train_command(interrupted, *extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoint = interrupted / "checkpoint.npz"
    deadline = time.time() + 600
    while time.time() < deadline and process.poll() is None:
        if checkpoint.exists():
            with np.load(checkpoint) as data:
                if int(data["__step__"]) >= 2:
                    break
        time.sleep(0.2)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    result = run(train_command(interrupted, *extra))
    assert "Resumed from" in result.stdout

    expected = {r["step"]: r for r in history(reference)}
    resumed = {r["step"]: r for r in history(interrupted)}
    assert resumed[4]["step"] == 4
    for key in ("loss", "l1", "vq_loss", "d_loss"):
        np.testing.assert_allclose(
            resumed[4][key], expected[4][key], rtol=1e-4, atol=1e-5
        )


@pytest.mark.large
def test_mirrored_run_on_two_logical_cpus(tmp_path):
    output_dir = tmp_path / "mirrored"
    result = run(
        train_command(
            output_dir,
            "--logical_cpus=2",
            "--distribution=mirrored",
            "--devices=CPU:0,CPU:1",
        )
    )
    assert "over 2 replica(s)" in result.stdout
    assert [r["step"] for r in history(output_dir)] == [1, 2]


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@pytest.mark.large
def test_multi_worker_run_on_loopback(tmp_path):
    workers = [f"localhost:{free_port()}" for _ in range(2)]
    processes = []
    for index in range(2):
        tf_config = {
            "cluster": {"worker": workers},
            "task": {"type": "worker", "index": index},
        }
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps(tf_config),
            TF_CPP_MIN_LOG_LEVEL="3",
        )
        processes.append(
            subprocess.Popen(
                train_command(
                    tmp_path / f"worker_{index}",
                    "--distribution=multi_worker",
                ),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for process in processes:
        stdout, stderr = process.communicate(timeout=900)
        assert process.returncode == 0, stderr[-4000:]
        assert "over 2 replica(s)" in stdout
    for index in range(2):
        records = history(tmp_path / f"worker_{index}")
        assert [r["step"] for r in records] == [1, 2]
    # Both workers hold the same model after the synchronised steps.
    np.testing.assert_allclose(
        history(tmp_path / "worker_0")[-1]["l1"],
        history(tmp_path / "worker_1")[-1]["l1"],
        rtol=1e-6,
    )


class _Stream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty


def test_progress_is_a_bar_on_a_terminal_and_lines_in_logs():
    from training.train import progress_verbosity

    assert progress_verbosity(None, _Stream(True)) == 1
    # A CI log or a file: one line per epoch, not a line per step.
    assert progress_verbosity(None, _Stream(False)) == 2
    for chosen in (0, 1, 2):  # What the user asks wins.
        assert progress_verbosity(chosen, _Stream(False)) == chosen


def test_paper_presets_and_demo_leave_progress_to_the_default():
    configs = os.path.join(ROOT, "training", "configs")
    for name in sorted(os.listdir(configs)):
        if name == "tiny_cpu.flags":  # The test runs: one line per epoch.
            continue
        with open(os.path.join(configs, name)) as file:
            assert "--verbose" not in file.read(), name
