"""
Title: The paper's setup on GPUs: flagfiles, MirroredStrategy, datasets
Author: vqct_keras team
Description: Read a paper flagfile, train under MirroredStrategy on every GPU (two logical CPUs without one), and learn what to download and where for ADE20K, COCO 2014, CUB-200 and CelebA-HQ.
Backends: TensorFlow
Accelerator: GPU for real runs; the demo runs on a free Colab CPU in a few minutes
"""

"""
## Introduction

The paper trains the f16 VQGAN (256 px images, 16x16 codes) on four datasets. Each has a
flagfile in `training/configs/` with the official settings; on a machine with GPUs one command
trains it under `tf.distribute.MirroredStrategy`:

```bash
python training/train.py --flagfile=training/configs/cub200_f16.flags --output_dir=runs/cub200
# later flags win, e.g. --distribution=mirrored --devices=GPU:0,GPU:1 --steps=200000
```

This notebook walks through what that command does, with the library: it reads the flagfile,
builds the strategy, the model and the optimizers inside `strategy.scope()`, and fits. Without
GPUs it splits the CPU into two logical devices, and when the dataset is not on this machine it
uses tfds mock data, with a narrow model (`WIDTH` channels instead of the paper's 128) so that
it runs in minutes.
"""

# setup: the install cell from notebooks/make_notebooks.py

import os

QUICK = os.environ.get("VQCT_NOTEBOOK_QUICK") == "1"
FLAGFILE = "cub200_f16.flags"
WIDTH = 16 if QUICK else 32  # the paper: 128
IMAGE_SIZE = 64 if QUICK else None  # None: the flagfile's (256)
GLOBAL_BATCH = 4
STEPS = 2 if QUICK else 6

"""
## Devices and strategy

Every GPU, or two logical CPUs standing in for two GPUs. The CPU split has to happen before
TensorFlow starts its runtime, so it comes first.
"""

import tensorflow as tf

gpus = tf.config.list_physical_devices("GPU")
if not gpus:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
devices = [
    d.name for d in tf.config.list_logical_devices("GPU" if gpus else "CPU")
]
strategy = tf.distribute.MirroredStrategy(devices)
print("replicas:", strategy.num_replicas_in_sync, devices)

import contextlib
import tempfile

import keras
import tensorflow_datasets as tfds

import vqct_keras
from vqct_keras.data import DatasetNotAvailableError
from vqct_keras.data import dataset_info
from vqct_keras.data import default_data_dir
from vqct_keras.data import load_dataset
from vqct_keras.models import PatchDiscriminator
from vqct_keras.models import build_tokenizer
from vqct_keras.prior import load_default_prior
from vqct_keras.trainers import VQGANTrainer

"""
## The flagfile

Flagfiles are absl flags, one per line; `training/train.py` reads them with `--flagfile=`.
"""

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(vqct_keras.__file__)))
with open(os.path.join(ROOT, "training", "configs", FLAGFILE)) as file:
    lines = [line.strip() for line in file if line.startswith("--")]
flags = dict(line[2:].split("=", 1) for line in lines)
for name in (
    "preset",
    "dataset",
    "image_size",
    "batch_size",
    "base_learning_rate",
    "disc_start",
    "adam_epsilon",
    "epochs",
):
    print(f"--{name}={flags[name]}")
image_size = IMAGE_SIZE or int(flags["image_size"])

"""
## What to download, and where

Datasets live in `$TFDS_DATA_DIR` (default `~/.cache/vqct_keras/tensorflow_datasets`); files
you download yourself go in its `downloads/manual/`:

| flagfile | dataset | how |
| --- | --- | --- |
| `cub200_f16.flags` | CUB-200-2011 | tfds `caltech_birds2011` downloads it (1.1 GB) on first use |
| `coco2014_f16.flags` | MS-COCO 2014 | tfds `coco/2014` downloads it (38 GB) on first use |
| `ade20k_f16.flags` | ADE20K 2021 | register, download `ADE20K_2021_17_01.zip`, unzip into `downloads/manual/` |
| `celeba_hq_f16.flags` | CelebA-HQ (multimodal split) | `downloads/manual/celeba_hq/CelebA-HQ-img/*.jpg` and `train/`, `test/` lists |

The exact layouts are in `docs/data.md`; the error below names the paths to fill. Here the
dataset is checked without downloading; when it is missing, tfds mock data (random images with
the real dataset's features) stands in.
"""

print("data folder:", default_data_dir())
try:
    if QUICK:
        raise DatasetNotAvailableError("skipped: quick run, mock data")
    info = dataset_info(
        flags["dataset"], "train", image_size=image_size, download=False
    )
    print(info.name, info.num_examples, "training images")
    use_mock = False
except DatasetNotAvailableError as error:
    print("not prepared here:", str(error)[:500])
    use_mock = True

stack = contextlib.ExitStack()
data_dir = None
if use_mock:
    stack.enter_context(tfds.testing.mock_data(num_examples=16))
    data_dir = tempfile.mkdtemp()
train = load_dataset(
    flags["dataset"],
    "train",
    image_size=image_size,
    batch_size=GLOBAL_BATCH,
    seed=0,
    repeat=True,
    drop_remainder=True,
    data_dir=data_dir,
)
print(train.element_spec)

"""
## Model, optimizers and compile inside `strategy.scope()`

The preset's architecture with `ch=WIDTH` (and as many GroupNorm groups as fit); everything else
from the flagfile. The learning rate follows the official rule, base rate x global batch. The
LPIPS perceptual loss (`--perceptual_weight=1.0` in the flagfile) is left out of this CPU demo.
"""

keras.utils.set_random_seed(0)
prior = load_default_prior()
with strategy.scope():
    tokenizer = build_tokenizer(
        flags["preset"],
        prior=prior,
        ch=WIDTH,
        num_groups=min(32, WIDTH),
        resolution=image_size,
        top_k=int(flags["top_k"]),
        transfer=flags["transfer"],
        dropout=float(flags["codebook_dropout"]),
    )
    discriminator = PatchDiscriminator(
        ndf=WIDTH, n_layers=int(flags["disc_layers"])
    )
    discriminator.build((None, image_size, image_size, 3))
    trainer = VQGANTrainer(
        tokenizer,
        discriminator,
        codebook_weight=float(flags["codebook_weight"]),
        disc_weight=float(flags["disc_weight"]),
        disc_start=min(int(flags["disc_start"]), STEPS // 2),
        recompute_reconstruction=not QUICK,  # quick: one decoder pass
    )
    learning_rate = float(flags["base_learning_rate"]) * GLOBAL_BATCH
    trainer.compile(
        g_optimizer=keras.optimizers.Adam(
            learning_rate, 0.5, 0.9, epsilon=float(flags["adam_epsilon"])
        ),
        d_optimizer=keras.optimizers.Adam(
            learning_rate, 0.5, 0.9, epsilon=float(flags["adam_epsilon"])
        ),
    )
print(
    f"{tokenizer.count_params():,} parameters, codes {image_size // tokenizer.downsampling_factor}x{image_size // tokenizer.downsampling_factor}, lr {learning_rate:.2g}"
)

"""
## Fit

Keras splits each global batch over the replicas; the trainer divides the losses by the replica
count once, so two replicas make the same update as one device on the same global batch.
"""

history = trainer.fit(train, steps_per_epoch=STEPS, epochs=1, verbose=2)
stack.close()
print(
    "replicas:",
    strategy.num_replicas_in_sync,
    "final L1:",
    round(history.history["l1"][-1], 4),
)

"""
## The real run

On a GPU machine with the dataset in place, the whole paper setup is the one command from the
introduction; its run folder holds `flags.txt`, `checkpoint.npz` (resumable),
`history.jsonl`, TensorBoard `logs/`, pictures and `tokenizer.keras`. Evaluate it with
`python training/evaluate.py --model=runs/cub200/tokenizer.keras --dataset=cub200`, which also
writes a word map and the top words.
"""
