"""The metric registry: one entry reaches the evaluator, the epoch logs,
the history plot and the CLI summary."""

import dataclasses

import numpy as np
import pytest

from vqct_keras.evaluation import ReconstructionEvaluator
from vqct_keras.layers.vector_quantizer import VectorQuantizer
from vqct_keras.metrics import registry


def _pixel_l1(images, reference):
    difference = images.astype("float64") - reference.astype("float64")
    return np.abs(difference).reshape(len(images), -1).mean(axis=1)


# Shown and logged like PSNR (summary, epoch), on the same uint8 pixels.
PIXEL_L1 = dataclasses.replace(
    registry.metric("psnr"),
    name="pixel_l1",
    display_name="pixel L1",
    higher_is_better=False,
    compute=_pixel_l1,
    unit="",
    protocol="per image mean |x_rec - x| on {uint8_side}",
)


@pytest.fixture
def with_pixel_l1(monkeypatch):
    monkeypatch.setattr(
        registry,
        "RECONSTRUCTION_METRICS",
        registry.RECONSTRUCTION_METRICS + (PIXEL_L1,),
    )


def _evaluate():
    evaluator = ReconstructionEvaluator(
        VectorQuantizer(num_codes=4, embed_dim=2),
        compute_fid=False,
        compute_lpips=False,
    )
    images = np.zeros((2, 8, 8, 3), "float32")
    evaluator.update(images, images + 0.5, np.zeros((2, 2, 2, 1), "int32"))
    return evaluator.result()


def test_names_are_unique_and_formats_show_none():
    names = [m.name for m in registry.RECONSTRUCTION_METRICS]
    assert len(names) == len(set(names))
    for metric in registry.RECONSTRUCTION_METRICS:
        assert metric.inputs in ("float", "uint8")
        assert metric.format(None) == "-"
    assert registry.CODEBOOK_METRICS[0].format(0.5) == "50%"
    with pytest.raises(KeyError, match="known"):
        registry.metric("nope")


def test_every_registered_figure_is_in_the_results():
    results = _evaluate()
    for metric in registry.RECONSTRUCTION_METRICS:
        assert metric.name in results
        assert metric.name in results["protocol"]
    for metric in registry.CODEBOOK_METRICS:
        assert f"codebook_{metric.name}" in results
    # No LPIPS or FID networks here: their figures are null.
    assert results["psnr"] is not None and results["rfid"] is None


def test_a_new_metric_is_one_entry(with_pixel_l1, tmp_path):
    results = _evaluate()
    # to_uint8: 0.0 -> 128, 0.5 -> 191 (191.75 truncated): 63 levels.
    assert results["pixel_l1"] == pytest.approx(63.0)
    assert results["protocol"]["pixel_l1"].endswith("uint8 pixels (no JPEG)")
    assert "pixel L1 63" in registry.summary_line(results)
    assert registry.epoch_metric_names(["codebook"])[:3] == [
        "psnr",
        "ssim",
        "pixel_l1",
    ]
    pytest.importorskip("matplotlib")
    from training import callbacks

    history = [
        {"step": 1, "val_pixel_l1": 3.0},
        {"step": 2, "val_pixel_l1": 2.0},
    ]
    assert callbacks.plot_history(history, str(tmp_path / "curves.png"))


def test_a_skipped_metric_leaves_a_note(monkeypatch):
    def refuse(images, reference):
        raise registry.MetricSkipped("needs colour")

    metric = dataclasses.replace(PIXEL_L1, compute=refuse)
    monkeypatch.setattr(
        registry,
        "RECONSTRUCTION_METRICS",
        registry.RECONSTRUCTION_METRICS + (metric,),
    )
    results = _evaluate()
    assert results["pixel_l1"] is None
    assert results["notes"]["pixel_l1"] == "needs colour"
