"""Reconstruction evaluation of a tokenizer over a dataset (VQCT protocol).

`evaluate_tokenizer(tokenizer, dataset)` streams a batched dataset through
the tokenizer once and reports, over the whole pass:

* rFID: FID between the originals and their reconstructions (Inception
  pool3 features, pytorch-fid preprocessing: the whole frame resized to
  299x299), as in the released VQCT test script;
* LPIPS (VGG16 v0.1);
* PSNR on RGB uint8 pixels; SSIM on the PIL-grayscale images (the official
  variant) and on the RGB channels;
* L1 and MSE on the [-1, 1] tensors;
* codebook usage, perplexity and dead codes, for the adjective and the noun
  codebooks separately (VQCT) or for the single codebook (VQGAN).

Memory does not grow with the dataset: per-image metrics are running sums,
FID keeps running feature moments, codebook usage a histogram, and only the
first `grid_size` images are kept for the picture. See `docs/evaluation.md`.
"""

import itertools
import json
import math
import os
import time
import zipfile
import zlib

import keras
import numpy as np
import PIL.Image

from vqct_keras.metrics import codebook_usage as usage_lib
from vqct_keras.metrics import fid_reference
from vqct_keras.metrics import image_quality
from vqct_keras.models.vqct_tokenizer import VQCTTokenizer

METRICS_FILE = "metrics.json"
GRID_FILE = "reconstructions.png"
HISTOGRAM_FILE = "code_histogram.png"
LPIPS_MIN_SIZE = 16  # VGG16's four 2x2 pools need 16 px to reach conv5.
# Below the Inception feature dimension the FID covariances are rank
# deficient and rFID is biased upwards.
RFID_MIN_IMAGES = 2048
_RANGE_TOLERANCE = 1e-3
_PER_IMAGE_METRICS = ("psnr", "ssim", "ssim_rgb", "l1", "mse", "lpips")


def evaluate_tokenizer(
    tokenizer,
    dataset,
    output_dir=None,
    max_batches=None,
    compute_fid=True,
    compute_lpips=True,
    jpeg_quality=None,
    progress=True,
    grid_size=8,
    *,
    fid_protocol="pytorch_fid",
    fid_feature_extractor=None,
    fid_reference_cache=None,
    lpips_model=None,
    metadata=None,
    protocol=None,
):
    """Reconstruction metrics of a tokenizer over one pass of a dataset.

    Every image is encoded and decoded in inference mode
    (`tokenizer(images, training=False)`). Both the original and the
    reconstruction are clamped to [-1, 1] and mapped to uint8 like the
    VQCT test script (`to_uint8`); with `jpeg_quality` both are then
    JPEG-encoded and decoded (the script saves `.jpg` files at PIL's
    default quality 75). On those uint8 images: PSNR (RGB), SSIM
    (grayscale, the official figure, and RGB) and rFID. L1, MSE and LPIPS
    compare the float tensors (the reconstruction clamped to [-1, 1] for
    LPIPS). Per-image values are averaged over images.

    Args:
        tokenizer: a `VQCTTokenizer` (any model whose call returns a dict
            with `"reconstruction"` and `"indices"`, and that has a
            `quantizer`).
        dataset: a batched `tf.data.Dataset` or any iterable of batches
            `(B, H, W, C)` float images in [-1, 1] (numpy or tensors).
            Elements that are tuples (`(images, labels)`) or dicts with an
            `"image"` / `"images"` key are accepted.
        output_dir: str or None. If given, writes `metrics.json`,
            `reconstructions.png` (originals above reconstructions) and
            `code_histogram.png` there. Defaults to `None`.
        max_batches: int or None. Stop after this many batches (required
            for an infinite dataset). Defaults to `None` (the whole
            dataset).
        compute_fid: bool. Compute rFID (needs the FID Inception weights
            unless `fid_feature_extractor` is given). Defaults to `True`.
        compute_lpips: bool. Compute LPIPS (needs the LPIPS weights unless
            `lpips_model` is given). Defaults to `True`.
        jpeg_quality: int or None. JPEG round trip of both sides before the
            uint8 metrics; `75` reproduces the official script. Defaults to
            `None` (no JPEG).
        progress: bool. Show a `keras.utils.Progbar`. Defaults to `True`.
        grid_size: int. Images in the reconstruction picture. Defaults to
            `8`.
        fid_protocol: str. `"pytorch_fid"` (the official script's) or
            `"tensorflow"`; see `vqct_keras.metrics.FIDInceptionV3`.
            Defaults to `"pytorch_fid"`.
        fid_feature_extractor: callable or model mapping uint8 image batches
            to `(B, D)` features, instead of `FIDInceptionV3`. Defaults to
            `None`.
        fid_reference_cache: str or None. An `.npz` file holding the
            originals' Inception statistics (`FIDReferenceCache`): read
            when it exists, so only the reconstructions go through
            Inception, else written at the end. A `ValueError` says so
            when the cached statistics came from other pixels. Defaults
            to `None` (no cache).
        lpips_model: callable `(images, reconstructions) -> (B,)` on [-1, 1]
            floats, instead of `vqct_keras.metrics.LPIPS`. Defaults to
            `None`.
        metadata: dict or None. Stored under `"metadata"` in the result
            (e.g. the model and dataset names). Defaults to `None`.
        protocol: dict or None. Added to the result's `"protocol"` (e.g.
            `EvaluationProtocol.describe()`: split, image count, JPEG).
            Defaults to `None`.

    Returns:
        dict: `num_images`, `num_batches`, `image_shape`, `rfid`, `lpips`,
        `psnr`, `ssim` (grayscale), `ssim_rgb`, `l1`, `mse`, per codebook
        `<name>_usage`, `<name>_perplexity`, `<name>_dead_codes` (names
        `adjective` and `noun`, or `codebook`) and the full `codebooks`
        dict, `notes` (why a figure is `None` or how to read it),
        `seconds`, `images_per_second`, `protocol`, `warnings` (e.g. rFID
        from fewer than 2,048 images) and, when given, `metadata` and
        `files`. A figure that was not computed is `None`.

    Raises:
        ValueError: the dataset is empty, infinite without `max_batches`,
            or yields something other than `(B, H, W, C)` float images in
            [-1, 1] that the tokenizer accepts.

    Example:

    ```python
    from vqct_keras.data import load_dataset
    dataset = load_dataset("default", "test", batch_size=32)
    results = evaluate_tokenizer(tokenizer, dataset, output_dir="runs/eval",
                                 max_batches=10, jpeg_quality=75)
    print(results["rfid"], results["psnr"], results["noun_usage"])
    ```
    """
    if max_batches is not None and int(max_batches) < 1:
        raise ValueError(f"max_batches must be >= 1, got {max_batches}")
    expected = _expected_batches(dataset, max_batches)
    evaluator = ReconstructionEvaluator(
        tokenizer.quantizer,
        compute_fid=compute_fid,
        compute_lpips=compute_lpips,
        jpeg_quality=jpeg_quality,
        grid_size=grid_size,
        fid_protocol=fid_protocol,
        fid_feature_extractor=fid_feature_extractor,
        fid_reference_cache=fid_reference_cache,
        lpips_model=lpips_model,
    )
    progbar = None
    if progress:
        progbar = keras.utils.Progbar(
            expected,
            stateful_metrics=list(_PER_IMAGE_METRICS),
            unit_name="batch",
        )
    padder = _BatchPadder()
    start = time.perf_counter()
    step = 0
    for step, images in enumerate(
        iterate_image_batches(dataset, max_batches), 1
    ):
        check_image_batch(images, f"Dataset batch {step - 1}", tokenizer)
        outputs = tokenizer.predict_on_batch(padder.pad(images))
        reconstructions = padder.unpad(outputs["reconstruction"])
        indices = padder.unpad(outputs["indices"])
        evaluator.update(images, reconstructions, indices)
        if progbar is not None:
            progbar.update(step, values=evaluator.running_means())
    if step == 0:
        raise ValueError(
            "The dataset yielded no batches: nothing to evaluate. Check the "
            "split (and `drop_remainder` with a batch larger than the split)."
        )
    seconds = time.perf_counter() - start
    results = evaluator.result()
    results["num_batches"] = step
    results["seconds"] = seconds
    results["images_per_second"] = results["num_images"] / max(seconds, 1e-9)
    results["protocol"]["max_batches"] = max_batches
    if protocol:
        results["protocol"].update(protocol)
    results["protocol"]["num_images"] = results["num_images"]
    results["warnings"] = _warnings(results)
    if metadata:
        results["metadata"] = dict(metadata)
    if output_dir:
        results["files"] = evaluator.write(output_dir, results)
    return results


def _warnings(results):
    count = results["num_images"]
    if results["rfid"] is not None and count < RFID_MIN_IMAGES:
        return [
            f"rFID from {count} images (fewer than {RFID_MIN_IMAGES:,}, the "
            "Inception feature dimension) is biased upwards: compare it only "
            "with rFIDs on the same number of images."
        ]
    return []


def load_tokenizer(path):
    """Load a tokenizer saved as `.keras`, with a clear error when missing.

    `vqct_keras` is imported first, so its classes are registered. A saved
    model that wraps a tokenizer (a `tokenizer` attribute) gives the
    tokenizer.

    Args:
        path: str. The `.keras` file (e.g. `runs/<run>/tokenizer.keras`).

    Returns:
        The tokenizer (a `VQCTTokenizer`).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a `.keras` file, a truncated or corrupt one, or no
            tokenizer in it.
    """
    import vqct_keras  # noqa: F401  (registers the serializable classes)

    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No model file at {path}. Pass the .keras file a training run "
            "wrote (runs/<run>/tokenizer.keras) or `tokenizer.save(...)`."
        )
    if not path.endswith(".keras"):
        raise ValueError(
            f"{path} is not a .keras file; save the tokenizer with "
            "`tokenizer.save('tokenizer.keras')`."
        )
    broken = (
        f"{path} is not a readable .keras archive (truncated or corrupt, "
        "e.g. a copy that did not finish). Save the tokenizer again, or use "
        "the tokenizer.keras of a finished run."
    )
    if not zipfile.is_zipfile(path):
        raise ValueError(broken)
    try:
        model = keras.saving.load_model(path, compile=False)
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        FileNotFoundError,
        json.JSONDecodeError,
    ) as e:
        raise ValueError(f"{broken} ({type(e).__name__}: {e})") from e
    if not _is_tokenizer(model) and _is_tokenizer(
        getattr(model, "tokenizer", None)
    ):
        model = model.tokenizer
    if not _is_tokenizer(model):
        raise ValueError(
            f"{path} holds a {type(model).__name__}, not a tokenizer with a "
            "quantizer and encode_to_indices."
        )
    return model


def load_evaluation_dataset(
    name_or_path,
    split="test",
    image_size=None,
    batch_size=None,
    data_dir=None,
    **preprocessing_changes,
):
    """`load_dataset` in a fixed order with deterministic preprocessing.

    No shuffling; a split whose preprocessing is random (a train split's
    random crop and flip) gets a center crop and no flip instead, so every
    pass gives the same images (the official test loader's
    `Resize` + `CenterCrop`).

    Args:
        name_or_path: str. Dataset name or folder (see `load_dataset`).
        split: str. Defaults to `"test"`.
        image_size: int or None. Defaults to the dataset's own.
        batch_size: int or None. Defaults to `None` (single images).
        data_dir: str or None. tfds data folder.
        **preprocessing_changes: `ImagePreprocessing` fields to change
            (`resize`, `crop`, `random_flip`).

    Returns:
        `(dataset, DatasetInfo)`; `info.preprocessing` is the one used.
    """
    from vqct_keras.data import load_dataset

    kwargs = dict(
        split=split,
        image_size=image_size,
        batch_size=batch_size,
        shuffle=False,
        data_dir=data_dir,
        with_info=True,
    )
    dataset, info = load_dataset(name_or_path, **kwargs)
    preprocessing = info.preprocessing
    changes = {k: v for k, v in preprocessing_changes.items() if v is not None}
    if preprocessing.crop == "random" and "crop" not in changes:
        changes["crop"] = "center"
    if preprocessing.random_flip and "random_flip" not in changes:
        changes["random_flip"] = False
    if changes.get("crop") == "none":
        changes["crop"] = None
    changed = preprocessing.replace(**changes)
    if changed != preprocessing:
        dataset, info = load_dataset(
            name_or_path, preprocessing=changed, **kwargs
        )
    return dataset, info


class ReconstructionEvaluator:
    """Running reconstruction metrics, fed one batch at a time.

    `evaluate_tokenizer` drives it; use it directly when the
    reconstructions and indices are already at hand (e.g. in a training
    callback). Arguments as in `evaluate_tokenizer`; `quantizer` is the
    tokenizer's quantizer (a `PartOfSpeechQuantizer` gets an adjective and
    a noun usage tracker, a `VectorQuantizer` one tracker).

    Example:

    >>> from vqct_keras.layers.vector_quantizer import VectorQuantizer
    >>> evaluator = ReconstructionEvaluator(
    ...     VectorQuantizer(num_codes=4, embed_dim=2),
    ...     compute_fid=False, compute_lpips=False)
    >>> images = np.zeros((2, 8, 8, 3), "float32")
    >>> evaluator.update(images, images + 0.5, np.zeros((2, 2, 2, 1), "int32"))
    >>> results = evaluator.result()
    >>> round(results["l1"], 3), results["codebook_dead_codes"]
    (0.5, 3)
    """

    def __init__(
        self,
        quantizer,
        compute_fid=True,
        compute_lpips=True,
        jpeg_quality=None,
        grid_size=8,
        fid_protocol="pytorch_fid",
        fid_feature_extractor=None,
        lpips_model=None,
        fid_reference_cache=None,
    ):
        self.quantizer = quantizer
        self.compute_fid = bool(compute_fid)
        self.compute_lpips = bool(compute_lpips)
        self.jpeg_quality = None if not jpeg_quality else int(jpeg_quality)
        if self.jpeg_quality is not None and not 1 <= self.jpeg_quality <= 95:
            raise ValueError(
                f"jpeg_quality must be in [1, 95] or None, got {jpeg_quality}"
            )
        self.grid_size = int(grid_size)
        self.fid_protocol = fid_protocol
        self.fid_feature_extractor = fid_feature_extractor
        self.lpips_model = lpips_model
        self.usages = usage_lib.usage_trackers(quantizer)
        self.sums = {name: 0.0 for name in _PER_IMAGE_METRICS}
        self.counts = {name: 0 for name in _PER_IMAGE_METRICS}
        self.notes = {}
        self.num_images = 0
        self.image_shape = None
        self.index_shape = None
        self.grid_originals = []
        self.grid_reconstructions = []
        self._custom_fid_extractor = fid_feature_extractor is not None
        self._fid = None
        self.fid_count = 0
        self.fid_dimension = None
        self._fid_padder = _BatchPadder()
        self._lpips_padder = _BatchPadder()
        self._reference_cache = None
        self._cached_reference = None
        self._reference_digest = fid_reference.PixelDigest()
        if fid_reference_cache and self.compute_fid:
            self._reference_cache = fid_reference.FIDReferenceCache(
                fid_reference_cache
            )
            self._cached_reference = self._reference_cache.load()

    # === Updates ===

    def update(self, images, reconstructions, indices):
        """Add a batch: originals and reconstructions `(B, H, W, C)` in
        [-1, 1], code indices `(B, h, w, D)`."""
        images = _to_numpy(images, "float32")
        reconstructions = _to_numpy(reconstructions, "float32")
        indices = _to_numpy(indices)
        if images.shape != reconstructions.shape:
            raise ValueError(
                f"images {images.shape} and reconstructions "
                f"{reconstructions.shape} differ in shape"
            )
        if self.image_shape is None:
            self.image_shape = tuple(images.shape[1:])
            self.index_shape = tuple(indices.shape[1:])
        self.num_images += images.shape[0]
        self._update_usage(indices)
        self._add("l1", image_quality.l1_error(reconstructions, images))
        self._add(
            "mse", image_quality.mean_squared_error(reconstructions, images)
        )
        originals_uint8 = image_quality.to_uint8(images)
        reconstructions_uint8 = image_quality.to_uint8(reconstructions)
        self._keep_for_grid(originals_uint8, reconstructions_uint8)
        if self.jpeg_quality is not None:
            originals_uint8, reconstructions_uint8 = (
                image_quality.jpeg_round_trip(x, quality=self.jpeg_quality)
                for x in (originals_uint8, reconstructions_uint8)
            )
        self._add(
            "psnr", image_quality.psnr(reconstructions_uint8, originals_uint8)
        )
        self._update_ssim(originals_uint8, reconstructions_uint8)
        if self.compute_lpips:
            self._update_lpips(images, np.clip(reconstructions, -1.0, 1.0))
        if self.compute_fid:
            self._update_fid(originals_uint8, reconstructions_uint8)

    def _add(self, name, values):
        values = np.asarray(values, "float64").reshape(-1)
        self.sums[name] += float(values.sum())
        self.counts[name] += values.size

    def _update_usage(self, indices):
        if indices.ndim != 4 or indices.shape[-1] != self.quantizer.index_depth:
            raise ValueError(
                f"indices must be (B, h, w, {self.quantizer.index_depth}), "
                f"got {indices.shape}"
            )
        usage_lib.update_usage(self.usages, self.quantizer, indices)

    def _keep_for_grid(self, originals, reconstructions):
        missing = self.grid_size - sum(len(x) for x in self.grid_originals)
        if missing > 0:
            self.grid_originals.append(originals[:missing])
            self.grid_reconstructions.append(reconstructions[:missing])

    def _update_ssim(self, originals, reconstructions):
        if min(originals.shape[1:3]) < image_quality.SSIM_WINDOW_SIZE:
            size = image_quality.SSIM_WINDOW_SIZE
            self.notes["ssim"] = f"images smaller than {size}x{size}"
            return
        if originals.shape[-1] == 3:
            self._add(
                "ssim",
                image_quality.ssim(reconstructions, originals, grayscale=True),
            )
        else:
            self.notes["ssim"] = "grayscale SSIM needs RGB images"
        self._add("ssim_rgb", image_quality.ssim(reconstructions, originals))

    def _update_lpips(self, images, reconstructions):
        if self.lpips_model is None:
            if min(images.shape[1:3]) < LPIPS_MIN_SIZE:
                self.notes["lpips"] = (
                    f"LPIPS (VGG16) needs images of at least {LPIPS_MIN_SIZE} "
                    "px"
                )
                self.compute_lpips = False
                return
            self.lpips_model = _lpips_model()
        model = self.lpips_model
        count = images.shape[0]
        pad = self._lpips_padder.pad
        if hasattr(model, "predict_on_batch"):
            distances = model.predict_on_batch(
                [pad(images), pad(reconstructions)]
            )
        else:
            distances = model(pad(images), pad(reconstructions))
        self._add("lpips", _to_numpy(distances, "float64")[:count])

    def _update_fid(self, originals, reconstructions):
        from vqct_keras.metrics.fid import FrechetInceptionDistance

        if self._fid is None:
            extractor = self.fid_feature_extractor
            if extractor is None:
                from vqct_keras.metrics.inception import FIDInceptionV3

                extractor = FIDInceptionV3(protocol=self.fid_protocol)
                self.fid_feature_extractor = extractor
            self._fid = FrechetInceptionDistance(
                feature_extractor=extractor, protocol=self.fid_protocol
            )
        count = originals.shape[0]
        self._reference_digest.update(originals)
        self.fid_count += count
        if self._cached_reference is not None:
            # The originals' statistics come from the cache.
            features = self._fid_features(self._fid_padder.pad(reconstructions))
            self.fid_dimension = features.shape[1]
            self._fid.update_features(generated=features[:count])
            return
        both = np.concatenate([originals, reconstructions])
        features = self._fid_features(self._fid_padder.pad(both))
        self.fid_dimension = features.shape[1]
        self._fid.update_features(
            reference=features[:count], generated=features[count : 2 * count]
        )

    def _fid_features(self, images):
        extractor = self.fid_feature_extractor
        if hasattr(extractor, "predict_on_batch"):
            features = extractor.predict_on_batch(images)
        else:
            features = extractor(images)
        features = _to_numpy(features, "float64")
        return features.reshape(features.shape[0], -1)

    # === Results ===

    def running_means(self):
        """`[(name, mean so far)]` of the per-image metrics, for progress."""
        return [
            (name, self.sums[name] / self.counts[name])
            for name in _PER_IMAGE_METRICS
            if self.counts[name]
        ]

    def _mean(self, name):
        if not self.counts[name]:
            return None
        return self.sums[name] / self.counts[name]

    def _rfid(self):
        if not self.compute_fid:
            self.notes.setdefault("rfid", "not computed (compute_fid=False)")
            return None
        count = self.fid_count
        if self._fid is None or count < 2:
            self.notes["rfid"] = (
                f"needs at least 2 images for a feature covariance; got {count}"
            )
            return None
        dimension = self.fid_dimension
        if count < dimension:
            self.notes["rfid"] = (
                f"computed from {count} images, fewer than the {dimension} "
                "feature dimensions: the covariances are rank deficient and "
                "rFID is biased upwards; compare values only at equal image "
                "counts"
            )
        self._sync_reference_cache(count)
        return self._fid.result()

    def _sync_reference_cache(self, count):
        """Check the cached originals' statistics, or store them."""
        if self._reference_cache is None:
            return
        digest = self._reference_digest.hexdigest()
        description = {
            "fid_protocol": self.fid_protocol,
            "jpeg_quality": self.jpeg_quality,
            "image_shape": list(self.image_shape or ()),
            "custom_extractor": self._custom_fid_extractor,
        }
        cached = self._cached_reference
        if cached is not None:
            self._reference_cache.check(cached, digest, count, description)
            self._fid.set_moments("reference", cached)
            self.notes["rfid_reference"] = (
                f"originals' Inception statistics read from "
                f"{self._reference_cache.path}"
            )
            return
        self._reference_cache.save(
            self._fid.moments("reference"),
            digest,
            description,
        )
        self._cached_reference = self._reference_cache.load()
        self.notes["rfid_reference"] = (
            f"originals' Inception statistics written to "
            f"{self._reference_cache.path}"
        )

    def result(self):
        """Every figure so far (see `evaluate_tokenizer`'s Returns)."""
        results = {
            "num_images": self.num_images,
            "image_shape": list(self.image_shape or ()),
            "index_shape": list(self.index_shape or ()),
            "rfid": self._rfid(),
            "lpips": self._mean("lpips"),
            "psnr": self._mean("psnr"),
            "ssim": self._mean("ssim"),
            "ssim_rgb": self._mean("ssim_rgb"),
            "l1": self._mean("l1"),
            "mse": self._mean("mse"),
        }
        if not self.compute_lpips and "lpips" not in self.notes:
            self.notes["lpips"] = "not computed (compute_lpips=False)"
        codebooks = {}
        for usage in self.usages:
            summary = usage.result()
            codebooks[usage.name] = summary
            results[f"{usage.name}_usage"] = summary["usage_fraction"]
            results[f"{usage.name}_perplexity"] = summary["perplexity"]
            results[f"{usage.name}_dead_codes"] = summary["dead_codes"]
        results["codebooks"] = codebooks
        results["notes"] = dict(self.notes)
        results["protocol"] = self.protocol()
        return results

    def protocol(self):
        """How each figure was computed, for `metrics.json`."""
        jpeg = self.jpeg_quality
        uint8_side = (
            f"uint8 pixels after a PIL JPEG round trip at quality {jpeg}"
            if jpeg
            else "uint8 pixels (no JPEG)"
        )
        fid_source = (
            "a custom feature extractor"
            if self._custom_fid_extractor
            else "FIDInceptionV3 pool3 (2048-d)"
        )
        return {
            "reference": "the released VQCT test_net.py (docs/method.md, "
            "Evaluation)",
            "reconstruction": "tokenizer(images, training=False)"
            "['reconstruction'] (encode, quantize, decode)",
            "uint8": "uint8((clip(x, -1, 1) + 1) * 0.5 * 255 + 0.5), both "
            "sides",
            "jpeg_quality": jpeg,
            "rfid": f"FID of reconstructions vs originals on {uint8_side}; "
            f"{fid_source}; preprocessing '{self.fid_protocol}' (whole "
            "frame resized to 299x299, no crop); unbiased covariances; "
            "null below 2 images",
            "psnr": f"per image 20 log10(255 / sqrt(MSE)) on RGB "
            f"{uint8_side}, mean over images",
            "ssim": f"per image on the PIL 'L' grayscale of {uint8_side} "
            "(skimage defaults: 7x7 uniform window, K1 0.01, K2 0.03), "
            "mean over images (the official figure)",
            "ssim_rgb": f"as ssim, on the RGB channels of {uint8_side} "
            "(mean over channels)",
            "l1": "per image mean |x_rec - x| on the [-1, 1] float tensors "
            "(not clamped, no JPEG), mean over images",
            "mse": "per image mean (x_rec - x)^2 on the [-1, 1] float "
            "tensors (not clamped, no JPEG), mean over images",
            "lpips": "LPIPS v0.1 VGG16 on the [-1, 1] tensors (the "
            "reconstruction clamped), mean over images",
            "codebook_usage": "histogram of every code index over the pass; "
            "VQCT: all top_k adjective picks and the noun per position, "
            "each in its own codebook; perplexity exp(-sum p ln p)",
        }

    # === Files ===

    def write(self, output_dir, results=None):
        """Write `metrics.json`, `reconstructions.png` and
        `code_histogram.png` into `output_dir`; returns their paths."""
        os.makedirs(output_dir, exist_ok=True)
        results = dict(results if results is not None else self.result())
        files = {
            "metrics": os.path.join(output_dir, METRICS_FILE),
            "reconstructions": os.path.join(output_dir, GRID_FILE),
            "code_histogram": os.path.join(output_dir, HISTOGRAM_FILE),
        }
        results["files"] = {
            key: os.path.basename(p) for key, p in files.items()
        }
        if self.grid_originals:
            save_reconstruction_grid(
                np.concatenate(self.grid_originals),
                np.concatenate(self.grid_reconstructions),
                files["reconstructions"],
            )
        usage_lib.plot_code_histogram(self.usages, files["code_histogram"])
        write_metrics_json(results, files["metrics"])
        return files


def save_reconstruction_grid(originals, reconstructions, path, min_tile=64):
    """Save originals (top row) above their reconstructions (bottom row).

    Args:
        originals: uint8 `(N, H, W, C)` (C = 1 or 3).
        reconstructions: uint8, same shape.
        path: str. Output `.png`.
        min_tile: int. Small images are enlarged (nearest neighbour, by an
            integer factor) to at least this many pixels. Defaults to `64`.

    Returns:
        str. `path`.

    Example:

    >>> import tempfile
    >>> images = np.zeros((3, 8, 8, 3), "uint8")
    >>> path = os.path.join(tempfile.mkdtemp(), "grid.png")
    >>> path = save_reconstruction_grid(images, images, path)
    >>> with PIL.Image.open(path) as png:
    ...     png.size
    (200, 134)
    """
    originals = np.asarray(originals)
    reconstructions = np.asarray(reconstructions)
    if originals.shape != reconstructions.shape or originals.ndim != 4:
        raise ValueError(
            "originals and reconstructions must be equal (N, H, W, C) "
            f"arrays; got {originals.shape} and {reconstructions.shape}"
        )
    count, height, width, channels = originals.shape
    scale = max(1, math.ceil(min_tile / max(1, min(height, width))))
    gap = 2
    tile_height, tile_width = height * scale, width * scale
    grid = np.full(
        (
            2 * tile_height + 3 * gap,
            count * tile_width + (count + 1) * gap,
            channels,
        ),
        255,
        "uint8",
    )
    for row, images in enumerate((originals, reconstructions)):
        top = gap + row * (tile_height + gap)
        for column, image in enumerate(images):
            left = gap + column * (tile_width + gap)
            tile = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
            grid[top : top + tile_height, left : left + tile_width] = tile
    if channels == 1:
        grid = grid[..., 0]
    PIL.Image.fromarray(grid).save(path, format="PNG")
    return path


def write_metrics_json(results, path):
    """Write results as strict JSON (non-finite floats become `null`),
    atomically (temporary file, then rename)."""
    temporary = f"{path}.partial"
    with open(temporary, "w") as file:
        json.dump(
            _json_safe(results), file, indent=2, sort_keys=True, allow_nan=False
        )
        file.write("\n")
    os.replace(temporary, path)
    return path


def _json_safe(value):
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    return value


# === Helpers ===


def _is_tokenizer(model):
    return isinstance(model, VQCTTokenizer)


def _lpips_model():
    """LPIPS wrapped in a functional model, so `predict_on_batch` compiles
    it once per batch shape."""
    from vqct_keras.metrics.lpips import LPIPS

    images_0 = keras.Input((None, None, 3), name="images_0")
    images_1 = keras.Input((None, None, 3), name="images_1")
    distances = LPIPS(name="lpips")(images_0, images_1)
    return keras.Model([images_0, images_1], distances, name="lpips_model")


def _to_numpy(x, dtype=None):
    if not isinstance(x, np.ndarray):
        x = keras.ops.convert_to_numpy(x)
    return x if dtype is None else x.astype(dtype, copy=False)


class _BatchPadder:
    """Pads smaller (last) batches to the first batch's size, so compiled
    functions see one shape; `unpad` drops the padding rows."""

    def __init__(self):
        self.size = None
        self.count = None

    def pad(self, batch):
        self.count = batch.shape[0]
        if self.size is None or self.count > self.size:
            self.size = self.count
        if self.count == self.size:
            return batch
        filler = np.repeat(batch[-1:], self.size - self.count, axis=0)
        return np.concatenate([batch, filler])

    def unpad(self, batch):
        return _to_numpy(batch)[: self.count]


def _expected_batches(dataset, max_batches):
    """The number of batches the pass will see, or None when unknown."""
    count = None
    cardinality = getattr(dataset, "cardinality", None)
    if callable(cardinality):
        value = int(cardinality())
        if value == -1 and max_batches is None:  # tf.data.INFINITE
            raise ValueError(
                "The dataset is infinite (repeat()): pass max_batches."
            )
        count = value if value >= 0 else None
    elif hasattr(dataset, "__len__"):
        count = len(dataset)
    if max_batches is not None:
        count = int(max_batches) if count is None else min(count, max_batches)
    return count


def iterate_image_batches(dataset, max_batches=None):
    """Numpy image batches of a `tf.data.Dataset` or any iterable.

    Tuple elements give their first item (`(images, labels)`), dict
    elements their `"image"` or `"images"` entry.
    """
    iterator = (
        dataset.as_numpy_iterator()
        if hasattr(dataset, "as_numpy_iterator")
        else iter(dataset)
    )
    if max_batches is not None:
        iterator = itertools.islice(iterator, int(max_batches))
    for element in iterator:
        if isinstance(element, dict):
            key = "image" if "image" in element else "images"
            if key not in element:
                raise ValueError(
                    "Dataset elements are dicts without an 'image' or "
                    f"'images' key (keys: {sorted(element)})."
                )
            element = element[key]
        elif isinstance(element, (tuple, list)):
            element = element[0]
        yield _to_numpy(element)


def check_image_batch(images, where, tokenizer):
    """Raise a `ValueError` that says what to fix unless `images` is a
    `(B, H, W, C)` float batch in [-1, 1] that `tokenizer` accepts.

    Args:
        images: numpy array.
        where: str. How the message names the batch (`"Dataset batch 3"`).
        tokenizer: the tokenizer (its `in_channels` and
            `downsampling_factor` are checked when it has them).
    """
    if images.ndim != 4:
        hint = (
            " Batch the dataset (`dataset.batch(n)` or "
            "`load_dataset(..., batch_size=n)`)."
            if images.ndim == 3
            else ""
        )
        raise ValueError(
            f"{where}: expected images (batch, height, width, channels); got "
            f"shape {images.shape}.{hint}"
        )
    channels = getattr(tokenizer, "in_channels", images.shape[-1])
    if images.shape[-1] != channels:
        raise ValueError(
            f"{where}: expected {channels} channels (channels last); got "
            f"shape {images.shape}."
        )
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"{where}: expected float images in [-1, 1]; got dtype "
            f"{images.dtype}. Scale uint8 images with `x / 127.5 - 1`."
        )
    factor = getattr(tokenizer, "downsampling_factor", 1)
    if images.shape[1] % factor or images.shape[2] % factor:
        raise ValueError(
            f"{where}: height and width must be divisible by the tokenizer's "
            f"downsampling factor {factor}; got shape {images.shape}."
        )
    if images.size:
        low, high = float(images.min()), float(images.max())
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"{where}: images contain NaN or inf.")
        if low < -1 - _RANGE_TOLERANCE or high > 1 + _RANGE_TOLERANCE:
            raise ValueError(
                f"{where}: expected values in [-1, 1]; got [{low:.4g}, "
                f"{high:.4g}]. Scale [0, 255] images with `x / 127.5 - 1` "
                "and [0, 1] images with `x * 2 - 1` (`load_dataset` already "
                "gives [-1, 1])."
            )
