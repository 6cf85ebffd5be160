r"""Export a trained VQCT tokenizer (`.keras`) as a TF Serving SavedModel.

Usage:
    KERAS_BACKEND=tensorflow python training/export_model.py \
        --model=runs/train-<stamp>/tokenizer.keras --output_dir=serving/vqct

Writes `<output_dir>/<version>/` (`saved_model.pb`, `variables/`,
`export_info.json`) and `<output_dir>/flags.txt`. Point TF Serving's
`--model_base_path` at `<output_dir>`. See docs/export.md.
"""

import os
import sys

from absl import app
from absl import flags

FLAGS = flags.FLAGS


def define_flags():
    """Define the flags of this CLI (call once, under `__main__`)."""
    from training import cli_utils

    cli_utils.define_output_dir_flag()
    cli_utils.define_model_flag(
        "The tokenizer to export: a .keras file written by "
        "training/train.py (runs/<run>/tokenizer.keras) or by "
        "`tokenizer.save(...)`."
    )
    flags.DEFINE_string(
        "image_size",
        None,
        "Image size of the signatures: N (square), HxW, or 'dynamic' (any "
        "size divisible by the downsampling factor). Defaults to the "
        "model's resolution.",
    )
    flags.DEFINE_integer(
        "batch_size", None, "Fixed batch size; defaults to any batch size."
    )
    flags.DEFINE_integer(
        "version",
        1,
        "Version folder under --output_dir (TF Serving serves the highest).",
    )
    flags.DEFINE_bool("overwrite", False, "Replace an existing version folder.")
    flags.DEFINE_bool(
        "verify",
        True,
        "Load the SavedModel back and call every signature before "
        "publishing the version folder.",
    )


def parse_image_size(text):
    """`--image_size` text to `export_for_serving`'s `image_size`.

    Example:

    >>> parse_image_size("32"), parse_image_size("64x48")
    (32, (64, 48))
    >>> parse_image_size("dynamic"), parse_image_size(None)
    ('dynamic', None)
    """
    if text is None or not str(text).strip():
        return None
    text = str(text).strip().lower()
    if text == "dynamic":
        return "dynamic"
    parts = text.replace(",", "x").split("x")
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        sizes = []
    if len(sizes) not in (1, 2):
        raise app.UsageError(
            f"--image_size must be N, HxW or 'dynamic'; got {text!r}."
        )
    return sizes[0] if len(sizes) == 1 else tuple(sizes)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}.")
    import time

    from training import cli_utils

    image_size = parse_image_size(FLAGS.image_size)
    tokenizer = cli_utils.load_model_flag(FLAGS.model)
    import keras

    from vqct_keras.export import ExportBackendError
    from vqct_keras.export import export_for_serving

    output_dir = cli_utils.resolve_output_dir(FLAGS.output_dir, "export")
    cli_utils.write_flags(output_dir)
    print(
        f"Exporting {FLAGS.model} ({tokenizer.count_params():,} parameters) "
        f"with the {keras.backend.backend()} backend...",
        flush=True,
    )
    start = time.perf_counter()
    try:
        saved_model_dir = export_for_serving(
            tokenizer,
            output_dir,
            image_size=image_size,
            **cli_utils.flag_values(
                "batch_size", "version", "overwrite", "verify"
            ),
        )
    except (ValueError, FileExistsError) as error:
        raise app.UsageError(str(error)) from error
    except ExportBackendError as error:
        print(f"Error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    seconds = time.perf_counter() - start
    megabytes = folder_megabytes(saved_model_dir)
    print(
        f"SavedModel: {saved_model_dir} ({megabytes:.1f} MB, {seconds:.1f} "
        "s). Signatures:",
        flush=True,
    )
    print(describe_signatures(saved_model_dir), flush=True)
    print(
        f"Check it with: saved_model_cli show --dir {saved_model_dir} --all",
        flush=True,
    )
    cli_utils.finish(output_dir)


def folder_megabytes(path):
    """Size of the files under `path`, in MB."""
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total / 1e6


def describe_signatures(saved_model_dir):
    """One line per signature, read from `export_info.json`."""
    import json

    from vqct_keras.export import EXPORT_INFO_FILENAME

    with open(os.path.join(saved_model_dir, EXPORT_INFO_FILENAME)) as file:
        info = json.load(file)

    def tensors(specs):
        return ", ".join(
            f"{key} {spec['dtype']}{tuple(spec['shape'])}".replace("None", "?")
            for key, spec in specs.items()
        )

    lines = []
    for name, signature in sorted(info["signatures"].items()):
        lines.append(
            f"  {name}: {tensors(signature['inputs'])} -> "
            f"{tensors(signature['outputs'])}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    from training import cli_utils

    define_flags()
    cli_utils.run(main)
