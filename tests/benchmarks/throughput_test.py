"""The throughput benchmark's --quick mode writes every row (no timings)."""

import json
import os

import keras
import pytest

from benchmarks import throughput
from tests.builders import run_python


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("throughput")
    backend = keras.backend.backend()
    report = throughput.run(
        backends=[backend],
        config_name="s",
        quick=True,
        output_dir=str(folder),
        repeats=1,
        isolate=False,
    )
    return folder, backend, report


def test_json_has_every_figure(report):
    folder, backend, _ = report
    with open(os.path.join(folder, "throughput.json")) as f:
        written = json.load(f)
    results = written["results"][backend]
    config = throughput.config_for("s", quick=True)
    for key, *_ in throughput.table_rows(config):
        if key == "codebook_cache_hit_ms" and key not in results:
            pytest.fail("the inference codebook cache was not measured")
        assert key in results, key
        assert results[key] is not None, key
    assert results["train_images_per_s"] > 0
    assert written["quick"] is True
    assert written["load_before"] and written["load_after"]


def test_markdown_table_has_every_row(report):
    folder, backend, _ = report
    with open(os.path.join(folder, "throughput.md")) as f:
        text = f.read()
    config = throughput.config_for("s", quick=True)
    rows = throughput.table_rows(config)
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| figure | unit |")
    assert f"ours, {backend}" in table[0]
    # Header, rule, one line per figure; no "n/a" cells.
    assert len(table) == 2 + len(rows)
    for line, (_, label, *_) in zip(table[2:], rows):
        assert line.startswith(f"| {label} |")
        assert "n/a" not in line
    assert "load average" in text


def test_flop_counts_are_positive():
    config = throughput.config_for("s", quick=True)
    assert throughput.lpips_flops(16) > 0
    gcn, search = throughput.quantizer_flops(config, 2)
    assert gcn > 0 and search > 0


def test_paper_configuration_is_the_paper_preset():
    from vqct_keras.models.vqct_presets import preset_config

    paper = throughput.config_for("paper", quick=False)
    preset = preset_config("vqct_f16_256")
    assert paper["image_size"] == preset.pop("resolution")
    for key, value in preset.items():
        assert paper[key] == value, key


def test_benchmark_parent_does_not_import_keras():
    probe = (
        "import sys; sys.argv = ['throughput.py']; "
        "from benchmarks import throughput; "
        "print(throughput.CONFIGS['paper']['ch'], 'keras' in sys.modules)"
    )
    result = run_python(probe)
    assert result.stdout.split() == ["128", "False"], result.stderr[-2000:]
