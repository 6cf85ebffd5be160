from tests.data.images import write_images
from vqct_keras.data import prepare


def test_prepare_folder_and_format_table(tmp_path):
    write_images(tmp_path / "photos" / "train", 3)
    write_images(tmp_path / "photos" / "test", 2, start=3)
    infos = prepare.prepare(
        [str(tmp_path / "photos")], data_dir=str(tmp_path / "tfds")
    )
    assert {info.split: info.num_examples for info in infos} == {
        "train": 3,
        "test": 2,
    }
    table = prepare.format_table(infos)
    assert table.startswith("| dataset | split | images |")
    assert "| train | 3 | 0 |" in table
