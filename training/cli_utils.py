"""Conventions shared by the command-line tools in `training/`.

Every tool takes `--output_dir` (default: a fresh folder under `runs/`),
writes its resolved flags there, and prints the folder at the end.
"""

import datetime
import os
import sys

from absl import flags

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def define_output_dir_flag():
    """Define `--output_dir` (call inside each tool's `define_flags`)."""
    return flags.DEFINE_string(
        "output_dir",
        None,
        "Folder for everything this command writes. Defaults to a fresh "
        "folder runs/<command>-<timestamp>/ in the repository.",
    )


def define_model_flag(
    help_text="The tokenizer: a .keras file (runs/<run>/tokenizer.keras).",
):
    """Define `--model`, the `.keras` tokenizer a tool reads."""
    return flags.DEFINE_string("model", None, help_text)


def define_dataset_flag():
    """Define `--dataset`: a dataset name, a folder of images or tfds:<name>."""
    return flags.DEFINE_string(
        "dataset",
        "default",
        "Dataset name (see vqct_keras.data.dataset_names()), folder of "
        "images, or tfds:<name>.",
    )


def define_protocol_flags(prefix=""):
    """Define the evaluation-protocol flags, named `<prefix>split`,
    `<prefix>jpeg_quality`, `<prefix>max_images` and `<prefix>fid_protocol`
    (see `vqct_keras.evaluation_protocol.EvaluationProtocol`)."""
    flags.DEFINE_string(
        f"{prefix}split",
        None,
        "Evaluation split (slicing allowed). Default: the dataset's "
        "held-out split (validation for ade20k and coco2014, else test).",
    )
    flags.DEFINE_integer(
        f"{prefix}jpeg_quality",
        None,
        "JPEG round trip of originals and reconstructions before PSNR, SSIM "
        "and rFID. Default: 75 (the released VQCT test script) for ade20k, "
        "celeba_hq, coco2014 and cub200, off otherwise; 0 switches it off.",
    )
    flags.DEFINE_integer(
        f"{prefix}max_images",
        None,
        "Score only the first N images of the split (in order). Default: "
        "the whole split.",
    )
    flags.DEFINE_enum(
        f"{prefix}fid_protocol",
        "pytorch_fid",
        ["pytorch_fid", "tensorflow"],
        "rFID Inception preprocessing: pytorch-fid's (the official "
        "script's) or TF's legacy resize.",
    )


def protocol_from_flags(dataset, prefix="", **fields):
    """The `EvaluationProtocol` of `dataset` with the flags of
    `define_protocol_flags(prefix)` applied (unset flags keep the
    dataset's default); `fields` set other fields (`compute_fid`)."""
    from vqct_keras.evaluation_protocol import EvaluationProtocol

    values = flags.FLAGS
    return EvaluationProtocol.for_dataset(
        dataset,
        split=values[f"{prefix}split"].value,
        jpeg_quality=values[f"{prefix}jpeg_quality"].value,
        max_images=values[f"{prefix}max_images"].value,
        fid_protocol=values[f"{prefix}fid_protocol"].value,
        **fields,
    )


def resolve_output_dir(output_dir, command_name):
    """Create and return the output folder; a fresh one when not given."""
    if not output_dir:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        output_dir = os.path.join(REPO_ROOT, "runs", f"{command_name}-{stamp}")
        suffix = 1
        base = output_dir
        while os.path.exists(output_dir):
            suffix += 1
            output_dir = f"{base}-{suffix}"
    os.makedirs(output_dir, exist_ok=True)
    return os.path.abspath(output_dir)


def write_flags(output_dir, filename="flags.txt"):
    """Write the resolved flags as a flagfile that re-runs the command."""
    path = os.path.join(output_dir, filename)
    flags.FLAGS.append_flags_into_file(path)
    return path


def finish(output_dir, stream=None):
    """Print where the outputs are, as the last line of every tool."""
    print(
        f"Outputs written to: {output_dir}",
        file=stream or sys.stdout,
        flush=True,
    )
