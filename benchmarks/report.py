"""Write the ablation study's report: tables, usage curves, pictures.

Reads `<study>/ablation.json` (written by `benchmarks/ablation.py`) and
writes `--output` (default `docs/results/ablation.md`) with, beside it in
`<output stem>/`, the usage-curve plot and a reconstruction grid of every
arm. Every figure is a mean and a sample standard deviation over seeds.

Usage (from the repository root):

    python benchmarks/report.py --study=runs/ablation
    python benchmarks/report.py --study=/tmp/ablation_quick \\
        --output=/tmp/ablation_quick/ablation.md

`--discussion` inserts a Markdown file (the reading of the results, written
by whoever ran the study) under the tables; by default `<study>/discussion.md`
when the study folder has one, so the reading travels with the results.
"""

import json
import math
import os

from absl import app
from absl import flags

FLAGS = flags.FLAGS
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (key in metrics.json, column title, format, better: +1 higher, -1 lower).
MAIN_COLUMNS = (
    ("psnr", "PSNR (dB)", "{:.2f}", 1),
    ("ssim", "SSIM", "{:.3f}", 1),
    ("lpips", "LPIPS", "{:.3f}", -1),
    ("rfid", "rFID", "{:.1f}", -1),
)
CODEBOOK_COLUMNS = (
    ("usage_fraction", "codes used (%)", "{:.1f}", 100.0),
    ("perplexity", "perplexity", "{:.0f}", 1.0),
    ("dead_codes", "dead codes", "{:.0f}", 1.0),
)
# `save_reconstruction_grid`'s layout: originals above reconstructions,
# tiles separated by this many white pixels.
GRID_GAP = 2
# The reading of a study's results, kept in its folder.
DISCUSSION_FILE = "discussion.md"
# A run whose final PSNR (the evaluated checkpoint on every held-out image)
# is further than this from that checkpoint's held-out PSNR during training
# (fewer images) is listed as suspect: the two should agree closely.
CONSISTENCY_TOLERANCE_DB = 3.0


def define_flags(flag_values=flags.FLAGS):
    """Define the command's flags (in `flag_values`)."""
    flags.DEFINE_string(
        "study",
        "benchmarks/results/ablation",
        "Folder of a benchmarks/ablation.py study.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "output",
        "docs/results/ablation.md",
        "The Markdown report.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "discussion",
        None,
        "Markdown file inserted under the tables (the reading of the "
        "results). Default: <study>/discussion.md if it exists.",
        flag_values=flag_values,
    )


def mean_and_spread(values):
    """`(mean, sample std or None, count)` of the finite values."""
    values = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None, None, 0
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None, 1
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(variance), len(values)


def format_cell(values, pattern, scale=1.0):
    mean, spread, count = mean_and_spread(values)
    if count == 0:
        return "n/a"
    text = pattern.format(mean * scale)
    if spread is not None:
        text += " ± " + pattern.format(spread * scale)
    return text


def runs_by_arm(study):
    arms = {}
    for result in study["results"]:
        arms.setdefault(result["arm"], []).append(result)
    return arms


def codebook_sizes(result):
    return {
        name: summary.get("num_codes")
        for name, summary in result["codebooks"].items()
    }


def main_table(study):
    arms = runs_by_arm(study)
    header = ["arm", "seeds"] + [title for _, title, _, _ in MAIN_COLUMNS]
    header += ["codes used, all codebooks (%)", "run min (train + eval)"]
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + " --- |" * len(header))
    best = _best_arms(arms)
    for arm, results in arms.items():
        cells = [f"`{arm}`", str(len(results))]
        for key, _, pattern, _ in MAIN_COLUMNS:
            cell = format_cell(
                [r["figures"].get(key) for r in results], pattern
            )
            cells.append(f"**{cell}**" if best.get(key) == arm else cell)
        cells.append(
            format_cell([_overall_usage(r) for r in results], "{:.1f}", 100.0)
        )
        cells.append(
            format_cell([r["train_seconds"] for r in results], "{:.1f}", 1 / 60)
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def inconsistent_runs(study, tolerance_db=CONSISTENCY_TOLERANCE_DB):
    """Runs whose final PSNR disagrees with their own held-out PSNR at the
    evaluated checkpoint's step by more than `tolerance_db`.

    Returns:
        A list of `(arm, seed, final_psnr, training_psnr, step)`.
    """
    suspects = []
    for result in study["results"]:
        step = result.get("checkpoint_step")
        final = result["figures"].get("psnr")
        during = {
            point.get("step"): point.get("val_psnr")
            for point in result.get("usage_curve", [])
        }.get(step)
        if final is None or during is None:
            continue
        if abs(final - during) > tolerance_db:
            suspects.append(
                (result["arm"], result["seed"], final, during, step)
            )
    return suspects


def consistency_lines(study):
    """The report's check of every run's final score against its training
    record."""
    suspects = inconsistent_runs(study)
    if not suspects:
        return [
            "Every run's final PSNR is within "
            f"{CONSISTENCY_TOLERANCE_DB:g} dB of the held-out PSNR its "
            "evaluated checkpoint scored during training (on fewer images)."
        ]
    lines = [
        "**Suspect runs**: the final PSNR disagrees with the held-out PSNR "
        "of the same checkpoint during training by more than "
        f"{CONSISTENCY_TOLERANCE_DB:g} dB. Delete the run's folder and "
        "re-run the study to score it again:",
        "",
    ]
    lines += [
        f"- `{arm}` seed {seed}: final {final:.2f} dB, "
        f"{during:.2f} dB at step {step} during training"
        for arm, seed, final, during, step in suspects
    ]
    return lines


def _best_arms(arms):
    best = {}
    for key, _, _, sign in MAIN_COLUMNS:
        scored = []
        for arm, results in arms.items():
            mean, _, count = mean_and_spread(
                [r["figures"].get(key) for r in results]
            )
            if count:
                scored.append((sign * mean, arm))
        scored.sort(reverse=True)
        if len(scored) == 1 or (
            len(scored) > 1 and scored[0][0] > scored[1][0]
        ):
            best[key] = scored[0][1]  # bold only a unique best
    return best


def _overall_usage(result):
    used = total = 0
    for summary in result["codebooks"].values():
        used += summary.get("used_codes", 0)
        total += summary.get("num_codes", 0)
    return used / total if total else None


def codebook_table(study):
    arms = runs_by_arm(study)
    header = ["arm", "codebook", "size"]
    header += [title for _, title, _, _ in CODEBOOK_COLUMNS]
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + " --- |" * len(header))
    for arm, results in arms.items():
        for name, size in codebook_sizes(results[0]).items():
            cells = [f"`{arm}`", name, f"{size:,}" if size else "n/a"]
            for key, _, pattern, scale in CODEBOOK_COLUMNS:
                values = [
                    r["codebooks"].get(name, {}).get(key) for r in results
                ]
                cells.append(format_cell(values, pattern, scale))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_usage_curves(study, path):
    """Held-out codebook usage over training, mean over seeds with the
    min-max band, one line per arm and codebook."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4.5))
    for arm, results in runs_by_arm(study).items():
        names = sorted(
            key
            for key in results[0]["usage_curve"][-1]
            if key.startswith("val_") and key.endswith("_usage")
        )
        for name in names:
            steps = [p["step"] for p in results[0]["usage_curve"]]
            series = [
                [p.get(name) for p in r["usage_curve"]]
                for r in results
                if len(r["usage_curve"]) == len(steps)
            ]
            columns = list(zip(*series))
            mean = [100 * sum(c) / len(c) for c in columns]
            label = f"{arm}: {name[4:-6]}"
            (line,) = axis.plot(steps, mean, marker="o", ms=3, label=label)
            if len(series) > 1:
                axis.fill_between(
                    steps,
                    [100 * min(c) for c in columns],
                    [100 * max(c) for c in columns],
                    color=line.get_color(),
                    alpha=0.15,
                )
    axis.set_xlabel("training step")
    axis.set_ylabel("codes used on held-out batches (%)")
    axis.set_title("Codebook usage during training (mean over seeds)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def reconstruction_grid(study, study_dir, path):
    """Originals, then one row per arm (its first seed's reconstructions of
    the same held-out images), labelled."""
    import numpy as np
    import PIL.Image
    import PIL.ImageDraw

    rows = []
    originals = None
    for arm, results in runs_by_arm(study).items():
        first = min(results, key=lambda r: r["seed"])
        grid_path = os.path.join(
            study_dir,
            "runs",
            arm,
            f"seed{first['seed']}",
            "reconstructions.png",
        )
        with PIL.Image.open(grid_path) as image:
            grid = np.asarray(image.convert("RGB"))
        tile = (grid.shape[0] - 3 * GRID_GAP) // 2
        top = grid[GRID_GAP : GRID_GAP + tile]
        bottom = grid[2 * GRID_GAP + tile : 2 * GRID_GAP + 2 * tile]
        if originals is None:
            originals = ("originals", top)
        rows.append((f"{arm} (seed {first['seed']})", bottom))
    rows.insert(0, originals)
    label_width = 170
    height = sum(r.shape[0] + GRID_GAP for _, r in rows)
    width = label_width + max(r.shape[1] for _, r in rows)
    canvas = PIL.Image.new("RGB", (width, height), "white")
    draw = PIL.ImageDraw.Draw(canvas)
    y = 0
    for label, row in rows:
        canvas.paste(PIL.Image.fromarray(row), (label_width, y))
        draw.text((4, y + row.shape[0] // 2 - 6), label, fill="black")
        y += row.shape[0] + GRID_GAP
    canvas.save(path)


def render(study, study_dir, output):
    stem = os.path.splitext(output)[0]
    images_dir = stem
    os.makedirs(images_dir, exist_ok=True)
    curves = os.path.join(images_dir, "usage_curves.png")
    grid = os.path.join(images_dir, "reconstructions.png")
    plot_usage_curves(study, curves)
    reconstruction_grid(study, study_dir, grid)
    settings = study["settings"]
    relative = os.path.basename(images_dir)
    flagfile_path = settings["train_flagfile"]
    if not os.path.isabs(flagfile_path):
        flagfile_path = os.path.join(REPO_ROOT, flagfile_path)
    with open(flagfile_path) as f:
        flagfile = f.read().strip()
    first = study["results"][0]
    lines = [
        "# Ablation study: VQCT against VQGAN and the transfer ablations",
        "",
        "Written by `benchmarks/report.py` from the study folder of "
        "`benchmarks/ablation.py`. Every figure is the mean ± sample "
        "standard deviation over seeds; every run is scored on the same "
        f"first {settings['eval_images']:,} held-out images.",
        "",
        f"- Command: `{study['command']}`",
        f"- Updated: {study.get('updated', 'n/a')}; "
        + (
            "complete"
            if study.get("complete", True)
            else f"**partial: {len(study['results'])} of "
            f"{study['planned_runs']} runs** (re-run the command to finish "
            "it; finished runs are kept)"
        ),
        f"- Machine: {study.get('machine', 'n/a')}",
        "- Versions: "
        + ", ".join(f"{k} {v}" for k, v in study.get("versions", {}).items()),
        f"- Seeds per arm: {settings['seeds']}"
        + (
            "; `--quick`: the numbers mean nothing" if settings["quick"] else ""
        ),
        f"- Prior: {study['prior']['num_adjectives']:,} adjectives + "
        f"{study['prior']['num_nouns']:,} nouns (content SHA-256 "
        f"`{study['prior']['sha256'][:16]}`)",
        f"- One run's command: `{first['command']}`",
        "",
        "## Arms",
        "",
    ]
    lines += [f"- `{arm}`: {text}" for arm, text in study["arms"].items()]
    lines += [
        "",
        "## Reconstruction quality (held-out images)",
        "",
        "Bold: the best mean of the column.",
        "",
        main_table(study),
        "",
        *consistency_lines(study),
        "",
        "## Codebook usage per codebook (same held-out pass)",
        "",
        "`codes used`: codes picked at least once over the held-out images; "
        "`perplexity`: exp of the entropy of the code histogram; "
        "`dead codes`: never picked.",
        "",
        codebook_table(study),
        "",
        "## Usage during training",
        "",
        "![held-out codebook usage over training]"
        f"({relative}/usage_curves.png)",
        "",
        "## Reconstructions",
        "",
        f"![originals and every arm's reconstructions]({relative}/"
        "reconstructions.png)",
        "",
    ]
    discussion = FLAGS.discussion or os.path.join(study_dir, DISCUSSION_FILE)
    if FLAGS.discussion or os.path.isfile(discussion):
        with open(discussion) as f:
            lines += [f.read().strip(), ""]
    lines += [
        "## Shared training set-up",
        "",
        "```",
        flagfile,
        "```",
        "",
    ]
    with open(output, "w") as f:
        f.write("\n".join(lines))
    return output


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    path = os.path.join(FLAGS.study, "ablation.json")
    if not os.path.exists(path):
        raise app.UsageError(
            f"{path} does not exist: run benchmarks/ablation.py with "
            f"--output_dir={FLAGS.study} first (it writes ablation.json "
            "after every run)."
        )
    with open(path) as f:
        study = json.load(f)
    output = render(study, FLAGS.study, FLAGS.output)
    print(output)


if __name__ == "__main__":
    define_flags()
    app.run(main)
