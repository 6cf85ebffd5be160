"""A tiny VQCT tokenizer + PatchGAN set-up for the trainer tests.

Imported by the tests for the shared builders, and run as a script by
`backend_steps_test.py` (once per backend) to compare the TensorFlow and JAX
train steps:

    KERAS_BACKEND=jax python tests/trainers/tiny_trainer.py \
        --output out.npz [--initial_state state.npz | --write_state state.npz]

The script builds the tiny trainer, loads `--initial_state` (written by an
earlier run with `--write_state`, maybe under the other backend), runs
`STEPS` `train_on_batch` steps on fixed images and writes the per-step logs
(`log/<step>/<name>`) and `trainer.state_arrays()` after the steps
(`state/<key>`) to `--output`.
"""

import argparse
import os

import numpy as np

from tests.builders import tiny_prior

IMAGE_SIZE = 16
BATCH = 4
STEPS = 2
# The smallest VQCT architecture that keeps every block type: one
# downsampling level, the mid attention, part-of-speech quantizer + GCN.
# 32 GroupNorm groups, as before the tiny preset moved to 8: these tests
# compare updates, and keep the numbers their tolerances were set on.
ARCHITECTURE = dict(
    resolution=IMAGE_SIZE,
    ch_mult=(1, 2),
    attn_resolutions=(),
    z_channels=8,
    embed_dim=8,
    num_groups=32,
)


def build_models(seed=0, dropout=0.0):
    """`(tokenizer, discriminator)`, built; GCN dropout `dropout` (default
    none: deterministic steps)."""
    import keras

    from vqct_keras.models.patch_discriminator import PatchDiscriminator
    from vqct_keras.models.vqct_presets import build_tokenizer

    keras.utils.set_random_seed(seed)
    tokenizer = build_tokenizer(
        "vqct_tiny_32",
        prior=tiny_prior(),
        dropout=dropout,
        seed=seed,
        **ARCHITECTURE,
    )
    discriminator = PatchDiscriminator(ndf=8, n_layers=2)
    discriminator.build((None, IMAGE_SIZE, IMAGE_SIZE, 3))
    return tokenizer, discriminator


def make_images(count, seed):
    rng = np.random.default_rng(seed)
    shape = (count, IMAGE_SIZE, IMAGE_SIZE, 3)
    return rng.uniform(-1, 1, shape).astype("float32")


def sgd():
    """Plain momentum SGD: updates linear in the gradients, for comparisons.

    (Adam's first step `lr * g / (|g| + eps)` turns rounding noise in
    gradients that are zero in exact arithmetic, e.g. of conv biases
    followed by GroupNorm, into full-size updates.)
    """
    import keras

    return keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)


def build_trainer(
    disc_start,
    optimizer_fn=sgd,
    seed=0,
    dropout=0.0,
    perceptual_loss=None,
    **compile_kwargs,
):
    """A compiled `VQGANTrainer` on fresh tiny models (GCN dropout
    `dropout`; `perceptual_loss`, e.g. an `LPIPS` layer, or none)."""
    from vqct_keras.trainers.vqgan_trainer import VQGANTrainer

    tokenizer, discriminator = build_models(seed, dropout=dropout)
    trainer = VQGANTrainer(
        tokenizer,
        discriminator,
        perceptual_loss=perceptual_loss,
        disc_start=disc_start,
    )
    trainer.compile(optimizer_fn(), optimizer_fn(), **compile_kwargs)
    return trainer


def state_key_paths(arrays):
    """`group/path` of each key of `state_arrays()` (drops the index)."""
    paths = []
    for key in arrays:
        group, _, path = key.split("/", 2)
        paths.append(f"{group}/{path}")
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True)
    parser.add_argument("--initial_state")
    parser.add_argument("--write_state")
    args = parser.parse_args()

    import keras

    trainer = build_trainer(disc_start=1)
    own = trainer.state_arrays()
    if args.initial_state:
        with np.load(args.initial_state) as arrays:
            arrays = dict(arrays)
        if list(arrays) != list(own):
            raise ValueError(
                "The two backends order or name the trainer state "
                f"differently:\n{list(arrays)}\n{list(own)}"
            )
        trainer.load_state_arrays(arrays)
    if args.write_state:
        np.savez(args.write_state, **own)

    images = make_images(BATCH, seed=3)
    results = {}
    for step in range(STEPS):
        logs = trainer.train_on_batch(images, return_dict=True)
        for name, value in logs.items():
            results[f"log/{step}/{name}"] = np.asarray(value, "float32")
    for key, value in trainer.state_arrays().items():
        results[f"state/{key}"] = value
    results["backend"] = np.asarray(keras.backend.backend())
    np.savez(args.output, **results)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
