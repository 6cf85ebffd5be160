"""Callbacks of the training CLI: checkpoints, pictures, history, NaN stop."""

import json
import math
import os

import keras
import numpy as np
from keras import ops

from vqct_keras.metrics import registry
from vqct_keras.utils import files
from vqct_keras.utils import images as images_lib

CHECKPOINT_NAME = "checkpoint.npz"
BEST_TOKENIZER_NAME = "tokenizer_best.keras"
BEST_RECORD_NAME = "best.json"


def load_checkpoint(directory):
    """`(arrays, step)` of the last complete checkpoint, or `(None, 0)`."""
    path = os.path.join(directory, CHECKPOINT_NAME)
    if not os.path.exists(path):
        return None, 0
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    return arrays, int(arrays.pop("__step__"))


class _KeptEpochCallback(keras.callbacks.Callback):
    """A callback of the epochs that training keeps.

    Subclasses implement `on_kept_epoch_end(epoch, logs)`, called at every
    epoch end but those that `nonfinite_stop` (the run's
    `NonFiniteLossStop`, or `None`) discarded.
    """

    def __init__(self, nonfinite_stop=None):
        super().__init__()
        self.nonfinite_stop = nonfinite_stop

    def on_epoch_end(self, epoch, logs=None):
        stop = self.nonfinite_stop
        if stop is None or not stop.triggered:
            self.on_kept_epoch_end(epoch, logs)

    def on_kept_epoch_end(self, epoch, logs):
        raise NotImplementedError


class TrainingCheckpoint(_KeptEpochCallback):
    """Write the full training state at every epoch end, atomically.

    Skipped when `NonFiniteLossStop` saw a non-finite loss, so the last
    good checkpoint stays intact.
    """

    def __init__(self, directory, nonfinite_stop=None):
        super().__init__(nonfinite_stop)
        self.directory = directory

    def on_kept_epoch_end(self, epoch, logs):
        arrays = self.model.state_arrays()
        arrays["__step__"] = np.asarray(self.model.current_step())
        files.save_npz(os.path.join(self.directory, CHECKPOINT_NAME), arrays)


class NonFiniteLossStop(keras.callbacks.Callback):
    """Stop training at the first non-finite loss or invalid batch.

    The message says whether the batch's images were the cause (NaN/inf
    pixels or values outside [-1, 1], logged by the trainer).
    """

    stops_on_bad_batches = True  # `VQGANTrainer.fit` adds no BadBatchStop.

    def __init__(self):
        super().__init__()
        self.triggered = False
        self.message = None

    def on_train_batch_end(self, batch, logs=None):
        from vqct_keras.trainers.bad_batch_stop import bad_batch_message

        message = bad_batch_message(logs, batch)
        if message:
            self.triggered = True
            self.message = (
                message + " The last checkpoint (previous epoch) is intact."
            )
            self.model.stop_training = True
            return
        for name in ("loss", "d_loss"):
            value = (logs or {}).get(name)
            if value is not None and not math.isfinite(float(value)):
                self.triggered = True
                self.message = (
                    f"Training stopped: {name} became {float(value)} at "
                    f"batch {batch} of this epoch; its images were finite "
                    "and in [-1, 1], so training diverged. The last "
                    "checkpoint (previous epoch) is intact; lower the "
                    "learning rate, use float32, or raise --disc_start, then "
                    "re-run the same command to resume."
                )
                self.model.stop_training = True
                return


class ReconstructionGrid(_KeptEpochCallback):
    """Save originals above reconstructions as a PNG at every epoch end."""

    def __init__(self, images, directory, every_epochs=1, nonfinite_stop=None):
        super().__init__(nonfinite_stop)
        self.images = images
        self.directory = directory
        self.every_epochs = every_epochs

    def on_kept_epoch_end(self, epoch, logs):
        if (epoch + 1) % self.every_epochs:
            return
        tokenizer = self.model.tokenizer
        reconstruction = tokenizer(self.images, training=False)[
            "reconstruction"
        ]
        step = self.model.current_step()
        images_lib.save_image_grid(
            [self.images, reconstruction],
            os.path.join(self.directory, f"reconstructions_{step:07d}.png"),
        )


class HistoryFile(_KeptEpochCallback):
    """Append each epoch's logs (with the step) to a JSON-lines file.

    An epoch that `nonfinite_stop` discarded is not recorded.
    """

    def __init__(self, path, nonfinite_stop=None):
        super().__init__(nonfinite_stop)
        self.path = path

    def on_kept_epoch_end(self, epoch, logs):
        record = {"epoch": epoch + 1, "step": self.model.current_step()}
        record.update({k: float(v) for k, v in (logs or {}).items()})
        with open(self.path, "a") as file:
            file.write(json.dumps(record) + "\n")


def read_history(path):
    if not os.path.exists(path):
        return []
    with open(path) as file:
        return [json.loads(line) for line in file if line.strip()]


def plot_history(history, path):
    """Loss curves, held-out quality and codebook usage over steps (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not history:
        return None
    steps = [record["step"] for record in history]
    last = history[-1]
    panels = [
        ("training losses", ["l1", "perceptual", "vq_loss", "d_loss"], None),
        (
            "held-out reconstruction loss",
            ["val_rec_loss", "val_l1", "val_lpips"],
            None,
        ),
    ]
    for metric in registry.RECONSTRUCTION_METRICS:
        if metric.epoch:
            unit = f" ({metric.unit})" if metric.unit else ""
            title = f"held-out {metric.display_name}{unit}"
            panels.append((title, [f"val_{metric.name}"], None))
    for metric in registry.CODEBOOK_METRICS:
        if metric.epoch:
            suffix = f"_{metric.name}"
            names = sorted(
                n for n in last if n.startswith("val_") and n.endswith(suffix)
            )
            title = f"codebook {metric.display_name} (held-out pass)"
            panels.append((title, names, metric.plot_range))
    panels = [panel for panel in panels if any(n in last for n in panel[1])]
    figure, axes = plt.subplots(
        1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False
    )
    for axis, (title, names, limits) in zip(axes[0], panels):
        for name in names:
            if name in last:
                values = [r.get(name, float("nan")) for r in history]
                axis.plot(steps, values, marker="o", label=name)
        axis.set_title(title)
        axis.set_xlabel("step")
        if limits:
            axis.set_ylim(*limits)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


class EpochEvaluation(keras.callbacks.Callback):
    """Held-out scores at every epoch end, added to the logs as `val_*`.

    Over the held-out batches (re-read every epoch: a `tf.data.Dataset` or
    any re-iterable of image batches), in inference mode:
    `val_rec_loss`, the official `val/rec_loss`: the mean over images of
    `mean|x - x_hat| + perceptual_weight * LPIPS(x, x_hat)` on the float
    tensors (reconstruction not clamped); `val_l1`, `val_lpips`, and the
    metrics the registry marks `epoch` (`vqct_keras.metrics.registry`:
    `val_psnr`, `val_ssim`, whole-pass codebook usage), from a
    `ReconstructionEvaluator` without JPEG.
    """

    def __init__(self, batches, lpips_model=None, perceptual_weight=1.0):
        super().__init__()
        self.batches = batches
        self.lpips_model = lpips_model
        self.perceptual_weight = perceptual_weight

    def on_epoch_end(self, epoch, logs=None):
        from vqct_keras.data.batches import iterate_image_batches
        from vqct_keras.evaluation import ReconstructionEvaluator

        tokenizer = self.model.tokenizer
        evaluator = ReconstructionEvaluator(
            tokenizer.quantizer, compute_fid=False, compute_lpips=False
        )
        sums = {"l1": 0.0, "lpips": 0.0}
        count = 0
        for images in iterate_image_batches(self.batches):
            outputs = tokenizer(images, training=False)
            reconstructions = outputs["reconstruction"]
            evaluator.update(images, reconstructions, outputs["indices"])
            error = ops.abs(ops.convert_to_tensor(images) - reconstructions)
            sums["l1"] += float(ops.sum(ops.mean(error, axis=(1, 2, 3))))
            if self.lpips_model is not None:
                distances = self.lpips_model(images, reconstructions)
                sums["lpips"] += float(ops.sum(distances))
            count += images.shape[0]
        results = evaluator.result()
        if logs is None or not count:
            return
        logs["val_l1"] = sums["l1"] / count
        logs["val_rec_loss"] = logs["val_l1"]
        if self.lpips_model is not None:
            logs["val_lpips"] = sums["lpips"] / count
            logs["val_rec_loss"] += self.perceptual_weight * logs["val_lpips"]
        for name in registry.epoch_metric_names(results["codebooks"]):
            if results.get(name) is not None:
                logs[f"val_{name}"] = float(results[name])


class BestCheckpoint(_KeptEpochCallback):
    """Keep the tokenizer of the lowest held-out reconstruction loss.

    At each epoch end where `logs[monitor]` (set by `EpochEvaluation`) is
    below the best so far, the tokenizer is saved to
    `tokenizer_best.keras` (written to a temporary file, then renamed) and
    `best.json` records the step and the loss. The official code keeps the
    checkpoints of the lowest `val/rec_loss` the same way. A resumed run
    starts from the recorded best. Skipped after a non-finite loss.
    """

    def __init__(
        self,
        directory,
        nonfinite_stop=None,
        monitor="val_rec_loss",
        filename=BEST_TOKENIZER_NAME,
    ):
        super().__init__(nonfinite_stop)
        self.directory = directory
        self.monitor = monitor
        self.path = os.path.join(directory, filename)
        self.record_path = os.path.join(directory, BEST_RECORD_NAME)

    def record(self):
        """`{"step", "epoch", monitor}` of the best so far, or `None`."""
        if not os.path.exists(self.record_path):
            return None
        with open(self.record_path) as file:
            return json.load(file)

    def on_kept_epoch_end(self, epoch, logs):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        best = self.record()
        if best is not None and best[self.monitor] <= value:
            return
        with files.atomic_path(self.path, extension=".keras") as temporary:
            self.model.tokenizer.save(temporary)
        record = {
            "step": self.model.current_step(),
            "epoch": epoch + 1,
            self.monitor: float(value),
            "file": os.path.basename(self.path),
        }
        files.write_json(self.record_path, record, sort_keys=False)
