"""Load vqct_keras's light modules without importing Keras.

`import vqct_keras.<anything>` runs `vqct_keras/__init__.py`, which
imports Keras (and starts TensorFlow). A few modules are plain data that
a command needs before that, e.g. for its `--help`: the quantizer names
(`vqct_keras/layers/quantizer_registry.py`) and the architecture presets
(`vqct_keras/models/vqct_presets.py`); others need only the standard library
and NLTK, for set-up steps that must return at once (the NLTK data, the
embedded data's fingerprint). `load_module` executes such a file
on its own, found where Python would import the package from, without
running the package's `__init__`.
"""

import importlib.util
import os
import sys

_LOADED = {}


def load_module(name):
    """The module `name` (e.g. `"vqct_keras.models.vqct_presets"`),
    executed alone under a name of its own, so that a later `import name`
    still loads the package normally; it must not import anything from
    vqct_keras at load time."""
    if name not in _LOADED:
        package, *parts = name.split(".")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ImportError(f"Cannot find the package {package!r}.")
        root = list(spec.submodule_search_locations)[0]
        path = os.path.join(root, *parts) + ".py"
        module_spec = importlib.util.spec_from_file_location(
            f"_keras_free_{'_'.join(parts)}", path
        )
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module  # dataclasses look it up
        module_spec.loader.exec_module(module)
        _LOADED[name] = module
    return _LOADED[name]


def quantizer_names():
    """The registered quantizer names (`--quantizer` choices)."""
    return load_module("vqct_keras.layers.quantizer_registry").quantizer_names()


def preset_config(name):
    """The architecture of the tokenizer preset `name` (a dict copy)."""
    return load_module("vqct_keras.models.vqct_presets").preset_config(name)
