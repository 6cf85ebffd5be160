"""The command-line tools run from any directory, without path hacks.

`training` and `benchmarks` are installed packages (pyproject.toml;
`scripts/setup.sh` installs the checkout editable), so the tools import
their helpers as `training.*` without touching `sys.path`.
"""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
FLAG_TOOLS = {
    "training/train.py": "--flagfile",
    "training/evaluate.py": "--model",
    "training/export_model.py": "--model",
    "training/tokenize_dataset.py": "--model",
    "training/build_prior.py": "--backbone",
    "training/codebook_stats.py": "--preset",
    "training/prepare_data.py": "--datasets",
    "benchmarks/throughput.py": "--config",
    "benchmarks/first_step.py": "--json_output",
}


def python_files(folder):
    for name in sorted(os.listdir(os.path.join(ROOT, folder))):
        if name.endswith(".py"):
            yield os.path.join(ROOT, folder, name)


def test_no_tool_edits_sys_path():
    for folder in ("training", "benchmarks"):
        for path in python_files(folder):
            with open(path) as file:
                text = file.read()
            assert not re.search(r"sys\.path\.(insert|append)", text), path


def test_no_command_line_entry_point_in_the_library():
    for directory, _, names in os.walk(os.path.join(ROOT, "vqct_keras")):
        for name in names:
            if name.endswith(".py"):
                with open(os.path.join(directory, name)) as file:
                    assert "__main__" not in file.read(), name


@pytest.mark.parametrize("tool", sorted(FLAG_TOOLS))
def test_help_from_another_directory_without_tensorflow(tool, tmp_path):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", os.path.join(ROOT, tool)]
        + ["--helpshort"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # absl's help flags exit with status 1.
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert FLAG_TOOLS[tool] in result.stdout, result.stderr[-3000:]
    imported = [
        line for line in result.stderr.splitlines() if "tensorflow" in line
    ]
    assert not imported, (tool, imported[:3])
