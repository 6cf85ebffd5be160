"""`load_dataset`: any named dataset or folder of images as a `tf.data`
pipeline of float32 RGB images in [-1, 1].

Datasets are tfds builders: prepared once into
`<data_dir>/<builder>/<config>/<version>/`, where `data_dir` is
`$TFDS_DATA_DIR` or `vqct_keras.assets.asset_dir("tensorflow_datasets")`.
The pipeline reads encoded images, shuffles and repeats them, then decodes
and preprocesses each one (see `ImagePreprocessing`), and batches.
"""

import dataclasses
import importlib
import os
import shutil
import socket
import urllib.parse

import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging

from vqct_keras import assets
from vqct_keras.data import catalog
from vqct_keras.data import errors
from vqct_keras.data import image_check
from vqct_keras.data.image_folder_builder import ImageFolderBuilder
from vqct_keras.data.image_preprocessing import ImagePreprocessing

ON_ERROR_MODES = ("skip", "fail")
# Shuffle buffers hold encoded images; this bounds their memory.
SHUFFLE_BUFFER_BYTES = 256 * 2**20
MAX_SHUFFLE_BUFFER = 20_000


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What `load_dataset` reads for one split.

    Args:
        name: str. The catalog name, `tfds:<name>`, or the folder.
        split: str. The split as asked (slicing included).
        num_examples: int. Images in the split, skipped ones excluded.
        image_size: int. Side of the output images.
        preprocessing: `ImagePreprocessing` applied to each image.
        builders: tuple of str. tfds full names read (`name/config/version`).
        data_dir: str. The tfds data folder.
        skipped_files: tuple of `SkippedFile`: unreadable images left out
            (for a sliced split, those of the whole split).
        num_skipped: int. How many were left out (all are counted; at most
            1000 per split are listed).
        description: str.
    """

    name: str
    split: str
    num_examples: int
    image_size: int
    preprocessing: ImagePreprocessing
    builders: tuple
    data_dir: str
    skipped_files: tuple
    num_skipped: int
    description: str = ""


def default_data_dir():
    """`$TFDS_DATA_DIR` if set, else `asset_dir("tensorflow_datasets")`."""
    return os.environ.get("TFDS_DATA_DIR") or assets.asset_dir(
        "tensorflow_datasets"
    )


def load_dataset(
    name_or_path="default",
    split="train",
    image_size=None,
    batch_size=None,
    shuffle=None,
    seed=None,
    drop_remainder=False,
    repeat=False,
    on_error="skip",
    data_dir=None,
    manual_dir=None,
    download=True,
    preprocessing=None,
    shuffle_buffer_size=None,
    with_info=False,
):
    """A `tf.data.Dataset` of float32 RGB images in [-1, 1].

    Args:
        name_or_path: str. A name from `dataset_names()` (`"default"`,
            `"coco2014"`, ...), a folder of images (see
            `ImageFolderBuilder`), or `"tfds:<tfds name>"` for any tfds
            dataset with an `image` feature. Defaults to `"default"`.
        split: str. tfds split, slicing allowed (`"train[:10%]"`). The
            preprocessing follows the split's name. Defaults to `"train"`.
        image_size: int. Output side. Defaults to the dataset's own (256
            for the paper's datasets and folders, 32 for `default`).
        batch_size: int or None. Batch the images. Defaults to `None`
            (single images `(H, W, 3)`).
        shuffle: bool or None. Shuffle files and examples. Defaults to
            `True` for `train` splits, `False` otherwise.
        seed: int or None. Makes order, crops and flips reproducible.
        drop_remainder: bool. Drop the last smaller batch. Defaults to
            `False`.
        repeat: bool or int. `True` repeats forever, an int that many
            times (reshuffled each time). Defaults to `False`.
        on_error: str. `"skip"` (default): unreadable images are left out,
            logged and counted (`DatasetInfo.skipped_files`); `"fail"`:
            raise `UnreadableImagesError` if the split has any.
        data_dir: str. tfds data folder. Defaults to `default_data_dir()`.
        manual_dir: str. Folder with manually downloaded files. Defaults
            to `<data_dir>/downloads/manual`.
        download: bool. Let tfds download what is missing (when this
            machine can reach the source). Defaults to `True`.
        preprocessing: `ImagePreprocessing` to use instead of the split's
            own (its `image_size` then wins).
        shuffle_buffer_size: int. Defaults to the whole split, at most
            20,000 images and 256 MiB of encoded images.
        with_info: bool. Also return a `DatasetInfo`. Defaults to `False`.

    Returns:
        `tf.data.Dataset` of `(image_size, image_size, 3)` float32 images
        (batched: `(batch, image_size, image_size, 3)`), plus a
        `DatasetInfo` when `with_info=True`.

    Raises:
        DatasetNotAvailableError: the data is not prepared and cannot be:
            the message lists the files to put where.
        UnreadableImagesError: with `on_error="fail"`, when some images of
            the split cannot be read.

    Example:

    ```python
    images = load_dataset("default", batch_size=32, seed=0)
    for batch in images.take(1):
        print(batch.shape)  # (32, 32, 32, 3)
    images, info = load_dataset("/data/my_photos", image_size=128,
                                with_info=True)
    print(info.num_examples, info.num_skipped)
    ```
    """
    if on_error not in ON_ERROR_MODES:
        raise ValueError(f"`on_error` must be one of {ON_ERROR_MODES}.")
    source = _Source(
        name_or_path, split, image_size, data_dir, manual_dir, download
    )
    if preprocessing is not None:
        source.preprocessing = preprocessing
    info = source.info()
    _apply_error_policy(info, on_error)
    if shuffle is None:
        shuffle = catalog.base_split(split) == "train"
    dataset = source.encoded_images(shuffle, seed)
    if shuffle:
        buffer = shuffle_buffer_size or source.auto_shuffle_buffer()
        dataset = dataset.shuffle(
            buffer, seed=seed, reshuffle_each_iteration=True
        )
    if repeat is True:
        dataset = dataset.repeat()
    elif repeat:
        dataset = dataset.repeat(int(repeat))
    dataset = _decode_and_preprocess(dataset, info.preprocessing, seed)
    if batch_size:
        dataset = dataset.batch(
            batch_size,
            drop_remainder=drop_remainder,
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    return (dataset, info) if with_info else dataset


def dataset_info(
    name_or_path="default",
    split="train",
    image_size=None,
    data_dir=None,
    manual_dir=None,
    download=True,
):
    """The `DatasetInfo` of a split (size, skipped files, preprocessing).

    Prepares the dataset if needed, like `load_dataset`, whose arguments
    these are.

    Example:

    ```python
    info = dataset_info("default", "test")
    print(info.num_examples, info.preprocessing.describe())
    ```
    """
    return _Source(
        name_or_path, split, image_size, data_dir, manual_dir, download
    ).info()


def dataset_filenames(
    name_or_path="default",
    split="train",
    data_dir=None,
    manual_dir=None,
    download=True,
):
    """The source file name of each image of a split, in the order of
    `load_dataset(..., shuffle=False)` (unreadable images left out).

    Names are relative to the dataset's root (for a folder: the path under
    the split's subfolder, e.g. `cats/0001.jpg`); for the photo-crop
    datasets, the source photo of each crop.

    Returns:
        list of str, or `None` when the dataset records no file names
        (e.g. `fashion_mnist` and most `tfds:` datasets).
    """
    return _Source(
        name_or_path, split, None, data_dir, manual_dir, download
    ).filenames()


def _apply_error_policy(info, on_error):
    if not info.num_skipped:
        return
    listed = ", ".join(
        f"{skipped.filename} ({skipped.reason})"
        for skipped in info.skipped_files[:5]
    )
    message = (
        f"{info.name} [{info.split}]: {info.num_skipped} unreadable image(s)"
        f", e.g. {listed}. All are in DatasetInfo.skipped_files."
    )
    if on_error == "fail":
        raise errors.UnreadableImagesError(message, info.skipped_files)
    logging.warning("%s They are left out (on_error='skip').", message)


def _decode(encoded):
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    image.set_shape((None, None, 3))
    return image


def _decode_and_preprocess(dataset, preprocessing, seed):
    if preprocessing.is_random:
        seeds = tf.data.Dataset.random(
            seed=seed, rerandomize_each_iteration=True
        ).batch(2)
        dataset = tf.data.Dataset.zip(dataset, seeds)
        return dataset.map(
            lambda encoded, pair: preprocessing(_decode(encoded), pair),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return dataset.map(
        lambda encoded: preprocessing(_decode(encoded)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def _image_key(builder):
    features = builder.info.features
    if "image" in features.keys():
        return "image"
    for key, feature in features.items():
        if isinstance(feature, tfds.features.Image):
            return key
    raise ValueError(f"{builder.info.full_name} has no image feature.")


def _data_ready(builder, split):
    """Whether `as_dataset` works: prepared, or mocked by tfds.testing."""
    if builder.is_prepared():
        return True
    try:
        builder.as_dataset(split=split)
        return True
    except AssertionError:
        return False


def _reachable(url, timeout=5.0):
    parsed = urllib.parse.urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout):
            return True
    except OSError:
        return False


class _Part:
    """One prepared tfds builder, its split, and its unreadable records."""

    def __init__(self, spec, split, data_dir, manual_dir, download, folder):
        self.spec = spec
        self.split = split
        self.base_split = catalog.base_split(split)
        self.data_dir = data_dir
        self.manual_dir = manual_dir
        self.folder = folder
        self.builder = self._make_builder()
        self._prepare(download)
        self.image_key = _image_key(self.builder)
        self._check_split()
        self.skipped_files, self.num_skipped, self.bad_ids = self._skipped()
        self.num_examples = self._count()

    def _make_builder(self):
        if self.folder:
            return ImageFolderBuilder(
                root_dir=self.folder, data_dir=self.data_dir
            )
        if self.spec.module:
            # Our builders register themselves with tfds when imported.
            importlib.import_module(self.spec.module)
        return tfds.builder(self.spec.builder_name, data_dir=self.data_dir)

    def _layout_error(self, missing, cause=""):
        builder = self.builder
        instructions = getattr(builder, "MANUAL_DOWNLOAD_INSTRUCTIONS", "")
        if self.spec.native:
            files, url = self._native_downloads()
            instructions = (
                f"tfds's `{builder.name}` builder downloads "
                f"{', '.join(files)} from {url}. Without internet, put those "
                "archives (exact names) in the manual folder:\n"
                + "".join(
                    f"  {os.path.join(self.manual_dir, name)}\n"
                    for name in files
                )
            )
        if instructions:
            instructions = tfds.core.utils.dedent(instructions)
            instructions = instructions.replace("<manual_dir>", self.manual_dir)
        message = (
            f"{builder.info.full_name} is not prepared in {self.data_dir} "
            f"and cannot be prepared here{cause}.\nMissing:\n"
            + "".join(f"  {path}\n" for path in missing)
            + f"{instructions.rstrip()}\n"
            "Or pass manual_dir=... (or data_dir=... / TFDS_DATA_DIR)."
        )
        return errors.DatasetNotAvailableError(message)

    def _prepare(self, download):
        builder = self.builder
        if _data_ready(builder, self.split):
            if self._stale():
                logging.warning(
                    "%s: its source files changed since it was prepared; "
                    "preparing it again.",
                    builder.info.full_name,
                )
                shutil.rmtree(os.fspath(builder.data_path))
                self.builder = builder = self._make_builder()
            else:
                return
        manual_dir = self.manual_dir
        config = {}
        if self.spec.native:
            files, url = self._native_downloads()
            missing = [
                os.path.join(manual_dir, name)
                for name in files
                if not os.path.isfile(os.path.join(manual_dir, name))
            ]
            if missing and not download:
                raise self._layout_error(missing, " (download=False)")
            if missing and not _reachable(url):
                raise self._layout_error(missing, f": {url} is unreachable")
        else:
            manual_dir = builder.find_manual_dir(manual_dir)
            missing = builder.missing_manual_files(manual_dir)
            if missing:
                raise self._layout_error(missing)
            config["try_download_gcs"] = False
        download_config = tfds.download.DownloadConfig(
            manual_dir=manual_dir, **config
        )
        try:
            builder.download_and_prepare(download_config=download_config)
        except errors.DatasetNotAvailableError:
            raise
        except (OSError, AssertionError) as error:
            if not self.spec.native:
                raise
            files, _ = self._native_downloads()
            raise self._layout_error(files, f": {error}") from error

    def _native_downloads(self):
        """`(archive names, a download url)` of a tfds builder: the
        catalog's list, else tfds's registered checksums (none: nothing
        to download)."""
        if self.spec.manual_files:
            return self.spec.manual_files, self.spec.download_url
        url_infos = type(self.builder).url_infos or {}
        files = sorted({info.filename for info in url_infos.values()})
        return [name for name in files if name], next(iter(url_infos), "")

    def _stale(self):
        builder = self.builder
        if self.spec.native:
            return False
        if not builder.is_prepared():  # Mocked data: nothing to compare.
            return False
        recorded = (builder.info.metadata or {}).get("fingerprint")
        return recorded != builder.source_fingerprint()

    def _check_split(self):
        splits = self.builder.info.splits
        if splits and self.base_split not in splits:
            raise ValueError(
                f"{self.builder.info.full_name} has no split "
                f"{self.base_split!r}; it has {sorted(splits)}."
            )

    def _skipped(self):
        builder = self.builder
        if self.spec.native:
            checked = image_check.check_split_images(
                builder,
                self.base_split,
                os.path.join(self.data_dir, "vqct_image_checks"),
                image_key=self.image_key,
                filename_key=self._filename_key(),
            )
            bad_ids = tuple(tfds_id for tfds_id, _ in checked)
            files = tuple(skipped for _, skipped in checked)
            return files, len(files), bad_ids
        metadata = builder.info.metadata or {}
        source = f"{builder.info.full_name}/{self.base_split}"
        listed = (metadata.get("skipped_files") or {}).get(self.base_split, [])
        count = (metadata.get("num_skipped") or {}).get(self.base_split, 0)
        files = tuple(
            errors.SkippedFile(source, filename, reason)
            for filename, reason in listed
        )
        return files, max(count, len(files)), ()

    def _filename_key(self):
        key = self.spec.filename_key
        return key if key in self.builder.info.features.keys() else None

    def _read(self, shuffle_files=False, seed=None, filename_key=None):
        features = {self.image_key: True}
        if filename_key:
            features[filename_key] = True
        decoders = tfds.decode.PartialDecoding(
            features, decoders={self.image_key: tfds.decode.SkipDecoding()}
        )
        return self.builder.as_dataset(
            split=self.split,
            decoders=decoders,
            shuffle_files=shuffle_files,
            read_config=tfds.ReadConfig(
                add_tfds_id=bool(self.bad_ids), shuffle_seed=seed
            ),
        )

    def _count(self):
        count = int(self._read().cardinality())
        if count < 0:
            count = self.builder.info.splits[self.split].num_examples
        return count - len(self.bad_ids)

    def encoded_images(self, shuffle, seed, key=None):
        key = key or self.image_key
        filename_key = None if key == self.image_key else key
        dataset = self._read(shuffle, seed, filename_key)
        if self.bad_ids:
            bad_ids = tf.constant(self.bad_ids)
            dataset = dataset.filter(
                lambda example: tf.reduce_all(
                    tf.not_equal(example["tfds_id"], bad_ids)
                )
            )
        return dataset.map(lambda example: example[key])

    def filenames(self):
        """The file name of each image, in `encoded_images(False, None)`
        order; `None` when the data records no file names."""
        key = self._filename_key()
        if key is None:
            return None
        dataset = self.encoded_images(False, None, key=key)
        return [name.decode() for name in dataset.as_numpy_iterator()]

    def mean_record_bytes(self):
        try:
            split_info = self.builder.info.splits[self.split]
            return split_info.num_bytes / max(split_info.num_examples, 1)
        except (KeyError, ValueError, TypeError):
            return None


class _Source:
    """A name or folder resolved to its parts, for one split."""

    def __init__(
        self, name_or_path, split, image_size, data_dir, manual_dir, download
    ):
        data_dir = os.fspath(data_dir or default_data_dir())
        manual_dir = os.fspath(
            manual_dir or os.path.join(data_dir, "downloads", "manual")
        )
        self.name, entry, folder = _resolve(name_or_path)
        self.split = split
        base = catalog.base_split(split)
        if entry is not None:
            if base not in entry.splits:
                raise ValueError(
                    f"{entry.name} has no split {base!r}; its splits are "
                    f"{entry.splits}."
                )
            self.image_size = int(image_size or entry.default_image_size)
            specs = entry.parts(self.image_size)
            self.preprocessing = entry.preprocessing_for(split, self.image_size)
            self.description = entry.description
        else:
            self.image_size = int(image_size or 256)
            if folder:
                specs = (catalog.folder_part(),)
                self.description = f"Images under {folder}."
            else:
                specs = (catalog.tfds_part(self.name[len("tfds:") :]),)
                self.description = f"tfds dataset {self.name[5:]}."
            kwargs = catalog.GENERIC_PREPROCESSING.get(
                base, catalog.GENERIC_PREPROCESSING["*"]
            )
            self.preprocessing = ImagePreprocessing(self.image_size, **kwargs)
        self.data_dir = data_dir
        self.parts = [
            _Part(spec, split, data_dir, manual_dir, download, folder)
            for spec in specs
        ]

    def info(self):
        skipped = tuple(f for part in self.parts for f in part.skipped_files)
        return DatasetInfo(
            name=self.name,
            split=self.split,
            num_examples=sum(part.num_examples for part in self.parts),
            image_size=self.preprocessing.image_size,
            preprocessing=self.preprocessing,
            builders=tuple(part.builder.info.full_name for part in self.parts),
            data_dir=self.data_dir,
            skipped_files=skipped,
            num_skipped=sum(part.num_skipped for part in self.parts),
            description=self.description,
        )

    def filenames(self):
        names = [part.filenames() for part in self.parts]
        if any(part_names is None for part_names in names):
            return None
        return [name for part_names in names for name in part_names]

    def encoded_images(self, shuffle, seed):
        datasets = [part.encoded_images(shuffle, seed) for part in self.parts]
        if len(datasets) == 1:
            return datasets[0]
        total = sum(part.num_examples for part in self.parts)
        if shuffle:
            # Each image once per pass, parts interleaved in proportion.
            dataset = tf.data.Dataset.sample_from_datasets(
                datasets,
                weights=[part.num_examples / total for part in self.parts],
                seed=seed,
                stop_on_empty_dataset=False,
            )
        else:
            dataset = datasets[0]
            for other in datasets[1:]:
                dataset = dataset.concatenate(other)
        if not any(part.bad_ids for part in self.parts):
            dataset = dataset.apply(
                tf.data.experimental.assert_cardinality(total)
            )
        return dataset

    def auto_shuffle_buffer(self):
        total = sum(part.num_examples for part in self.parts)
        sizes = [part.mean_record_bytes() for part in self.parts]
        if all(sizes):
            mean = sum(sizes) / len(sizes)
            fitting = int(SHUFFLE_BUFFER_BYTES / max(mean, 1.0))
        else:
            fitting = 10_000
        return max(1, min(total, fitting, MAX_SHUFFLE_BUFFER))


def _resolve(name_or_path):
    """`(name, catalog entry or None, folder or None)`."""
    if isinstance(name_or_path, os.PathLike):
        name_or_path = os.fspath(name_or_path)
    name = str(name_or_path)
    if name in catalog.ENTRIES:
        return name, catalog.ENTRIES[name], None
    if name.startswith("tfds:"):
        return name, None, None
    path = os.path.expanduser(name)
    if os.path.isdir(path):
        return name, None, os.path.realpath(path)
    if os.sep in name or name.startswith((".", "~")):
        raise errors.DatasetNotAvailableError(f"No such folder: {name}")
    raise ValueError(
        f"Unknown dataset {name!r}. Use one of {catalog.dataset_names()}, "
        "a folder of images, or 'tfds:<tfds dataset name>'."
    )
