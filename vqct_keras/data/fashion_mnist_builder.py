"""Fashion-MNIST read from its original IDX files (e.g. Debian's copy)."""

import gzip
import os
import struct

import numpy as np
import tensorflow_datasets as tfds

from vqct_keras.data import errors

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def find_idx_file(directory, stem):
    """`<directory>/<stem>.gz` or `<directory>/<stem>`, or None."""
    for name in (stem + ".gz", stem):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def read_idx(path):
    """An IDX file (gzipped or not) of unsigned bytes, as a numpy array.

    Args:
        path: str. e.g. `train-images-idx3-ubyte.gz`.

    Returns:
        uint8 array of the shape the file declares.

    Raises:
        ValueError: the file is not a complete IDX file of unsigned bytes.
    """
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as file:
                data = file.read()
        else:
            with open(path, "rb") as file:
                data = file.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path}: cannot read ({error}).") from error
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes.")
    num_dims = data[3]
    header = 4 + 4 * num_dims
    shape = struct.unpack(">" + "I" * num_dims, data[4:header])
    if len(data) - header != int(np.prod(shape)):
        raise ValueError(
            f"{path}: holds {len(data) - header} bytes of data, its header "
            f"declares shape {shape}: truncated or corrupt."
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


class FashionMnistBuilder(tfds.core.GeneratorBasedBuilder):
    """Fashion-MNIST (60,000 train and 10,000 test 28x28 gray images).

    Reads the four original IDX files from `manual_dir`: Debian's
    `dataset-fashion-mnist` package installs them in
    `/usr/share/datasets/fashion-mnist/`. tfds's own `fashion_mnist`
    builder would reject them offline, since Debian re-compressed them and
    their checksums differ from the registered ones.
    """

    name = "vqct_fashion_mnist"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
    Install Debian's package (`apt-get install -y dataset-fashion-mnist`,
    files in {DEBIAN_DIR}/), or put the four original files (gzipped or
    not) from https://github.com/zalandoresearch/fashion-mnist in one folder:

      <manual_dir>/train-images-idx3-ubyte.gz
      <manual_dir>/train-labels-idx1-ubyte.gz
      <manual_dir>/t10k-images-idx3-ubyte.gz
      <manual_dir>/t10k-labels-idx1-ubyte.gz
    """

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description="Zalando's Fashion-MNIST article images (MIT).",
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(28, 28, 1)),
                    "label": tfds.features.ClassLabel(names=CLASS_NAMES),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://github.com/zalandoresearch/fashion-mnist",
            metadata=tfds.core.MetadataDict(),
        )

    def source_fingerprint(self):
        """None: the IDX files are read once (see `ImageFilesBuilder`)."""
        return None

    def find_manual_dir(self, manual_dir):
        """The first of `manual_dir` and `DEBIAN_DIR` that holds the four
        IDX files, else `manual_dir`."""
        for directory in (manual_dir, DEBIAN_DIR):
            if all(
                find_idx_file(directory, stem)
                for stems in FILES.values()
                for stem in stems
            ):
                return directory
        return manual_dir

    def missing_manual_files(self, manual_dir):
        missing = []
        for stems in FILES.values():
            for stem in stems:
                if find_idx_file(manual_dir, stem) is None:
                    missing.append(os.path.join(manual_dir, stem + ".gz"))
        return missing

    def _split_generators(self, dl_manager):
        directory = os.fspath(dl_manager.manual_dir)
        missing = self.missing_manual_files(directory)
        if missing:
            raise errors.DatasetNotAvailableError(
                "Fashion-MNIST files missing: " + ", ".join(missing)
            )
        self.info.metadata["manual_dir"] = directory
        return {
            split: self._generate_examples(
                find_idx_file(directory, images),
                find_idx_file(directory, labels),
            )
            for split, (images, labels) in FILES.items()
        }

    def _generate_examples(self, images_path, labels_path):
        images = read_idx(images_path)
        labels = read_idx(labels_path)
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"{images_path}: shape {images.shape}.")
        if labels.shape != images.shape[:1]:
            raise ValueError(
                f"{labels_path}: {labels.shape[0]} labels for "
                f"{images.shape[0]} images."
            )
        for index, (image, label) in enumerate(zip(images, labels)):
            yield index, {"image": image[:, :, None], "label": int(label)}
