"""Codebook usage over a whole evaluation pass: counts, usage, perplexity.

A quantizer has one or more codebooks (`codebook_names`), and each index
slot points into one of them (`slot_codebooks`): VQCT's adjective and noun
codebooks, each with local indices, get indices `(..., top_k + 1)` (the
top-k adjective picks, then the noun). Track each codebook with its own
`CodebookUsage`: `usage_trackers(quantizer)` makes them and
`update_usage` counts each slot into its codebook's tracker.
"""

import numpy as np
from keras import ops


class CodebookUsage:
    """Histogram of the code indices seen so far, and statistics over it.

    Counts accumulate in int64 over as many `update` calls as needed (a
    whole evaluation pass), so the statistics describe the whole pass, not
    one batch.

    * `usage_fraction`: used codes / `num_codes` (a code is used if it was
      picked at least once).
    * `dead_codes`: codes never picked.
    * `perplexity`: `exp(-sum p log p)` of the empirical code distribution
      (natural log): `num_codes` for uniform use, 1 for a single code.

    Args:
        num_codes: int. Codebook size K.
        name: str. Label for plots and reports. Defaults to `"codebook"`.

    Example:

    >>> usage = CodebookUsage(num_codes=4)
    >>> usage.update(np.array([[0, 0], [1, 1]]))
    >>> usage.usage_fraction, usage.dead_codes, usage.perplexity
    (0.5, 2, 2.0)

    For VQCT's two codebooks:

    ```python
    adjective = CodebookUsage(quantizer.num_adjectives, "adjective")
    noun = CodebookUsage(quantizer.num_nouns, "noun")
    for images in dataset:
        indices = tokenizer(images)["indices"]  # (B, h, w, top_k + 1)
        update_adjective_noun_usage(adjective, noun, indices)
    print(adjective.result(), noun.result())
    ```
    """

    def __init__(self, num_codes, name="codebook"):
        if int(num_codes) < 1:
            raise ValueError(f"num_codes must be >= 1, got {num_codes}")
        self.num_codes = int(num_codes)
        self.name = name
        self.reset()

    def reset(self):
        """Zero the histogram."""
        self.counts = np.zeros((self.num_codes,), dtype="int64")

    def update(self, indices):
        """Count a batch of code indices (any shape, integers in [0, K))."""
        if not isinstance(indices, np.ndarray):
            indices = ops.convert_to_numpy(indices)
        indices = np.asarray(indices).reshape(-1)
        if indices.size == 0:
            return
        if not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(f"indices must be integers, got {indices.dtype}")
        low, high = int(indices.min()), int(indices.max())
        if low < 0 or high >= self.num_codes:
            raise ValueError(
                f"{self.name}: indices in [{low}, {high}] outside "
                f"[0, {self.num_codes})"
            )
        self.counts += np.bincount(indices, minlength=self.num_codes)

    def merge(self, other):
        """Add another tracker's counts (e.g. from another worker)."""
        if other.num_codes != self.num_codes:
            raise ValueError("cannot merge codebooks of different sizes")
        self.counts += other.counts

    @property
    def total(self):
        """Number of indices counted."""
        return int(self.counts.sum())

    @property
    def used_codes(self):
        return int(np.count_nonzero(self.counts))

    @property
    def dead_codes(self):
        return self.num_codes - self.used_codes

    @property
    def usage_fraction(self):
        return self.used_codes / self.num_codes

    @property
    def perplexity(self):
        """`exp(entropy)` of the code distribution; `nan` before any data."""
        total = self.total
        if total == 0:
            return float("nan")
        probabilities = self.counts[self.counts > 0] / total
        entropy = -np.sum(probabilities * np.log(probabilities))
        return float(np.exp(entropy))

    def result(self):
        """Dict of `num_codes`, `total`, `used_codes`, `dead_codes`,
        `usage_fraction` and `perplexity`."""
        return {
            "num_codes": self.num_codes,
            "total": self.total,
            "used_codes": self.used_codes,
            "dead_codes": self.dead_codes,
            "usage_fraction": self.usage_fraction,
            "perplexity": self.perplexity,
        }


def usage_trackers(quantizer):
    """One `CodebookUsage` per codebook of a quantizer (its
    `codebook_names` and `codebook_sizes`).

    Example:

    >>> from vqct_keras.layers.vector_quantizer import VectorQuantizer
    >>> [u.name for u in usage_trackers(VectorQuantizer(num_codes=4))]
    ['codebook']
    """
    return [
        CodebookUsage(size, name)
        for name, size in zip(
            quantizer.codebook_names, quantizer.codebook_sizes
        )
    ]


def update_usage(usages, quantizer, indices):
    """Count indices `(..., index_depth)` into `usage_trackers(quantizer)`:
    each slot into the tracker of its codebook (`slot_codebooks`)."""
    if not isinstance(indices, np.ndarray):
        indices = ops.convert_to_numpy(indices)
    for slot, codebook in enumerate(quantizer.slot_codebooks):
        usages[codebook].update(indices[..., slot])


def update_adjective_noun_usage(adjective_usage, noun_usage, indices):
    """Count VQCT indices `(..., top_k + 1)` into the two trackers.

    The first `top_k` entries of the last axis are adjective picks (all of
    them count: each contributes to the quantized latent), the last one is
    the noun; both in local index spaces.

    Example:

    >>> adjective, noun = CodebookUsage(3), CodebookUsage(5)
    >>> update_adjective_noun_usage(adjective, noun, np.array([[0, 2, 4]]))
    >>> adjective.counts.tolist(), noun.counts.tolist()
    ([1, 0, 1], [0, 0, 0, 0, 1])
    """
    if not isinstance(indices, np.ndarray):
        indices = ops.convert_to_numpy(indices)
    adjective_usage.update(indices[..., :-1])
    noun_usage.update(indices[..., -1])


def plot_code_histogram(usages, path, log_scale=False):
    """Draw per-code usage histograms into a PNG (matplotlib, Agg).

    One row per tracker: on the left the count of every code by index, on
    the right the counts sorted in decreasing order (the flat tail at zero
    is the dead codes). The titles carry usage and perplexity.

    Args:
        usages: a `CodebookUsage` or a list of them (e.g. adjective, noun).
        path: str. Output `.png` path.
        log_scale: bool. Logarithmic count axis (`symlog`, so zeros show).
            Defaults to `False`.

    Returns:
        str. `path`.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if isinstance(usages, CodebookUsage):
        usages = [usages]
    figure = Figure(figsize=(11, 3.2 * len(usages)), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(usages), 2, squeeze=False)
    for row, usage in enumerate(usages):
        counts = usage.counts
        edges = np.arange(usage.num_codes + 1)
        by_index, by_rank = axes[row]
        by_index.stairs(counts, edges, fill=True, color="tab:blue")
        by_rank.stairs(-np.sort(-counts), edges, fill=True, color="tab:orange")
        by_index.set_title(
            f"{usage.name}: {usage.used_codes}/{usage.num_codes} codes used "
            f"({100 * usage.usage_fraction:.1f}%), perplexity "
            f"{usage.perplexity:.1f}",
            fontsize=10,
        )
        by_rank.set_title(
            f"{usage.name}: sorted counts, {usage.dead_codes} dead codes",
            fontsize=10,
        )
        by_index.set_xlabel("code index")
        by_rank.set_xlabel("rank")
        for axis in (by_index, by_rank):
            axis.set_ylabel("count")
            axis.set_xlim(0, usage.num_codes)
            if log_scale:
                axis.set_yscale("symlog", linthresh=1)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path
