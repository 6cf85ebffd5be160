"""Codes you can read: VQCT codes as adjective and noun words.

Every VQCT code is a word of the language-model prior: per position an
adjective pair and a noun (`tokenizer.indices_to_words`). This module turns
that into pictures and tables:

- `word_map(tokenizer, images)`: each image beside its code grid, every
  cell labelled with its noun (adjectives in smaller text), every noun in
  one colour throughout the picture;
- `top_words(tokenizer, images)`: the most used adjectives and nouns;
- `nearest_words(tokenizer, images)`: for each code actually used, its
  word and the words of its nearest codes in the trained codebook, beside
  the nearest words of the prior (does the transfer keep related words
  near each other?).

Images are float `(B, H, W, C)` in `[-1, 1]` (a single `(H, W, C)` image,
a `tf.data.Dataset` or any iterable of batches works too). The VQGAN
baseline has no words: these functions raise `WordsUnavailableError`.

Example:

>>> from vqct_keras.models.vqct_presets import build_tokenizer
>>> from vqct_keras.prior.codebook_prior import CodebookPrior
>>> prior = CodebookPrior(["red", "big"], ["dog", "car", "sky"],
...                       np.random.rand(5, 6), edges=[[0, 2]])
>>> tokenizer = build_tokenizer("vqct_tiny_32", prior=prior, ch=16,
...                             embed_dim=4, z_channels=8, num_groups=8)
>>> counts = top_words(tokenizer, np.zeros((2, 32, 32, 3), "float32"))
>>> counts.num_positions, sum(c for _, c in counts.nouns)
(128, 128)
>>> table = nearest_words(tokenizer, indices=np.array([[1, 0, 2]]), k=1)
>>> [(row["word"], len(row["neighbours"])) for row in table.rows]
[('sky', 1), ('red', 1), ('big', 1)]
>>> figure = word_map(tokenizer, np.zeros((32, 32, 3), "float32"))
>>> len(figure.axes)
2
"""

import colorsys
import dataclasses
import os

import numpy as np
from keras import ops

from vqct_keras.utils import files
from vqct_keras.vocabulary import WordsUnavailableError

WORD_MAP_FILE = "word_map.png"
TOP_WORDS_FILE = "top_words.json"
TOP_WORDS_TEXT_FILE = "top_words.txt"

__all__ = [
    "NearestWords",
    "WordCounts",
    "WordsUnavailableError",
    "nearest_words",
    "noun_colours",
    "top_words",
    "word_map",
    "write_word_outputs",
]


# === Top words ===


@dataclasses.dataclass
class WordCounts:
    """How often each adjective and noun was picked.

    Attributes:
        adjectives: list of `(word, count)`, most used first. Every one of
            the `top_k` adjective picks of a position counts.
        nouns: list of `(word, count)`, most used first.
        num_images: int. Images counted.
        num_positions: int. Code positions counted (`num_images * h * w`).
        distinct_adjectives: int. Adjectives picked at least once.
        distinct_nouns: int. Nouns picked at least once.
    """

    adjectives: list
    nouns: list
    num_images: int
    num_positions: int
    distinct_adjectives: int
    distinct_nouns: int

    def to_dict(self):
        """JSON-ready dict (`[word, count]` pairs)."""
        return {
            "adjectives": [[w, int(c)] for w, c in self.adjectives],
            "nouns": [[w, int(c)] for w, c in self.nouns],
            "num_images": int(self.num_images),
            "num_positions": int(self.num_positions),
            "distinct_adjectives": int(self.distinct_adjectives),
            "distinct_nouns": int(self.distinct_nouns),
        }

    def to_text(self):
        """A two-column text table: nouns and adjectives with counts."""
        lines = [
            f"{self.num_images} images, {self.num_positions} positions: "
            f"{self.distinct_nouns} distinct nouns, "
            f"{self.distinct_adjectives} distinct adjectives",
            f"{'noun':<16}{'count':>7}    {'adjective':<16}{'count':>7}",
        ]
        for row in range(max(len(self.nouns), len(self.adjectives))):
            cells = []
            for column in (self.nouns, self.adjectives):
                if row < len(column):
                    word, count = column[row]
                    cells.append(f"{word:<16}{count:>7}")
                else:
                    cells.append(" " * 23)
            lines.append("    ".join(cells).rstrip())
        return "\n".join(lines)

    def __str__(self):
        return self.to_text()


def top_words(tokenizer, images, k=10, batch_size=32, max_batches=None):
    """The `k` most used adjectives and nouns of a tokenizer on images.

    Args:
        tokenizer: a VQCT `VQCTTokenizer` (with words).
        images: float images in `[-1, 1]`: `(H, W, C)`, `(B, H, W, C)`, a
            batched `tf.data.Dataset` or an iterable of batches.
        k: int. Words listed per part of speech. Defaults to `10`.
        batch_size: int. Batch size for arrays. Defaults to `32`.
        max_batches: int or None. Stop after this many batches.

    Returns:
        A `WordCounts` (print it for a table).

    See the module docstring for an example.
    """
    vocabulary = _vocabulary(tokenizer)
    quantizer = tokenizer.quantizer
    adjective_counts = np.zeros((vocabulary.num_adjectives,), "int64")
    noun_counts = np.zeros((vocabulary.num_nouns,), "int64")
    num_images = num_positions = 0
    for batch in _image_batches(images, batch_size, max_batches):
        indices = _encode(tokenizer, batch)
        adjective_counts += np.bincount(
            indices[..., : quantizer.top_k].reshape(-1),
            minlength=vocabulary.num_adjectives,
        )
        noun_counts += np.bincount(
            indices[..., -1].reshape(-1), minlength=vocabulary.num_nouns
        )
        num_images += indices.shape[0]
        num_positions += int(np.prod(indices.shape[:-1]))
    if num_images == 0:
        raise ValueError("No images to count: `images` is empty.")
    return WordCounts(
        adjectives=_most_common(adjective_counts, vocabulary.adjectives, k),
        nouns=_most_common(noun_counts, vocabulary.nouns, k),
        num_images=num_images,
        num_positions=num_positions,
        distinct_adjectives=int(np.count_nonzero(adjective_counts)),
        distinct_nouns=int(np.count_nonzero(noun_counts)),
    )


def _most_common(counts, words, k):
    order = np.lexsort((np.arange(len(counts)), -counts))[: int(k)]
    return [(words[i], int(counts[i])) for i in order if counts[i] > 0]


# === Nearest words ===


@dataclasses.dataclass
class NearestWords:
    """The neighbours of every used code, in the trained codebook and in
    the prior.

    Attributes:
        rows: list of dicts, most used code first: `part_of_speech`
            (`"noun"` or `"adjective"`), `index`, `word`, `count`,
            `neighbours` (words of the `k` nearest codes of the same part of
            speech, squared L2 in the trained codebook, as the quantizer
            measures), `prior_neighbours` (the `k` nearest by cosine
            similarity of the prior's word vectors, or `None` for a
            `"learned"` codebook) and `overlap` (shared fraction).
        k: int. Neighbours per code.
        chance_overlap: dict. Expected overlap of `k` random neighbours
            per part of speech (`k / (codes - 1)`).
    """

    rows: list
    k: int
    chance_overlap: dict

    def mean_overlap(self, part_of_speech=None):
        """Mean `overlap` over rows (of one part of speech), or `None`."""
        values = [
            row["overlap"]
            for row in self.rows
            if row["overlap"] is not None
            and part_of_speech in (None, row["part_of_speech"])
        ]
        return float(np.mean(values)) if values else None

    def to_text(self, max_rows=20):
        """A table: word, count, trained neighbours, prior neighbours."""
        lines = []
        for row in self.rows[:max_rows]:
            prior = row["prior_neighbours"]
            lines.append(
                f"{row['part_of_speech'][:4]:<5}{row['word']:<14}"
                f"{row['count']:>6}  near: {', '.join(row['neighbours'])}"
                + (f"  | prior: {', '.join(prior)}" if prior else "")
            )
        for pos in ("noun", "adjective"):
            mean = self.mean_overlap(pos)
            if mean is not None:
                lines.append(
                    f"{pos} neighbours shared with the prior: {mean:.1%} "
                    f"(chance {self.chance_overlap[pos]:.2%})"
                )
        return "\n".join(lines)

    def __str__(self):
        return self.to_text()


def nearest_words(
    tokenizer,
    images=None,
    indices=None,
    k=5,
    max_codes=None,
    batch_size=32,
):
    """For each code used on `images`, its word and its nearest codes' words.

    Nearness is squared L2 between the trained codes (the inference
    codebook the quantizer uses), within the code's own codebook (adjective
    or noun). The same is listed for the prior's word vectors (cosine), and
    their `overlap` says how much of the language model's neighbourhood the
    transferred codebook kept.

    Args:
        tokenizer: a VQCT `VQCTTokenizer` (with words).
        images: images as in `top_words` (or give `indices`).
        indices: int `(..., top_k + 1)` code indices instead of images.
        k: int. Neighbours per code. Defaults to `5`.
        max_codes: int or None. Keep the most used codes only.
        batch_size: int. Batch size for image arrays. Defaults to `32`.

    Returns:
        A `NearestWords` (print it for a table).

    See the module docstring for an example.
    """
    vocabulary = _vocabulary(tokenizer)
    quantizer = tokenizer.quantizer
    if (images is None) == (indices is None):
        raise ValueError("Pass exactly one of `images` and `indices`.")
    if indices is None:
        indices = np.concatenate(
            [
                _encode(tokenizer, batch).reshape(-1, quantizer.index_depth)
                for batch in _image_batches(images, batch_size, None)
            ]
        )
    indices = np.asarray(ops.convert_to_numpy(indices))
    quantizer.index_words(indices)  # checks the layout and ranges
    adjective_codes, noun_codes = (
        np.asarray(ops.convert_to_numpy(codes), "float64")
        for codes in quantizer.codebooks(training=False)
    )
    prior_vectors = _prior_vectors(quantizer)
    parts = {
        "noun": (indices[..., -1], noun_codes, vocabulary.nouns),
        "adjective": (
            indices[..., : quantizer.top_k],
            adjective_codes,
            vocabulary.adjectives,
        ),
    }
    rows = []
    chance = {}
    for pos, (used, codes, words) in parts.items():
        num_codes = len(codes)
        count_k = min(int(k), num_codes - 1)
        chance[pos] = count_k / max(num_codes - 1, 1)
        counts = np.bincount(used.reshape(-1), minlength=num_codes)
        prior = None
        if prior_vectors is not None:
            offset = len(adjective_codes) if pos == "noun" else 0
            prior = prior_vectors[offset : offset + num_codes]
        for index in np.flatnonzero(counts):
            trained = _nearest(codes, index, count_k, metric="l2")
            row = {
                "part_of_speech": pos,
                "index": int(index),
                "word": words[index],
                "count": int(counts[index]),
                "neighbours": [words[i] for i in trained],
                "prior_neighbours": None,
                "overlap": None,
            }
            if prior is not None and count_k:
                near = _nearest(prior, index, count_k, metric="cosine")
                row["prior_neighbours"] = [words[i] for i in near]
                row["overlap"] = len(set(trained) & set(near)) / count_k
            rows.append(row)
    rows.sort(key=lambda row: (-row["count"], row["part_of_speech"] != "noun"))
    if max_codes is not None:
        rows = rows[: int(max_codes)]
    return NearestWords(rows=rows, k=int(k), chance_overlap=chance)


def _nearest(vectors, index, k, metric):
    if metric == "cosine":
        norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
        unit = vectors / np.maximum(norms, 1e-12)
        distances = -unit @ unit[index]
    else:
        distances = np.sum(np.square(vectors - vectors[index]), axis=-1)
    distances = distances.astype("float64")
    distances[index] = np.inf
    order = np.lexsort((np.arange(len(distances)), distances))
    return [int(i) for i in order[:k]]


def _prior_vectors(quantizer):
    codebook = quantizer.transferred_codebook
    if getattr(codebook, "transfer", None) == "learned":
        return None
    return np.asarray(
        ops.convert_to_numpy(codebook.prior_vectors.value), "float64"
    )


# === Word map ===


def noun_colours(nouns):
    """One light colour per distinct noun, in order of first appearance.

    Hues step by the golden ratio, so neighbours in the order differ
    clearly; the colours are light enough for black text.

    Example:

    >>> colours = noun_colours(["dog", "sky", "dog"])
    >>> sorted(colours), colours["dog"] != colours["sky"]
    (['dog', 'sky'], True)
    """
    colours = {}
    for noun in nouns:
        if noun not in colours:
            hue = (0.12 + len(colours) * 0.618034) % 1.0
            band = len(colours) // 12 % 3
            saturation = (0.38, 0.22, 0.48)[band]
            colours[noun] = colorsys.hsv_to_rgb(hue, saturation, 0.97)
    return colours


def word_map(tokenizer, images, path=None, cell_inches=None, title=None):
    """A picture of images beside their code grids, labelled with words.

    Each row shows an image (with the code grid drawn over it) and the grid
    of its codes: a cell per code position, labelled with its noun in bold
    and its adjectives in smaller text below; each noun has one colour
    throughout the picture (all rows).

    Args:
        tokenizer: a VQCT `VQCTTokenizer` (with words).
        images: one float image `(H, W, C)` or a few `(N, H, W, C)` in
            `[-1, 1]`.
        path: str or None. Also save the picture there (PNG).
        cell_inches: float or None. Size of a grid cell; defaults to
            `1.05` for grids up to 8 cells wide, smaller for larger grids.
        title: str or None. A title above the picture.

    Returns:
        A `matplotlib.figure.Figure` (not attached to pyplot: display it in
        a notebook as the last expression of a cell, or save it).

    See the module docstring for an example.
    """
    from matplotlib import patches
    from matplotlib.figure import Figure

    _vocabulary(tokenizer)
    images = np.asarray(ops.convert_to_numpy(images))
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or not len(images):
        raise ValueError(
            "Expected one image (H, W, C) or a few (N, H, W, C); got shape "
            f"{images.shape}."
        )
    if np.issubdtype(images.dtype, np.integer):
        images = images.astype("float32") / 127.5 - 1.0
    words = tokenizer.quantizer.index_words(_encode(tokenizer, images))
    count, grid_h, grid_w, _ = words.shape
    colours = noun_colours(words[..., -1].reshape(-1))
    if cell_inches is None:
        cell_inches = 1.05 if max(grid_h, grid_w) <= 8 else 8.4 / grid_w
    scale = cell_inches / 1.05
    panel_w, panel_h = grid_w * cell_inches, grid_h * cell_inches
    figure = Figure(
        figsize=(2 * panel_w + 0.6, count * (panel_h + 0.35) + 0.3),
        dpi=100,
    )
    axes = figure.subplots(count, 2, squeeze=False)
    for row in range(count):
        image_axis, grid_axis = axes[row]
        picture = np.clip((images[row] + 1.0) / 2.0, 0.0, 1.0)
        if picture.shape[-1] == 1:
            picture = picture[..., 0]
        image_axis.imshow(
            picture,
            extent=(0, grid_w, grid_h, 0),
            interpolation="nearest",
            cmap="gray" if picture.ndim == 2 else None,
        )
        for line in range(1, grid_w):
            image_axis.axvline(line, color="white", lw=0.5, alpha=0.6)
        for line in range(1, grid_h):
            image_axis.axhline(line, color="white", lw=0.5, alpha=0.6)
        for y in range(grid_h):
            for x in range(grid_w):
                cell = words[row, y, x]
                noun, adjectives = cell[-1], cell[:-1]
                grid_axis.add_patch(
                    patches.Rectangle(
                        (x, y),
                        1,
                        1,
                        facecolor=colours[noun],
                        edgecolor="white",
                        lw=1.0,
                    )
                )
                grid_axis.text(
                    x + 0.5,
                    y + 0.36,
                    noun,
                    ha="center",
                    va="center",
                    fontsize=_font_size(noun, 10.5 * scale, 9),
                    fontweight="bold",
                )
                for slot, adjective in enumerate(adjectives):
                    grid_axis.text(
                        x + 0.5,
                        y + 0.64 + slot * 0.2,
                        adjective,
                        ha="center",
                        va="center",
                        fontsize=_font_size(adjective, 7.5 * scale, 12),
                        color="#333333",
                    )
        for axis in (image_axis, grid_axis):
            axis.set_xlim(0, grid_w)
            axis.set_ylim(grid_h, 0)
            axis.set_aspect("equal")
            axis.set_xticks([])
            axis.set_yticks([])
    axes[0, 0].set_title("image and code grid", fontsize=10)
    axes[0, 1].set_title(
        "noun (bold), adjectives below; one colour per noun", fontsize=10
    )
    if title:
        figure.suptitle(title, fontsize=12)
    figure.tight_layout()
    if path is not None:
        figure.savefig(os.fspath(path), format="png")
    return figure


def _font_size(word, size, fit_chars):
    """`size`, shrunk for words longer than `fit_chars` characters."""
    return size * min(1.0, fit_chars / max(len(word), 1))


# === Evaluation outputs ===


def write_word_outputs(
    tokenizer, dataset, output_dir, num_images=4, k=20, max_batches=None
):
    """Write `word_map.png` (the first `num_images` images) and the top
    words (`top_words.json`, `top_words.txt`) of a dataset pass.

    Returns:
        dict of file paths, or `{}` when the tokenizer has no words.
    """
    if not getattr(tokenizer, "words_available", False):
        return {}
    os.makedirs(output_dir, exist_ok=True)
    first = []
    for batch in _image_batches(dataset, 32, max_batches):
        first.append(batch[: num_images - sum(len(b) for b in first)])
        if sum(len(b) for b in first) >= num_images:
            break
    paths = {
        "word_map": os.path.join(output_dir, WORD_MAP_FILE),
        "top_words": os.path.join(output_dir, TOP_WORDS_FILE),
        "top_words_text": os.path.join(output_dir, TOP_WORDS_TEXT_FILE),
    }
    figure = word_map(tokenizer, np.concatenate(first)[:num_images])
    figure.savefig(paths["word_map"], format="png")
    counts = top_words(tokenizer, dataset, k=k, max_batches=max_batches)
    files.write_json(paths["top_words"], counts.to_dict(), sort_keys=False)
    files.write_text(paths["top_words_text"], counts.to_text() + "\n")
    return paths


# === Helpers ===


def _vocabulary(tokenizer):
    quantizer = getattr(tokenizer, "quantizer", tokenizer)
    vocabulary = getattr(quantizer, "vocabulary", None)
    if vocabulary is None:
        quantizer.index_words(np.zeros((1, quantizer.index_depth), "int32"))
        raise WordsUnavailableError("The tokenizer's codes have no words.")
    return vocabulary


def _encode(tokenizer, images):
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"Expected float images in [-1, 1]; got dtype {images.dtype}. "
            "Scale uint8 images with `images / 127.5 - 1`."
        )
    return np.asarray(
        ops.convert_to_numpy(tokenizer.encode_to_indices(images)), "int64"
    )


def _image_batches(images, batch_size, max_batches):
    if isinstance(images, np.ndarray) or hasattr(images, "__array__"):
        if not hasattr(images, "as_numpy_iterator"):
            array = np.asarray(ops.convert_to_numpy(images))
            if array.ndim == 3:
                array = array[None]
            batches = (
                array[i : i + batch_size]
                for i in range(0, len(array), batch_size)
            )
            for number, batch in enumerate(batches):
                if max_batches is not None and number >= max_batches:
                    return
                yield batch
            return
    from vqct_keras.data.batches import iterate_image_batches

    yield from iterate_image_batches(images, max_batches)
