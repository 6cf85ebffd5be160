"""Prepare datasets once and list their sizes.

`prepare(names)` builds every split of the named datasets (or folders of
images) and returns their `DatasetInfo`; `format_table` prints them. The
command `python training/prepare_data.py --datasets=default,photo_crops`
runs both; `scripts/setup.d/40-images.sh` runs it for `default`.
"""

import os


def prepare(names, data_dir=None, manual_dir=None, image_size=None):
    """Prepare every split of `names`; return one row per split.

    Returns:
        list of `DatasetInfo`.
    """
    from vqct_keras.data import catalog
    from vqct_keras.data import loading

    infos = []
    for name in names:
        entry = catalog.ENTRIES.get(name)
        splits = entry.splits if entry else ("train",)
        if entry is None and os.path.isdir(os.path.expanduser(name)):
            from vqct_keras.data.image_folder_builder import folder_splits

            splits = tuple(folder_splits(os.path.expanduser(name)))
        for split in splits:
            infos.append(
                loading.dataset_info(
                    name,
                    split,
                    image_size=image_size,
                    data_dir=data_dir,
                    manual_dir=manual_dir,
                )
            )
    return infos


def format_table(infos):
    """A Markdown table of `DatasetInfo` rows."""
    lines = [
        "| dataset | split | images | skipped | preprocessing |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for info in infos:
        lines.append(
            f"| {info.name} | {info.split} | {info.num_examples:,} | "
            f"{info.num_skipped} | {info.preprocessing.describe()} |"
        )
    return "\n".join(lines)
