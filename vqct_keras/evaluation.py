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

The metrics are entries of `vqct_keras.metrics.registry` (a new one is
added there, see `docs/metrics.md`); the images come from
`vqct_keras.data.evaluation_dataset`, the batches through
`vqct_keras.data.batches`, and the files are written atomically by
`vqct_keras.utils`.

Memory does not grow with the dataset: per-image metrics are running sums,
FID keeps running feature moments, codebook usage a histogram, and only the
first `grid_size` images are kept for the picture. See `docs/evaluation.md`.
"""

import os
import time

import keras
import numpy as np

from vqct_keras.data import batches as batches_lib
from vqct_keras.metrics import codebook_usage as usage_lib
from vqct_keras.metrics import fid_reference
from vqct_keras.metrics import image_quality
from vqct_keras.metrics import registry
from vqct_keras.utils import files
from vqct_keras.utils import images as images_lib

METRICS_FILE = "metrics.json"
GRID_FILE = "reconstructions.png"
HISTOGRAM_FILE = "code_histogram.png"
LPIPS_MIN_SIZE = 16  # VGG16's four 2x2 pools need 16 px to reach conv5.
# Below the Inception feature dimension the FID covariances are rank
# deficient and rFID is biased upwards.
RFID_MIN_IMAGES = 2048


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
    expected = batches_lib.expected_batches(dataset, max_batches)
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
            stateful_metrics=list(registry.per_image_metric_names()),
            unit_name="batch",
        )
    padder = batches_lib.BatchPadder()
    start = time.perf_counter()
    step = 0
    for step, images in enumerate(
        batches_lib.iterate_image_batches(dataset, max_batches), 1
    ):
        batches_lib.check_image_batch(
            images, f"Dataset batch {step - 1}", tokenizer
        )
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
        names = registry.per_image_metric_names()
        self.sums = {name: 0.0 for name in names}
        self.counts = {name: 0 for name in names}
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
        self._fid_padder = batches_lib.BatchPadder()
        self._lpips_padder = batches_lib.BatchPadder()
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
        images = batches_lib.to_numpy(images, "float32")
        reconstructions = batches_lib.to_numpy(reconstructions, "float32")
        indices = batches_lib.to_numpy(indices)
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
        originals_uint8 = images_lib.to_uint8(images)
        reconstructions_uint8 = images_lib.to_uint8(reconstructions)
        self._keep_for_grid(originals_uint8, reconstructions_uint8)
        if self.jpeg_quality is not None:
            originals_uint8, reconstructions_uint8 = (
                image_quality.jpeg_round_trip(x, quality=self.jpeg_quality)
                for x in (originals_uint8, reconstructions_uint8)
            )
        inputs = {
            "float": (reconstructions, images),
            "uint8": (reconstructions_uint8, originals_uint8),
        }
        for metric in registry.RECONSTRUCTION_METRICS:
            if metric.compute is None:
                continue
            try:
                values = metric.compute(*inputs[metric.inputs])
            except registry.MetricSkipped as skipped:
                self.notes[skipped.note or metric.name] = str(skipped)
                continue
            self._add(metric.name, values)
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
        self._add("lpips", batches_lib.to_numpy(distances, "float64")[:count])

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
        features = batches_lib.to_numpy(features, "float64")
        return features.reshape(features.shape[0], -1)

    # === Results ===

    def running_means(self):
        """`[(name, mean so far)]` of the per-image metrics, for progress."""
        return [
            (name, self.sums[name] / self.counts[name])
            for name in self.sums
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
        }
        for metric in registry.RECONSTRUCTION_METRICS:
            if metric.name == "rfid":
                results["rfid"] = self._rfid()
            else:
                results[metric.name] = self._mean(metric.name)
        if not self.compute_lpips and "lpips" not in self.notes:
            self.notes["lpips"] = "not computed (compute_lpips=False)"
        codebooks = {}
        for usage in self.usages:
            summary = usage.result()
            codebooks[usage.name] = summary
            for metric in registry.CODEBOOK_METRICS:
                results[f"{usage.name}_{metric.name}"] = summary[metric.source]
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
        described = {
            "reference": "the released VQCT test_net.py (docs/method.md, "
            "Evaluation)",
            "reconstruction": "tokenizer(images, training=False)"
            "['reconstruction'] (encode, quantize, decode)",
            "uint8": "uint8((clip(x, -1, 1) + 1) * 0.5 * 255 + 0.5), both "
            "sides",
            "jpeg_quality": jpeg,
            "codebook_usage": "histogram of every code index over the pass; "
            "VQCT: all top_k adjective picks and the noun per position, "
            "each in its own codebook; perplexity exp(-sum p ln p)",
        }
        for metric in registry.RECONSTRUCTION_METRICS:
            described[metric.name] = metric.protocol.format(
                uint8_side=uint8_side,
                fid_source=fid_source,
                fid_protocol=self.fid_protocol,
            )
        return described

    # === Files ===

    def write(self, output_dir, results=None):
        """Write `metrics.json`, `reconstructions.png` and
        `code_histogram.png` into `output_dir`; returns their paths."""
        os.makedirs(output_dir, exist_ok=True)
        results = dict(results if results is not None else self.result())
        paths = {
            "metrics": os.path.join(output_dir, METRICS_FILE),
            "reconstructions": os.path.join(output_dir, GRID_FILE),
            "code_histogram": os.path.join(output_dir, HISTOGRAM_FILE),
        }
        results["files"] = {
            key: os.path.basename(p) for key, p in paths.items()
        }
        if self.grid_originals:
            images_lib.save_image_grid(
                [
                    np.concatenate(self.grid_originals),
                    np.concatenate(self.grid_reconstructions),
                ],
                paths["reconstructions"],
            )
        usage_lib.plot_code_histogram(self.usages, paths["code_histogram"])
        files.write_json(paths["metrics"], results)
        return paths


# === Helpers ===


def _lpips_model():
    """LPIPS wrapped in a functional model, so `predict_on_batch` compiles
    it once per batch shape."""
    from vqct_keras.metrics.lpips import LPIPS

    images_0 = keras.Input((None, None, 3), name="images_0")
    images_1 = keras.Input((None, None, 3), name="images_1")
    distances = LPIPS(name="lpips")(images_0, images_1)
    return keras.Model([images_0, images_1], distances, name="lpips_model")
