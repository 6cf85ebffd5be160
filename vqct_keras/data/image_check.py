"""Find the undecodable images of a dataset that tfds prepared.

tfds builders such as `coco/2014` store each image's bytes without decoding
them, so a corrupt file in the original archive would only fail in the
middle of training. `check_split_images` decodes every image of a split
once, records the ones that fail in a small JSON file, and the loader then
leaves those records out (or refuses the dataset with `on_error="fail"`).
"""

import json
import os

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
import tqdm
from absl import logging

from vqct_keras.data import errors
from vqct_keras.utils import files


def _decode(encoded):
    return tf.io.decode_image(encoded, channels=3, expand_animations=False)


def check_split_images(
    builder, split, cache_dir, image_key="image", filename_key=None
):
    """The records of a prepared split whose image does not decode.

    The result is cached in `<cache_dir>/<builder full name>/<split>.json`;
    later calls read it.

    Args:
        builder: a prepared `tfds.core.DatasetBuilder`.
        split: str. A whole split (no slicing), e.g. `"train"`.
        cache_dir: str. Folder for the cached results.
        image_key: str. The image feature. Defaults to `"image"`.
        filename_key: optional str. A text feature naming the file, used
            in reports (e.g. `"image/filename"`).

    Returns:
        list of `(tfds_id, SkippedFile)` pairs, empty when all decode.
    """
    path = os.path.join(cache_dir, builder.info.full_name, f"{split}.json")
    source = f"{builder.info.full_name}/{split}"
    if os.path.isfile(path):
        with open(path) as file:
            records = json.load(file)["unreadable"]
    else:
        records = _find_unreadable(builder, split, image_key, filename_key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with files.atomic_open(path) as file:
            json.dump({"split": source, "unreadable": records}, file, indent=1)
    return [
        (
            record["tfds_id"],
            errors.SkippedFile(source, record["filename"], record["reason"]),
        )
        for record in records
    ]


def _read(builder, split, image_key, filename_key, add_tfds_id):
    features = {image_key: True}
    if filename_key:
        features[filename_key] = True
    decoders = tfds.decode.PartialDecoding(
        features, decoders={image_key: tfds.decode.SkipDecoding()}
    )
    return builder.as_dataset(
        split=split,
        decoders=decoders,
        shuffle_files=False,
        read_config=tfds.ReadConfig(add_tfds_id=add_tfds_id),
    )


def _find_unreadable(builder, split, image_key, filename_key):
    dataset = _read(builder, split, image_key, filename_key, False)
    total = int(dataset.cardinality())
    logging.info(
        "Checking that the %s images of %s/%s decode (once).",
        total,
        builder.info.full_name,
        split,
    )
    decoded = dataset.enumerate().map(
        lambda index, example: (index, tf.shape(_decode(example[image_key]))),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    good = np.zeros(max(total, 0), bool)
    seen = 0
    with tqdm.tqdm(total=total, desc=f"Checking {split} images") as bar:
        for index, _ in decoded.ignore_errors().as_numpy_iterator():
            good[index] = True
            seen += 1
            bar.update(1)
    if seen == total:
        return []
    bad_indices = np.flatnonzero(~good)
    records = []
    listed = _read(builder, split, image_key, filename_key, True).enumerate()
    wanted = tf.constant(bad_indices, tf.int64)
    listed = listed.filter(
        lambda index, example: tf.reduce_any(tf.equal(index, wanted))
    )
    for _, example in listed.as_numpy_iterator():
        try:
            _decode(example[image_key])
            reason = "decoding failed inside tf.data"
        except tf.errors.OpError as error:
            reason = error.message.splitlines()[0]
        tfds_id = example["tfds_id"].decode()
        filename = example[filename_key].decode() if filename_key else tfds_id
        records.append(
            {"tfds_id": tfds_id, "filename": filename, "reason": reason}
        )
    logging.warning(
        "%s/%s: %d of %d images do not decode; they are left out.",
        builder.info.full_name,
        split,
        len(records),
        total,
    )
    return records
