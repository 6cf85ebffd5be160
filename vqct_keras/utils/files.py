"""Atomic file writes and strict JSON, shared by every writer.

A file is written under a temporary name next to it (`<path>.<pid>.tmp`),
flushed to disk, then renamed over `path`: a reader, a crash or a full
disk never sees a partial file, and the previous file stays intact until
the rename. A failed write removes its temporary file. A crash can leave a
`*.tmp` file behind; the run folder deletes those when it resumes.
"""

import contextlib
import json
import math
import os

import numpy as np

TEMPORARY_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_path(path, extension=""):
    """A temporary path that replaces `path` when the block succeeds.

    For writers that want a file name rather than a file object (e.g.
    `model.save`, which needs the `.keras` ending: `extension=".keras"`).

    Args:
        path: str. The final file.
        extension: str. Appended to the temporary name. Defaults to `""`.

    Example:

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> with atomic_path(path) as temporary:
    ...     with open(temporary, "w") as file:
    ...         _ = file.write("done")
    >>> os.listdir(os.path.dirname(path))
    ['note.txt']
    """
    path = os.fspath(path)
    temporary = f"{path}.{os.getpid()}{TEMPORARY_SUFFIX}{extension}"
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


@contextlib.contextmanager
def atomic_open(path, mode="w", **kwargs):
    """`open(path, mode)`, written atomically (see the module docstring).

    Example:

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "numbers.npz")
    >>> with atomic_open(path, "wb") as file:
    ...     np.savez(file, x=np.arange(3))
    >>> with np.load(path) as arrays:
    ...     arrays["x"].tolist()
    [0, 1, 2]
    """
    with atomic_path(path) as temporary:
        with open(temporary, mode, **kwargs) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())


def write_text(path, text):
    """Write `text` to `path` atomically; returns `path`."""
    with atomic_open(path, "w") as file:
        file.write(text)
    return path


def save_npz(path, arrays):
    """`np.savez(path, **arrays)`, atomically; returns `path`."""
    with atomic_open(path, "wb") as file:
        np.savez(file, **arrays)
    return path


def json_ready(value):
    """`value` as plain JSON types: NumPy scalars and arrays become Python
    numbers and lists, tuples lists, keys strings, NaN and inf `None`, and
    anything else without a JSON form its `str()`.

    Example:

    >>> json_ready({"a": np.float32(0.5), 1: (np.int64(2), float("nan"))})
    {'a': 0.5, '1': [2, None]}
    """
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def write_json(path, value, indent=2, sort_keys=True):
    """Write `json_ready(value)` as strict JSON, atomically, with a final
    newline; returns `path`.

    Example:

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "metrics.json")
    >>> with open(write_json(path, {"b": float("inf"), "a": 1})) as file:
    ...     print(file.read())
    {
      "a": 1,
      "b": null
    }
    <BLANKLINE>
    """
    text = json.dumps(
        json_ready(value), indent=indent, sort_keys=sort_keys, allow_nan=False
    )
    return write_text(path, text + "\n")
