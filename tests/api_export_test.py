"""Every `vqct_export` name imports from its public path, and the public
packages import on their own without cycles or heavy dependencies."""

import importlib
import os
import re
import subprocess
import sys

import keras
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_DIR = os.path.join(ROOT, "vqct_keras")
PUBLIC_PACKAGES = (
    "vqct_keras",
    "vqct_keras.layers",
    "vqct_keras.models",
    "vqct_keras.trainers",
    "vqct_keras.metrics",
    "vqct_keras.prior",
    "vqct_keras.words",
    "vqct_keras.vocabulary",
    "vqct_keras.data",  # last: it loads tensorflow_datasets
)
_EXPORT = re.compile(r'@vqct_export\(\s*"([\w.]+)"\s*\)\s*\nclass (\w+)')


def exported_names():
    """`(public name, defining module, class name)` of every `vqct_export`
    in the package sources."""
    found = []
    for folder, _, files in os.walk(PACKAGE_DIR):
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path) as file:
                text = file.read()
            module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
            for public, cls in _EXPORT.findall(text):
                found.append((public, module, cls))
    return found


def test_every_exported_name_imports_from_its_public_path():
    names = exported_names()
    assert len(names) >= 14, names
    for public, module, cls in names:
        package, _, attribute = public.rpartition(".")
        assert attribute == cls, f"{public} names class {cls}"
        public_object = getattr(importlib.import_module(package), attribute)
        defined = getattr(importlib.import_module(module), cls)
        assert public_object is defined, public
        assert attribute in importlib.import_module(package).__all__, public
        registered = keras.saving.get_registered_object(f"vqct_keras>{cls}")
        assert registered is defined, public


def test_public_packages_list_only_what_they_have():
    for package in PUBLIC_PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{package}.{name}"


def test_every_vqct_export_is_checked():
    # A decorator the pattern above misses would escape the checks.
    count = 0
    for folder, _, files in os.walk(PACKAGE_DIR):
        for name in files:
            if name.endswith(".py") and name != "api_export.py":
                with open(os.path.join(folder, name)) as file:
                    count += file.read().count("@vqct_export(")
    assert count == len(exported_names())
    packages = {public.rpartition(".")[0] for public, _, _ in exported_names()}
    assert packages <= set(PUBLIC_PACKAGES), packages


def test_workflow_names_are_public():
    expected = {
        "vqct_keras.data": ["load_dataset", "dataset_info", "dataset_names"],
        "vqct_keras.metrics": [
            "FIDInceptionV3",
            "FrechetInceptionDistance",
            "LPIPS",
            "psnr",
            "ssim",
            "CodebookUsage",
        ],
        "vqct_keras.models": ["build_tokenizer", "VQCTTokenizer"],
        "vqct_keras.trainers": ["VQGANTrainer"],
        "vqct_keras.prior": ["CodebookPrior", "load_default_prior"],
    }
    for package, names in expected.items():
        module = importlib.import_module(package)
        for name in names:
            assert name in module.__all__, f"{package}.{name}"


# Imports each package named on the command line, the package's own modules
# dropped in between, and checks that none but `data` loads the heavy
# dependencies.
IMPORT_SCRIPT = """
import importlib, sys
heavy = ('tensorflow_datasets', 'nltk', 'keras_hub', 'skimage')
for package in sys.argv[1:]:
    for name in [m for m in sys.modules if m.startswith('vqct')]:
        del sys.modules[name]
    importlib.import_module(package)
    if package != 'vqct_keras.data':
        loaded = [m for m in heavy if m in sys.modules]
        assert not loaded, (package, loaded)
print('ok')
"""


def _start_imports(*packages):
    return subprocess.Popen(
        [sys.executable, "-c", IMPORT_SCRIPT, *packages],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_imported(process, what):
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, (what, stderr[-3000:])
    assert stdout.strip().endswith("ok"), what


def test_each_public_package_imports_first_and_stays_light():
    # Each package first in one interpreter: an import cycle fails here.
    # The large test below starts a new interpreter for each.
    _assert_imported(_start_imports(*PUBLIC_PACKAGES), PUBLIC_PACKAGES)


@pytest.mark.large
def test_each_public_package_imports_alone_in_a_fresh_interpreter():
    # One new interpreter per package, all started at once: a package that
    # works only after another was imported fails here.
    processes = {
        package: _start_imports(package) for package in PUBLIC_PACKAGES
    }
    for package, process in processes.items():
        _assert_imported(process, package)
