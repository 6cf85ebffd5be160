"""The notebooks: generated from their sources, installable in a fresh
runtime, linked from the README, and run top to bottom (`large`)."""

import json
import os
import re
import resource
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(ROOT, "notebooks")
sys.path.insert(0, NOTEBOOKS)

import make_notebooks  # noqa: E402

# What each notebook prints when it worked, and the files it leaves.
EXPECTED = {
    "01_quickstart": (
        ["same indices: True", "same words: True", "decode matches: True"],
        ["quickstart.keras"],
    ),
    "02_codes_as_words": (
        ["words available: True", "decode matches: True", "distinct nouns"],
        [],
    ),
    "03_train_with_fit": (
        ["decode matches: True", "words: True"],
        ["vqct_tiny.keras"],
    ),
    "04_export_and_serve": (
        [
            "decode_from_indices (2, 32, 32, 3) float32",
            "same words as the Keras model: True",
            "REST == gRPC tensor: True",
        ],
        ["serving/vqct/1/saved_model.pb", "serving/vqct/1/vocabulary.json"],
    ),
    "05_paper_setup_on_gpus": (["replicas: 2 final L1"], []),
}
BACKENDS = {"TensorFlow": "tensorflow", "JAX": "jax"}


def _children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def notebook_backends(name):
    fields = make_notebooks.header(name)
    return [BACKENDS[b.strip()] for b in fields["Backends"].split(",")]


def runs():
    return [
        (name, backend)
        for name in make_notebooks.source_names()
        for backend in notebook_backends(name)
    ]


def test_every_notebook_is_known_and_numbered():
    names = make_notebooks.source_names()
    assert names == sorted(EXPECTED), names
    assert [name[:2] for name in names] == ["01", "02", "03", "04", "05"]


def test_committed_notebooks_match_their_sources():
    for name in make_notebooks.source_names():
        expected = make_notebooks.to_notebook(
            make_notebooks.tutobook_to_cells(make_notebooks.read_source(name))
        )
        with open(os.path.join(NOTEBOOKS, name + ".ipynb")) as file:
            committed = json.load(file)
        assert committed == expected, (
            f"{name}: run `python notebooks/make_notebooks.py`"
        )
        code = [c for c in committed["cells"] if c["cell_type"] == "code"]
        assert all(not c["outputs"] for c in code), "strip outputs"
        install = "".join(code[0]["source"])
        assert "scripts/setup.sh" in install and "find_spec" in install
        assert make_notebooks.GITHUB_REPOSITORY in install
        assert "KERAS_BACKEND" in install
    assert not os.path.exists(
        os.path.join(NOTEBOOKS, "01_train_with_fit.ipynb")
    )


def test_install_cell_is_written_once_in_make_notebooks():
    cells = set()
    for name in make_notebooks.source_names():
        with open(os.path.join(NOTEBOOKS, "src", name + ".py")) as file:
            source = file.read()
        assert source.count(make_notebooks.SETUP_MARKER) == 1, name
        assert 'find_spec("vqct_keras")' not in source, name
        code = [
            text
            for kind, text in make_notebooks.tutobook_to_cells(
                make_notebooks.read_source(name)
            )
            if kind == "code"
        ]
        cells.add(code[0].split("\n\nimport importlib.metadata")[0])
    # One install cell, two backend lines (TensorFlow only, or either).
    assert len(cells) == 2, cells


def test_notebooks_use_public_imports_only():
    private = re.compile(
        r"from vqct_keras\.\w+\.\w+ import|import vqct_keras\."
    )
    for name in make_notebooks.source_names():
        assert not private.search(make_notebooks.read_source(name)), name


def test_readme_links_every_notebook_with_a_colab_badge():
    with open(os.path.join(ROOT, "README.md")) as file:
        readme = file.read()
    assert make_notebooks.readme_table() in readme, (
        "README: run `python notebooks/make_notebooks.py`"
    )
    for name in make_notebooks.source_names():
        url = (
            "https://colab.research.google.com/github/"
            f"{make_notebooks.GITHUB_REPOSITORY}/blob/main/notebooks/"
            f"{name}.ipynb"
        )
        assert url in readme, name
    # The repository is named in one place only.
    owner = make_notebooks.GITHUB_REPOSITORY.split("/")[0]
    for name in make_notebooks.source_names():
        with open(os.path.join(NOTEBOOKS, "src", name + ".py")) as file:
            assert owner not in file.read(), name


@pytest.mark.large
@pytest.mark.parametrize("name,backend", runs())
def test_notebook_runs_top_to_bottom(name, backend, tmp_path):
    script = tmp_path / f"{name}.py"
    script.write_text(make_notebooks.read_source(name))
    env = dict(
        os.environ,
        KERAS_BACKEND=backend,
        VQCT_NOTEBOOK_QUICK="1",
        MPLBACKEND="Agg",
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=ROOT,
    )
    env.pop("XLA_FLAGS", None)  # a notebook sees no test-only devices
    cpu_before = _children_cpu_seconds()
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.perf_counter() - start
    cpu = _children_cpu_seconds() - cpu_before
    print(f"\n{name} [{backend}]: {seconds:.0f} s wall, {cpu:.0f} s CPU")
    assert result.returncode == 0, result.stderr[-4000:]
    lines, files = EXPECTED[name]
    for line in lines:
        assert line in result.stdout, (line, result.stdout[-3000:])
    for path in files:
        assert (tmp_path / path).exists(), path
