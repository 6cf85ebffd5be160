import numpy as np
import pytest

from vqct_keras.data.photo_crops_builder import crop_boxes


@pytest.mark.parametrize("width, height", [(2560, 1600), (451, 300), (40, 50)])
def test_crop_boxes_are_square_inside_and_deterministic(width, height):
    boxes = crop_boxes(width, height, 64, 200, seed=3)
    assert boxes == crop_boxes(width, height, 64, 200, seed=3)
    assert boxes != crop_boxes(width, height, 64, 200, seed=4)
    for left, top, right, bottom in boxes:
        assert right - left == bottom - top
        assert 0 <= left < right <= width and 0 <= top < bottom <= height
    sides = np.array([right - left for left, _, right, _ in boxes])
    short = min(width, height)
    assert sides.min() >= min(64, short)
    assert sides.max() <= max(min(64, short), short // 2)


@pytest.mark.large
def test_256_config_prepares_from_installed_photos(tmp_path):
    from vqct_keras.data import photo_sources
    from vqct_keras.data.loading import load_dataset

    sources = photo_sources.find_photo_sources()
    if not sources:
        pytest.skip("no photos installed: run scripts/setup.sh")
    dataset, info = load_dataset(
        "photo_crops",
        "test",
        image_size=256,
        batch_size=8,
        data_dir=str(tmp_path),
        with_info=True,
    )
    assert info.builders == ("vqct_photo_crops/256/2.0.0",)
    num_test = sum(source.split == "test" for source in sources)
    assert info.num_examples == 16 * num_test
    assert next(iter(dataset)).shape == (8, 256, 256, 3)
