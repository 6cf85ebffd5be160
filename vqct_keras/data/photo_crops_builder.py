"""Square crops of natural photos that installed packages carry."""

import dataclasses
import hashlib
import math

import numpy as np
import tensorflow_datasets as tfds

from vqct_keras.data import errors
from vqct_keras.data import image_files
from vqct_keras.data import photo_sources
from vqct_keras.data.image_files_builder import ImageFilesBuilder

# Photos are first scaled so that their short side is at most this.
WORKING_SHORT_SIDE = 1024


@dataclasses.dataclass(eq=False)
class PhotoCropsConfig(tfds.core.BuilderConfig):
    """Crop size and number of crops per photo, per split."""

    crop_size: int = 64
    train_crops_per_photo: int = 320
    test_crops_per_photo: int = 192


def crop_boxes(width, height, crop_size, count, seed):
    """Random square boxes `(left, top, right, bottom)` inside an image.

    Sides are log-uniform between `crop_size` (or the short side, if
    smaller) and half the short side, so crops range from fine detail to
    whole objects.
    """
    rng = np.random.default_rng(seed)
    short = min(width, height)
    low = min(crop_size, short)
    high = max(low, short // 2)
    boxes = []
    for _ in range(count):
        side = int(round(math.exp(rng.uniform(math.log(low), math.log(high)))))
        side = min(max(side, low), short)
        left = int(rng.integers(0, width - side + 1))
        top = int(rng.integers(0, height - side + 1))
        boxes.append((left, top, left + side, top + side))
    return boxes


def _stable_seed(text):
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


class PhotoCropsBuilder(ImageFilesBuilder):
    """Random square crops of ~58 natural photos from installed packages.

    The photos (see `photo_sources`) come from Debian `mate-backgrounds`,
    `plasma-workspace-wallpapers` and `lomiri-wallpapers-16.04` / `-20.04`,
    scikit-image, scikit-learn and matplotlib; each is used by one split
    only. Every photo is scaled to a short side of at
    most 1024 px, then cut into crops of random size and position
    (deterministic: seeded by the photo's id), each resized (bicubic,
    antialiased) to `crop_size`. Gray photos become RGB.

    Configs: `"64"` (320 crops per train photo, 192 per test photo) and
    `"256"` (32 and 16). Features: `image` and `source` (the photo's id).
    """

    name = "vqct_photo_crops"
    VERSION = tfds.core.Version("2.0.0")
    RELEASE_NOTES = {
        "2.0.0": "Lomiri and matplotlib photos, 2 more scikit-image ones; "
        "192 test crops per photo at 64 px.",
        "1.0.0": "Mate, Plasma, scikit-image and scikit-learn photos.",
    }
    BUILDER_CONFIGS = [
        PhotoCropsConfig(
            name="64",
            description="64x64 crops.",
            crop_size=64,
            train_crops_per_photo=320,
            test_crops_per_photo=192,
        ),
        PhotoCropsConfig(
            name="256",
            description="256x256 crops.",
            crop_size=256,
            train_crops_per_photo=32,
            test_crops_per_photo=16,
        ),
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "64"

    def _info(self):
        size = self.builder_config.crop_size
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "Square crops of natural photos shipped by Debian packages "
                "and Python libraries; train and test use disjoint photos."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(size, size, 3)),
                    "source": tfds.features.Text(),
                }
            ),
            metadata=tfds.core.MetadataDict(),
        )

    def source_fingerprint(self):
        return photo_sources.sources_fingerprint()

    def find_manual_dir(self, manual_dir):
        if not photo_sources.find_photo_sources():
            raise errors.DatasetNotAvailableError(
                "No natural photos installed: run scripts/setup.sh, or "
                "apt-get install -y mate-backgrounds "
                "plasma-workspace-wallpapers, or pip install "
                "scikit-image."
            )
        return manual_dir

    def _split_generators(self, dl_manager):
        del dl_manager
        sources = photo_sources.find_photo_sources()
        by_split = {"train": [], "test": []}
        for source in sources:
            by_split[source.split].append(source)
        metadata = self.info.metadata
        metadata["fingerprint"] = self.source_fingerprint()
        metadata["sources"] = {
            split: [source.source_id for source in split_sources]
            for split, split_sources in by_split.items()
        }
        metadata["skipped_files"] = {split: [] for split in by_split}
        metadata["num_skipped"] = {split: 0 for split in by_split}
        return {
            split: self._generate_examples(split, split_sources)
            for split, split_sources in by_split.items()
        }

    def _generate_examples(self, split, sources):
        from PIL import Image

        config = self.builder_config
        count = getattr(config, f"{split}_crops_per_photo")
        size = config.crop_size
        for source in sources:
            try:
                with Image.open(source.path) as image:
                    image.draft("RGB", (WORKING_SHORT_SIDE,) * 2)
                    image = image_files.pil_to_rgb(image)
            except Exception as error:  # PIL raises many types.
                self._record_skipped(split, source.source_id, str(error))
                continue
            scale = WORKING_SHORT_SIDE / min(image.size)
            if scale < 1:
                image = image.resize(
                    (round(image.width * scale), round(image.height * scale)),
                    Image.Resampling.BICUBIC,
                )
            boxes = crop_boxes(
                image.width,
                image.height,
                size,
                count,
                _stable_seed(f"{config.name}/{source.source_id}"),
            )
            for index, box in enumerate(boxes):
                crop = image.resize(
                    (size, size), Image.Resampling.BICUBIC, box=box
                )
                yield (
                    f"{source.source_id}/{index:04d}",
                    {"image": np.asarray(crop), "source": source.source_id},
                )
