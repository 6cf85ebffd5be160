"""Image datasets for VQCT tokenizers, as `tf.data` pipelines.

`load_dataset(name_or_path, split, image_size, batch_size, ...)` gives
float32 RGB images in [-1, 1]; `dataset_info` their size and skipped
files; `dataset_names()` the named datasets. `ImagePreprocessing` is the
per-image transform (resize, crop, flip, scale), usable on its own inside
`tf.data`. See `docs/data.md`.
"""

from vqct_keras.data.ade20k_builder import Ade20kBuilder
from vqct_keras.data.catalog import dataset_names
from vqct_keras.data.celeba_hq_builder import CelebaHqBuilder
from vqct_keras.data.errors import DatasetNotAvailableError
from vqct_keras.data.errors import SkippedFile
from vqct_keras.data.errors import UnreadableImagesError
from vqct_keras.data.fashion_mnist_builder import FashionMnistBuilder
from vqct_keras.data.image_folder_builder import ImageFolderBuilder
from vqct_keras.data.image_preprocessing import ImagePreprocessing
from vqct_keras.data.image_preprocessing import preprocess_image
from vqct_keras.data.loading import DatasetInfo
from vqct_keras.data.loading import dataset_filenames
from vqct_keras.data.loading import dataset_info
from vqct_keras.data.loading import default_data_dir
from vqct_keras.data.loading import load_dataset
from vqct_keras.data.photo_crops_builder import PhotoCropsBuilder

__all__ = [
    "Ade20kBuilder",
    "CelebaHqBuilder",
    "DatasetInfo",
    "DatasetNotAvailableError",
    "FashionMnistBuilder",
    "ImageFolderBuilder",
    "ImagePreprocessing",
    "PhotoCropsBuilder",
    "SkippedFile",
    "UnreadableImagesError",
    "dataset_filenames",
    "dataset_info",
    "dataset_names",
    "default_data_dir",
    "load_dataset",
    "preprocess_image",
]
