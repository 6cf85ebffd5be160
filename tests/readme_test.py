"""The README's "Using the library" snippet runs, on public imports only."""

import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def library_snippet():
    with open(os.path.join(ROOT, "README.md")) as file:
        readme = file.read()
    section = readme.split("## Using the library", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_snippet_uses_public_imports_only():
    snippet = library_snippet()
    assert "from vqct_keras" in snippet
    assert not re.search(r"from vqct_keras\.\w+\.\w+ import", snippet)


def test_snippet_runs(tmp_path, monkeypatch, capsys):
    from vqct_keras.prior import default_prior_path

    if not os.path.exists(default_prior_path()):
        pytest.skip("the default prior is not built: bash scripts/setup.sh")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(library_snippet(), "README.md", "exec"), namespace)
    assert namespace["words"].shape == (2, 8, 8)
    assert len(namespace["words"][0, 0, 0].split(" ")) == 3
    assert namespace["images_back"].shape == (2, 32, 32, 3)
    assert (tmp_path / "word_map.png").stat().st_size > 1000
    assert "distinct nouns" in capsys.readouterr().out
