"""Write a dataset's code indices to resumable `.npz` shards.

Every image of the split is encoded with the tokenizer, in dataset order
(no shuffling, deterministic resize and crop), into `shard-NNNNN.npz` files
(`indices` int32 `(n, h, w, D)`, `order` int64) plus `manifest.json` (the
options, the index layout, the shard list) in `--output_dir`. Rerunning
the same command after an interruption skips the complete shards. See
docs/evaluation.md and `vqct_keras.pretokenize`.

Examples:
```
python training/tokenize_dataset.py --model=runs/cub/tokenizer.keras \
    --dataset=cub200 --split=train --shard_size=4096 \
    --output_dir=runs/cub_tokens
# Later: decode a shard back to images.
python -c "from vqct_keras import pretokenize; \
from vqct_keras.models.loading import load_tokenizer; \
t = load_tokenizer('runs/cub/tokenizer.keras'); \
print(pretokenize.decode_shard(t, 'runs/cub_tokens/shard-00000.npz').shape)"
```
"""

import sys

from absl import app
from absl import flags

from training import cli_utils

COMMAND_NAME = "tokenize_dataset"
FLAGS = flags.FLAGS


def define_flags():
    """Define this tool's flags (call once, under `__main__` or in tests)."""
    cli_utils.define_output_dir_flag()
    cli_utils.define_model_flag()
    cli_utils.define_dataset_flag()
    flags.DEFINE_string("split", "train", "Split, slicing allowed.")
    flags.DEFINE_integer(
        "image_size", None, "Image side. Default: the tokenizer's resolution."
    )
    flags.DEFINE_enum(
        "resize",
        None,
        ["short_side", "square"],
        "Resize mode. Default: the split's own.",
    )
    flags.DEFINE_enum(
        "crop",
        None,
        ["center", "none"],
        "Crop after resizing (none needs --resize=square). Default: the "
        "split's own, a random crop becoming a center crop.",
    )
    flags.DEFINE_integer("batch_size", 32, "Images per encoding call.")
    flags.DEFINE_integer("shard_size", 1024, "Images per shard.")
    flags.DEFINE_integer(
        "max_shards",
        None,
        "Write at most this many new shards, then stop (rerun to go on).",
    )
    flags.DEFINE_integer(
        "max_examples", None, "Tokenize only the first N images."
    )
    flags.DEFINE_bool(
        "overwrite", False, "Delete existing shards first instead of resuming."
    )
    flags.DEFINE_string(
        "data_dir", None, "tfds data folder. Default: vqct_keras assets."
    )
    flags.DEFINE_bool("progress", True, "Show a progress bar.")


def main(argv):
    del argv
    from vqct_keras import evaluation_protocol
    from vqct_keras import pretokenize
    from vqct_keras.data import DatasetNotAvailableError
    from vqct_keras.data import dataset_filenames
    from vqct_keras.data.evaluation_dataset import load_evaluation_dataset
    from vqct_keras.models.input_contract import resolve_image_size

    tokenizer = cli_utils.load_model_flag(FLAGS.model)
    output_dir = cli_utils.resolve_output_dir(FLAGS.output_dir, COMMAND_NAME)
    cli_utils.write_flags(output_dir)
    try:
        dataset, info = load_evaluation_dataset(
            FLAGS.dataset,
            split=FLAGS.split,
            image_size=resolve_image_size(FLAGS.image_size, tokenizer),
            batch_size=None,
            data_dir=FLAGS.data_dir,
            resize=FLAGS.resize,
            crop=FLAGS.crop,
        )
    except DatasetNotAvailableError as error:
        cli_utils.fail(COMMAND_NAME, str(error))
    except ValueError as error:
        raise app.UsageError(str(error)) from error
    # Each row's source file in the shards (None: the data has no names).
    filenames = dataset_filenames(
        FLAGS.dataset, split=FLAGS.split, data_dir=FLAGS.data_dir
    )
    num_examples = info.num_examples
    if FLAGS.max_examples is not None:
        dataset = dataset.take(FLAGS.max_examples)
        num_examples = min(num_examples, FLAGS.max_examples)
    # Recorded in the manifest and checked when resuming. The model path is
    # not: the tokenizer's weights fingerprint is.
    source = {
        "dataset": info.name,
        "split": info.split,
        "builders": list(info.builders),
        "num_examples": num_examples,
        "max_examples": FLAGS.max_examples,
        "image_size": info.image_size,
        "preprocessing": info.preprocessing.get_config(),
        "preprocessing_steps": info.preprocessing.describe(),
        **evaluation_protocol.skipped_files_record(info),
    }
    try:
        manifest = pretokenize.tokenize_dataset(
            tokenizer,
            dataset,
            output_dir,
            num_examples=num_examples,
            source=source,
            filenames=filenames,
            **cli_utils.flag_values(
                "shard_size",
                "batch_size",
                "max_shards",
                "progress",
                "overwrite",
            ),
        )
    except ValueError as error:
        cli_utils.fail(COMMAND_NAME, str(error))
    state = "complete" if manifest["complete"] else "incomplete (rerun)"
    print(
        f"{manifest['num_examples']} images in {manifest['num_shards']} "
        f"shards, {state}: {manifest['shards_written']} written, "
        f"{manifest['shards_skipped']} already there; indices "
        f"{manifest.get('index_shape')} per image"
        + (
            f"; {evaluation_protocol.skipped_files_text(info.num_skipped)}."
            if info.num_skipped
            else "."
        ),
        flush=True,
    )
    cli_utils.finish(output_dir, stream=sys.stdout)


if __name__ == "__main__":
    from training import cli_utils

    define_flags()
    cli_utils.run(main)
