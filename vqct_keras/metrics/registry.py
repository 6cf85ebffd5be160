"""The reconstruction metrics, in one place: what each is and how it shows.

`RECONSTRUCTION_METRICS` lists the figures of `metrics.json` (one entry a
key) and `CODEBOOK_METRICS` the per-codebook ones (`<codebook>_<name>`).
Everything that reports metrics reads them from here:

* `ReconstructionEvaluator` (`vqct_keras/evaluation.py`) computes every
  per-image metric that has a `compute` function, averages it over images
  and writes its `protocol` text into `metrics.json`;
* the training callback `EpochEvaluation` logs the `epoch` metrics as
  `val_<name>` and `plot_history` draws one panel for each;
* `summary_line` (printed by `training/evaluate.py`) shows the `summary`
  metrics with their display names and digits.

Adding a metric is one entry here (see `docs/metrics.md`): a per-image
function `compute(reconstructions, originals) -> (B,)` on the float
tensors (`inputs="float"`) or on the uint8 pixels after the optional JPEG
round trip (`inputs="uint8"`).
"""

import dataclasses
from collections.abc import Callable

from vqct_keras.metrics import image_quality


class MetricSkipped(Exception):
    """Raised by a `compute` function that cannot score these images; the
    message becomes the metric's note in `metrics.json` (under `note`, or
    the metric's own name)."""

    def __init__(self, message, note=None):
        super().__init__(message)
        self.note = note


@dataclasses.dataclass(frozen=True)
class ReconstructionMetric:
    """One figure of `metrics.json`.

    Args:
        name: str. The key in `metrics.json` (`val_<name>` in training
            logs).
        display_name: str. How summaries and plots name it.
        higher_is_better: bool. Whether a larger value is a better
            reconstruction.
        protocol: str. How it is computed, stored in `metrics.json` under
            `protocol`; `{uint8_side}` (the pixels the uint8 metrics see),
            `{fid_source}` and `{fid_protocol}` are filled in.
        per_image: bool. A mean over images of a per-image value (kept as
            a running sum, shown in the progress bar). Defaults to `True`.
        compute: callable or None. `compute(reconstructions, originals)`
            -> per-image values; `None` for a metric that needs a network
            the evaluator holds (rFID, LPIPS). Defaults to `None`.
        inputs: str. What `compute` is given: `"float"` (the [-1, 1]
            tensors, not clamped) or `"uint8"` (`to_uint8` pixels, after
            the JPEG round trip when the protocol has one). Defaults to
            `"float"`.
        digits: int. Significant digits shown. Defaults to `4`.
        unit: str. Shown after the value in plots (`"dB"`). Defaults to
            `""`.
        summary: bool. In the one-line summary of `training/evaluate.py`.
            Defaults to `False`.
        epoch: bool. Logged at every training epoch end as `val_<name>`
            (from a pass without JPEG) and plotted. Defaults to `False`.
    """

    name: str
    display_name: str
    higher_is_better: bool
    protocol: str
    per_image: bool = True
    compute: Callable | None = None
    inputs: str = "float"
    digits: int = 4
    unit: str = ""
    summary: bool = False
    epoch: bool = False

    def format(self, value):
        """`value` with the metric's digits; `"-"` for `None`."""
        return "-" if value is None else f"{value:.{self.digits}g}"


@dataclasses.dataclass(frozen=True)
class CodebookMetric:
    """One per-codebook figure: `<codebook>_<name>` in `metrics.json`,
    read from `CodebookUsage.result()[source]`.

    Args:
        name: str. The key suffix (`usage`, `perplexity`, `dead_codes`).
        source: str. The key of `CodebookUsage.result()`.
        display_name: str.
        higher_is_better: bool.
        scale: float. Shown multiplied by this (`100` for a percentage).
            Defaults to `1.0`.
        digits: int. Defaults to `4`.
        unit: str. Shown after the value (`"%"`). Defaults to `""`.
        summary: bool. In the one-line summary. Defaults to `False`.
        epoch: bool. Logged at every epoch end as `val_<codebook>_<name>`.
            Defaults to `False`.
        plot_range: tuple or None. The y range of its history panel.
            Defaults to `None` (automatic).
    """

    name: str
    source: str
    display_name: str
    higher_is_better: bool
    scale: float = 1.0
    digits: int = 4
    unit: str = ""
    summary: bool = False
    epoch: bool = False
    plot_range: tuple | None = None

    def format(self, value):
        """`value` scaled, with the metric's digits and unit; `"-"` for
        `None`."""
        if value is None:
            return "-"
        return f"{value * self.scale:.{self.digits}g}{self.unit}"


def _check_ssim_size(originals):
    size = image_quality.SSIM_WINDOW_SIZE
    if min(originals.shape[1:3]) < size:
        raise MetricSkipped(f"images smaller than {size}x{size}", note="ssim")


def _grayscale_ssim(reconstructions, originals):
    _check_ssim_size(originals)
    if originals.shape[-1] != 3:
        raise MetricSkipped("grayscale SSIM needs RGB images")
    return image_quality.ssim(reconstructions, originals, grayscale=True)


def _rgb_ssim(reconstructions, originals):
    _check_ssim_size(originals)
    return image_quality.ssim(reconstructions, originals)


RECONSTRUCTION_METRICS = (
    ReconstructionMetric(
        name="rfid",
        display_name="rFID",
        higher_is_better=False,
        per_image=False,
        summary=True,
        protocol="FID of reconstructions vs originals on {uint8_side}; "
        "{fid_source}; preprocessing '{fid_protocol}' (whole frame resized "
        "to 299x299, no crop); unbiased covariances; null below 2 images",
    ),
    ReconstructionMetric(
        name="lpips",
        display_name="LPIPS",
        higher_is_better=False,
        summary=True,
        protocol="LPIPS v0.1 VGG16 on the [-1, 1] tensors (the "
        "reconstruction clamped), mean over images",
    ),
    ReconstructionMetric(
        name="psnr",
        display_name="PSNR",
        higher_is_better=True,
        compute=image_quality.psnr,
        inputs="uint8",
        unit="dB",
        summary=True,
        epoch=True,
        protocol="per image 20 log10(255 / sqrt(MSE)) on RGB {uint8_side}, "
        "mean over images",
    ),
    ReconstructionMetric(
        name="ssim",
        display_name="SSIM",
        higher_is_better=True,
        compute=_grayscale_ssim,
        inputs="uint8",
        summary=True,
        epoch=True,
        protocol="per image on the PIL 'L' grayscale of {uint8_side} "
        "(skimage defaults: 7x7 uniform window, K1 0.01, K2 0.03), mean "
        "over images (the official figure)",
    ),
    ReconstructionMetric(
        name="ssim_rgb",
        display_name="SSIM (RGB)",
        higher_is_better=True,
        compute=_rgb_ssim,
        inputs="uint8",
        protocol="as ssim, on the RGB channels of {uint8_side} (mean over "
        "channels)",
    ),
    ReconstructionMetric(
        name="l1",
        display_name="L1",
        higher_is_better=False,
        compute=image_quality.l1_error,
        summary=True,
        protocol="per image mean |x_rec - x| on the [-1, 1] float tensors "
        "(not clamped, no JPEG), mean over images",
    ),
    ReconstructionMetric(
        name="mse",
        display_name="MSE",
        higher_is_better=False,
        compute=image_quality.mean_squared_error,
        protocol="per image mean (x_rec - x)^2 on the [-1, 1] float tensors "
        "(not clamped, no JPEG), mean over images",
    ),
)

CODEBOOK_METRICS = (
    CodebookMetric(
        name="usage",
        source="usage_fraction",
        display_name="usage",
        higher_is_better=True,
        scale=100.0,
        digits=3,
        unit="%",
        summary=True,
        epoch=True,
        plot_range=(0, 1.05),
    ),
    CodebookMetric(
        name="perplexity",
        source="perplexity",
        display_name="perplexity",
        higher_is_better=True,
        summary=True,
    ),
    CodebookMetric(
        name="dead_codes",
        source="dead_codes",
        display_name="dead codes",
        higher_is_better=False,
    ),
)


def metric(name):
    """The `ReconstructionMetric` called `name`.

    Example:

    >>> metric("psnr").display_name, metric("psnr").higher_is_better
    ('PSNR', True)
    """
    for entry in RECONSTRUCTION_METRICS:
        if entry.name == name:
            return entry
    names = [entry.name for entry in RECONSTRUCTION_METRICS]
    raise KeyError(f"No reconstruction metric {name!r}; known: {names}.")


def per_image_metric_names():
    """The metrics averaged over images, in registry order.

    Example:

    >>> per_image_metric_names()
    ('lpips', 'psnr', 'ssim', 'ssim_rgb', 'l1', 'mse')
    """
    return tuple(m.name for m in RECONSTRUCTION_METRICS if m.per_image)


def epoch_metric_names(codebooks):
    """The `val_*` names the training epoch callback logs from the
    evaluator, for codebooks named `codebooks`.

    Example:

    >>> epoch_metric_names(["adjective", "noun"])
    ['psnr', 'ssim', 'adjective_usage', 'noun_usage']
    """
    names = [m.name for m in RECONSTRUCTION_METRICS if m.epoch]
    for codebook in codebooks:
        names += [f"{codebook}_{m.name}" for m in CODEBOOK_METRICS if m.epoch]
    return names


def summary_line(results):
    """One line of the headline figures of `evaluate_tokenizer`'s results
    (`None` shown as `-`).

    Example:

    >>> line = summary_line({"num_images": 2, "psnr": 31.25, "ssim": None,
    ...     "codebooks": {"codebook": {}}, "codebook_usage": 0.5,
    ...     "codebook_perplexity": 3.0})
    >>> for part in line.split(" | "):
    ...     print(part)
    images 2
    rFID -
    LPIPS -
    PSNR 31.25
    SSIM -
    L1 -
    codebook usage 50% (perplexity 3)
    """
    parts = [f"images {results['num_images']}"]
    for entry in RECONSTRUCTION_METRICS:
        if entry.summary:
            value = results.get(entry.name)
            parts.append(f"{entry.display_name} {entry.format(value)}")
    for codebook in results["codebooks"]:
        shown = [
            f"{entry.display_name} "
            f"{entry.format(results.get(f'{codebook}_{entry.name}'))}"
            for entry in CODEBOOK_METRICS
            if entry.summary
        ]
        details = f" ({', '.join(shown[1:])})" if len(shown) > 1 else ""
        parts.append(f"{codebook} {shown[0]}{details}")
    return " | ".join(parts)
