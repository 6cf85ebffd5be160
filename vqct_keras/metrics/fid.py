"""Streaming Frechet Inception Distance (FID).

Features are folded into running float64 statistics (count, mean, centred
scatter matrix) batch by batch, with Chan et al.'s parallel update, so
memory stays at two `D x D` matrices (2 x 32 MiB for D = 2048) whatever the
dataset size, and the result equals `np.mean` / `np.cov(rowvar=False)` over
all features at once.
"""

import numpy as np
from keras import ops


class _RunningMoments:
    """Count, mean and centred scatter matrix of feature rows, in float64."""

    def __init__(self):
        self.count = 0
        self.mean = None
        self.scatter = None

    def update(self, features):
        features = np.asarray(features, dtype="float64")
        features = features.reshape(features.shape[0], -1)
        count = features.shape[0]
        if count == 0:
            return
        batch_mean = features.mean(axis=0)
        centred = features - batch_mean
        batch_scatter = centred.T @ centred
        if self.count == 0:
            self.count, self.mean, self.scatter = (
                count,
                batch_mean,
                batch_scatter,
            )
            return
        if batch_mean.shape != self.mean.shape:
            raise ValueError(
                f"feature size {batch_mean.shape[0]} != {self.mean.shape[0]}"
            )
        total = self.count + count
        delta = batch_mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.scatter += batch_scatter
        self.scatter += np.outer(delta, delta) * (self.count * count / total)
        self.count = total

    def covariance(self):
        if self.count < 2:
            raise ValueError(
                f"need at least 2 feature vectors, got {self.count}"
            )
        return self.scatter / (self.count - 1)


def _trace_sqrt_product_eigen(covariance_1, covariance_2):
    """`tr(sqrtm(C1 @ C2))` for symmetric PSD C1, C2, via two `eigh`.

    With `C1 = V diag(l) V^T`, `C1 C2` is similar to the symmetric PSD
    matrix `diag(sqrt(l)) V^T C2 V diag(sqrt(l))`: its eigenvalues are real
    and >= 0 (round-off negatives are clipped), and the trace of the square
    root is the sum of their square roots.
    """
    values, vectors = np.linalg.eigh(covariance_1)
    root_values = np.sqrt(np.clip(values, 0.0, None))
    middle = vectors.T @ covariance_2 @ vectors
    middle *= root_values[:, None] * root_values[None, :]
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def _trace_sqrt_product_sqrtm(covariance_1, covariance_2, epsilon=1e-6):
    """`tr(sqrtm(C1 @ C2))` the way pytorch-fid computes it (scipy sqrtm)."""
    import scipy.linalg

    product = covariance_1 @ covariance_2
    root = scipy.linalg.sqrtm(product)
    if not np.isfinite(root).all():
        offset = np.eye(covariance_1.shape[0]) * epsilon
        root = scipy.linalg.sqrtm(
            (covariance_1 + offset) @ (covariance_2 + offset)
        )
    if np.iscomplexobj(root):
        root = root.real
    return float(np.trace(root))


def frechet_distance(
    mean_1, covariance_1, mean_2, covariance_2, method="eigen"
):
    """Frechet distance between two Gaussians.

    `||m1 - m2||^2 + tr(C1) + tr(C2) - 2 tr(sqrtm(C1 C2))`.

    Args:
        mean_1, mean_2: `(D,)` arrays.
        covariance_1, covariance_2: `(D, D)` symmetric PSD arrays.
        method: str. `"eigen"` (symmetric eigendecompositions; stable and
            exact for PSD inputs) or `"sqrtm"` (`scipy.linalg.sqrtm` of the
            product, pytorch-fid's method). Defaults to `"eigen"`.

    Returns:
        float. Clipped at 0 (round-off can give tiny negatives).

    Example:

    >>> import numpy as np
    >>> identity = np.eye(3)
    >>> frechet_distance(np.zeros(3), identity, np.ones(3), 4 * identity)
    6.0
    """
    mean_1 = np.asarray(mean_1, "float64")
    mean_2 = np.asarray(mean_2, "float64")
    covariance_1 = np.asarray(covariance_1, "float64")
    covariance_2 = np.asarray(covariance_2, "float64")
    if method == "eigen":
        trace_root = _trace_sqrt_product_eigen(covariance_1, covariance_2)
    elif method == "sqrtm":
        trace_root = _trace_sqrt_product_sqrtm(covariance_1, covariance_2)
    else:
        raise ValueError(f"method must be 'eigen' or 'sqrtm', got {method!r}")
    distance = (
        np.sum(np.square(mean_1 - mean_2))
        + np.trace(covariance_1)
        + np.trace(covariance_2)
        - 2.0 * trace_root
    )
    return max(float(distance), 0.0)


class FrechetInceptionDistance:
    """Streaming FID between a reference set and a generated set.

    Feed batches of images (or of precomputed features) of either set in any
    order; `result()` gives the FID of everything seen so far. For the VQCT
    protocol (rFID) the reference set is the originals and the generated
    set their reconstructions.

    Args:
        feature_extractor: callable mapping an image batch to `(B, D)`
            features. Defaults to `FIDInceptionV3(protocol=protocol)`,
            created on first use (needs the weights from
            `bash scripts/setup.sh`).
        protocol: str. Preprocessing protocol of the default extractor,
            `"pytorch_fid"` or `"tensorflow"` (see
            `vqct_keras.metrics.inception`). Defaults to `"pytorch_fid"`.
        method: str. Matrix square-root method of `frechet_distance`.
            Defaults to `"eigen"`.

    Example:

    >>> import numpy as np
    >>> fid = FrechetInceptionDistance(feature_extractor=lambda x: x)
    >>> rng = np.random.default_rng(0)
    >>> features = rng.normal(size=(500, 4))
    >>> fid.update_features(reference=features, generated=features + 1.0)
    >>> round(fid.result(), 6)
    4.0

    With real images (uint8 or [-1, 1] floats, any size):

    ```python
    fid = FrechetInceptionDistance()
    for originals, reconstructions in batches:
        fid.update(reference=originals, generated=reconstructions)
    print(fid.result())
    ```
    """

    def __init__(
        self, feature_extractor=None, protocol="pytorch_fid", method="eigen"
    ):
        self.feature_extractor = feature_extractor
        self.protocol = protocol
        self.method = method
        self.reset()

    def reset(self):
        """Forget every feature seen so far."""
        self._moments = {
            "reference": _RunningMoments(),
            "generated": _RunningMoments(),
        }

    def _extract(self, images):
        if self.feature_extractor is None:
            from vqct_keras.metrics.inception import FIDInceptionV3

            self.feature_extractor = FIDInceptionV3(protocol=self.protocol)
        extractor = self.feature_extractor
        if hasattr(extractor, "predict_on_batch"):
            return extractor.predict_on_batch(images)
        return ops.convert_to_numpy(extractor(images))

    def update(self, reference=None, generated=None):
        """Add image batches `(B, H, W, 3)` to either or both sets."""
        self.update_features(
            reference=None if reference is None else self._extract(reference),
            generated=None if generated is None else self._extract(generated),
        )

    def update_features(self, reference=None, generated=None):
        """Add precomputed `(B, D)` feature batches to either or both sets."""
        if reference is not None:
            self._moments["reference"].update(reference)
        if generated is not None:
            self._moments["generated"].update(generated)

    def statistics(self, which):
        """`(mean, covariance, count)` of `"reference"` or `"generated"`.

        The covariance is the unbiased one (`np.cov`, `ddof=1`), as in
        pytorch-fid.
        """
        moments = self._moments[which]
        return moments.mean, moments.covariance(), moments.count

    def moments(self, which):
        """`{"count", "mean", "scatter"}` of `"reference"` or
        `"generated"` (float64), e.g. to store and reuse the reference."""
        moments = self._moments[which]
        return {
            "count": moments.count,
            "mean": moments.mean,
            "scatter": moments.scatter,
        }

    def set_moments(self, which, state):
        """Replace a set's statistics by `moments(which)` of an earlier
        run (count, mean and scatter matrix)."""
        moments = _RunningMoments()
        moments.count = int(state["count"])
        moments.mean = np.asarray(state["mean"], "float64")
        moments.scatter = np.asarray(state["scatter"], "float64")
        self._moments[which] = moments

    def result(self):
        """FID (float) between the two sets seen so far."""
        mean_1, covariance_1, _ = self.statistics("reference")
        mean_2, covariance_2, _ = self.statistics("generated")
        return frechet_distance(
            mean_1, covariance_1, mean_2, covariance_2, method=self.method
        )
