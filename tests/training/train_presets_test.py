"""Every flagfile in training/configs/ is valid and runs.

Fast (every run): each flagfile parses with train.py's own flags, names
splits its dataset has, gives the paper's evaluation protocol for the paper
presets, and sets the official values (batch, lr, epochs, Adam epsilon...).

`large`: `train.py` for two steps on `tfds.testing.mock_data` of the
preset's dataset (its own splits, image size, held-out and evaluation
settings; narrower networks and batch 2 for speed), then `evaluate.py` on
the result with the preset's protocol, which must reproduce the
end-of-training figures. (Most of its time is graph compilation and the
2048x2048 FID eigendecompositions, whatever the image count.)"""

import contextlib
import glob
import json
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from absl import app

from tests.training.evaluate_test import isolated_flags
from tests.training.evaluate_test import run_cli
from training import cli_utils
from training import evaluate
from training import train
from training import train_flags

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "training", "configs", "*")))
NUM_EXAMPLES = 4
# Narrower networks (width only) and batch 2: the presets' resolution,
# depth, splits, losses and protocols are kept.
SPEED_OVERRIDES = (
    "--batch_size=2",
    "--architecture=ch=32,z_channels=32,embed_dim=32",
    "--disc_ndf=8",
    # In-process runs keep Keras' global distribution untouched.
    "--distribution=default",
    "--steps=2",
    "--verbose=0",
)
# The evaluation flags of train.py and their evaluate.py names.
PROTOCOL_FLAGS = {
    "eval_split": "split",
    "eval_jpeg_quality": "jpeg_quality",
    "eval_max_images": "max_images",
    "eval_fid_protocol": "fid_protocol",
}


def preset_flags(path):
    """`{name: value}` of the flags a flagfile sets."""
    values = {}
    with open(path) as file:
        for line in file:
            line = line.strip()
            if line.startswith("--"):
                name, _, value = line[2:].partition("=")
                values[name] = value
    return values


def tiny_prior_file(directory):
    from tests.builders import tiny_prior

    path = os.path.join(directory, "prior.npz")
    tiny_prior().save(path)
    return path


def run_train(argv):
    with isolated_flags(train_flags.define_flags) as registry:
        registry.unparse_flags()
        registry(["train"] + list(argv))
        train.main([])


def load_json(path):
    with open(path) as file:
        return json.load(file)


PAPER_PRESETS = {
    # global batch, lr = 4.5e-6 x batch (docs/method.md, presets table).
    "ade20k_f16.flags": ("ade20k", 16, 7.2e-5),
    "celeba_hq_f16.flags": ("celeba_hq", 16, 7.2e-5),  # assumed
    "coco2014_f16.flags": ("coco2014", 16, 7.2e-5),
    "cub200_f16.flags": ("cub200", 2, 9e-6),
}


@contextlib.contextmanager
def parsed_flags(config, *extra):
    """The flagfile parsed by train.py's flags (unknown flags raise)."""
    with isolated_flags(train_flags.define_flags) as registry:
        registry.unparse_flags()
        registry(["train", f"--flagfile={config}", *extra])
        yield registry


@pytest.mark.parametrize("config", CONFIGS, ids=os.path.basename)
def test_preset_flags_resolve_to_existing_splits(config):
    from vqct_keras.data import catalog

    with parsed_flags(config) as flags:
        assert flags.steps or flags.epochs, "no training length"
        protocol = cli_utils.protocol_from_flags(
            flags.dataset, train_flags.EVAL_PROTOCOL
        )
        entry = catalog.ENTRIES[flags.dataset]
        assert catalog.base_split(flags.train_split) in entry.splits
        assert catalog.base_split(protocol.split) in entry.splits
        if os.path.basename(config) in PAPER_PRESETS:
            assert protocol.paper_differences(flags.dataset) == []


@pytest.mark.parametrize("config", sorted(PAPER_PRESETS))
def test_paper_presets_set_the_official_values(config):
    dataset, batch, learning_rate = PAPER_PRESETS[config]
    path = os.path.join(ROOT, "training", "configs", config)
    with parsed_flags(path) as flags:
        assert flags.dataset == dataset
        assert flags.preset == "vqct_f16_256" and flags.image_size == 256
        assert flags.batch_size == batch
        assert flags.learning_rate is None
        np.testing.assert_allclose(
            flags.base_learning_rate * flags.batch_size, learning_rate
        )
        assert flags.epochs == 500 and flags.steps is None
        assert flags.adam_epsilon == 1e-8
        assert (flags.disc_start, flags.disc_weight) == (5000, 0.8)
        assert (flags.top_k, flags.codebook_dropout) == (2, 0.5)
        assert flags.perceptual_weight == 1.0 and flags.codebook_weight == 1
        assert (flags.disc_ndf, flags.disc_layers) == (64, 3)
        assert flags.recompute_reconstruction and flags.seed == 0
        assert flags.epoch_eval_batches == 0  # the whole validation split
        assert flags.steps_per_epoch is None  # one pass per epoch
        assert flags.evaluate_checkpoint == "best"
        # Length in passes: 500 x floor(split size / global batch) steps.
        total, per_epoch, per_pass = length(flags, 5994, batch)
        assert per_pass == per_epoch == 5994 // batch
        assert total == 500 * per_pass
    # Every value line sits under a comment naming its source.
    with open(path) as file:
        lines = [line.strip() for line in file if line.strip()]
    run = 0
    for index, line in enumerate(lines):
        run = run + 1 if line.startswith("--") else 0
        if line.startswith("--"):
            assert index >= run and lines[index - run].startswith("#"), line
            assert run <= 2, f"{line}: more than 2 values under one comment"


def length(flags, train_examples, batch_size):
    """`train.training_length` with the length flags of `flags`."""
    return train.training_length(
        train_examples,
        batch_size,
        steps=flags.steps,
        epochs=flags.epochs,
        steps_per_epoch=flags.steps_per_epoch,
    )


def test_steps_win_over_epochs_and_a_length_is_required():
    path = os.path.join(ROOT, "training", "configs", "cub200_f16.flags")
    with parsed_flags(path, "--steps=7", "--steps_per_epoch=3") as flags:
        assert length(flags, 5994, 2) == (7, 3, 2997)
    with parsed_flags(path, "--steps=2") as flags:
        assert length(flags, 10, 2) == (2, 2, 5)
    tiny = os.path.join(ROOT, "training", "configs", "tiny_cpu.flags")
    with parsed_flags(tiny) as flags:
        flags.steps = None
        with pytest.raises(app.UsageError, match="--epochs"):
            length(flags, 10, 2)
        flags.steps = 2
        with pytest.raises(app.UsageError, match="lower --batch_size"):
            length(flags, 1, 2)


def test_every_preset_is_tested():
    names = {os.path.basename(path) for path in CONFIGS}
    assert {
        "ablation.flags",
        "ade20k_f16.flags",
        "celeba_hq_f16.flags",
        "coco2014_f16.flags",
        "cub200_f16.flags",
        "demo.flags",
        "tiny_cpu.flags",
    } <= names


@pytest.mark.large
@pytest.mark.parametrize("config", CONFIGS, ids=os.path.basename)
def test_preset_trains_two_steps_and_evaluates(
    config, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    flags = preset_flags(config)
    output_dir = tmp_path / "run"
    with tfds.testing.mock_data(num_examples=NUM_EXAMPLES):
        run_train(
            [
                f"--flagfile={config}",
                f"--output_dir={output_dir}",
                f"--prior={tiny_prior_file(str(tmp_path))}",
                *SPEED_OVERRIDES,
            ]
        )
        trained = capsys.readouterr().out
        evaluation_dir = tmp_path / "evaluation"
        model = output_dir / "tokenizer_best.keras"
        run_cli(
            evaluate,
            [
                f"--model={model}",
                f"--dataset={flags['dataset']}",
                f"--output_dir={evaluation_dir}",
                # The batch size of the end-of-training evaluation: XLA's
                # CPU convolutions round differently for another batch
                # shape, and rFID from 4 images amplifies that (0.13%
                # measured on JAX with batches of 3 instead of 4).
                f"--batch_size={flags.get('eval_batch_size', 16)}",
                "--noprogress",
            ]
            + [
                f"--{PROTOCOL_FLAGS[name]}={flags[name]}"
                for name in PROTOCOL_FLAGS
                if name in flags
            ],
        )
        evaluated = capsys.readouterr().out

    with open(output_dir / "history.jsonl") as file:
        history = [json.loads(line) for line in file]
    assert history[-1]["step"] == 2
    assert all(np.isfinite(record["loss"]) for record in history)
    assert all(record["val_rec_loss"] > 0 for record in history)
    best = load_json(output_dir / "best.json")
    assert best["val_rec_loss"] == min(r["val_rec_loss"] for r in history)
    for name in ("tokenizer.keras", "tokenizer_best.keras", "metrics.json"):
        assert (output_dir / name).exists(), name

    final = load_json(output_dir / "metrics.json")
    again = load_json(evaluation_dir / "metrics.json")
    protocol = final["protocol"]
    # The preset's protocol, stated in the JSON and on the console.
    assert protocol["split"] == flags.get("eval_split", "test")
    assert protocol["jpeg_quality"] == (
        int(flags["eval_jpeg_quality"])
        if "eval_jpeg_quality" in flags
        else None
    )
    assert "deterministic, no flip" in protocol["preprocessing"]
    assert final["metadata"]["preprocessing"]["random_flip"] is False
    assert final["metadata"]["checkpoint"] == "best"
    assert protocol["num_images"] == final["num_images"] > 0
    assert protocol["fid_inception_weights"].startswith("FID InceptionV3")
    assert any("biased upwards" in w for w in final["warnings"])
    for output in (trained, evaluated):
        assert f"split {protocol['split']!r}" in output
        assert "WARNING: rFID from" in output
    if flags["dataset"] in ("ade20k", "coco2014", "cub200", "celeba_hq"):
        # The paper presets: the whole held-out split, JPEG 75.
        assert protocol["paper_protocol"] is True
        assert protocol["whole_split"]
        assert protocol["num_images"] == protocol["split_size"]
        assert "This is the paper's evaluation protocol." in trained

    # evaluate.py with the preset's protocol reproduces the final metrics.
    for key in ("split", "num_images", "jpeg_quality", "preprocessing"):
        assert again["protocol"][key] == protocol[key], key
    for key in ("psnr", "ssim", "l1", "lpips", "rfid", "noun_usage"):
        np.testing.assert_allclose(
            again[key], final[key], rtol=1e-4, err_msg=key
        )
