import json
import os

import pytest

from tests.builders import run_help
from tests.prior import tiny_backbones
from tests.training.evaluate_test import run_cli
from training import build_prior
from vqct_keras.prior import nltk_resources
from vqct_keras.prior.codebook_prior import CodebookPrior


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    nltk_resources.ensure_nltk_resources(download=False)
    folder = tmp_path_factory.mktemp("tiny_bert_preset")
    return tiny_backbones.save_preset(tiny_backbones.tiny_bert(), str(folder))


def run(argv):
    return run_cli(build_prior, argv)


def test_tokenizer_mode_writes_prior_summary_and_flags(
    preset, tmp_path, capsys
):
    output_dir = str(tmp_path / "out")
    run(
        [
            f"--backbone={preset}",
            f"--output_dir={output_dir}",
            "--knn=2",
            "--date=2025-01-01",
            "--nonltk_download",
            "--noprogress",
        ]
    )
    prior = CodebookPrior.load(os.path.join(output_dir, "prior.npz"))
    with open(os.path.join(output_dir, "summary.json")) as file:
        summary = json.load(file)
    assert summary["num_adjectives"] == prior.num_adjectives > 0
    assert summary["num_nouns"] == prior.num_nouns > 0
    assert summary["num_edges"] == len(prior.edges)
    assert prior.metadata["backbone"]["backbone"] == preset
    with open(os.path.join(output_dir, "flags.txt")) as file:
        assert "--knn=2" in file.read()
    out = capsys.readouterr().out
    assert f"Outputs written to: {output_dir}" in out


def test_flagfile_with_override_corpus_mode(preset, tmp_path):
    flagfile = tmp_path / "corpus.flags"
    flagfile.write_text(
        "\n".join(
            [
                f"--backbone={preset}",
                "--vocabulary_source=corpus",
                f"--corpus={tiny_backbones.CAPTIONS_FILE}",
                "--min_count=100",
                "--nonltk_download",
                "--noprogress",
            ]
        )
    )
    output_dir = str(tmp_path / "out")
    run(
        [
            f"--flagfile={flagfile}",
            "--min_count=1",
            "--vector_mode=prompt",
            f"--output_dir={output_dir}",
        ]
    )
    prior = CodebookPrior.load(os.path.join(output_dir, "prior.npz"))
    assert prior.metadata["graph"]["kind"] == "cooccurrence"
    assert prior.metadata["vectors"]["mode"] == "prompt"
    assert prior.metadata["thresholds"]["min_count"] == 1


def test_user_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(
            [
                "--backbone=no_such_preset_name",
                f"--output_dir={tmp_path}",
                "--nonltk_download",
            ]
        )
    assert exit_info.value.code == 1
    assert "Unknown text backbone" in capsys.readouterr().err


def test_help_lists_the_flags_without_importing_tensorflow():
    result = run_help("build_prior.py")
    for name in ("--output_dir", "--backbone", "--vector_mode", "--graph"):
        assert name in result.stdout, (name, result.stderr[-3000:])
    assert "imported: False" in result.stderr


def test_flag_choices_match_the_library():
    from training import prior_options
    from vqct_keras.prior import builder
    from vqct_keras.prior import graph
    from vqct_keras.prior import vectors
    from vqct_keras.prior.tagging import vocabulary

    assert prior_options.VOCABULARY_SOURCES == builder.VOCABULARY_SOURCES
    assert prior_options.GRAPH_KINDS == builder.GRAPH_KINDS
    assert prior_options.KNN_WEIGHTINGS == graph.KNN_WEIGHTINGS
    assert prior_options.VECTOR_MODES == vectors.VECTOR_MODES
    assert prior_options.POOLINGS == vectors.POOLINGS
    assert prior_options.WORD_FILTERS == vocabulary.WORD_FILTERS
