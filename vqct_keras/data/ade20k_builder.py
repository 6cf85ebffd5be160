"""ADE20K (2021 full release) images, read from a manual download."""

import os

from vqct_keras.data import image_files
from vqct_keras.data.image_files_builder import ImageFilesBuilder

ADE20K_ROOT = os.path.join("ADE20K_2021_17_01", "images", "ADE")
ADE20K_SPLITS = {"train": "training", "validation": "validation"}


class Ade20kBuilder(ImageFilesBuilder):
    """ADE20K_2021_17_01 scene images, as VQCT's `ade20k.py` loader reads.

    Every `.jpg` under `training/` (train split, 25,574 images) and
    `validation/` (validation split, 2,000 images) of
    `ADE20K_2021_17_01/images/ADE/`; segmentation PNGs are ignored.
    tfds has no builder for this release (`scene_parse150` is the smaller
    2016 challenge subset), so the files come from `manual_dir`.
    """

    name = "vqct_ade20k"
    DESCRIPTION = "ADE20K 2021 full-release scene images (no annotations)."
    HOMEPAGE = "https://groups.csail.mit.edu/vision/datasets/ADE20K/"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Register at https://groups.csail.mit.edu/vision/datasets/ADE20K/ and
    download ADE20K_2021_17_01.zip, then unzip it into the manual folder:

      <manual_dir>/ADE20K_2021_17_01/images/ADE/training/<scene>/<class>/*.jpg
      <manual_dir>/ADE20K_2021_17_01/images/ADE/validation/<scene>/<class>/*.jpg
    """

    def missing_manual_files(self, manual_dir):
        missing = []
        for folder in ADE20K_SPLITS.values():
            path = os.path.join(manual_dir, ADE20K_ROOT, folder)
            if not os.path.isdir(path):
                missing.append(path + os.sep)
        return missing

    def _list_files(self, dl_manager):
        root = os.path.join(os.fspath(dl_manager.manual_dir), ADE20K_ROOT)
        split_files = {}
        for split, folder in ADE20K_SPLITS.items():
            split_root = os.path.join(root, folder)
            paths = image_files.list_image_files(split_root, (".jpg",))
            split_files[split] = (split_root, paths)
        return split_files
