"""Build a vision-related codebook prior from a KerasHub text backbone.

`build_prior(PriorConfig(...))` runs the whole recipe:

1. **Vocabulary**. From the tokenizer (`vocabulary_source="tokenizer"`):
   its whole-word alphabetic tokens, classified by `VocabularyTagger`
   (context templates + WordNet), nouns lemmatised to the singular. From a
   caption corpus (`"corpus"`), as the paper: words tagged in context,
   adjectives and nouns counted more than `min_count` times.
2. **Vectors**: token-embedding rows (`"token"`) or pooled prompt features
   (`"prompt"`), see `vectors.py`.
3. **Graph**: co-occurrence edges with a corpus, adjective-noun
   k-nearest-neighbour edges otherwise, see `graph.py`.

The result is a `CodebookPrior` with its provenance in `metadata`. The same
inputs give the same bytes: nothing depends on the clock except
`metadata["date"]`, which comes from `PriorConfig.date` (or the
`SOURCE_DATE_EPOCH` environment variable, else today's UTC date).
"""

import dataclasses
import datetime
import hashlib
import os
import time

from vqct_keras.prior import codebook_prior
from vqct_keras.prior import corpus as corpus_lib
from vqct_keras.prior import graph as graph_lib
from vqct_keras.prior import nltk_resources
from vqct_keras.prior import vectors as vectors_lib
from vqct_keras.prior.tagging import tagger as tagger_lib
from vqct_keras.prior.tagging import vocabulary as vocabulary_lib

VOCABULARY_SOURCES = ("tokenizer", "corpus")
GRAPH_KINDS = ("auto", "cooccurrence", "knn")
RECIPE_VERSION = 1
CLIP_FEATURE = (
    "end-of-text token after the final layer norm, times the text "
    "projection (OpenAI CLIP's encode_text)"
)


class EmptyPriorError(ValueError):
    """No adjective or no noun is left after filtering."""


@dataclasses.dataclass
class PriorConfig:
    """Settings of `build_prior`.

    Args:
        backbone: str. KerasHub preset name, `hf://` handle or local folder;
            `None` for the installed all-MiniLM-L6-v2 package.
        vocabulary_source: str. `"tokenizer"` or `"corpus"`.
        corpus_files: tuple of str. Caption files (text, or COCO JSON).
        tfds_dataset: str. A TFDS captions dataset, e.g. `"coco_captions"`.
        tfds_split: str. Its split.
        tfds_text_key: str. `/`-separated path of its caption feature.
        tfds_data_dir: str. TFDS data folder.
        vector_mode: str. `"token"` or `"prompt"`.
        pooling: str. Prompt feature pooling: `"auto"` (`"clip"` for a
            `CLIPBackbone`, else `"mean"`), `"mean"`, `"first"`, `"last"`
            or `"clip"` (CLIP's `encode_text`: end-of-text feature times
            the text projection).
        adjective_prompt: str. Prompt of adjectives (prompt mode).
        noun_prompt: str. Prompt of nouns (prompt mode).
        min_count: int. Corpus words are kept when counted more than this.
        max_adjectives: int. Keep at most this many adjectives (the most
            frequent in a corpus; the first in token-id order in a
            vocabulary). `None` keeps all.
        max_nouns: int. The same for nouns.
        graph: str. `"auto"` (co-occurrence with a corpus, kNN without),
            `"cooccurrence"` or `"knn"`.
        knn: int. Neighbours per word of kNN edges.
        knn_weighting: str. `"similarity"` or `"binary"`.
        word_filter: str. Vocabulary mode: `"visual"` or `"none"`.
        wordnet_weight: float. Vocabulary mode: weight of WordNet evidence.
        min_word_length: int. Vocabulary mode: shortest word kept.
        date: str. The date recorded in the metadata (`YYYY-MM-DD`).
        download_nltk: bool. Let missing NLTK data be downloaded.
        progress: bool. Show progress bars.
    """

    backbone: str = None
    vocabulary_source: str = "tokenizer"
    corpus_files: tuple = ()
    tfds_dataset: str = None
    tfds_split: str = "train"
    tfds_text_key: str = "captions/text"
    tfds_data_dir: str = None
    vector_mode: str = "token"
    pooling: str = "auto"
    adjective_prompt: str = vectors_lib.ADJECTIVE_PROMPT
    noun_prompt: str = vectors_lib.NOUN_PROMPT
    min_count: int = 10
    max_adjectives: int = None
    max_nouns: int = None
    graph: str = "auto"
    knn: int = 5
    knn_weighting: str = "similarity"
    word_filter: str = "visual"
    wordnet_weight: float = vocabulary_lib.DEFAULT_WORDNET_WEIGHT
    min_word_length: int = 3
    date: str = None
    download_nltk: bool = True
    progress: bool = False

    def validate(self):
        """Raise `ValueError` for settings that do not fit together."""
        if self.vocabulary_source not in VOCABULARY_SOURCES:
            raise ValueError(
                f"vocabulary_source must be one of {VOCABULARY_SOURCES}; "
                f"got {self.vocabulary_source!r}."
            )
        if self.vector_mode not in vectors_lib.VECTOR_MODES:
            raise ValueError(
                f"vector_mode must be one of {vectors_lib.VECTOR_MODES}; "
                f"got {self.vector_mode!r}."
            )
        if self.pooling not in vectors_lib.POOLINGS:
            raise ValueError(
                f"pooling must be one of {vectors_lib.POOLINGS}; got "
                f"{self.pooling!r}."
            )
        if self.graph not in GRAPH_KINDS:
            raise ValueError(
                f"graph must be one of {GRAPH_KINDS}; got {self.graph!r}."
            )
        has_corpus = bool(self.corpus_files) or bool(self.tfds_dataset)
        if self.vocabulary_source == "corpus" and not has_corpus:
            raise ValueError(
                "vocabulary_source='corpus' needs caption files "
                "(--corpus) or a TFDS dataset (--tfds_dataset)."
            )
        if self.graph == "cooccurrence" and not has_corpus:
            raise ValueError(
                "Co-occurrence edges need a caption corpus (--corpus or "
                "--tfds_dataset); use graph='knn' without one."
            )
        for name in ("max_adjectives", "max_nouns"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None; got {value}.")
        if self.min_count < 0:
            raise ValueError(f"min_count must be >= 0; got {self.min_count}.")
        if self.date is not None:
            datetime.date.fromisoformat(self.date)

    def graph_kind(self):
        """The graph actually built (`"auto"` resolved)."""
        if self.graph != "auto":
            return self.graph
        has_corpus = bool(self.corpus_files) or bool(self.tfds_dataset)
        return "cooccurrence" if has_corpus else "knn"


def resolve_date(date=None):
    """`date`, else `SOURCE_DATE_EPOCH` as a UTC date, else today (UTC)."""
    if date:
        return datetime.date.fromisoformat(date).isoformat()
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        moment = datetime.datetime.fromtimestamp(
            int(epoch), tz=datetime.timezone.utc
        )
    else:
        moment = datetime.datetime.now(tz=datetime.timezone.utc)
    return moment.date().isoformat()


def _file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_corpus(config):
    captions = []
    description = {}
    if config.corpus_files:
        files = [os.fspath(path) for path in config.corpus_files]
        captions.extend(corpus_lib.read_caption_files(files))
        description["files"] = [
            {"name": os.path.basename(path), "sha256": _file_digest(path)}
            for path in files
        ]
    if config.tfds_dataset:
        captions.extend(
            corpus_lib.read_tfds_captions(
                config.tfds_dataset,
                split=config.tfds_split,
                text_key=config.tfds_text_key,
                data_dir=config.tfds_data_dir,
            )
        )
        description["tfds"] = {
            "name": config.tfds_dataset,
            "split": config.tfds_split,
            "text_key": config.tfds_text_key,
        }
    return captions, description


def _vocabulary_words(config, text_backbone):
    """Adjectives and nouns from the tokenizer's whole-word tokens."""
    candidates = text_backbone.vocabulary_words(
        min_length=config.min_word_length
    )
    words = text_backbone.single_piece_words(candidates)
    tagger = vocabulary_lib.VocabularyTagger(
        wordnet_weight=config.wordnet_weight,
        word_filter=config.word_filter,
        min_length=config.min_word_length,
    )
    decisions = tagger.classify(words, progress=config.progress)
    adjectives = []
    nouns = []
    seen_nouns = set()
    for decision in decisions:
        if decision.part_of_speech == "adj":
            adjectives.append(decision.lemma)
        elif decision.part_of_speech == "noun":
            if decision.lemma not in seen_nouns:
                seen_nouns.add(decision.lemma)
                nouns.append(decision.lemma)
    adjectives = adjectives[: config.max_adjectives]
    nouns = nouns[: config.max_nouns]
    details = {
        "candidate_words": len(candidates),
        "single_piece_words": len(words),
        "vocabulary_tagger": tagger.config(),
    }
    return adjectives, nouns, details


def build_prior(config=None, text_backbone=None):
    """Build a `CodebookPrior` following `config`.

    Args:
        config: `PriorConfig`. Defaults to `PriorConfig()`: the MiniLM
            tokenizer vocabulary, token vectors, kNN edges.
        text_backbone: `TextBackbone`. Loaded from `config.backbone` when
            not given (tests pass tiny ones).

    Returns:
        `(prior, summary)`: the `CodebookPrior` and a small JSON-ready dict
        of counts and timings.

    Raises:
        EmptyPriorError: no adjective or no noun is left.
        NLTKResourceError: NLTK data is missing (the message names the fix).
        BackboneLoadError: the backbone cannot be loaded.

    Example:

    >>> config = PriorConfig(max_nouns=100)
    >>> prior, summary = build_prior(config)  # doctest: +SKIP
    >>> prior.num_nouns  # doctest: +SKIP
    100
    """
    config = config or PriorConfig()
    config.validate()
    started = time.perf_counter()
    nltk_resources.ensure_nltk_resources(download=config.download_nltk)
    if text_backbone is None:
        from vqct_keras.prior import text_backbone as text_backbone_lib

        text_backbone = text_backbone_lib.load_text_backbone(config.backbone)
    corpus_counts = None
    source = {}
    if config.vocabulary_source == "corpus" or config.graph_kind() == (
        "cooccurrence"
    ):
        captions, source = _read_corpus(config)
        corpus_counts = corpus_lib.count_captions(
            captions, progress=config.progress, total=len(captions)
        )
        source["num_captions"] = corpus_counts.num_captions
    if config.vocabulary_source == "corpus":
        adjectives = corpus_counts.kept_words(
            corpus_counts.adjective_counts,
            config.min_count,
            config.max_adjectives,
        )
        nouns = corpus_counts.kept_words(
            corpus_counts.noun_counts, config.min_count, config.max_nouns
        )
        source["distinct_adjectives"] = len(corpus_counts.adjective_counts)
        source["distinct_nouns"] = len(corpus_counts.noun_counts)
    else:
        adjectives, nouns, details = _vocabulary_words(config, text_backbone)
        source.update(details)
    if not adjectives or not nouns:
        where = (
            f"the corpus (count > {config.min_count})"
            if config.vocabulary_source == "corpus"
            else "the tokenizer vocabulary"
        )
        raise EmptyPriorError(
            f"No {'adjectives' if not adjectives else 'nouns'} left after "
            f"part-of-speech filtering of {where}: got {len(adjectives)} "
            f"adjectives and {len(nouns)} nouns. Use a larger corpus or "
            "vocabulary, or lower --min_count."
        )
    tagging_done = time.perf_counter()
    pooling = None
    if config.vector_mode == "prompt":
        pooling = text_backbone.resolve_pooling(config.pooling)
    vectors = vectors_lib.word_vectors(
        text_backbone,
        adjectives,
        nouns,
        mode=config.vector_mode,
        pooling=pooling,
        adjective_prompt=config.adjective_prompt,
        noun_prompt=config.noun_prompt,
        progress=config.progress,
    )
    vectors_done = time.perf_counter()
    graph = {"kind": config.graph_kind()}
    if graph["kind"] == "cooccurrence":
        edges, weights = graph_lib.cooccurrence_edges(
            adjectives, nouns, corpus_counts.pair_counts
        )
        graph["weighting"] = "count of adjacent adjective-noun pairs"
    else:
        edges, weights = graph_lib.knn_edges(
            vectors[: len(adjectives)],
            vectors[len(adjectives) :],
            k=config.knn,
            weighting=config.knn_weighting,
        )
        graph.update(
            k=config.knn,
            weighting=config.knn_weighting,
            metric="cosine",
            direction="adjective->k nouns and noun->k adjectives, union",
        )
    metadata = {
        "builder": "vqct_keras.prior.builder",
        "recipe_version": RECIPE_VERSION,
        "date": resolve_date(config.date),
        "backbone": text_backbone.provenance(),
        "tagging": tagger_lib.tagger_provenance(),
        "vocabulary_source": config.vocabulary_source,
        "source": source,
        "thresholds": {
            "min_count": config.min_count
            if config.vocabulary_source == "corpus"
            else None,
            "max_adjectives": config.max_adjectives,
            "max_nouns": config.max_nouns,
            "adjective_tags": ["JJ"],
            "noun_tags": sorted(tagger_lib.NOUN_TAGS),
        },
        "vectors": {
            "mode": config.vector_mode,
            **(
                {
                    "pooling": pooling,
                    **({"feature": CLIP_FEATURE} if pooling == "clip" else {}),
                    "adjective_prompt": config.adjective_prompt,
                    "noun_prompt": config.noun_prompt,
                }
                if config.vector_mode == "prompt"
                else {"pieces": "mean of the in-sentence word pieces' rows"}
            ),
        },
        "graph": graph,
    }
    prior = codebook_prior.CodebookPrior(
        adjectives=adjectives,
        nouns=nouns,
        vectors=vectors,
        edges=edges,
        edge_weights=weights,
        metadata=metadata,
    )
    prior.metadata["content_sha256"] = prior.content_sha256()
    finished = time.perf_counter()
    summary = {
        "num_adjectives": prior.num_adjectives,
        "num_nouns": prior.num_nouns,
        "num_edges": int(len(prior.edges)),
        "prior_dim": prior.prior_dim,
        "content_sha256": prior.metadata["content_sha256"],
        "seconds": {
            "load_and_vocabulary": round(tagging_done - started, 2),
            "vectors": round(vectors_done - tagging_done, 2),
            "graph": round(finished - vectors_done, 2),
            "total": round(finished - started, 2),
        },
    }
    return prior, summary
