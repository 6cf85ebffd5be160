"""Stop `fit` at the first batch with non-finite or out-of-range images."""

import math

import keras

# Logged by `VQGANTrainer`: the fraction of batches so far in the epoch
# whose images held NaN/inf pixels, or values outside [-1, 1].
BAD_BATCH_LOGS = ("nonfinite_batches", "out_of_range_batches")


def bad_batch_message(logs, batch):
    """The reason a batch was refused, from its logs, or `None`."""
    logs = logs or {}
    reasons = {
        "nonfinite_batches": "held images with NaN or infinite pixels",
        "out_of_range_batches": (
            "held images outside [-1, 1] (scale [0, 255] images with "
            "`images / 127.5 - 1`)"
        ),
    }
    for name in BAD_BATCH_LOGS:
        value = logs.get(name)
        if value is not None and float(value) > 0:
            return (
                f"Training stopped: batch {batch} of this epoch {reasons[name]}"
                ". The step ran on a blank batch instead, so the weights are "
                "finite; fix the data pipeline (e.g. "
                "`dataset.filter` the bad images) and train again."
            )
    for name in ("loss", "d_loss"):
        value = logs.get(name)
        if value is not None and not math.isfinite(float(value)):
            return None  # Not an input problem: left to the caller.
    return None


class BadBatchStop(keras.callbacks.Callback):
    """Raise a `ValueError` at the first batch with invalid images.

    Inside the compiled train step nothing can raise on every backend, so
    `VQGANTrainer` trains on a blank batch instead of an invalid one and
    logs `nonfinite_batches` / `out_of_range_batches`; this callback turns
    those logs into a clear error. `VQGANTrainer.fit` adds it unless a
    callback with `stops_on_bad_batches = True` is given.
    """

    stops_on_bad_batches = True

    def on_train_batch_end(self, batch, logs=None):
        message = bad_batch_message(logs, batch)
        if message:
            self.model.stop_training = True
            raise ValueError(message)
