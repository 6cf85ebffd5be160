"""Callbacks of the training CLI: checkpoints, pictures, history, NaN stop."""

import json
import math
import os

import keras
import numpy as np
from keras import ops

CHECKPOINT_NAME = "checkpoint.npz"


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
    """PSNR, SSIM, LPIPS and whole-pass codebook usage on fixed held-out
    batches at every epoch end, added to the epoch logs as `val_*`."""

    def __init__(self, batches, lpips_model=None):
        super().__init__()
        self.batches = batches
        self.lpips_model = lpips_model

    def on_epoch_end(self, epoch, logs=None):
        from vqct_keras.evaluation import ReconstructionEvaluator

        tokenizer = self.model.tokenizer
        evaluator = ReconstructionEvaluator(
            tokenizer.quantizer,
            compute_fid=False,
            compute_lpips=self.lpips_model is not None,
            lpips_model=self.lpips_model,
        )
        for images in self.batches:
            outputs = tokenizer(images, training=False)
            evaluator.update(
                images, outputs["reconstruction"], outputs["indices"]
            )
        results = evaluator.result()
        if logs is None:
            return
        for name in ("psnr", "ssim", "lpips"):
            if results.get(name) is not None:
                logs[f"val_{name}"] = float(results[name])
        for name, value in results.items():
            if name.endswith("_usage") and value is not None:
                logs[f"val_{name}"] = float(value)
