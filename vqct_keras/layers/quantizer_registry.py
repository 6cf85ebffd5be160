"""The quantizers a tokenizer can be built with: one line each.

`build_tokenizer`, `VQCTTokenizer.from_preset` and `training/train.py
--quantizer` read this registry. It is plain data (names to import paths)
and imports neither Keras nor its classes until one is asked for, so that
`train.py --help` lists the names before TensorFlow starts. Adding a
quantizer is one file (a `Quantizer` subclass) and one line here; see
docs/quantizers.md.
"""

import importlib

# name -> "module.Class", the module inside `vqct_keras.layers`.
QUANTIZERS = {
    "part_of_speech": "part_of_speech_quantizer.PartOfSpeechQuantizer",
    "vector": "vector_quantizer.VectorQuantizer",
    "residual_vector": "residual_vector_quantizer.ResidualVectorQuantizer",
}


def quantizer_names():
    """Names accepted as `quantizer=` (and `--quantizer`)."""
    return tuple(QUANTIZERS)


def get_quantizer_class(name):
    """The `Quantizer` subclass registered as `name` (imported now).

    Example:

    >>> get_quantizer_class("vector").__name__
    'VectorQuantizer'
    """
    if name not in QUANTIZERS:
        raise ValueError(
            f"Unknown quantizer {name!r}; choose one of "
            f"{list(quantizer_names())} (registered in "
            "vqct_keras/layers/quantizer_registry.py)."
        )
    module_name, _, class_name = QUANTIZERS[name].rpartition(".")
    module = importlib.import_module(f"vqct_keras.layers.{module_name}")
    return getattr(module, class_name)


def all_build_arguments():
    """Every keyword argument some registered quantizer takes."""
    names = set()
    for name in QUANTIZERS:
        names.update(get_quantizer_class(name).build_arguments)
    return names
