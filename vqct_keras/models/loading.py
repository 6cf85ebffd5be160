"""Load a saved tokenizer (`load_tokenizer`): the one loader of every
command and of the library."""

import json
import os
import zipfile
import zlib

import keras

from vqct_keras.models.vqct_tokenizer import VQCTTokenizer

TOKENIZER_FILENAME = "tokenizer.keras"


def load_tokenizer(path):
    """Load a tokenizer saved as `.keras`, with errors that say the fix.

    `vqct_keras` is imported first, so its classes are registered. A saved
    model that wraps a tokenizer (a `tokenizer` attribute, e.g. the
    trainer) gives the tokenizer.

    Args:
        path: str. The `.keras` file (e.g. `runs/<run>/tokenizer.keras`).

    Returns:
        The tokenizer (a `VQCTTokenizer`).

    Raises:
        FileNotFoundError: no such file.
        ValueError: a folder, not a `.keras` file, a truncated or corrupt
            one, or no tokenizer in it.

    Example:

    >>> load_tokenizer("missing.keras")
    Traceback (most recent call last):
    ...
    FileNotFoundError: No model file at missing.keras (no such file)...
    """
    import vqct_keras  # noqa: F401  (registers the serializable classes)

    path = os.path.expanduser(os.fspath(path))
    if os.path.isdir(path):
        candidate = os.path.join(path, TOKENIZER_FILENAME)
        hint = (
            f" Did you mean --model={candidate}?"
            if os.path.isfile(candidate)
            else ""
        )
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            hint = " That folder is already an exported SavedModel."
        raise ValueError(f"{path} is a folder; pass the .keras file.{hint}")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No model file at {path} (no such file). Pass the .keras file "
            "a training run wrote (runs/<run>/tokenizer.keras) or "
            "`tokenizer.save(...)`."
        )
    if not path.endswith(".keras"):
        raise ValueError(
            f"{path} is not a .keras file; save the tokenizer with "
            "`tokenizer.save('tokenizer.keras')`."
        )
    broken = (
        f"{path} is not a readable .keras archive (truncated or corrupt, "
        "e.g. a copy that did not finish). Save the tokenizer again, or use "
        "the tokenizer.keras of a finished run."
    )
    if not zipfile.is_zipfile(path):
        raise ValueError(broken)
    try:
        model = keras.saving.load_model(path, compile=False)
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        FileNotFoundError,
        json.JSONDecodeError,
    ) as e:
        raise ValueError(f"{broken} ({type(e).__name__}: {e})") from e
    inner = getattr(model, "tokenizer", None)
    if not isinstance(model, VQCTTokenizer) and isinstance(
        inner, VQCTTokenizer
    ):
        model = inner  # A trainer saved whole: its tokenizer.
    if not isinstance(model, VQCTTokenizer):
        raise ValueError(
            f"{path} holds a {type(model).__name__}, not a tokenizer with a "
            "quantizer and encode_to_indices. Pass the tokenizer.keras that "
            "training/train.py writes."
        )
    return model
