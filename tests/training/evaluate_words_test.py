"""`training/evaluate.py` writes a word map and the top words."""

import json

import pytest

from tests.evaluation_test import tiny_tokenizer
from tests.training.evaluate_test import evaluate_argv
from tests.training.evaluate_test import run_cli
from tests.training.evaluate_test import write_image_folder
from training import evaluate


def test_cli_writes_word_map_and_top_words(tmp_path, capsys):
    model = tmp_path / "tokenizer.keras"
    tokenizer = tiny_tokenizer("part_of_speech")
    tokenizer.save(str(model))
    folder = write_image_folder(str(tmp_path / "images"), 5)
    output_dir = tmp_path / "eval"
    run_cli(
        evaluate,
        evaluate_argv(
            str(model),
            folder,
            output_dir,
            "--no_fid",
            "--no_lpips",
            "--word_map_images=2",
        ),
    )
    assert (output_dir / "word_map.png").stat().st_size > 1000
    with open(output_dir / "top_words.json") as file:
        table = json.load(file)
    assert table["num_images"] == 5
    nouns = set(tokenizer.vocabulary.nouns)
    assert table["nouns"] and all(word in nouns for word, _ in table["nouns"])
    positions = table["num_positions"]
    assert sum(count for _, count in table["nouns"]) <= positions
    out = capsys.readouterr().out
    assert "distinct nouns" in out
    assert (output_dir / "top_words.txt").read_text() in out


# Loading a VectorQuantizer tokenizer warns about its build config (a
# known issue outside this test's scope).
@pytest.mark.filterwarnings("ignore:Model .* had a build config")
def test_cli_skips_words_for_the_vqgan_baseline(tmp_path):
    model = tmp_path / "tokenizer.keras"
    tiny_tokenizer("vector").save(str(model))
    folder = write_image_folder(str(tmp_path / "images"), 2)
    output_dir = tmp_path / "eval"
    run_cli(
        evaluate,
        evaluate_argv(str(model), folder, output_dir, "--no_fid", "--no_lpips"),
    )
    assert (output_dir / "metrics.json").exists()
    assert not (output_dir / "word_map.png").exists()
