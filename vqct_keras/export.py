"""Export a `VQCTTokenizer` as a TensorFlow SavedModel for TF Serving.

The SavedModel is written with `keras.export.ExportArchive` into a numbered
version folder (`<path>/1/` by default), the layout TF Serving expects under
its `model_base_path`. It holds these signatures:

- `serving_default` and `encode_to_indices`: float32 `images` in `[-1, 1]`
  -> int32 `indices`.
- `encode_uint8`: uint8 `images` in `[0, 255]` -> int32 `indices` (the
  scaling to `[-1, 1]` happens inside).
- `decode_from_indices`: int32 `indices` -> float32 `images`.
- `reconstruct`: float32 `images` -> `reconstruction` and `indices`.

`images` are `(batch, height, width, channels)` (channels last) and
`indices` are `(batch, height / f, width / f, index_depth)` with `f` the
tokenizer's downsampling factor. An `export_info.json` beside
`saved_model.pb` records the signatures, shapes, index layout and versions;
a VQCT tokenizer's words go to `vocabulary.json` beside it (read them with
`vqct_keras.vocabulary.CodeVocabulary.load(folder)`, then
`.indices_to_words(indices)`).
"""

import datetime
import os
import platform
import shutil
import tempfile
import time

import keras
import numpy as np
from keras import ops

from vqct_keras.models.vqct_tokenizer import VQCTTokenizer
from vqct_keras.utils import files
from vqct_keras.version import __version__
from vqct_keras.vocabulary import VOCABULARY_FILENAME

EXPORT_INFO_FILENAME = "export_info.json"
EXPORT_INFO_FORMAT = "vqct_keras.export_info"
EXPORT_INFO_VERSION = 1
DEFAULT_SIGNATURE = "encode_to_indices"
SIGNATURE_NAMES = (
    "encode_to_indices",
    "decode_from_indices",
    "reconstruct",
    "encode_uint8",
)
_TENSORFLOW_HINT = (
    "Export with the TensorFlow backend instead: run the same command with "
    "`KERAS_BACKEND=tensorflow` (e.g. `KERAS_BACKEND=tensorflow python "
    "training/export_model.py --model=...`); the `.keras` file works on "
    "either backend."
)


class ExportBackendError(RuntimeError):
    """The current Keras backend could not produce a working SavedModel."""


def export_for_serving(
    tokenizer,
    path,
    image_size=None,
    batch_size=None,
    version=1,
    overwrite=False,
    verify=True,
    verbose=False,
):
    """Write a tokenizer as a TF Serving SavedModel with named signatures.

    The model is written under `path/<version>/` (TF Serving's layout: pass
    `path` as `model_base_path`). It is first written to a hidden folder
    beside the target, checked by loading it back and calling every
    signature once (`verify=True`), and only then renamed into place, so a
    server watching `path` never sees a half-written version.

    With the TensorFlow backend the endpoints are traced with `tf.function`.
    With the JAX backend Keras converts them with `jax2tf` (StableHLO inside
    `XlaCallModule` ops, lowered for CPU); when that fails to trace or the
    installed TensorFlow cannot run the result, an `ExportBackendError` says
    to export with `KERAS_BACKEND=tensorflow`.

    Args:
        tokenizer: a built `VQCTTokenizer`.
        path: str. Model base folder; the SavedModel goes to
            `path/<version>/`.
        image_size: `None`, an int, a `(height, width)` tuple, or
            `"dynamic"`. `None` uses the tokenizer's `resolution`; an int a
            square size; `"dynamic"` (or `None` entries in a tuple) accepts
            any size divisible by the downsampling factor. Defaults to
            `None`.
        batch_size: int or `None` (any batch size). Defaults to `None`.
        version: int >= 1, or `None` to write straight into `path`.
            Defaults to `1`.
        overwrite: bool. Replace an existing version folder. Defaults to
            `False`.
        verify: bool. Load the written model in this process and call each
            signature on a zero batch before publishing it. Defaults to
            `True`.
        verbose: bool. Print Keras' list of endpoints. Defaults to `False`.

    Returns:
        The path of the SavedModel folder (`path/<version>`).

    Example:

    >>> import tempfile
    >>> import tensorflow as tf
    >>> from vqct_keras.models.vqct_presets import build_tokenizer
    >>> tokenizer = build_tokenizer("vqct_tiny_f2_32", quantizer="vector",
    ...                             num_codes=16)
    >>> saved = export_for_serving(tokenizer, tempfile.mkdtemp())
    >>> os.path.basename(saved)
    '1'
    >>> sorted(tf.saved_model.load(saved).signatures)  # doctest: +ELLIPSIS
    ['decode_from_indices', 'encode_to_indices', 'encode_uint8', ...]
    """
    _check_tokenizer(tokenizer)
    height, width = normalize_image_size(
        image_size, tokenizer.resolution, tokenizer.downsampling_factor
    )
    batch_size = _check_batch_size(batch_size)
    version_dir = _version_dir(path, version)
    if os.path.exists(version_dir) and os.listdir(version_dir):
        if not overwrite:
            raise FileExistsError(
                f"{version_dir!r} already holds files. Pass "
                "`overwrite=True` (CLI: `--overwrite`) to replace it, or "
                "export a new `version` so TF Serving can switch over."
            )

    start = time.perf_counter()
    parent = os.path.dirname(os.path.abspath(version_dir))
    os.makedirs(parent, exist_ok=True)
    # A hidden, non-numeric name: TF Serving ignores it while it is written.
    staging_dir = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        # The endpoints use the inference codebook computed here: the
        # SavedModel stores it as a constant (no GCN per serving call).
        with tokenizer._cached_codebooks():
            archive = _build_archive(tokenizer, height, width, batch_size)
            _write_archive(archive, staging_dir, verbose)
        if verify:
            _verify(staging_dir, tokenizer, height, width, batch_size)
        info = export_info(tokenizer, height, width, batch_size)
        info["export_seconds"] = round(time.perf_counter() - start, 2)
        info["verified"] = bool(verify)
        files.write_json(os.path.join(staging_dir, EXPORT_INFO_FILENAME), info)
        vocabulary = getattr(tokenizer, "vocabulary", None)
        if vocabulary is not None:
            vocabulary.save(staging_dir)
        make_world_readable(staging_dir)
        if os.path.exists(version_dir):
            shutil.rmtree(version_dir)
        os.rename(staging_dir, version_dir)
    finally:
        if os.path.exists(staging_dir):
            shutil.rmtree(staging_dir, ignore_errors=True)
    return version_dir


def normalize_image_size(image_size, resolution, downsampling_factor):
    """`(height, width)` of the serving signature; `None` means dynamic.

    Args:
        image_size: `None` (use `resolution`), an int, a `(height, width)`
            pair whose entries are ints or `None`, or `"dynamic"`.
        resolution: int. The tokenizer's nominal resolution.
        downsampling_factor: int. Every fixed size must be a multiple.

    Example:

    >>> normalize_image_size(None, 32, 4)
    (32, 32)
    >>> normalize_image_size("dynamic", 32, 4)
    (None, None)
    >>> normalize_image_size((64, 48), 32, 4)
    (64, 48)
    """
    if image_size is None:
        sizes = (resolution, resolution)
    elif isinstance(image_size, str):
        if image_size.strip().lower() != "dynamic":
            raise ValueError(
                "`image_size` must be None, an int, a (height, width) pair "
                f"or 'dynamic'; got {image_size!r}."
            )
        sizes = (None, None)
    elif isinstance(image_size, (int, np.integer)):
        sizes = (int(image_size), int(image_size))
    elif isinstance(image_size, (tuple, list)) and len(image_size) == 2:
        sizes = tuple(image_size)
    else:
        raise ValueError(
            "`image_size` must be None, an int, a (height, width) pair or "
            f"'dynamic'; got {image_size!r}."
        )
    checked = []
    for size in sizes:
        if size is None:
            checked.append(None)
            continue
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise ValueError(
                f"Image sizes must be ints or None; got {image_size!r}."
            )
        if size <= 0 or size % downsampling_factor:
            raise ValueError(
                f"Image sizes must be positive multiples of the tokenizer's "
                f"downsampling factor {downsampling_factor}; got "
                f"{image_size!r}. Use e.g. {resolution} or 'dynamic'."
            )
        checked.append(int(size))
    return tuple(checked)


def export_info(tokenizer, height, width, batch_size):
    """The JSON-ready description written to `export_info.json`."""
    factor = tokenizer.downsampling_factor
    depth = tokenizer.quantizer.index_depth
    channels = tokenizer.in_channels
    grid_h = None if height is None else height // factor
    grid_w = None if width is None else width // factor
    image_shape = [batch_size, height, width, channels]
    index_shape = [batch_size, grid_h, grid_w, depth]

    def tensor(dtype, shape, description):
        return {"dtype": dtype, "shape": shape, "description": description}

    float_images = tensor(
        "float32", image_shape, "RGB images in [-1, 1] (x / 127.5 - 1)"
    )
    indices = tensor("int32", index_shape, "code indices, see index_layout")
    signatures = {
        "encode_to_indices": {
            "inputs": {"images": float_images},
            "outputs": {"indices": indices},
        },
        "encode_uint8": {
            "inputs": {
                "images": tensor("uint8", image_shape, "RGB images in [0, 255]")
            },
            "outputs": {"indices": indices},
        },
        "decode_from_indices": {
            "inputs": {"indices": indices},
            "outputs": {
                "images": tensor(
                    "float32",
                    image_shape,
                    "decoded images, about [-1, 1] (not clipped)",
                )
            },
        },
        "reconstruct": {
            "inputs": {"images": float_images},
            "outputs": {
                "reconstruction": tensor(
                    "float32", image_shape, "decoded images (not clipped)"
                ),
                "indices": indices,
            },
        },
    }
    signatures["serving_default"] = dict(
        signatures[DEFAULT_SIGNATURE], alias_of=DEFAULT_SIGNATURE
    )
    return {
        "format": EXPORT_INFO_FORMAT,
        "format_version": EXPORT_INFO_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "keras_backend": keras.backend.backend(),
        "versions": _versions(),
        "model": {
            "class": type(tokenizer).__name__,
            "name": tokenizer.name,
            "num_parameters": int(tokenizer.count_params()),
            "config": files.json_ready(tokenizer.get_config()),
        },
        "image_size": [height, width],
        "batch_size": batch_size,
        "downsampling_factor": factor,
        "default_signature": DEFAULT_SIGNATURE,
        "signatures": signatures,
        "index_layout": index_layout(tokenizer.quantizer),
        "vocabulary": _vocabulary_info(getattr(tokenizer, "vocabulary", None)),
    }


def _vocabulary_info(vocabulary):
    """Where the words are (`vocabulary.json`), or `None` without words."""
    if vocabulary is None:
        return None
    return {
        "file": VOCABULARY_FILENAME,
        "num_adjectives": vocabulary.num_adjectives,
        "num_nouns": vocabulary.num_nouns,
        "content_sha256": vocabulary.provenance.get("content_sha256"),
    }


def index_layout(quantizer):
    """Names and ranges of the index slots of a quantizer."""
    ranges = [int(bound) for bound in quantizer.index_ranges]
    return {
        "quantizer": type(quantizer).__name__,
        "depth": len(ranges),
        "slots": list(quantizer.index_slots),
        "ranges": ranges,
        "description": quantizer.index_description,
    }


# === Validation ===


def _check_tokenizer(tokenizer):
    if not isinstance(tokenizer, VQCTTokenizer):
        raise TypeError(
            "`export_for_serving` expects a `VQCTTokenizer`; got "
            f"{type(tokenizer).__name__}. Load one with "
            "`keras.saving.load_model(path)` after `import vqct_keras`."
        )
    if not tokenizer.built:
        raise ValueError(
            "The tokenizer is not built, so it has no trained weights to "
            "export. Load a trained `.keras` file, or call "
            "`tokenizer.build()` and load weights first."
        )


def _check_batch_size(batch_size):
    if batch_size is None:
        return None
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size <= 0
    ):
        raise ValueError(
            f"`batch_size` must be a positive int or None (any batch size); "
            f"got {batch_size!r}."
        )
    return int(batch_size)


def _version_dir(path, version):
    if not path:
        raise ValueError("`path` must be a folder name; got an empty path.")
    path = os.fspath(path)
    if version is None:
        return path
    if (
        isinstance(version, bool)
        or not isinstance(version, (int, np.integer))
        or version < 1
    ):
        raise ValueError(
            "`version` must be a positive int (TF Serving loads the highest "
            f"numbered folder) or None; got {version!r}."
        )
    return os.path.join(path, str(int(version)))


# === Archive ===


def _build_archive(tokenizer, height, width, batch_size):
    import tensorflow as tf

    factor = tokenizer.downsampling_factor
    channels = tokenizer.in_channels
    depth = tokenizer.quantizer.index_depth
    grid_h = None if height is None else height // factor
    grid_w = None if width is None else width // factor
    image_shape = (batch_size, height, width, channels)
    index_shape = (batch_size, grid_h, grid_w, depth)
    is_jax = keras.backend.backend() == "jax"

    def encode_to_indices(images):
        indices = tokenizer.encode_to_indices(images)
        return {"indices": indices}

    def encode_uint8(images):
        images = ops.cast(images, "float32") / 127.5 - 1.0
        return {"indices": tokenizer.encode_to_indices(images)}

    def decode_from_indices(indices):
        images = tokenizer.decode_from_indices(indices)
        # float32 whatever the dtype policy, as export_info.json says.
        return {"images": ops.cast(images, "float32")}

    def reconstruct(images):
        outputs = tokenizer(images, training=False)
        return {
            "reconstruction": ops.cast(outputs["reconstruction"], "float32"),
            "indices": outputs["indices"],
        }

    def spec(shape, dtype, name):
        return keras.InputSpec(shape=shape, dtype=dtype, name=name)

    image_poly = index_poly = None
    if is_jax:
        # Name the free sizes so that jax2tf knows height = factor * grid.
        def poly(dims):
            return "(" + ", ".join(dims) + ")"

        batch = "batch" if batch_size is None else str(batch_size)
        h_dim = "h" if height is None else str(grid_h)
        w_dim = "w" if width is None else str(grid_w)
        image_poly = poly(
            [
                batch,
                f"{factor}*{h_dim}" if height is None else str(height),
                f"{factor}*{w_dim}" if width is None else str(width),
                str(channels),
            ]
        )
        index_poly = poly([batch, h_dim, w_dim, str(depth)])

    archive = keras.export.ExportArchive()
    if is_jax:
        # jax2tf needs the variables listed up front. With TensorFlow the
        # archive collects the variables its endpoints read; tracking the
        # model as well would store every weight twice.
        archive.track(tokenizer)
    guard = ServingInputGuard(tokenizer, height, width, batch_size)
    # The first endpoint also becomes `serving_default`.
    endpoints = (
        ("encode_to_indices", encode_to_indices, "float32", image_poly),
        ("decode_from_indices", decode_from_indices, "int32", index_poly),
        ("reconstruct", reconstruct, "float32", image_poly),
        ("encode_uint8", encode_uint8, "uint8", image_poly),
    )
    for name, fn, dtype, polymorphic_shape in endpoints:
        key = "indices" if dtype == "int32" else "images"
        static_shape = index_shape if key == "indices" else image_shape
        try:
            if is_jax:
                # Keras converts `fn` with jax2tf for the static shape;
                # the validating wrapper below is plain TensorFlow.
                fn = archive._backend_add_endpoint(
                    name,
                    fn,
                    [tf.TensorSpec(static_shape, dtype, name=key)],
                    jax2tf_kwargs={"polymorphic_shapes": [polymorphic_shape]},
                )
            endpoint = guard.wrap(fn, key, dtype)
            archive.add_endpoint(name, endpoint)
        except Exception as error:
            if not is_jax:
                raise
            raise ExportBackendError(
                f"The JAX backend could not convert the endpoint {name!r} "
                f"with jax2tf ({type(error).__name__}: "
                f"{_first_line(error)}). {_TENSORFLOW_HINT}"
            ) from error
    return archive


class ServingInputGuard:
    """Checks every serving request before it reaches the model.

    The signatures accept tensors of any shape (a SavedModel signature does
    not check shapes: a rank-3 image would reach the oneDNN convolution and
    abort the server) and check, in order: rank, batch, size, channels or
    index depth, then finiteness and the value range of images or the
    range of every index slot. A failed check raises `InvalidArgumentError`
    with a message that names the fix; the model only runs on a request
    that passed every check. The checks reduce to a few scalars per batch.

    Args:
        tokenizer: the `VQCTTokenizer` being exported.
        height, width: int or `None` (any multiple of the factor).
        batch_size: int or `None` (any non-empty batch).
    """

    def __init__(self, tokenizer, height, width, batch_size):
        self.height = height
        self.width = width
        self.batch_size = batch_size
        self.factor = tokenizer.downsampling_factor
        self.channels = tokenizer.in_channels
        self.index_ranges = [int(r) for r in tokenizer.quantizer.index_ranges]
        self.slots = index_layout(tokenizer.quantizer)["slots"]

    def wrap(self, fn, key, dtype):
        """A `tf.function` of `key=<tensor of any shape>` that checks it.

        The request reaches the model only through a chain of data
        dependencies on the checks: one `check_numerics` gate per check
        (NaN when that check is the first to fail, so the error carries
        its message), then a reshape to the request's own shape. Graph
        rewrites may reorder ops without data dependencies (a `tf.cond`
        or control dependency did not stop oneDNN from aborting on a
        rank-3 image); they cannot run the model before its input exists.
        """
        import tensorflow as tf

        check = self.check_indices if key == "indices" else self.check_images

        def endpoint(value):
            failed, messages, static = check(value)
            gate = tf.constant(0.0)
            for position, message in enumerate(messages):
                flag = tf.where(tf.equal(failed, position), float("nan"), 0.0)
                gate = tf.debugging.check_numerics(
                    gate + flag, f"Rejected request: {message}."
                )
            shape = tf.concat([tf.shape(value), tf.zeros([4], tf.int32)], 0)
            placeholder = [1 if size is None else size for size in static]
            target = tf.where(tf.equal(failed, -1), shape[:4], placeholder)
            ready = tf.reshape(value, target + tf.cast(gate, tf.int32))
            ready.set_shape(static)
            return fn(ready)

        endpoint.__name__ = getattr(fn, "__name__", "endpoint")
        function = tf.function(
            endpoint,
            input_signature=[tf.TensorSpec(None, dtype, name=key)],
            autograph=False,
        )
        function.get_concrete_function()
        return function

    def check_images(self, images):
        import tensorflow as tf

        size = (
            f"{self.height}x{self.width} (the exported size)"
            if None not in (self.height, self.width)
            else f"a multiple of {self.factor} in height and width"
        )
        checks = self._shape_checks(
            images,
            "images",
            (self.height, self.width),
            self.channels,
            layout=f"(batch, height, width, {self.channels})",
            size_message=(
                f"images must be {size}; resize or crop them, or export "
                "with --image_size=dynamic"
            ),
            last_message=(
                f"images must have {self.channels} channels (channels "
                "last); convert grayscale to RGB, drop alpha, or transpose "
                "channels-first images"
            ),
        )
        if images.dtype != tf.uint8:
            checks.append(
                (
                    lambda: tf.reduce_all(tf.math.is_finite(images)),
                    "images contain NaN or infinite values; check the "
                    "decoding and scaling of the request",
                )
            )
            checks.append(
                (
                    lambda: tf.logical_and(
                        tf.reduce_min(images) >= -1.001,
                        tf.reduce_max(images) <= 1.001,
                    ),
                    "float images must lie in [-1, 1]; scale [0, 255] "
                    "images with x / 127.5 - 1 or send uint8 images to "
                    "the encode_uint8 signature",
                )
            )
        return self._checked(images, checks, (self.height, self.width))

    def check_indices(self, indices):
        import tensorflow as tf

        grid = tuple(
            None if size is None else size // self.factor
            for size in (self.height, self.width)
        )
        depth = len(self.index_ranges)
        grid_text = (
            f"{grid[0]}x{grid[1]} (the exported size / {self.factor})"
            if None not in grid
            else "any size"
        )
        checks = self._shape_checks(
            indices,
            "indices",
            grid,
            depth,
            layout=f"(batch, height, width, {depth})",
            size_message=f"the index grid must be {grid_text}",
            last_message=(
                f"indices must have depth {depth} per position "
                f"({', '.join(self.slots)}), as encode_to_indices returns"
            ),
        )
        for slot, (name, bound) in enumerate(
            zip(self.slots, self.index_ranges)
        ):

            def in_range(slot=slot, bound=bound):
                values = indices[..., slot]
                return tf.logical_and(
                    tf.reduce_min(values) >= 0, tf.reduce_max(values) < bound
                )

            checks.append(
                (
                    in_range,
                    f"index slot {slot} ({name}) must lie in [0, {bound}); "
                    "send indices returned by encode_to_indices",
                )
            )
        return self._checked(indices, checks, grid)

    def _shape_checks(
        self, value, what, sizes, last, layout, size_message, last_message
    ):
        """`(condition_fn, message)` pairs about the shape of `value`.

        The shape is padded to 4 entries, so no check can fail to compute
        whatever the rank of the request.
        """
        import tensorflow as tf

        rank = tf.rank(value)
        shape = tf.concat([tf.shape(value), tf.zeros([4], tf.int32)], 0)[:4]
        if self.batch_size is None:
            batch_ok = shape[0] > 0
            batch_message = "empty batch: send at least one item"
        else:
            batch_ok = tf.equal(shape[0], self.batch_size)
            batch_message = (
                f"the batch must hold exactly {self.batch_size} items (the "
                "exported batch size); export with the default batch size "
                "to accept any"
            )
        size_ok = tf.constant(True)
        for axis, size in ((1, sizes[0]), (2, sizes[1])):
            if size is not None:
                size_ok &= tf.equal(shape[axis], size)
            elif what == "images":
                size_ok &= tf.equal(shape[axis] % self.factor, 0)
                size_ok &= shape[axis] > 0
        return [
            (
                lambda: tf.equal(rank, 4),
                f"{what} must have rank 4 {layout}; add a batch axis for a "
                "single item (e.g. x[None])",
            ),
            (lambda: batch_ok, batch_message),
            (lambda: size_ok, size_message),
            (lambda: tf.equal(shape[3], last), last_message),
        ]

    def _checked(self, value, checks, sizes):
        """`(first failed check or -1, the messages, static shape)`.

        The checks run in order, each only when the ones before passed
        (`tf.cond`), so the range checks never see a malformed shape.
        """
        import tensorflow as tf

        def first_failure(position):
            if position == len(checks):
                return tf.constant(-1)
            condition, _ = checks[position]
            return tf.cond(
                condition(),
                lambda: first_failure(position + 1),
                lambda: tf.constant(position),
            )

        failed = first_failure(0)
        last = self.channels
        if value.dtype == tf.int32:
            last = len(self.index_ranges)
        static = (self.batch_size,) + tuple(sizes) + (last,)
        return failed, [message for _, message in checks], static


def _write_archive(archive, path, verbose):
    try:
        archive.write_out(path, verbose=verbose)
    except Exception as error:
        if keras.backend.backend() != "jax":
            raise
        raise ExportBackendError(
            "The JAX backend could not write the SavedModel "
            f"({type(error).__name__}: {_first_line(error)}). "
            f"{_TENSORFLOW_HINT}"
        ) from error


def _verify(path, tokenizer, height, width, batch_size):
    """Load the SavedModel here and call every signature on zeros."""
    import tensorflow as tf

    factor = tokenizer.downsampling_factor
    height = height or tokenizer.resolution
    width = width or tokenizer.resolution
    batch = batch_size or 1
    depth = tokenizer.quantizer.index_depth
    image_shape = (batch, height, width, tokenizer.in_channels)
    index_shape = (batch, height // factor, width // factor, depth)
    inputs = {
        "encode_to_indices": {"images": np.zeros(image_shape, "float32")},
        "decode_from_indices": {"indices": np.zeros(index_shape, "int32")},
        "reconstruct": {"images": np.zeros(image_shape, "float32")},
        "encode_uint8": {"images": np.full(image_shape, 127, "uint8")},
    }
    expected = {
        "indices": (index_shape, "int32"),
        "images": (image_shape, "float32"),
        "reconstruction": (image_shape, "float32"),
    }
    loaded = tf.saved_model.load(path)
    missing = set(SIGNATURE_NAMES + ("serving_default",)) - set(
        loaded.signatures
    )
    if missing:
        raise RuntimeError(
            f"The written SavedModel lacks the signatures {sorted(missing)}."
        )
    for name, arguments in inputs.items():
        try:
            outputs = loaded.signatures[name](
                **{key: tf.constant(value) for key, value in arguments.items()}
            )
        except Exception as error:
            if keras.backend.backend() != "jax":
                raise
            raise ExportBackendError(
                f"The SavedModel written by the JAX backend does not run in "
                f"this TensorFlow {tf.__version__} (signature {name!r}: "
                f"{type(error).__name__}: {_error_summary(error)}). This "
                "happens when the installed jax emits a newer StableHLO than "
                f"TensorFlow can read. {_TENSORFLOW_HINT}"
            ) from error
        for key, value in outputs.items():
            found = (tuple(value.shape), value.dtype.name)
            if found != expected[key]:
                raise RuntimeError(
                    f"Signature {name!r} returned {key} with (shape, dtype) "
                    f"{found}; expected {expected[key]}."
                )


# === Helpers ===


def make_world_readable(path):
    """Modes 0755 (folders) and 0644 (files) under `path`, like a model dir.

    `tempfile.mkdtemp` creates 0700 folders: a server running as another
    user could not read the version folder.
    """
    os.chmod(path, 0o755)
    for root, folders, filenames in os.walk(path):
        for name in folders:
            os.chmod(os.path.join(root, name), 0o755)
        for name in filenames:
            os.chmod(os.path.join(root, name), 0o644)


def _versions():
    versions = {
        "vqct_keras": __version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    try:
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    except ImportError:
        pass
    if keras.backend.backend() == "jax":
        import jax

        versions["jax"] = jax.__version__
    return versions


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else "no message"


def _error_summary(error):
    lines = [line.strip() for line in str(error).splitlines()]
    useful = [line for line in lines if "error" in line.lower()]
    return (useful[1] if len(useful) > 1 else _first_line(error))[:300]
