"""The ablation study: its arms, its resumable runs and its report.

The fast tests check the pieces without training; the `large` test runs
`benchmarks/ablation.py --quick` end to end (every arm), kills it in the
middle of a run, re-runs it (the run resumes from its checkpoint, finished
runs are kept), re-runs it once more (nothing is trained) and writes the
report.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import PIL.Image
import pytest
from absl import flags

from benchmarks import ablation
from benchmarks import report
from tests.builders import tiny_prior

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@pytest.fixture
def parsed_flags():
    """The ablation and report flags defined and parsed in the global
    `FLAGS` (flags of the same names that other tests defined are set
    aside and put back)."""
    names = set()
    for define in (ablation.define_flags, report.define_flags):
        scratch = flags.FlagValues()
        define(scratch)
        names.update(scratch)
    saved = {}
    for name in names:
        if name in flags.FLAGS:
            saved[name] = flags.FLAGS[name]
            delattr(flags.FLAGS, name)
    ablation.define_flags()
    report.define_flags()
    flags.FLAGS(["test"])
    yield flags.FLAGS
    for name in names:
        delattr(flags.FLAGS, name)
    for name, flag in saved.items():
        flags.FLAGS[name] = flag


def test_random_prior_keeps_words_graph_and_scale():
    prior = tiny_prior()
    drawn = ablation.random_prior(prior, seed=0)
    assert drawn.adjectives == prior.adjectives
    assert drawn.nouns == prior.nouns
    np.testing.assert_array_equal(drawn.edges, prior.edges)
    assert not np.allclose(drawn.vectors, prior.vectors)
    assert drawn.vectors.shape == prior.vectors.shape
    # Same per-dimension scale (16 words: loose bounds).
    ratio = drawn.vectors.std(axis=0) / prior.vectors.std(axis=0)
    assert 0.4 < np.median(ratio) < 1.6
    # A new draw per seed, the same draw for the same seed.
    again = ablation.random_prior(prior, seed=0).vectors
    np.testing.assert_array_equal(again, drawn.vectors)
    assert not np.allclose(ablation.random_prior(prior, 1).vectors, again)
    assert "random Gaussian" in drawn.metadata["ablation"]


def test_every_arm_trains_with_the_same_flags_but_its_own(parsed_flags):
    settings = ablation.study_settings()
    fill = {"prior_codes": 6996, "random_prior": "/p/random.npz"}
    commands = {
        arm: ablation.train_command(settings, "/study", arm, 2, fill)
        for arm in ablation.ARMS
    }
    shared = set(commands["vqct"])
    for arm, command in commands.items():
        assert "--seed=2" in command
        assert "--eval_max_images=2048" in command
        assert any(a.startswith("--eval_fid_reference_cache=") for a in command)
        own = [
            a
            for a in command
            if a not in shared and not a.startswith("--output_dir=")
        ]
        assert own == [f.format(**fill) for f in ablation.ARMS[arm][1]], arm
        assert any(a.endswith(os.path.join(arm, "seed2")) for a in command)
    assert "--num_codes=6996" in commands["vqgan_same_count"]
    assert "--prior=/p/random.npz" in commands["random_prior"]


@pytest.mark.parametrize("name", ["ablation_cpu.flags", "ablation_paper.flags"])
def test_study_flagfiles_resolve(parsed_flags, name):
    path = os.path.join(REPO_ROOT, "benchmarks", "configs", name)
    parsed_flags(["test", f"--flagfile={path}"])
    settings = ablation.study_settings()
    assert settings["seeds"] == 3
    assert settings["arms"] == list(ablation.ARMS)
    assert settings["eval_images"] >= 2000
    flagfile = os.path.join(REPO_ROOT, settings["train_flagfile"])
    assert os.path.isfile(flagfile)
    command = ablation.train_command(
        settings, "/study", "vqct", 0, {"prior_codes": 1, "random_prior": ""}
    )
    assert f"--flagfile={flagfile}" in command


def test_default_study_equals_the_cpu_flagfile(parsed_flags):
    default = ablation.study_settings()
    path = os.path.join(
        REPO_ROOT, "benchmarks", "configs", "ablation_cpu.flags"
    )
    parsed_flags(["test", f"--flagfile={path}"])
    assert ablation.study_settings() == default
    assert parsed_flags.output_dir == ablation.DEFAULT_STUDY


def test_unknown_arm_is_a_usage_error(parsed_flags):
    parsed_flags.arms = ["vqct", "vqgan"]
    with pytest.raises(Exception, match="Unknown --arms.*vqgan"):
        ablation.study_settings()


def test_display_command_is_relative_to_the_repository():
    command = [
        sys.executable,
        os.path.join(ablation.REPO_ROOT, "training", "train.py"),
        "--seed=0",
    ]
    assert ablation.display_command(command) == (
        "python training/train.py --seed=0"
    )


def test_mean_and_sample_spread():
    assert report.mean_and_spread([1.0, 2.0, 3.0]) == (2.0, 1.0, 3)
    assert report.mean_and_spread([4.0, None]) == (4.0, None, 1)
    assert report.mean_and_spread([]) == (None, None, 0)
    assert report.format_cell([0.5, 0.7], "{:.1f}", 100.0) == "60.0 ± 14.1"


def _fake_study(folder):
    """An ablation.json of two arms x two seeds with made-up figures."""
    flagfile = folder / "train.flags"
    flagfile.write_text("--steps=4\n")
    grid = np.full((2 * 64 + 3 * report.GRID_GAP, 200, 3), 255, "uint8")
    results = []
    for arm, psnr, sizes in (
        ("vqct", 20.0, {"adjective": 10, "noun": 20}),
        ("vqgan_1024", 18.0, {"codebook": 1024}),
    ):
        for seed in range(2):
            run = folder / "runs" / arm / f"seed{seed}"
            run.mkdir(parents=True)
            PIL.Image.fromarray(grid).save(run / "reconstructions.png")
            codebooks = {
                name: {
                    "num_codes": size,
                    "used_codes": size // 2,
                    "usage_fraction": 0.5,
                    "perplexity": 3.0,
                    "dead_codes": size - size // 2,
                }
                for name, size in sizes.items()
            }
            curve = [
                {
                    "step": step,
                    "val_psnr": psnr + seed - 0.5,
                    **{f"val_{n}_usage": 0.1 * step for n in sizes},
                }
                for step in (1, 2)
            ]
            results.append(
                {
                    "arm": arm,
                    "seed": seed,
                    "figures": {
                        "psnr": psnr + seed,
                        "ssim": 0.5,
                        "lpips": 0.3,
                        "rfid": 50.0,
                    },
                    "codebooks": codebooks,
                    "usage_curve": curve,
                    "checkpoint_step": 2,
                    "train_seconds": 60.0,
                    "command": "python training/train.py --seed=0",
                }
            )
    study = {
        "settings": {
            "train_flagfile": str(flagfile),
            "seeds": 2,
            "eval_images": 8,
            "quick": False,
        },
        "arms": {"vqct": "VQCT", "vqgan_1024": "VQGAN"},
        "prior": {"num_adjectives": 10, "num_nouns": 20, "sha256": "ab" * 8},
        "command": "python benchmarks/ablation.py",
        "updated": "2026-12-02T00:00:00+00:00",
        "planned_runs": 6,
        "complete": False,
        "results": results,
    }
    (folder / "ablation.json").write_text(json.dumps(study))
    return study


def test_report_tables_pictures_and_spread(tmp_path, parsed_flags):
    study = _fake_study(tmp_path)
    output = str(tmp_path / "out" / "ablation.md")
    os.makedirs(os.path.dirname(output))
    # The study folder's reading goes under the tables.
    (tmp_path / report.DISCUSSION_FILE).write_text("## Reading\n\nVQCT wins.\n")
    report.render(study, str(tmp_path), output)
    with open(output) as f:
        text = f.read()
    assert "## Reading\n\nVQCT wins." in text
    assert "| `vqct` | 2 | **20.50 ± 0.71** |" in text
    # Ties are not bold.
    assert "| `vqgan_1024` | 2 | 18.50 ± 0.71 | 0.500 ± 0.000 |" in text
    assert "| `vqct` | noun | 20 | 50.0 ± 0.0 | 3 ± 0 | 10 ± 0 |" in text
    assert (
        "| `vqgan_1024` | codebook | 1,024 | 50.0 ± 0.0 | 3 ± 0 | 512 ± 0 |"
        in text
    )
    for picture in ("usage_curves.png", "reconstructions.png"):
        path = tmp_path / "out" / "ablation" / picture
        assert path.exists(), picture
        assert f"(ablation/{picture})" in text
    with PIL.Image.open(
        tmp_path / "out" / "ablation" / "reconstructions.png"
    ) as grid:
        assert grid.size[1] == 3 * (64 + report.GRID_GAP)  # originals + 2 arms
    assert "--steps=4" in text
    assert "**partial: 4 of 6 runs**" in text
    assert "Every run's final PSNR is within 3 dB" in text


def test_report_lists_a_run_whose_final_score_disagrees_with_training(
    tmp_path, parsed_flags
):
    study = _fake_study(tmp_path)
    assert report.inconsistent_runs(study) == []
    # A final evaluation far below the same checkpoint's held-out score
    # (a broken saved model, say) is flagged, not averaged in silently.
    study["results"][1]["figures"]["psnr"] = 10.0
    assert report.inconsistent_runs(study) == [("vqct", 1, 10.0, 20.5, 2)]
    output = str(tmp_path / "ablation.md")
    report.render(study, str(tmp_path), output)
    with open(output) as f:
        text = f.read()
    assert "**Suspect runs**" in text
    assert "- `vqct` seed 1: final 10.00 dB, 20.50 dB at step 2" in text


def _ablation(output_dir, *extra, **popen):
    command = [
        sys.executable,
        os.path.join(REPO_ROOT, "benchmarks", "ablation.py"),
        "--quick",
        f"--output_dir={output_dir}",
        *extra,
    ]
    env = dict(os.environ, VQCT_VERBOSE="0")
    return subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **popen,
    )


def _finish(process, timeout):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-4000:]
    return output


@pytest.mark.large
def test_quick_study_end_to_end_resumes_and_reports(tmp_path):
    study = tmp_path / "study"
    # 1. Start, and kill the whole study while the second arm trains (its
    # first checkpoint written, before its end).
    process = _ablation(study)
    second = study / "runs" / "vqgan_1024" / "seed0"
    deadline = time.time() + 900
    while not (second / "checkpoint.npz").exists():
        assert process.poll() is None, process.communicate()[0][-4000:]
        assert time.time() < deadline, "the second arm never checkpointed"
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()  # reaps it and closes its output pipe
    assert (study / "runs" / "vqct" / "seed0" / "result.json").exists()
    assert not (second / "result.json").exists()
    partial = json.loads((study / "ablation.json").read_text())
    assert partial["complete"] is False
    assert [r["arm"] for r in partial["results"]] == ["vqct"]
    first_result = (
        study / "runs" / "vqct" / "seed0" / "result.json"
    ).read_text()

    # 2. Re-run: the finished arm is kept, the killed one resumes.
    output = _finish(_ablation(study), timeout=1800)
    assert "1/6 vqct seed 0 (done before)" in output
    assert "2/6 vqgan_1024 seed 0" in output
    log = (second / "train.log").read_text()
    assert "Resumed from" in log
    assert (study / "runs" / "vqct" / "seed0" / "result.json").read_text() == (
        first_result
    )
    written = json.loads((study / "ablation.json").read_text())
    assert len(written["results"]) == len(ablation.ARMS)
    assert written["complete"] is True
    for result in written["results"]:
        figures = result["figures"]
        for key in ("psnr", "ssim", "lpips", "rfid"):
            assert np.isfinite(figures[key]), (result["arm"], key)
        assert result["codebooks"], result["arm"]
        assert result["usage_curve"], result["arm"]
    sizes = {
        r["arm"]: sum(c["num_codes"] for c in r["codebooks"].values())
        for r in written["results"]
    }
    assert sizes["vqgan_1024"] == 1024
    assert sizes["vqgan_same_count"] == sizes["vqct"] == sizes["random_prior"]
    # The originals' Inception statistics were computed once and reused.
    assert (study / "fid_reference_32.npz").exists()

    # 3. Re-run after the end: nothing is trained.
    output = _finish(_ablation(study), timeout=600)
    assert "6 runs (0 trained now)" in output

    # 4. The report.
    output_md = tmp_path / "report" / "ablation.md"
    output_md.parent.mkdir()
    completed = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO_ROOT, "benchmarks", "report.py"),
            f"--study={study}",
            f"--output={output_md}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    text = output_md.read_text()
    for arm in ablation.ARMS:
        assert f"| `{arm}` | 1 |" in text, arm
