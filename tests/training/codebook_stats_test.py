import json
import os

import numpy as np

from tests.training.evaluate_test import run_cli
from tests.training.evaluate_test import saved_model  # noqa: F401
from tests.training.evaluate_test import write_image_folder
from training import codebook_stats


def test_effective_rank_counts_spread_directions():
    rng = np.random.default_rng(0)
    flat = rng.normal(size=(500, 8)) * np.array([1, 1, 1, 1, 0, 0, 0, 0])
    assert 3.5 < codebook_stats.effective_rank(flat) <= 4.0
    line = rng.normal(size=(500, 1)) * np.ones((1, 8))
    assert codebook_stats.effective_rank(line) < 1.1


def test_colour_summary_sees_lost_colours():
    rng = np.random.default_rng(0)
    colours = rng.uniform(-1, 1, (16, 1, 1, 3))
    images = np.broadcast_to(colours, (16, 4, 4, 3))
    grey = np.broadcast_to(colours.mean(-1, keepdims=True), images.shape)
    kept = codebook_stats.colour_summary(images)
    lost = codebook_stats.colour_summary(grey)
    assert min(kept["channel_mean_std_over_images"]) > 0.3
    assert lost["saturation"] == 0.0
    assert codebook_stats.mean_psnr(images, images + 0.02) > 39


def test_cli_writes_codebook_latent_and_colour_numbers(
    saved_model,  # noqa: F811
    tmp_path,
):
    folder = write_image_folder(str(tmp_path / "images"), 4, size=(16, 16))
    output = str(tmp_path / "stats.json")
    run_cli(
        codebook_stats,
        [
            f"--model={saved_model}",
            f"--dataset={folder}",
            "--split=test",
            "--image_size=16",
            "--batch_size=2",
            "--batches=2",
            f"--data_dir={os.path.join(folder, 'tfds')}",
            f"--output={output}",
        ],
    )
    with open(output) as file:
        results = json.load(file)
    assert results["images"] == 4
    for half in ("adjectives", "nouns"):
        assert results[half]["codebook"]["effective_rank"] > 0
        assert results[half]["codes_used"] >= 1
    assert len(results["reconstructions"]["channel_mean"]) == 3
    assert np.isfinite(results["psnr_unquantized"])
