"""Evaluate a trained tokenizer's reconstructions on a dataset split.

Reports rFID, LPIPS, PSNR, SSIM (grayscale, the official figure, and RGB),
L1, MSE and codebook usage (adjective and noun codebooks for VQCT), as
`vqct_keras.evaluation.evaluate_tokenizer` computes them (the metrics are
listed in `vqct_keras.metrics.registry`). Writes
`metrics.json`, `reconstructions.png`, `code_histogram.png` and
`flags.txt` into `--output_dir`; for a VQCT tokenizer also `word_map.png`
(the first images beside their codes as words) and the most used words
(`top_words.json`, `top_words.txt`). See docs/evaluation.md.

The evaluation protocol (`vqct_keras.evaluation_protocol`) is printed and
stored in `metrics.json`: split, image count, JPEG, Inception weights. For
the paper's four datasets the default is the paper's protocol (their
held-out split, every image, JPEG-75 round trip).

Examples:
```
# The paper's protocol on CUB: the whole test split, JPEG-75 round trip.
python training/evaluate.py --model=runs/cub/tokenizer.keras \
    --dataset=cub200 --output_dir=runs/eval
# A quick look on the embedded demo data, without FID.
python training/evaluate.py --model=runs/demo/tokenizer.keras \
    --max_images=64 --no_fid
```
"""

import os
import sys

from absl import app
from absl import flags

from training import cli_utils

COMMAND_NAME = "evaluate"
FLAGS = flags.FLAGS
# The `ProtocolFlags` of --split, --jpeg_quality, ..., set by define_flags.
_PROTOCOL = None


def define_flags():
    """Define this tool's flags (call once, under `__main__` or in tests)."""
    global _PROTOCOL
    cli_utils.define_output_dir_flag()
    cli_utils.define_model_flag()
    cli_utils.define_dataset_flag()
    _PROTOCOL = cli_utils.define_protocol_flags()
    flags.DEFINE_integer(
        "image_size",
        None,
        "Image side. Default: the tokenizer's resolution.",
    )
    flags.DEFINE_integer("batch_size", 16, "Images per batch.")
    flags.DEFINE_bool("no_fid", False, "Skip rFID.")
    flags.DEFINE_bool("no_lpips", False, "Skip LPIPS.")
    flags.DEFINE_integer(
        "grid_size", 8, "Images in reconstructions.png (originals on top)."
    )
    flags.DEFINE_string(
        "data_dir", None, "tfds data folder. Default: vqct_keras assets."
    )
    flags.DEFINE_bool("progress", True, "Show a progress bar.")
    flags.DEFINE_integer(
        "word_map_images",
        4,
        "Images in word_map.png; with 0 no word map and no top words "
        "(they take one more encoding pass over the evaluated batches).",
    )


def main(argv):
    del argv
    from vqct_keras import evaluation_protocol
    from vqct_keras.data import DatasetNotAvailableError
    from vqct_keras.metrics import MissingWeightsError
    from vqct_keras.metrics import registry
    from vqct_keras.models.input_contract import resolve_image_size

    tokenizer = cli_utils.load_model_flag(FLAGS.model)
    try:
        protocol = cli_utils.protocol_from_flags(
            FLAGS.dataset,
            _PROTOCOL,
            compute_fid=not FLAGS.no_fid,
            compute_lpips=not FLAGS.no_lpips,
        )
    except ValueError as error:
        raise app.UsageError(str(error)) from error
    output_dir = cli_utils.resolve_output_dir(FLAGS.output_dir, COMMAND_NAME)
    cli_utils.write_flags(output_dir)
    metadata = {
        "model": os.path.abspath(FLAGS.model),
        "dataset": FLAGS.dataset,
        "batch_size": FLAGS.batch_size,
    }
    try:
        results = protocol.evaluate(
            tokenizer,
            FLAGS.dataset,
            image_size=FLAGS.image_size,
            batch_size=FLAGS.batch_size,
            data_dir=FLAGS.data_dir,
            output_dir=output_dir,
            progress=FLAGS.progress,
            grid_size=FLAGS.grid_size,
            metadata=metadata,
            fid_reference_cache=_PROTOCOL.fid_reference_cache.value,
        )
    except DatasetNotAvailableError as error:
        cli_utils.fail(COMMAND_NAME, str(error))
    except MissingWeightsError as error:
        cli_utils.fail(
            COMMAND_NAME,
            f"{error} Or skip the metric with --no_fid / --no_lpips.",
        )
    except ValueError as error:
        raise app.UsageError(str(error)) from error
    for line in evaluation_protocol.console_lines(results):
        print(line, flush=True)
    print(registry.summary_line(results), flush=True)
    for name, note in sorted(results["notes"].items()):
        print(f"note: {name}: {note}", flush=True)
    if FLAGS.word_map_images > 0 and getattr(
        tokenizer, "words_available", False
    ):
        from vqct_keras import words

        # The protocol's images (the same split, count and order).
        batches, _, _ = protocol.load(
            FLAGS.dataset,
            resolve_image_size(FLAGS.image_size, tokenizer),
            FLAGS.batch_size,
            data_dir=FLAGS.data_dir,
        )
        files = words.write_word_outputs(
            tokenizer,
            batches,
            output_dir,
            num_images=FLAGS.word_map_images,
        )
        with open(files["top_words_text"]) as file:
            print(file.read(), end="", flush=True)
    cli_utils.finish(output_dir, stream=sys.stdout)


if __name__ == "__main__":
    from training import cli_utils

    define_flags()
    cli_utils.run(main)
