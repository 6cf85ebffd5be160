"""The evaluation images of a dataset: fixed order, deterministic
preprocessing (`load_evaluation_dataset`)."""

from vqct_keras.data.loading import load_dataset


def load_evaluation_dataset(
    name_or_path,
    split="test",
    image_size=None,
    batch_size=None,
    data_dir=None,
    **preprocessing_changes,
):
    """`load_dataset` in a fixed order with deterministic preprocessing.

    No shuffling; a split whose preprocessing is random (a train split's
    random crop and flip) gets a center crop and no flip instead, so every
    pass gives the same images (the official test loader's
    `Resize` + `CenterCrop`).

    Args:
        name_or_path: str. Dataset name or folder (see `load_dataset`).
        split: str. Defaults to `"test"`.
        image_size: int or None. Defaults to the dataset's own.
        batch_size: int or None. Defaults to `None` (single images).
        data_dir: str or None. tfds data folder.
        **preprocessing_changes: `ImagePreprocessing` fields to change
            (`resize`, `crop`, `random_flip`).

    Returns:
        `(dataset, DatasetInfo)`; `info.preprocessing` is the one used.
    """
    kwargs = dict(
        split=split,
        image_size=image_size,
        batch_size=batch_size,
        shuffle=False,
        data_dir=data_dir,
        with_info=True,
    )
    dataset, info = load_dataset(name_or_path, **kwargs)
    preprocessing = info.preprocessing
    changes = {k: v for k, v in preprocessing_changes.items() if v is not None}
    if preprocessing.crop == "random" and "crop" not in changes:
        changes["crop"] = "center"
    if preprocessing.random_flip and "random_flip" not in changes:
        changes["random_flip"] = False
    if changes.get("crop") == "none":
        changes["crop"] = None
    changed = preprocessing.replace(**changes)
    if changed != preprocessing:
        dataset, info = load_dataset(
            name_or_path, preprocessing=changed, **kwargs
        )
    return dataset, info
