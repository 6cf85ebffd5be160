r"""The VQCT ablation study: every codebook arm, several seeds, same images.

Trains, one after another, the same tokenizer (architecture, steps, batch,
learning rate and data order: one `training/train.py` flagfile) with each
codebook arm, and scores every run on the same held-out images:

- `vqct`: the GCN transfer of the language-model prior, split by part of
  speech (the library's default);
- `vqgan_1024`: a learned codebook of 1,024 codes (the usual VQGAN size);
- `vqgan_same_count`: a learned codebook with as many codes as the prior;
- `mlp`: the prior through a per-word MLP (no graph);
- `frozen`: the prior vectors themselves, projected, no transfer network;
- `random_prior`: the GCN over the same graph with random Gaussian word
  vectors (same per-dimension mean and spread as the prior's, a new draw
  per seed): what the network alone brings, without the language model.

Each run is a `training/train.py` run folder `<output_dir>/runs/<arm>/
seed<k>/` (checkpoint, `history.jsonl` with the held-out codebook usage
every `--steps_per_epoch`, `metrics.json` with rFID, LPIPS, PSNR, SSIM,
usage, perplexity and dead codes per codebook, `reconstructions.png`). The
originals' Inception statistics are computed by the first run and reused
from `<output_dir>/fid_reference.npz` (checked by a pixel digest).

Resumable: a finished run (`result.json` in its folder) is never run
again, an interrupted one continues from its last checkpoint. Re-running
the command after the study finished trains nothing and rewrites
`<output_dir>/ablation.json` (also rewritten after every run, marked
`complete` or not); `benchmarks/report.py` turns that into
`docs/results/ablation.md`.

Usage (from the repository root):

    python benchmarks/ablation.py
    python benchmarks/ablation.py --quick --output_dir=/tmp/ablation_quick
    python benchmarks/ablation.py \
        --flagfile=benchmarks/configs/ablation_paper.flags

`--quick` (one seed, 8 steps, 32 images, a tiny architecture)
checks that the study runs end to end; its numbers mean nothing.
"""

import datetime
import json
import os
import shlex
import signal
import subprocess
import sys
import time

from absl import app
from absl import flags

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN_SCRIPT = os.path.join(REPO_ROOT, "training", "train.py")
RESULT_FILE = "result.json"
STUDY_FILE = "ablation.json"
# The default study's folder: in the repository, so that a study can be
# finished over several sittings, even on a new clone (its .gitignore keeps
# each run's result.json and reconstructions.png, not the checkpoints).
DEFAULT_STUDY = os.path.join("benchmarks", "results", "ablation")

# Arm name -> (description, train.py flags). `{prior_codes}` and
# `{random_prior}` are filled in per study and seed.
ARMS = {
    "vqct": (
        "VQCT: GCN transfer of the language-model prior, part-of-speech split",
        [],
    ),
    "vqgan_1024": (
        "VQGAN: learned codebook of 1,024 codes",
        ["--quantizer=vector", "--num_codes=1024"],
    ),
    "vqgan_same_count": (
        "VQGAN: learned codebook with as many codes as the prior",
        ["--quantizer=vector", "--num_codes={prior_codes}"],
    ),
    "mlp": ("Prior through an MLP (no graph)", ["--transfer=mlp"]),
    "frozen": (
        "Prior vectors, projected, no transfer network",
        ["--transfer=frozen"],
    ),
    "random_prior": (
        "GCN over the same graph, random Gaussian word vectors",
        ["--prior={random_prior}"],
    ),
}

# What --quick changes (a few minutes on a 2-core CPU).
QUICK = {
    "seeds": 1,
    "steps": 8,
    "steps_per_epoch": 4,
    "eval_images": 32,
    "train_args": [
        "--preset=vqct_tiny_32",
        "--batch_size=4",
        "--eval_batch_size=16",
        "--epoch_eval_batches=1",
        "--perceptual_weight=0",
        "--disc_start=8",
    ],
}

FLAGS = flags.FLAGS


def define_flags(flag_values=flags.FLAGS):
    """Define the command's flags (in `flag_values`)."""
    flags.DEFINE_string(
        "output_dir",
        None,
        "The study's folder (resumed when it exists). Default: "
        f"{DEFAULT_STUDY} (runs/ablation-quick with --quick).",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "train_flagfile",
        "training/configs/ablation.flags",
        "train.py flagfile shared by every arm: architecture, data, steps, "
        "batch, learning rate.",
        flag_values=flag_values,
    )
    flags.DEFINE_list(
        "arms",
        list(ARMS),
        f"Arms to run, of {list(ARMS)}.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "seeds", 3, "Seeds per arm (0, 1, ...).", 1, flag_values=flag_values
    )
    flags.DEFINE_integer(
        "steps",
        None,
        "Training steps per run; default: the flagfile's.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "steps_per_epoch",
        None,
        "Steps between held-out usage points (the usage curve); default: "
        "the flagfile's.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "eval_images",
        2048,
        "Held-out images scored per run (the first N of the split, the "
        "same for every run; at least 2,048 for an unbiased rFID).",
        lower_bound=2,
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "prior",
        None,
        "Codebook prior .npz of the prior arms; default: the MiniLM prior "
        "that scripts/setup.sh builds.",
        flag_values=flag_values,
    )
    flags.DEFINE_list(
        "train_args",
        [],
        "Extra train.py flags for every run, e.g. --train_args="
        "--distribution=mirrored (comma-separated).",
        flag_values=flag_values,
    )
    flags.DEFINE_bool(
        "quick",
        False,
        "One seed, a few dozen steps, 64 images, a tiny model: checks that "
        "the study runs; the numbers mean nothing.",
        flag_values=flag_values,
    )


class StudyFailed(RuntimeError):
    """A run of the study failed; its log says why."""


def study_settings():
    """The study's settings from the flags (`--quick` applied)."""
    settings = {
        "train_flagfile": _repository_relative(FLAGS.train_flagfile),
        "arms": list(FLAGS.arms),
        "seeds": FLAGS.seeds,
        "steps": FLAGS.steps,
        "steps_per_epoch": FLAGS.steps_per_epoch,
        "eval_images": FLAGS.eval_images,
        "train_args": list(FLAGS.train_args),
        "quick": FLAGS.quick,
    }
    if FLAGS.quick:
        settings.update(
            seeds=QUICK["seeds"],
            steps=QUICK["steps"],
            steps_per_epoch=QUICK["steps_per_epoch"],
            eval_images=min(FLAGS.eval_images, QUICK["eval_images"]),
            train_args=QUICK["train_args"] + settings["train_args"],
        )
    unknown = [arm for arm in settings["arms"] if arm not in ARMS]
    if unknown:
        raise app.UsageError(
            f"Unknown --arms {unknown}; choose from {list(ARMS)}."
        )
    if not os.path.isfile(os.path.join(REPO_ROOT, settings["train_flagfile"])):
        raise app.UsageError(
            f"--train_flagfile {FLAGS.train_flagfile} does not exist; give "
            "a training/train.py flagfile (e.g. "
            "training/configs/ablation.flags)."
        )
    return settings


def _repository_relative(path):
    """`path` relative to the repository when inside it (so that a study
    folder means the same on another clone), else absolute."""
    path = os.path.abspath(path)
    inside = os.path.commonpath([path, REPO_ROOT]) == REPO_ROOT
    return os.path.relpath(path, REPO_ROOT) if inside else path


def load_prior(path):
    """The prior the prior arms use (the default one when `path` is
    None)."""
    from vqct_keras.prior.codebook_prior import CodebookPrior

    if path:
        return CodebookPrior.load(path)
    from vqct_keras.prior.default_prior import load_default_prior

    return load_default_prior()


def random_prior(prior, seed):
    """`prior` with every word vector replaced by an independent Gaussian
    draw of the same per-dimension mean and standard deviation."""
    import dataclasses

    import numpy as np

    rng = np.random.default_rng(1000 + seed)
    vectors = prior.vectors.astype("float64")
    mean = vectors.mean(axis=0)
    std = vectors.std(axis=0)
    drawn = mean + std * rng.standard_normal(vectors.shape)
    metadata = dict(prior.metadata)
    metadata["ablation"] = (
        "random Gaussian word vectors (per-dimension mean and std of the "
        f"prior {prior.content_sha256()[:12]}), seed {seed}"
    )
    return dataclasses.replace(
        prior, vectors=drawn.astype("float32"), metadata=metadata
    )


def run_folder(output_dir, arm, seed):
    return os.path.join(output_dir, "runs", arm, f"seed{seed}")


def train_command(settings, output_dir, arm, seed, fill):
    """The `training/train.py` command line of one run."""
    args = [
        sys.executable,
        TRAIN_SCRIPT,
        "--flagfile=" + os.path.join(REPO_ROOT, settings["train_flagfile"]),
        f"--output_dir={run_folder(output_dir, arm, seed)}",
        f"--seed={seed}",
        f"--eval_max_images={settings['eval_images']}",
        "--eval_fid_reference_cache="
        + os.path.join(
            output_dir, f"fid_reference_{settings['eval_images']}.npz"
        ),
        "--verbose=2",
    ]
    if settings["steps"]:
        args.append(f"--steps={settings['steps']}")
    if settings["steps_per_epoch"]:
        args.append(f"--steps_per_epoch={settings['steps_per_epoch']}")
    if FLAGS.prior:
        args.append(f"--prior={os.path.abspath(FLAGS.prior)}")
    args += settings["train_args"]
    args += [flag.format(**fill) for flag in ARMS[arm][1]]
    return args


def display_command(args):
    """A command line as a user types it from the repository root: `python`
    for this interpreter, paths inside the repository relative to it."""
    shown = []
    for arg in args:
        arg = "python" if arg == sys.executable else arg
        shown.append(arg.replace(REPO_ROOT + os.sep, ""))
    return shlex.join(shown)


def _die_with_parent():
    """Make the child receive SIGTERM when this process dies (Linux), so
    that a killed study never leaves a training run holding its folder."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_one(settings, output_dir, arm, seed, fill):
    """Train and evaluate one run (or resume it); returns its result."""
    from vqct_keras.utils import files

    folder = run_folder(output_dir, arm, seed)
    result_path = os.path.join(folder, RESULT_FILE)
    if os.path.exists(result_path):
        with open(result_path) as f:
            return json.load(f), False
    os.makedirs(folder, exist_ok=True)
    command = train_command(settings, output_dir, arm, seed, fill)
    log_path = os.path.join(folder, "train.log")
    print(f"[ablation] {arm} seed {seed}: training (log: {log_path})")
    start = time.time()
    with open(log_path, "a") as log:
        log.write(f"\n$ {shlex.join(command)}\n")
        log.flush()
        completed = subprocess.run(
            command,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    seconds = time.time() - start
    if completed.returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-3000:]
        raise StudyFailed(
            f"{arm} seed {seed} failed (exit {completed.returncode}); its "
            f"log {log_path} ends with:\n{tail}\nFix the cause and re-run "
            "the same command: finished runs are kept, this one resumes."
        )
    result = collect_result(folder, arm, seed, command, seconds)
    files.write_json(result_path, result)
    return result, True


def collect_result(folder, arm, seed, command, seconds):
    """The figures of a finished run folder (metrics + usage curve)."""
    with open(os.path.join(folder, "metrics.json")) as f:
        metrics = json.load(f)
    curve = []
    with open(os.path.join(folder, "history.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            curve.append(
                {
                    key: value
                    for key, value in record.items()
                    if key == "step"
                    or key.endswith("_usage")
                    or key in ("val_psnr", "val_rec_loss")
                }
            )
    figures = {
        key: value
        for key, value in metrics.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    return {
        "arm": arm,
        "seed": seed,
        "figures": figures,
        "codebooks": metrics.get("codebooks", {}),
        "usage_curve": curve,
        "checkpoint": metrics.get("metadata", {}).get("checkpoint"),
        "checkpoint_step": metrics.get("metadata", {}).get("checkpoint_step"),
        "train_seconds": seconds,
        "command": display_command(command),
        "reconstructions": os.path.relpath(
            os.path.join(folder, "reconstructions.png"), folder
        ),
    }


def run_study(settings, output_dir):
    """Every arm and seed, in order; `ablation.json` is rewritten after each
    run (a study stopped part way can be reported as such)."""
    prior = load_prior(FLAGS.prior)
    from benchmarks import machine
    from vqct_keras.utils import files

    study = {
        "settings": settings,
        "arms": {arm: ARMS[arm][0] for arm in settings["arms"]},
        "prior": {
            "num_adjectives": prior.num_adjectives,
            "num_nouns": prior.num_nouns,
            "sha256": prior.content_sha256(),
        },
        "command": display_command(
            ["python", os.path.relpath(sys.argv[0], REPO_ROOT)] + sys.argv[1:]
        ),
        "machine": machine.machine_description(),
        "versions": machine.versions(),
        "planned_runs": len(settings["arms"]) * settings["seeds"],
        "complete": False,
        "runs_trained_now": 0,
        "results": [],
    }
    results = study["results"]
    # Seed by seed (every arm once, then again): a study stopped part way
    # has compared every arm on the first seeds.
    for seed in range(settings["seeds"]):
        for arm in settings["arms"]:
            fill = {"prior_codes": prior.num_codes, "random_prior": ""}
            if arm == "random_prior":
                path = os.path.join(output_dir, f"random_prior_seed{seed}.npz")
                if not os.path.exists(path):
                    random_prior(prior, seed).save(path)
                fill["random_prior"] = path
            result, ran = run_one(settings, output_dir, arm, seed, fill)
            study["runs_trained_now"] += ran
            results.append(result)
            study["complete"] = len(results) == study["planned_runs"]
            study["updated"] = datetime.datetime.now(
                datetime.timezone.utc
            ).isoformat(timespec="seconds")
            files.write_json(os.path.join(output_dir, STUDY_FILE), study)
            figures = result["figures"]
            print(
                f"[ablation] {len(results)}/{study['planned_runs']} {arm} "
                f"seed {seed}{'' if ran else ' (done before)'}: PSNR "
                f"{_fmt(figures.get('psnr'))} dB, LPIPS "
                f"{_fmt(figures.get('lpips'))}, rFID "
                f"{_fmt(figures.get('rfid'))}",
                flush=True,
            )
    return study


def _fmt(value):
    return "n/a" if value is None else f"{value:.4g}"


def main(argv):
    from vqct_keras.utils import files

    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    settings = study_settings()
    default = "runs/ablation-quick" if settings["quick"] else DEFAULT_STUDY
    output_dir = os.path.abspath(
        FLAGS.output_dir or os.path.join(REPO_ROOT, default)
    )
    os.makedirs(output_dir, exist_ok=True)
    settings_path = os.path.join(output_dir, "settings.json")
    if os.path.exists(settings_path):
        with open(settings_path) as f:
            earlier = json.load(f)
        changed = {
            key: (earlier.get(key), value)
            for key, value in settings.items()
            if key != "arms" and earlier.get(key) != value
        }
        if changed:
            raise app.UsageError(
                f"{output_dir} holds a study with other settings "
                f"{changed} (earlier, now): its runs would not be "
                "comparable. Give another --output_dir or the same flags."
            )
    files.write_json(settings_path, settings)
    try:
        study = run_study(settings, output_dir)
    except StudyFailed as error:
        print(f"[ablation] {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(
        f"[ablation] {len(study['results'])} runs ({study['runs_trained_now']}"
        f" trained now). Report: python benchmarks/report.py "
        f"--study={output_dir}"
    )
    print(output_dir)


if __name__ == "__main__":
    define_flags()
    app.run(main)
