"""The named datasets: which tfds builders they read, and how each split is
preprocessed.

The paper's four datasets use the official VQCT loaders' transforms (see
`docs/data.md` for the table): ADE20K is squashed to a square, COCO and
CUB are resized on the short side and cropped, CUB's test split and
CelebA-HQ are not flipped. `default` (crops of natural photos that
installed packages carry) needs no download at all.

Adding a dataset is one builder file and one `DatasetEntry` in `ENTRIES`
below: the entry's `DatasetPart` names the builder and the module that
defines it, and the loader imports that module (which registers the builder
with tfds) and calls the builder's hooks; it knows no builder by name. A
builder of ours (`native=False`) is a tfds builder with three hooks, the
ones `ImageFilesBuilder` defines:

* `find_manual_dir(manual_dir)`: the folder to prepare from (data that
  packages install elsewhere), or raise `DatasetNotAvailableError`;
* `missing_manual_files(manual_dir)`: the files still missing there;
* `source_fingerprint()`: a string that changes with the source files
  (the dataset is prepared again), or `None`.

See `docs/data.md` ("Adding a dataset").
"""

import dataclasses
from collections.abc import Callable

from vqct_keras.data.image_preprocessing import ImagePreprocessing


@dataclasses.dataclass(frozen=True)
class DatasetPart:
    """One tfds builder that a named dataset reads.

    Args:
        builder_name: str. A tfds name with config, e.g. `"coco/2014"` or
            `"vqct_photo_crops/64"`.
        module: str. For our builders: the module that defines the
            builder (importing it registers the builder with tfds).
        native: bool. Prepared by tfds's own builder (download or
            archives in `manual_dir`); its images are checked once after
            preparation. Ours check theirs while preparing. A part is
            either native or names its `module`.
        manual_files: tuple of str. For native builders: the archives
            tfds accepts in `manual_dir` instead of downloading them.
        download_url: str. Where a native builder downloads from (used to
            test whether this machine can reach it).
        filename_key: str or None. Text feature naming an example's file.
    """

    builder_name: str
    module: str = ""
    native: bool = False
    manual_files: tuple = ()
    download_url: str = ""
    filename_key: str | None = "image/filename"

    def __post_init__(self):
        if self.native == bool(self.module):
            raise ValueError(
                f"DatasetPart {self.builder_name!r}: pass native=True for a "
                "tfds builder, or module=... naming the module that defines "
                "ours, not both."
            )


@dataclasses.dataclass(frozen=True)
class DatasetEntry:
    """A named dataset of the catalog.

    Args:
        name: str. The name `load_dataset` accepts.
        description: str. One line.
        parts: callable `image_size -> tuple of DatasetPart`.
        default_image_size: int. Output side when none is given. Defaults
            to 256.
        splits: tuple of str. Its splits (tfds split names). Defaults to
            `("train", "test")`.
        preprocessing: dict of split to `ImagePreprocessing` keyword
            arguments (all but `image_size`); key `"*"` for every split.
            Defaults to `TRAIN_TEST`: augmented train, plain test.
        official: dict of split (or `"*"`) to the official transform.
    """

    name: str
    description: str
    parts: Callable
    default_image_size: int = 256
    splits: tuple = ("train", "test")
    preprocessing: dict = dataclasses.field(
        default_factory=lambda: dict(TRAIN_TEST)
    )
    official: dict = dataclasses.field(default_factory=dict)

    def preprocessing_for(self, split, image_size):
        """The `ImagePreprocessing` of a split (slicing allowed)."""
        base = base_split(split)
        kwargs = self.preprocessing.get(base, self.preprocessing.get("*"))
        if kwargs is None:
            raise ValueError(
                f"{self.name} has no split {base!r}; splits: {self.splits}."
            )
        return ImagePreprocessing(image_size=image_size, **kwargs)


def base_split(split):
    """`"train[:10%]"` -> `"train"`; `"validation"` -> `"validation"`."""
    return str(split).split("[", 1)[0].strip()


# Transforms (all scale to [-1, 1] at the end).
TRAIN_AUGMENTED = dict(resize="short_side", crop="center", random_flip=True)
EVALUATION = dict(resize="short_side", crop="center", random_flip=False)
SQUASH = dict(resize="square", crop=None, random_flip=False)
RANDOM_CROP_FLIP = dict(resize="short_side", crop="random", random_flip=True)
TRAIN_TEST = {"train": TRAIN_AUGMENTED, "test": EVALUATION}

FASHION_MNIST = DatasetPart(
    "vqct_fashion_mnist",
    module="vqct_keras.data.fashion_mnist_builder",
    filename_key=None,
)
ADE20K = DatasetPart("vqct_ade20k", module="vqct_keras.data.ade20k_builder")
CELEBA_HQ = DatasetPart(
    "vqct_celeba_hq", module="vqct_keras.data.celeba_hq_builder"
)
COCO_2014 = DatasetPart(
    "coco/2014",
    native=True,
    manual_files=(
        "train2014.zip",
        "val2014.zip",
        "test2014.zip",
        "annotations_trainval2014.zip",
        "image_info_test2014.zip",
    ),
    download_url="http://images.cocodataset.org/",
)
CUB_200_2011 = DatasetPart(
    "caltech_birds2011",
    native=True,
    manual_files=("CUB_200_2011.tgz", "segmentations.tgz"),
    download_url="https://data.caltech.edu/",
)


def photo_crops_part(image_size):
    """The photo-crop config for an output size: 64 px crops up to 64."""
    config = "64" if image_size <= 64 else "256"
    return DatasetPart(
        f"vqct_photo_crops/{config}",
        module="vqct_keras.data.photo_crops_builder",
        filename_key="source",
    )


def folder_part():
    """The part that reads a folder of images (`ImageFolderBuilder`)."""
    return DatasetPart(
        "vqct_image_folder", module="vqct_keras.data.image_folder_builder"
    )


def tfds_part(name):
    """The part that reads any tfds dataset with its own builder."""
    return DatasetPart(name, native=True)


def _paper_entry(name, description, part, transforms, splits=("train", "test")):
    """A dataset of the paper: one part at every image size; `transforms`
    maps a split (or `"*"`) to our transform and the official loader's,
    which it reproduces."""
    return DatasetEntry(
        name=name,
        description=description,
        parts=lambda size: (part,),
        splits=splits,
        preprocessing={key: ours for key, (ours, _) in transforms.items()},
        official={key: theirs for key, (_, theirs) in transforms.items()},
    )


ENTRIES = {
    entry.name: entry
    for entry in (
        DatasetEntry(
            name="default",
            description=(
                "Crops of ~58 natural colour photos, installed offline "
                "(Debian wallpapers, scikit-image, ...); 32 px by default."
            ),
            parts=lambda size: (photo_crops_part(size),),
            default_image_size=32,
        ),
        DatasetEntry(
            name="fashion_mnist",
            description="Fashion-MNIST from Debian's IDX files, gray to RGB.",
            parts=lambda size: (FASHION_MNIST,),
            default_image_size=32,
        ),
        DatasetEntry(
            name="photo_crops",
            description="Crops of ~58 natural photos from installed packages.",
            parts=lambda size: (photo_crops_part(size),),
            default_image_size=64,
        ),
        _paper_entry(
            "ade20k",
            "ADE20K 2021 full release (manual download).",
            ADE20K,
            {"*": (SQUASH, "Resize((256, 256))")},
            splits=("train", "validation"),
        ),
        _paper_entry(
            "coco2014",
            "MS-COCO 2014 train2014 / val2014 (tfds coco/2014).",
            COCO_2014,
            {
                "*": (
                    TRAIN_AUGMENTED,
                    "Resize(256) -> CenterCrop(256) -> RandomHorizontalFlip",
                )
            },
            splits=("train", "validation"),
        ),
        _paper_entry(
            "cub200",
            "CUB-200-2011, official split (caltech_birds2011).",
            CUB_200_2011,
            {
                "train": (
                    RANDOM_CROP_FLIP,
                    "Resize(256) -> RandomCrop(256) -> RandomHorizontalFlip",
                ),
                "test": (EVALUATION, "Resize(256) -> CenterCrop(256)"),
            },
        ),
        _paper_entry(
            "celeba_hq",
            "CelebA-HQ, multimodal train/test lists (manual).",
            CELEBA_HQ,
            {"*": (EVALUATION, "Resize(256) (images are square)")},
        ),
    )
}

# Folders and raw tfds datasets: flip when training only.
GENERIC_PREPROCESSING = {
    "train": TRAIN_AUGMENTED,
    "*": EVALUATION,
}


def dataset_names():
    """The names `load_dataset` accepts, besides folders and `tfds:<name>`.

    >>> dataset_names()[:4]
    ('ade20k', 'celeba_hq', 'coco2014', 'cub200')
    >>> dataset_names()[4:]
    ('default', 'fashion_mnist', 'photo_crops')
    """
    return tuple(sorted(ENTRIES))
