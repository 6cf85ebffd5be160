"""Conventions shared by the command-line tools in `training/`.

Every tool takes `--output_dir` (default: a fresh folder under `runs/`),
writes its resolved flags there, and prints the folder at the end.
"""

import datetime
import os
import sys
import typing

from absl import app
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


def load_model_flag(path):
    """The tokenizer of `--model` (`load_tokenizer`); a usage error that
    says the fix when the flag is missing or the file unusable."""
    from vqct_keras.models.loading import load_tokenizer

    if not path:
        raise app.UsageError(
            "--model is required: the .keras file of a trained tokenizer, "
            "e.g. --model=runs/train-<stamp>/tokenizer.keras."
        )
    try:
        return load_tokenizer(path)
    except (FileNotFoundError, ValueError) as error:
        raise app.UsageError(f"--model={path}: {error}") from error


def define_dataset_flag():
    """Define `--dataset`: a dataset name, a folder of images or tfds:<name>."""
    return flags.DEFINE_string(
        "dataset",
        "default",
        "Dataset name (see vqct_keras.data.dataset_names()), folder of "
        "images, or tfds:<name>.",
    )


class ProtocolFlags(typing.NamedTuple):
    """The `FlagHolder`s of the evaluation-protocol flags."""

    split: flags.FlagHolder
    jpeg_quality: flags.FlagHolder
    max_images: flags.FlagHolder
    fid_protocol: flags.FlagHolder
    fid_reference_cache: flags.FlagHolder


def define_protocol_flags(prefix=""):
    """Define the evaluation-protocol flags, named `<prefix>split`,
    `<prefix>jpeg_quality`, `<prefix>max_images` and `<prefix>fid_protocol`
    (see `vqct_keras.evaluation_protocol.EvaluationProtocol`).

    Returns:
        `ProtocolFlags`, for `protocol_from_flags`.
    """
    split = flags.DEFINE_string(
        f"{prefix}split",
        None,
        "Evaluation split (slicing allowed). Default: the dataset's "
        "held-out split (validation for ade20k and coco2014, else test).",
    )
    jpeg_quality = flags.DEFINE_integer(
        f"{prefix}jpeg_quality",
        None,
        "JPEG round trip of originals and reconstructions before PSNR, SSIM "
        "and rFID. Default: 75 (the released VQCT test script) for ade20k, "
        "celeba_hq, coco2014 and cub200, off otherwise; 0 switches it off.",
    )
    max_images = flags.DEFINE_integer(
        f"{prefix}max_images",
        None,
        "Score only the first N images of the split (in order). Default: "
        "the whole split.",
    )
    fid_protocol = flags.DEFINE_enum(
        f"{prefix}fid_protocol",
        "pytorch_fid",
        ["pytorch_fid", "tensorflow"],
        "rFID Inception preprocessing: pytorch-fid's (the official "
        "script's) or TF's legacy resize.",
    )
    fid_reference_cache = flags.DEFINE_string(
        f"{prefix}fid_reference_cache",
        None,
        "An .npz file for the originals' Inception statistics: read when it "
        "exists (only reconstructions go through Inception), else written. "
        "It is checked against a digest of the images and refused if they "
        "differ. For scoring many tokenizers on the same images.",
    )
    return ProtocolFlags(
        split, jpeg_quality, max_images, fid_protocol, fid_reference_cache
    )


def protocol_from_flags(dataset, protocol_flags, **fields):
    """The `EvaluationProtocol` of `dataset` with `protocol_flags` (the
    `ProtocolFlags` of `define_protocol_flags`) applied: unset flags keep
    the dataset's default; `fields` set other fields (`compute_fid`)."""
    from vqct_keras.evaluation_protocol import EvaluationProtocol

    return EvaluationProtocol.for_dataset(
        dataset,
        split=protocol_flags.split.value,
        jpeg_quality=protocol_flags.jpeg_quality.value,
        max_images=protocol_flags.max_images.value,
        fid_protocol=protocol_flags.fid_protocol.value,
        **fields,
    )


def flag_values(*names):
    """`{name: FLAGS.<name>}`, for flags passed on to the parameters of the
    same names (`f(**flag_values("batch_size", "overwrite"))`)."""
    return {name: getattr(flags.FLAGS, name) for name in names}


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


def write_flags(output_dir, filename="flags.txt", notes=()):
    """Write the resolved flags as a flagfile that re-runs the command.

    `flags.txt` is rewritten (an appended file would replay the last
    start, even a refused one); a copy of every start is kept in
    `flags_history/<number>-<stamp>.txt`. `notes` become `#` comment lines (e.g.
    an automatic choice the flags do not show).
    """
    text = "".join(f"# {note}\n" for note in notes)
    text += flags.FLAGS.flags_into_string()
    from vqct_keras.utils import files

    path = files.write_text(os.path.join(output_dir, filename), text)
    history_dir = os.path.join(output_dir, "flags_history")
    os.makedirs(history_dir, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    number = len(os.listdir(history_dir)) + 1
    copy = os.path.join(history_dir, f"{number:04d}-{stamp}.txt")
    with open(copy, "w") as file:
        file.write(text)
    return path


def fail(command_name, message):
    """Print `<command_name>: error: <message>` to stderr and exit with 1
    (an error that is not a misuse of the flags)."""
    print(f"{command_name}: error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def finish(output_dir, stream=None):
    """Print where the outputs are, as the last line of every tool."""
    print(
        f"Outputs written to: {output_dir}",
        file=stream or sys.stdout,
        flush=True,
    )


# === Running a tool ===

VERBOSE_ENV = "VQCT_VERBOSE"


def run(main, *flag_modules, quiet_start=True):
    """`app.run(main)` with the conventions every tool shares.

    - `--help` lists the tool's own flags, the shared ones (`--output_dir`,
      `--model`, `--dataset`) and those of `flag_modules`; nothing slow is
      imported before the flags are parsed.
    - A usage error prints one line and the hint, not the whole help.
    - TensorFlow's and CUDA's start-up log lines are silenced unless the
      environment variable `VQCT_VERBOSE=1` is set (`quiet_start=False`:
      `main` calls `quiet_tensorflow_start()` itself, after its fast
      checks).
    """
    for module in (sys.modules[__name__],) + tuple(flag_modules):
        flags.adopt_module_key_flags(module)

    def guarded(argv):
        try:
            if quiet_start:
                quiet_tensorflow_start()
            return main(argv)
        except app.UsageError as error:
            print(
                f"Error: {error}\nRun with --help to list the flags.",
                file=sys.stderr,
                flush=True,
            )
            sys.exit(2)

    app.run(guarded)


def quiet_tensorflow_start():
    """Import TensorFlow with its start-up lines sent to /dev/null.

    TensorFlow and XLA print 20-40 lines on stderr when they start (oneDNN,
    CUDA drivers, CPU features), through C++ logging that
    `TF_CPP_MIN_LOG_LEVEL` does not fully reach. `VQCT_VERBOSE=1` keeps
    them. Python errors are not hidden: stderr is restored before any
    exception propagates.
    """
    if os.environ.get(VERBOSE_ENV, "") not in ("", "0"):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
