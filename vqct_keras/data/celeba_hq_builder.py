"""CelebA-HQ with the multimodal (text-to-image) train/test split."""

import io
import os
import pickle

from vqct_keras.data.image_files_builder import ImageFilesBuilder

CELEBA_HQ_FOLDER = "celeba_hq"
IMAGE_FOLDERS = ("CelebA-HQ-img", "images")
SPLITS = ("train", "test")


class _NamesOnlyUnpickler(pickle.Unpickler):
    """Loads pickles of plain lists/strings; refuses anything importable."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(
            f"filenames.pickle may hold only names, not {module}.{name}"
        )


def read_name_list(split_folder):
    """Image names listed for a split: `filenames.pickle` or a `.txt` list.

    Args:
        split_folder: str. `<root>/train` or `<root>/test`; the list is
            `<split_folder>/filenames.pickle` (a pickled list of names, as
            the multimodal CelebA-HQ release ships) or `<split_folder>.txt`
            (one name per line).

    Returns:
        list of str, or None when neither file exists.
    """
    pickle_path = os.path.join(split_folder, "filenames.pickle")
    text_path = split_folder.rstrip(os.sep) + ".txt"
    if os.path.isfile(pickle_path):
        with open(pickle_path, "rb") as file:
            names = _NamesOnlyUnpickler(
                io.BytesIO(file.read()), encoding="latin1"
            ).load()
        return [
            name.decode() if isinstance(name, bytes) else str(name)
            for name in names
        ]
    if os.path.isfile(text_path):
        with open(text_path) as file:
            return [line.strip() for line in file if line.strip()]
    return None


def resolve_image(image_folder, name):
    """The file for a listed name (`"12"`, `"12.jpg"`, `"x/12.png"`), or
    the `.jpg` path it would have when it is missing."""
    candidates = [name] + [name + ext for ext in (".jpg", ".png", ".jpeg")]
    for candidate in candidates:
        if os.path.isfile(os.path.join(image_folder, candidate)):
            return candidate
    return name if os.path.splitext(name)[1] else name + ".jpg"


class CelebaHqBuilder(ImageFilesBuilder):
    """CelebA-HQ faces with the train/test lists VQCT's `celehq.py` uses.

    The lists are the multimodal CelebA-HQ (TediGAN) text-to-image split:
    `train/filenames.pickle` and `test/filenames.pickle`. tfds's
    `celeb_a_hq` builder needs the progressive-GAN delta files and has no
    such split, so this builder reads the images from `manual_dir`.
    Listed images that are missing are counted as skipped.
    """

    name = "vqct_celeba_hq"
    DESCRIPTION = "CelebA-HQ faces, multimodal CelebA-HQ train/test split."
    HOMEPAGE = "https://github.com/IIGROUP/MM-CelebA-HQ-Dataset"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Put the CelebA-HQ images (from CelebAMask-HQ or MM-CelebA-HQ, named
    0.jpg ... 29999.jpg) and the multimodal split lists in:

      <manual_dir>/celeba_hq/CelebA-HQ-img/<name>.jpg   (or images/<name>.jpg)
      <manual_dir>/celeba_hq/train/filenames.pickle     (or train.txt)
      <manual_dir>/celeba_hq/test/filenames.pickle      (or test.txt)

    A list holds image names, with or without extension, one per entry
    (`.txt`: one per line).
    """

    def _image_folder(self, root):
        for folder in IMAGE_FOLDERS:
            path = os.path.join(root, folder)
            if os.path.isdir(path):
                return path
        return None

    def missing_manual_files(self, manual_dir):
        root = os.path.join(manual_dir, CELEBA_HQ_FOLDER)
        missing = []
        if self._image_folder(root) is None:
            missing.append(os.path.join(root, IMAGE_FOLDERS[0]) + os.sep)
        for split in SPLITS:
            split_folder = os.path.join(root, split)
            if not (
                os.path.isfile(os.path.join(split_folder, "filenames.pickle"))
                or os.path.isfile(split_folder + ".txt")
            ):
                missing.append(os.path.join(split_folder, "filenames.pickle"))
        return missing

    def _list_files(self, dl_manager):
        root = os.path.join(os.fspath(dl_manager.manual_dir), CELEBA_HQ_FOLDER)
        image_folder = self._image_folder(root)
        split_files = {}
        for split in SPLITS:
            names = read_name_list(os.path.join(root, split))
            paths = [resolve_image(image_folder, name) for name in names]
            paths = list(dict.fromkeys(paths))  # Drop repeated names.
            split_files[split] = (image_folder, paths)
        return split_files
