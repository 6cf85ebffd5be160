"""Callbacks of the training CLI: checkpoints, pictures, history, NaN stop."""

import json
import math
import os

import keras
import numpy as np
from keras import ops

CHECKPOINT_NAME = "checkpoint.npz"
BEST_TOKENIZER_NAME = "tokenizer_best.keras"
BEST_RECORD_NAME = "best.json"


def atomic_save_npz(path, arrays):
    """Write `arrays` to `path` so that a crash never leaves a partial file.

    A failed write (a full disk) removes its temporary file and re-raises;
    the previous file at `path` stays intact.
    """
    tmp_path = path + ".tmp"
    try:
        with open(tmp_path, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def load_checkpoint(directory):
    """`(arrays, step)` of the last complete checkpoint, or `(None, 0)`."""
    path = os.path.join(directory, CHECKPOINT_NAME)
    if not os.path.exists(path):
        return None, 0
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    return arrays, int(arrays.pop("__step__"))


def images_to_uint8(images):
    images = np.asarray(ops.convert_to_numpy(images), dtype="float32")
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype("uint8")


def save_grid(path, rows):
    """Save rows of images `(N, H, W, 3)` in [-1, 1] as one PNG grid."""
    from PIL import Image

    rows = [images_to_uint8(row) for row in rows]
    grid = np.concatenate([np.concatenate(list(row), axis=1) for row in rows])
    Image.fromarray(grid).resize(
        (grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST
    ).save(path)
    return path


class TrainingCheckpoint(keras.callbacks.Callback):
    """Write the full training state at every epoch end, atomically.

    Skipped when `NonFiniteLossStop` saw a non-finite loss, so the last
    good checkpoint stays intact.
    """

    def __init__(self, directory, nonfinite_stop=None):
        super().__init__()
        self.directory = directory
        self.nonfinite_stop = nonfinite_stop

    def on_epoch_end(self, epoch, logs=None):
        if self.nonfinite_stop is not None and self.nonfinite_stop.triggered:
            return
        arrays = self.model.state_arrays()
        arrays["__step__"] = np.asarray(self.model.current_step())
        atomic_save_npz(os.path.join(self.directory, CHECKPOINT_NAME), arrays)


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


class ReconstructionGrid(keras.callbacks.Callback):
    """Save originals above reconstructions as a PNG at every epoch end."""

    def __init__(self, images, directory, every_epochs=1, nonfinite_stop=None):
        super().__init__()
        self.images = images
        self.directory = directory
        self.every_epochs = every_epochs
        self.nonfinite_stop = nonfinite_stop

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs:
            return
        if self.nonfinite_stop is not None and self.nonfinite_stop.triggered:
            return  # The epoch is discarded: no picture of it.
        tokenizer = self.model.tokenizer
        reconstruction = tokenizer(self.images, training=False)[
            "reconstruction"
        ]
        step = self.model.current_step()
        save_grid(
            os.path.join(self.directory, f"reconstructions_{step:07d}.png"),
            [self.images, reconstruction],
        )


class HistoryFile(keras.callbacks.Callback):
    """Append each epoch's logs (with the step) to a JSON-lines file.

    An epoch that `nonfinite_stop` discarded is not recorded.
    """

    def __init__(self, path, nonfinite_stop=None):
        super().__init__()
        self.path = path
        self.nonfinite_stop = nonfinite_stop

    def on_epoch_end(self, epoch, logs=None):
        if self.nonfinite_stop is not None and self.nonfinite_stop.triggered:
            return
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
        ("held-out reconstruction loss", ["val_rec_loss", "val_l1"], None),
        ("held-out PSNR (dB)", ["val_psnr"], None),
        ("held-out LPIPS / SSIM", ["val_lpips", "val_ssim"], None),
        (
            "codebook usage (held-out pass)",
            sorted(n for n in last if n.startswith("val_") and "usage" in n),
            (0, 1.05),
        ),
    ]
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
    tensors (reconstruction not clamped); `val_l1`, `val_lpips`, and
    `val_psnr`, `val_ssim` and whole-pass codebook usage
    (`ReconstructionEvaluator`, no JPEG).
    """

    def __init__(self, batches, lpips_model=None, perceptual_weight=1.0):
        super().__init__()
        self.batches = batches
        self.lpips_model = lpips_model
        self.perceptual_weight = perceptual_weight

    def on_epoch_end(self, epoch, logs=None):
        from vqct_keras.evaluation import ReconstructionEvaluator
        from vqct_keras.evaluation import iterate_image_batches

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
        for name in ("psnr", "ssim"):
            if results.get(name) is not None:
                logs[f"val_{name}"] = float(results[name])
        for name, value in results.items():
            if name.endswith("_usage") and value is not None:
                logs[f"val_{name}"] = float(value)


class BestCheckpoint(keras.callbacks.Callback):
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
        super().__init__()
        self.directory = directory
        self.nonfinite_stop = nonfinite_stop
        self.monitor = monitor
        self.path = os.path.join(directory, filename)
        self.record_path = os.path.join(directory, BEST_RECORD_NAME)

    def record(self):
        """`{"step", "epoch", monitor}` of the best so far, or `None`."""
        if not os.path.exists(self.record_path):
            return None
        with open(self.record_path) as file:
            return json.load(file)

    def on_epoch_end(self, epoch, logs=None):
        if self.nonfinite_stop is not None and self.nonfinite_stop.triggered:
            return
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        best = self.record()
        if best is not None and best[self.monitor] <= value:
            return
        temporary = self.path[: -len(".keras")] + ".partial.keras"
        self.model.tokenizer.save(temporary)
        os.replace(temporary, self.path)
        record = {
            "step": self.model.current_step(),
            "epoch": epoch + 1,
            self.monitor: float(value),
            "file": os.path.basename(self.path),
        }
        temporary = self.record_path + ".partial"
        with open(temporary, "w") as file:
            json.dump(record, file, indent=2)
        os.replace(temporary, self.record_path)
