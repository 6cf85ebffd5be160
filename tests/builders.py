"""Tiny models, priors, images and subprocess probes shared by the tests.

Library imports happen inside the builders, so that a module importing this
one (e.g. `tests/trainers/tiny_trainer.py`, also run as a script) chooses
its backend before Keras is loaded.
"""

import contextlib
import os
import signal
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Downsampling factor 2: 16 px images -> 8x8 codes, every block type kept.
TINY_ARCHITECTURE = {
    "resolution": 16,
    "ch": 32,
    "ch_mult": (1, 2),
    "num_res_blocks": 1,
    "attn_resolutions": (8,),
    "z_channels": 16,
}


def tiny_prior():
    """6 adjectives, 10 nouns, 12-d random vectors, 24 random edges."""
    from vqct_keras.prior.codebook_prior import CodebookPrior

    rng = np.random.default_rng(0)
    return CodebookPrior(
        adjectives=[f"adj{i}" for i in range(6)],
        nouns=[f"noun{i}" for i in range(10)],
        vectors=rng.normal(size=(16, 12)).astype("float32"),
        edges=rng.integers(0, 16, size=(24, 2)),
    )


def tiny_tokenizer(quantizer="part_of_speech", build=True):
    """A `TINY_ARCHITECTURE` tokenizer on `tiny_prior()` or 16 plain codes."""
    from vqct_keras.layers.part_of_speech_quantizer import PartOfSpeechQuantizer
    from vqct_keras.layers.vector_quantizer import VectorQuantizer
    from vqct_keras.models.vqct_tokenizer import VQCTTokenizer

    if quantizer == "part_of_speech":
        layer = PartOfSpeechQuantizer.from_prior(
            tiny_prior(), embed_dim=8, seed=0, name="quantizer"
        )
    else:
        layer = VectorQuantizer(16, 8, seed=0, name="quantizer")
    tokenizer = VQCTTokenizer(layer, **TINY_ARCHITECTURE)
    if build:
        tokenizer.build()
    return tokenizer


def random_images(batch=2, size=16, seed=0):
    """`(batch, size, size, 3)` float32 images uniform in [-1, 1]."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (batch, size, size, 3)).astype("float32")


def words_tokenizer(quantizer):
    """An 8 px tokenizer around `quantizer`, small enough for word tests."""
    from vqct_keras.models.vqct_tokenizer import VQCTTokenizer

    tokenizer = VQCTTokenizer(
        quantizer,
        resolution=8,
        ch=16,
        ch_mult=(1, 2),
        num_res_blocks=1,
        attn_resolutions=(),
        z_channels=8,
        num_groups=8,
    )
    tokenizer.build()
    return tokenizer


def run_python(code, *args, timeout=120, env=None):
    """Runs `python -c code *args` from the repository root, on its path."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=dict(env or os.environ, PYTHONPATH=ROOT),
    )


# Runs a `training/` script with `flag` (a help flag) and reports on stderr
# whether TensorFlow (or Keras) was imported by the time the help was printed.
HELP_PROBE = r"""
import atexit, sys
atexit.register(
    lambda: print("imported:", "tensorflow" in sys.modules
                  or "keras" in sys.modules, file=sys.stderr)
)
sys.argv = [{name!r}, {flag!r}]
import runpy
runpy.run_path({path!r}, run_name="__main__")
"""


def run_help(script, flag="--help"):
    """Runs `training/<script> <flag>` under `HELP_PROBE`."""
    path = os.path.join(ROOT, "training", script)
    code = HELP_PROBE.format(name=script, flag=flag, path=path)
    return run_python(code)


# A child that takes a run folder's lock and holds it:
# `python -c _HOLD_LOCK <run folder> <repository root>`.
_HOLD_LOCK = r"""
import sys, time
sys.path.insert(0, sys.argv[2])
from training.run_folder import RunFolder
folder = RunFolder(sys.argv[1])
folder.lock()
print("locked", flush=True)
time.sleep(600)
"""


@contextlib.contextmanager
def lock_held_elsewhere(folder):
    """Yields a child process that holds `folder`'s run lock; kills it after."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(folder), ROOT],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()


# Parameter counts of taming-transformers' modules (PyTorch layouts).
def conv_parameters(i, o, k):
    return i * o * k * k + o


def resnet_parameters(i, o):
    shortcut = conv_parameters(i, o, 1) if i != o else 0
    return (
        2 * i
        + conv_parameters(i, o, 3)
        + 2 * o
        + conv_parameters(o, o, 3)
        + shortcut
    )


def attention_parameters(c):
    return 2 * c + 4 * conv_parameters(c, c, 1)
