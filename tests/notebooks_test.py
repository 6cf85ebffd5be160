import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(ROOT, "notebooks")
sys.path.insert(0, NOTEBOOKS)

import make_notebooks  # noqa: E402


def test_committed_notebooks_match_their_sources():
    for name in os.listdir(os.path.join(NOTEBOOKS, "src")):
        with open(os.path.join(NOTEBOOKS, "src", name)) as file:
            expected = make_notebooks.to_notebook(
                make_notebooks.tutobook_to_cells(file.read())
            )
        with open(os.path.join(NOTEBOOKS, name[:-3] + ".ipynb")) as file:
            committed = json.load(file)
        assert committed == expected, (
            f"{name}: run `python notebooks/make_notebooks.py`"
        )
        code = [c for c in committed["cells"] if c["cell_type"] == "code"]
        assert all(not c["outputs"] for c in code), "strip outputs"


@pytest.mark.large
def test_notebook_runs_end_to_end(tmp_path):
    source = os.path.join(NOTEBOOKS, "src", "01_train_with_fit.py")
    env = dict(os.environ, VQCT_NOTEBOOK_STEPS="2", MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, source],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "exact: True" in result.stdout
    assert (tmp_path / "vqct_tiny.keras").exists()
