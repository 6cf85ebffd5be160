"""Training and held-out splits for `train.py`, with a slice when needed.

A folder of images without split subfolders has one split, `train`. Rather
than failing on the missing `test` split, training then holds out the last
images of `train` (at least one batch, about 10%), says so in the log, and
records it as a note in `flags.txt`.
"""

import math
import os

from absl import app

HELD_OUT_FRACTION = 0.1


def resolve_splits(dataset, train_split, eval_split, eval_split_given, batch):
    """`(train_split, eval_split, note)`; `note` is `None` unless sliced.

    Args:
        dataset: str. `--dataset`.
        train_split, eval_split: str. `--train_split`, `--eval_split`.
        eval_split_given: bool. Whether `--eval_split` was on the command
            line (then it is used as given).
        batch: int. `--batch_size`: the held-out slice is at least a batch.
    """
    path = os.path.expanduser(dataset)
    if eval_split_given or "[" in train_split or not os.path.isdir(path):
        return train_split, eval_split, None
    from vqct_keras.data import catalog
    from vqct_keras.data import dataset_info
    from vqct_keras.data.image_folder_builder import folder_splits

    splits = folder_splits(path)
    if catalog.base_split(eval_split) in splits:
        return train_split, eval_split, None
    if train_split not in splits:
        raise app.UsageError(
            f"{dataset} has the splits {sorted(splits)}, not {train_split!r}; "
            f"pass --train_split (e.g. --train_split={sorted(splits)[0]})."
        )
    total = dataset_info(dataset, split=train_split).num_examples
    count = max(batch, math.ceil(HELD_OUT_FRACTION * total))
    if total - count < batch:
        raise app.UsageError(
            f"{dataset} holds {total} images: too few for a training slice "
            f"and a held-out slice of at least --batch_size={batch} images "
            "each. Add images, or lower --batch_size."
        )
    held_out = f"{train_split}[-{count}:]"
    training = f"{train_split}[:-{count}]"
    note = (
        f"held-out slice: {dataset} has no {eval_split!r} subfolder, so the "
        f"last {count} of its {total} images ({held_out}) are held out and "
        f"training uses {training}; pass --eval_split to choose."
    )
    return training, held_out, note


def check_held_out(held_out, eval_split, dataset, batch):
    """Refuse, with the fix, an evaluation split that yields no batch.

    Args:
        held_out: list. The held-out batches read so far (the first one).
        eval_split, dataset: str. For the message.
        batch: int. The held-out batch size, for the message.
    """
    if not held_out:
        raise app.UsageError(
            f"--eval_split={eval_split} of {dataset} holds no images, so "
            f"there is nothing to evaluate (batches of {batch}). Pass a "
            "non-empty --eval_split."
        )
