"""Train a VQCT tokenizer (or the VQGAN baseline).

Usage:
    python training/train.py --flagfile=training/configs/demo.flags
    python training/train.py --flagfile=training/configs/cub200_f16.flags \
        --output_dir=runs/cub

Everything goes to --output_dir: flags.txt, checkpoint.npz (full state,
rewritten atomically every --steps_per_epoch steps), history.jsonl,
logs/ (TensorBoard), reconstructions_<step>.png, training_curves.png,
tokenizer_best.keras (lowest held-out reconstruction loss so far) and
best.json, and at the end tokenizer.keras (the last weights) and
metrics.json (the evaluation protocol of `--eval_*` applied to
`--evaluate_checkpoint`). Re-running the same command continues from the
last complete checkpoint.
"""

import dataclasses
import math
import os
import sys

from absl import app
from absl import flags
from absl import logging

FLAGS = flags.FLAGS


def build_models(prior, image_size, architecture=None):
    """Tokenizer, discriminator and perceptual loss from the flags;
    `architecture` overrides fields of the preset."""
    import keras

    from vqct_keras.models.patch_discriminator import PatchDiscriminator
    from vqct_keras.models.vqct_presets import build_tokenizer

    dtype = (
        None if FLAGS.mixed_precision == "float32" else FLAGS.mixed_precision
    )
    # Every quantizer flag; the quantizer takes those it declares in its
    # `build_arguments` (vqct_keras/layers/quantizer_registry.py).
    tokenizer = build_tokenizer(
        FLAGS.preset,
        prior=prior,
        quantizer=FLAGS.quantizer,
        num_codes=FLAGS.num_codes,
        dtype=dtype,
        seed=FLAGS.seed,
        **(architecture or {}),
        transfer=FLAGS.transfer,
        top_k=FLAGS.top_k,
        dropout=FLAGS.codebook_dropout,
    )
    discriminator = PatchDiscriminator(
        ndf=FLAGS.disc_ndf,
        n_layers=FLAGS.disc_layers,
        dtype=keras.dtype_policies.get(dtype) if dtype else None,
        name="discriminator",
    )
    discriminator.build((None, image_size, image_size, 3))
    perceptual = None
    if FLAGS.perceptual_weight > 0:
        from vqct_keras.metrics.lpips import LPIPS

        perceptual = LPIPS(name="lpips")  # builds and loads its weights
    return tokenizer, discriminator, perceptual


def load_prior():
    from vqct_keras.layers.quantizer_registry import get_quantizer_class

    if not get_quantizer_class(FLAGS.quantizer).uses_prior:
        return None
    from vqct_keras.prior.codebook_prior import CodebookPrior

    if FLAGS.prior:
        return CodebookPrior.load(FLAGS.prior)
    from vqct_keras.prior.default_prior import load_default_prior

    return load_default_prior()


def architecture_overrides(items):
    """`--architecture` (its list of `key=int` items) as a dict of ints
    (e.g. `{"ch": 32}`)."""
    from training.train_flags import ARCHITECTURE_KEYS

    overrides = {}
    for item in items or ():
        key, _, value = item.partition("=")
        key = key.strip()
        if key not in ARCHITECTURE_KEYS or not value.strip().isdigit():
            raise app.UsageError(
                f"--architecture takes key=int items with keys "
                f"{', '.join(ARCHITECTURE_KEYS)}; got {item!r}."
            )
        overrides[key] = int(value)
    return overrides


def training_length(
    train_examples, batch_size, steps=None, epochs=None, steps_per_epoch=None
):
    """`(total steps, steps per epoch, steps per pass)` from `--steps`,
    `--epochs` and `--steps_per_epoch` (`None` when unset).

    One pass over the training split is `floor(examples / batch)` steps
    (the last smaller batch is dropped).
    """
    steps_per_pass = train_examples // batch_size
    if steps_per_pass < 1:
        raise app.UsageError(
            f"The training split has {train_examples} images, fewer than "
            f"one batch of {batch_size}: lower --batch_size."
        )
    if steps is not None:
        total = steps
    elif epochs is not None:
        total = epochs * steps_per_pass
    else:
        raise app.UsageError(
            "Set the training length: --epochs (passes over the training "
            "split, as the official code) or --steps."
        )
    steps_per_epoch = steps_per_epoch or steps_per_pass
    if total <= 0 or steps_per_epoch <= 0:
        raise app.UsageError(
            "--steps, --epochs and --steps_per_epoch must be > 0."
        )
    return total, min(steps_per_epoch, total), steps_per_pass


def progress_verbosity(verbose, stream=None):
    """Keras' `verbose` for `fit`: `--verbose` when given, else a progress
    bar with the losses (1) on a terminal and one line per epoch (2) when
    `stream` (default stdout) is a log or a pipe, where Keras would print
    the bar again, escape codes included, at every step."""
    if verbose is not None:
        return verbose
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return 1 if isatty is not None and isatty() else 2


def open_run_folder(output_dir, resume, overwrite):
    """Lock and prepare `--output_dir` before anything slow is imported."""
    from training import cli_utils
    from training.run_folder import RunFolder
    from training.run_folder import RunFolderError

    output_dir = cli_utils.resolve_output_dir(output_dir, "train")
    folder = RunFolder(output_dir)
    try:
        folder.lock()
        aside = folder.start(resume=resume, overwrite=overwrite)
    except RunFolderError as error:
        print(f"Error: {error}", file=sys.stderr, flush=True)
        sys.exit(2)
    if aside:
        print(f"Moved the previous run to {aside}.", flush=True)
    return folder


def main(argv):
    del argv
    run_folder = open_run_folder(
        FLAGS.output_dir, FLAGS.resume, FLAGS.overwrite
    )
    try:
        train(run_folder)
    finally:
        run_folder.release()  # also when stopped by an error or sys.exit


def train(run_folder):
    """Train, checkpoint and evaluate into the locked `run_folder`."""
    from training import cli_utils

    cli_utils.quiet_tensorflow_start()
    from training.strategy import split_cpu

    split_cpu(FLAGS.logical_cpus)  # before TensorFlow or JAX start
    from training.strategy import get_strategy

    # Created first: MultiWorkerMirroredStrategy must configure the runtime
    # before any TensorFlow operation runs.
    strategy = get_strategy(FLAGS.distribution, FLAGS.devices)
    import keras

    from training import callbacks as training_callbacks
    from training import cli_utils
    from training import data_splits
    from vqct_keras.data import load_dataset
    from vqct_keras.models.input_contract import resolve_image_size
    from vqct_keras.models.vqct_presets import PRESETS
    from vqct_keras.trainers.vqgan_trainer import VQGANTrainer

    if FLAGS.preset not in PRESETS:
        raise app.UsageError(
            f"--preset must be one of {sorted(PRESETS)}; got {FLAGS.preset!r}."
        )
    from training import train_flags

    architecture = architecture_overrides(FLAGS.architecture)
    try:
        protocol = cli_utils.protocol_from_flags(
            FLAGS.dataset, train_flags.EVAL_PROTOCOL
        )
    except ValueError as error:
        raise app.UsageError(str(error)) from error
    output_dir = run_folder.path
    keras.utils.set_random_seed(FLAGS.seed)
    image_size = resolve_image_size(FLAGS.image_size, PRESETS[FLAGS.preset])
    batch_size = FLAGS.batch_size
    if batch_size % strategy.num_replicas_in_sync:
        raise app.UsageError(
            f"--batch_size={batch_size} must be divisible by the "
            f"{strategy.num_replicas_in_sync} replicas."
        )

    train_split, eval_split, split_note = data_splits.resolve_splits(
        FLAGS.dataset,
        FLAGS.train_split,
        protocol.split,
        train_flags.EVAL_PROTOCOL.split.present,
        batch_size,
    )
    cli_utils.write_flags(output_dir, notes=[split_note] if split_note else ())
    if split_note:
        print(split_note[0].upper() + split_note[1:], flush=True)
        # The held-out slice of the training folder (evaluated without
        # augmentation, as every protocol split).
        protocol = dataclasses.replace(protocol, split=eval_split)
    train_data, train_info = load_dataset(
        FLAGS.dataset,
        split=train_split,
        image_size=image_size,
        batch_size=batch_size,
        shuffle=True,
        seed=FLAGS.seed,
        drop_remainder=True,
        repeat=True,
        with_info=True,
    )
    total_steps, steps_per_epoch, steps_per_pass = training_length(
        train_info.num_examples,
        batch_size,
        steps=FLAGS.steps,
        epochs=FLAGS.epochs,
        steps_per_epoch=FLAGS.steps_per_epoch,
    )
    # Held-out images of the protocol's split, deterministic, in order.
    held_out, _, _ = dataclasses.replace(protocol, max_images=None).load(
        FLAGS.dataset, image_size, FLAGS.eval_batch_size
    )
    if FLAGS.epoch_eval_batches > 0:
        held_out = held_out.take(FLAGS.epoch_eval_batches)
    first_batch = next(held_out.as_numpy_iterator(), None)
    data_splits.check_held_out(
        [] if first_batch is None else [first_batch],
        protocol.split,
        FLAGS.dataset,
        FLAGS.eval_batch_size,
    )
    grid_images = first_batch[:8]
    prior = load_prior()

    with strategy.scope():
        tokenizer, discriminator, perceptual = build_models(
            prior, image_size, architecture
        )
        trainer = VQGANTrainer(
            tokenizer,
            discriminator,
            perceptual_loss=perceptual,
            name="vqgan_trainer",
            **cli_utils.flag_values(
                "perceptual_weight",
                "codebook_weight",
                "disc_weight",
                "disc_start",
                "recompute_reconstruction",
            ),
        )
        learning_rate = FLAGS.learning_rate or (
            FLAGS.base_learning_rate * batch_size
        )
        trainer.compile(
            g_optimizer=keras.optimizers.Adam(
                learning_rate, 0.5, 0.9, epsilon=FLAGS.adam_epsilon
            ),
            d_optimizer=keras.optimizers.Adam(
                learning_rate, 0.5, 0.9, epsilon=FLAGS.adam_epsilon
            ),
        )

    step = 0
    if FLAGS.resume:
        arrays, step = training_callbacks.load_checkpoint(output_dir)
        if arrays is not None:
            trainer.load_state_arrays(arrays)
            print(f"Resumed from {output_dir} at step {step}.", flush=True)
    # Only the steps of the checkpoint: a NaN stop or a kill left more.
    run_folder.trim_to_step(step)
    epochs = math.ceil(total_steps / steps_per_epoch)
    initial_epoch = step // steps_per_epoch
    # Same stream position as an uninterrupted run with the same seed.
    train_data = train_data.skip(step)
    if strategy.num_replicas_in_sync > 1:
        # Workers split the stream by element: file-based sharding fails
        # on datasets stored in fewer files than workers (the embedded
        # default is one file).
        import tensorflow as tf

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        train_data = train_data.with_options(options)

    nonfinite = training_callbacks.NonFiniteLossStop()
    history_path = os.path.join(output_dir, "history.jsonl")
    best = training_callbacks.BestCheckpoint(output_dir, nonfinite)
    callbacks = [
        nonfinite,
        training_callbacks.TrainingCheckpoint(output_dir, nonfinite),
        training_callbacks.ReconstructionGrid(
            grid_images, output_dir, nonfinite_stop=nonfinite
        ),
        training_callbacks.EpochEvaluation(
            held_out, perceptual, FLAGS.perceptual_weight
        ),
        best,
        training_callbacks.HistoryFile(history_path, nonfinite),
        keras.callbacks.TensorBoard(
            os.path.join(output_dir, "logs"), write_graph=False
        ),
    ]
    length = (
        f"--steps={FLAGS.steps}"
        if FLAGS.steps is not None
        else f"--epochs={FLAGS.epochs} x {steps_per_pass} steps per pass"
    )
    print(
        f"Training {FLAGS.preset} ({FLAGS.quantizer}) on {FLAGS.dataset} at "
        f"{image_size}px, batch {batch_size} over "
        f"{strategy.num_replicas_in_sync} replica(s), lr {learning_rate:.3g}, "
        f"Adam epsilon {FLAGS.adam_epsilon:g}, steps {step} -> "
        f"{epochs * steps_per_epoch} ({length}; {train_info.num_examples} "
        f"training images), held-out scores every {steps_per_epoch} steps.",
        flush=True,
    )
    verbose = progress_verbosity(FLAGS.verbose)
    if initial_epoch < epochs:
        print(
            "Building the training step (tracing and compiling: the first "
            "step takes longer)...",
            flush=True,
        )
        trainer.fit(
            train_data,
            epochs=epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            shuffle=False,  # the dataset is shuffled already
            callbacks=callbacks,
            verbose=verbose,
        )
    training_callbacks.plot_history(
        training_callbacks.read_history(history_path),
        os.path.join(output_dir, "training_curves.png"),
    )
    if nonfinite.triggered:
        logging.error(nonfinite.message)
        print(nonfinite.message, file=sys.stderr, flush=True)
        cli_utils.finish(output_dir)
        sys.exit(1)

    tokenizer_path = os.path.join(output_dir, "tokenizer.keras")
    tokenizer.save(tokenizer_path)
    metadata = {"checkpoint": "last", "checkpoint_step": trainer.current_step()}
    best_record = best.record()
    if FLAGS.evaluate_checkpoint == "best" and best_record is not None:
        tokenizer_path = best.path
        metadata = {
            "checkpoint": "best",
            "checkpoint_step": best_record["step"],
            "val_rec_loss": best_record["val_rec_loss"],
        }
        print(
            f"Evaluating the best checkpoint: step {best_record['step']}, "
            f"held-out rec loss {best_record['val_rec_loss']:.4g} "
            f"({tokenizer_path}).",
            flush=True,
        )
    if tokenizer_path != os.path.join(output_dir, "tokenizer.keras") or (
        strategy.num_replicas_in_sync > 1
    ):
        # Evaluate a saved artifact on one device: Keras' distributed
        # predict cannot gather the tokenizer's scalar outputs.
        from vqct_keras.models.loading import load_tokenizer

        tokenizer = load_tokenizer(tokenizer_path)
    from vqct_keras import evaluation_protocol

    metrics = protocol.evaluate(
        tokenizer,
        FLAGS.dataset,
        image_size=image_size,
        batch_size=FLAGS.eval_batch_size,
        output_dir=output_dir,
        progress=verbose == 1,
        fid_reference_cache=train_flags.EVAL_PROTOCOL.fid_reference_cache.value,
        metadata=dict(
            metadata,
            model=tokenizer_path,
            train_split=train_info.split,
            train_num_skipped=train_info.num_skipped,
        ),
    )
    for line in evaluation_protocol.console_lines(metrics):
        print(line, flush=True)
    summary = {
        key: value
        for key, value in metrics.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    print(
        "Final metrics: "
        + ", ".join(f"{k}={v:.4g}" for k, v in sorted(summary.items())),
        flush=True,
    )
    cli_utils.finish(output_dir)


if __name__ == "__main__":
    from training import cli_utils
    from training import train_flags

    train_flags.define_flags()
    cli_utils.run(main, train_flags, quiet_start=False)
