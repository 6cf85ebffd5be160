"""Pre-tokenize a dataset: code indices in sharded `.npz` files.

`tokenize_dataset(tokenizer, dataset, output_dir)` encodes every image
(`tokenizer.encode_to_indices`) in dataset order and writes

* `shard-00000.npz`, `shard-00001.npz`, ...: `indices` int32
  `(n, h, w, index_depth)` (VQCT: `[adj_1, ..., adj_k, noun]` per position)
  and `order` int64 `(n,)`, each image's position in the dataset; with
  `filenames` given, also `filenames` (unicode `(n,)`), each image's
  source file (shards of a dataset without file names have no such
  array, and `load_shard` gives `filenames: None`);
* `manifest.json`: the options (shard size, the tokenizer's fingerprint,
  the caller's source description: dataset, split, resize and crop), the
  index layout, and once finished the list of shards.

Each shard is written to a temporary file and renamed, so a shard file is
always complete. An interrupted run (or one stopped by `max_shards`) is
resumed by calling again with the same arguments: complete shards are
skipped without encoding their images, and the files end up byte-identical
to those of an uninterrupted run. `decode_shard` turns a shard back into
images. See `docs/evaluation.md`.
"""

import glob
import hashlib
import json
import os
import zipfile

import keras
import numpy as np

from vqct_keras.data import batches as batches_lib
from vqct_keras.utils import files

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
SHARD_TEMPLATE = "shard-{:05d}.npz"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def tokenize_dataset(
    tokenizer,
    dataset,
    output_dir,
    shard_size=1024,
    batch_size=32,
    max_shards=None,
    num_examples=None,
    source=None,
    progress=True,
    overwrite=False,
    filenames=None,
):
    """Write a dataset's code indices to resumable `.npz` shards.

    The dataset must give the same images in the same order on every pass
    (no shuffling, no random crops unless seeded); the order numbers in the
    shards refer to that order. Batches never straddle two shards, so a
    resumed run encodes exactly the same batches as an uninterrupted one.

    Args:
        tokenizer: a `VQCTTokenizer`.
        dataset: a `tf.data.Dataset` of images `(H, W, C)` or batches
            `(B, H, W, C)`, or any iterable of batches; float in [-1, 1].
        output_dir: str. Folder of the shards and `manifest.json`.
        shard_size: int. Images per shard (the last one may hold fewer).
            Defaults to `1024`.
        batch_size: int. Images per `encode_to_indices` call. Defaults to
            `32`.
        max_shards: int or None. Write at most this many new shards, then
            stop (rerun to continue). Defaults to `None` (all).
        num_examples: int or None. Images in the dataset, for the progress
            bar only. Defaults to `None`.
        source: dict or None. JSON-serialisable description of the data
            (dataset name, split, image size, resize and crop options).
            Stored in the manifest and checked on resume. Defaults to
            `None`.
        progress: bool. Show a `keras.utils.Progbar`. Defaults to `True`.
        overwrite: bool. Delete existing shards and manifest first instead
            of resuming. Defaults to `False`.
        filenames: sequence of str or None. The source file of each image,
            in dataset order (`vqct_keras.data.dataset_filenames`); stored
            as `filenames` in each shard. Defaults to `None` (no
            `filenames` array).

    Returns:
        dict: the manifest (see `read_manifest`) plus `shards_written` and
        `shards_skipped` of this call.

    Raises:
        ValueError: `output_dir` holds shards made with other options (a
            different tokenizer, shard size or source); or bad images.

    Example:

    ```python
    images = load_dataset("default", "train", shuffle=False)
    summary = tokenize_dataset(tokenizer, images, "runs/tokens",
                               shard_size=4096)
    shard = load_shard(shard_paths("runs/tokens")[0])
    print(shard["indices"].shape, shard["order"][:3])
    ```
    """
    shard_size, batch_size = int(shard_size), int(batch_size)
    if shard_size < 1 or batch_size < 1:
        raise ValueError("shard_size and batch_size must be >= 1")
    if max_shards is not None and int(max_shards) < 0:
        raise ValueError(f"max_shards must be >= 0, got {max_shards}")
    os.makedirs(output_dir, exist_ok=True)
    if overwrite:
        _remove_outputs(output_dir)
    _remove_temporary_files(output_dir)
    options = {
        "format_version": FORMAT_VERSION,
        "shard_size": shard_size,
        "tokenizer": tokenizer_description(tokenizer),
        "source": files.json_ready(source or {}),
    }
    manifest = _start_manifest(output_dir, options)
    if manifest.get("complete"):
        manifest.update(shards_written=0, shards_skipped=manifest["num_shards"])
        return manifest

    done = set(_existing_shard_numbers(output_dir))
    first_missing = 0
    while first_missing in done:
        first_missing += 1
    start = first_missing * shard_size
    progbar = None
    if progress:
        progbar = keras.utils.Progbar(num_examples, unit_name="image")
        if start:
            progbar.update(start)

    written, stopped = 0, False
    encoder = _IndexEncoder(tokenizer, name="index_encoder")
    pending = _PendingShard(first_missing)
    batches = _source_batches(dataset, start, batch_size)
    for chunk_start, images in _chunks(batches, start, shard_size, batch_size):
        shard_number = chunk_start // shard_size
        if shard_number != pending.number:  # The previous shard is full.
            if pending.count:
                _write_shard(output_dir, pending)
                written += 1
            pending = _PendingShard(shard_number)
        end = chunk_start + images.shape[0]
        if shard_number not in done:
            if max_shards is not None and written >= int(max_shards):
                stopped = True
                break
            batches_lib.check_image_batch(
                images, f"Images {chunk_start}-{end - 1}", tokenizer
            )
            indices = encoder.encode(images, batch_size)
            pending.add(
                indices, chunk_start, _names(filenames, chunk_start, end)
            )
            manifest.setdefault("image_shape", list(images.shape[1:]))
            manifest.setdefault("index_shape", list(indices.shape[1:]))
        if progbar is not None:
            progbar.update(end)
    else:  # The dataset is exhausted: write the last (partial) shard.
        if pending.count:
            _write_shard(output_dir, pending)
            written += 1

    shards = _shard_records(output_dir)
    complete = not stopped and _contiguous(shards, shard_size)
    if complete and not shards:
        raise ValueError("The dataset yielded no images: nothing to tokenize.")
    manifest.update(
        complete=complete,
        num_shards=len(shards),
        num_examples=sum(record["count"] for record in shards),
        shards=shards,
    )
    files.write_json(os.path.join(output_dir, MANIFEST_FILE), manifest)
    manifest.update(
        shards_written=written, shards_skipped=len(shards) - written
    )
    return manifest


def tokenizer_description(tokenizer):
    """Index layout and a fingerprint (SHA-256 of class, config and weights)
    of a tokenizer, as recorded in the manifest.

    Example:

    >>> from vqct_keras.models.vqct_presets import build_tokenizer
    >>> tokenizer = build_tokenizer("vqct_tiny_f2_32", quantizer="vector",
    ...                             num_codes=32)
    >>> description = tokenizer_description(tokenizer)
    >>> description["codebooks"], description["index_depth"]
    ({'codebook': 32}, 1)
    """
    quantizer = tokenizer.quantizer
    digest = hashlib.sha256()
    digest.update(type(tokenizer).__name__.encode())
    digest.update(
        json.dumps(tokenizer.get_config(), sort_keys=True, default=str).encode()
    )
    for weight in tokenizer.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{weight.path}:{value.dtype}:{value.shape}".encode())
        digest.update(value.tobytes())
    codebooks = {
        name: int(size)
        for name, size in zip(
            quantizer.codebook_names, quantizer.codebook_sizes
        )
    }
    return {
        "class": type(tokenizer).__name__,
        "fingerprint": digest.hexdigest(),
        "quantizer": type(quantizer).__name__,
        "codebooks": codebooks,
        "index_depth": int(quantizer.index_depth),
        "index_ranges": [int(value) for value in quantizer.index_ranges],
        "index_layout": quantizer.index_summary,
        "downsampling_factor": int(tokenizer.downsampling_factor),
    }


def read_manifest(output_dir):
    """The `manifest.json` of a tokenized folder, as a dict.

    Keys: `format_version`, `shard_size`, `tokenizer` (see
    `tokenizer_description`), `source`, `image_shape`, `index_shape`,
    `complete`, `num_shards`, `num_examples` and `shards` (a list of
    `{"file", "start", "count"}`).
    """
    path = os.path.join(output_dir, MANIFEST_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"No {MANIFEST_FILE} in {output_dir}: not a tokenized dataset "
            "folder (see `tokenize_dataset`)."
        )
    with open(path) as file:
        return json.load(file)


def shard_paths(output_dir):
    """Paths of the complete shards in `output_dir`, in order."""
    return [
        os.path.join(output_dir, SHARD_TEMPLATE.format(number))
        for number in _existing_shard_numbers(output_dir)
    ]


def load_shard(path):
    """A shard as a dict: `indices` int32 `(n, h, w, D)`, `order` int64
    `(n,)` (positions in the dataset) and `filenames` (unicode `(n,)`, the
    source file of each row; `None` for data without file names)."""
    with np.load(path, allow_pickle=False) as data:
        return {
            "indices": data["indices"],
            "order": data["order"],
            "filenames": data["filenames"] if "filenames" in data else None,
        }


def iterate_shards(output_dir):
    """Yield `load_shard` dicts of every complete shard, in order."""
    for path in shard_paths(output_dir):
        yield load_shard(path)


def decode_shard(tokenizer, shard, batch_size=32):
    """Images from a shard's indices (`tokenizer.decode_from_indices`).

    Args:
        tokenizer: the `VQCTTokenizer` that wrote the shard.
        shard: a shard path or a `load_shard` dict.
        batch_size: int. Indices per `decode_from_indices` call. Defaults
            to `32`.

    Returns:
        float32 numpy array `(n, H, W, C)`: the tokenizer's reconstructions
        of the shard's images (not clamped), in shard order.
    """
    if not isinstance(shard, dict):
        shard = load_shard(shard)
    indices = np.asarray(shard["indices"], "int32")
    decoded = []
    for begin in range(0, indices.shape[0], int(batch_size)):
        images = tokenizer.decode_from_indices(
            indices[begin : begin + int(batch_size)]
        )
        decoded.append(keras.ops.convert_to_numpy(images).astype("float32"))
    if not decoded:
        return np.zeros((0,), "float32")
    return np.concatenate(decoded)


# === Helpers ===


class _IndexEncoder(keras.Model):
    """`tokenizer.encode_to_indices` as a model, so that `predict_on_batch`
    compiles it (once: batches are padded to one size)."""

    def __init__(self, tokenizer, **kwargs):
        super().__init__(**kwargs)
        self.tokenizer = tokenizer

    def call(self, images):
        return self.tokenizer.encode_to_indices(images)

    def encode(self, images, batch_size):
        count = images.shape[0]
        if count < batch_size:
            filler = np.repeat(images[-1:], batch_size - count, axis=0)
            images = np.concatenate([images, filler])
        indices = self.predict_on_batch(images)
        return np.asarray(keras.ops.convert_to_numpy(indices), "int32")[:count]


class _PendingShard:
    """Indices of the shard being filled."""

    def __init__(self, number):
        self.number = number
        self.indices = []
        self.order = []
        self.filenames = []
        self.count = 0

    def add(self, indices, start, filenames=None):
        self.indices.append(indices)
        self.order.append(np.arange(start, start + len(indices), dtype="int64"))
        if filenames is not None:
            self.filenames.extend(filenames)
        self.count += len(indices)


def _names(filenames, start, end):
    """The file names of images `start` to `end - 1`, or `None`."""
    if filenames is None:
        return None
    names = [str(name) for name in filenames[start:end]]
    if len(names) != end - start:
        raise ValueError(
            f"The dataset holds at least {end} images but {len(filenames)} "
            "file names were given: pass one name per image, in dataset "
            "order (or filenames=None)."
        )
    return names


def _source_batches(dataset, start, batch_size):
    """Numpy batches of the dataset from image `start` on."""
    if hasattr(dataset, "element_spec") and hasattr(dataset, "unbatch"):
        shape = getattr(dataset.element_spec, "shape", None)
        rank = None if shape is None else len(shape)
        if rank == 4:
            dataset = dataset.unbatch()
        elif rank != 3:
            raise ValueError(
                "Expected a tf.data.Dataset of images (H, W, C) or batches "
                f"(B, H, W, C); got elements {dataset.element_spec}."
            )
        # Re-batched after the skip; `_chunks` cuts at shard boundaries.
        dataset = dataset.skip(start).batch(batch_size).prefetch(2)
        yield from dataset.as_numpy_iterator()
        return
    skipped = 0
    for batch in batches_lib.iterate_image_batches(dataset):
        if skipped + len(batch) <= start:
            skipped += len(batch)
            continue
        yield batch[max(0, start - skipped) :]
        skipped = start


def _chunks(batches, start, shard_size, batch_size):
    """`(position, images)` pieces of at most `batch_size` images that never
    cross a shard boundary; the cuts depend on positions only."""
    buffer, buffered, position = [], 0, start

    def take(count):
        nonlocal buffer, buffered
        joined = np.concatenate(buffer) if len(buffer) > 1 else buffer[0]
        piece, rest = joined[:count], joined[count:]
        buffer = [rest] if len(rest) else []
        buffered -= count
        return piece

    def next_size():
        to_boundary = shard_size - position % shard_size
        return min(batch_size, to_boundary)

    for batch in batches:
        batch = np.asarray(batch)
        if batch.ndim != 4:
            raise ValueError(
                f"Expected image batches (B, H, W, C); got shape {batch.shape}"
            )
        buffer.append(batch)
        buffered += len(batch)
        while buffered >= next_size():
            size = next_size()
            yield position, take(size)
            position += size
    while buffered:
        size = min(next_size(), buffered)
        yield position, take(size)
        position += size


def _start_manifest(output_dir, options):
    path = os.path.join(output_dir, MANIFEST_FILE)
    if os.path.exists(path):
        manifest = read_manifest(output_dir)
        recorded = {key: manifest.get(key) for key in options}
        if recorded != options:
            changed = sorted(
                key for key in options if recorded[key] != options[key]
            )
            raise ValueError(
                f"{output_dir} holds shards made with other {changed} "
                "options. Resume with the same tokenizer, shard size and "
                "source, or use another folder (or overwrite=True / "
                "--overwrite)."
            )
        return manifest
    if _existing_shard_numbers(output_dir):
        raise ValueError(
            f"{output_dir} holds shards but no {MANIFEST_FILE}; remove them "
            "or use overwrite=True."
        )
    manifest = dict(options, complete=False, num_shards=0, shards=[])
    files.write_json(path, manifest)
    return manifest


def _existing_shard_numbers(output_dir):
    numbers = []
    for path in glob.glob(os.path.join(output_dir, "shard-*.npz")):
        stem = os.path.basename(path)[len("shard-") : -len(".npz")]
        if stem.isdigit():
            numbers.append(int(stem))
    return sorted(numbers)


def _shard_records(output_dir):
    records = []
    for number in _existing_shard_numbers(output_dir):
        name = SHARD_TEMPLATE.format(number)
        with np.load(os.path.join(output_dir, name)) as data:
            order = data["order"]
            records.append(
                {
                    "file": name,
                    "start": int(order[0]) if order.size else 0,
                    "count": int(order.size),
                }
            )
    return records


def _contiguous(records, shard_size):
    """Whether the shards cover positions 0..N-1 with no hole."""
    for number, record in enumerate(records):
        if record["file"] != SHARD_TEMPLATE.format(number):
            return False
        if record["start"] != number * shard_size:
            return False
        if number < len(records) - 1 and record["count"] != shard_size:
            return False
    return True


def _write_shard(output_dir, pending):
    path = os.path.join(output_dir, SHARD_TEMPLATE.format(pending.number))
    arrays = {
        "indices": np.concatenate(pending.indices).astype("int32"),
        "order": np.concatenate(pending.order),
    }
    if pending.filenames:
        arrays["filenames"] = np.asarray(pending.filenames, dtype=np.str_)
    # Fixed timestamps: the same arrays always give the same bytes.
    with files.atomic_open(path, "wb") as target:
        with zipfile.ZipFile(
            target, "w", compression=zipfile.ZIP_DEFLATED
        ) as archive:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w", force_zip64=True) as file:
                    np.lib.format.write_array(file, array, allow_pickle=False)
    return path


def _remove_temporary_files(output_dir):
    pattern = os.path.join(output_dir, "*" + files.TEMPORARY_SUFFIX)
    for path in glob.glob(pattern):
        os.remove(path)


def _remove_outputs(output_dir):
    for path in glob.glob(os.path.join(output_dir, "shard-*.npz")):
        os.remove(path)
    manifest = os.path.join(output_dir, MANIFEST_FILE)
    if os.path.exists(manifest):
        os.remove(manifest)
