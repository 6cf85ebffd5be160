"""The README: it starts with its two commands, names only public paths,
lists every runtime dependency, and its "Using the library" snippet runs."""

import importlib
import os
import re
import tomllib

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme_text():
    with open(os.path.join(ROOT, "README.md")) as file:
        return file.read()


def section(title):
    """The text of the README's `## <title>...` section."""
    return readme_text().split("\n## " + title, 1)[1].split("\n## ", 1)[0]


def library_snippet():
    text = section("Using the library")
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_readme_starts_with_its_two_commands():
    first = readme_text().split("\n## ", 2)[1]
    assert first.startswith("Two commands"), first[:80]
    block = re.search(r"```bash\n(.*?)```", first, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]


def test_readme_names_only_public_paths():
    # `vqct_keras.<package>` or `vqct_keras.<package>.<name>`; deeper paths
    # only as modules that `python -m` runs.
    readme = readme_text()
    paths = re.findall(r"(python -m )?\b(vqct_keras(?:\.\w+)+)", readme)
    assert paths
    for command, path in paths:
        if command:
            importlib.import_module(path)
            continue
        parts = path.split(".")
        assert len(parts) <= 3, path
        package = importlib.import_module(".".join(parts[:2]))
        if len(parts) == 3:
            assert hasattr(package, parts[2]), path


def test_dependency_section_names_every_runtime_dependency():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as file:
        project = tomllib.load(file)["project"]
    text = section("Dependencies")
    for requirement in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
        assert f"| `{name}`" in text, name
    assert "keras-cv" in text
    for reason in ("frozen upstream", "JAX backend", "both backends"):
        assert reason in text, reason


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
