import json
import os
import zipfile

import numpy as np
import pytest

from vqct_keras.prior.codebook_prior import FORMAT_VERSION
from vqct_keras.prior.codebook_prior import CodebookPrior
from vqct_keras.prior.codebook_prior import PriorFileError


def make_prior(**overrides):
    fields = dict(
        adjectives=["red", "small"],
        nouns=["dog", "car", "tree"],
        vectors=np.arange(20, dtype="float32").reshape(5, 4),
        edges=np.array([[0, 2], [1, 3], [0, 4]], dtype="int32"),
        edge_weights=np.array([3.0, 1.0, 0.5], dtype="float32"),
        metadata={"backbone": "tiny", "date": "2025-01-01"},
    )
    fields.update(overrides)
    return CodebookPrior(**fields)


def test_round_trip(tmp_path):
    prior = make_prior()
    path = prior.save(tmp_path / "prior.npz")
    loaded = CodebookPrior.load(path)
    assert loaded.adjectives == prior.adjectives
    assert loaded.nouns == prior.nouns
    np.testing.assert_array_equal(loaded.vectors, prior.vectors)
    np.testing.assert_array_equal(loaded.edges, prior.edges)
    np.testing.assert_array_equal(loaded.edge_weights, prior.edge_weights)
    assert loaded.metadata == prior.metadata
    assert loaded.vectors.dtype == np.float32
    assert (loaded.num_adjectives, loaded.num_nouns) == (2, 3)
    assert (loaded.num_codes, loaded.prior_dim) == (5, 4)


def test_save_is_byte_identical(tmp_path):
    first = make_prior().save(tmp_path / "a.npz")
    os.utime(first, (0, 0))
    second = make_prior().save(tmp_path / "b.npz")
    with open(first, "rb") as a, open(second, "rb") as b:
        assert a.read() == b.read()
    assert not os.path.exists(str(tmp_path / "a.npz") + ".tmp")


def test_content_sha256_ignores_metadata():
    a = make_prior(metadata={"date": "2024-01-01"})
    b = make_prior(metadata={"date": "2025-06-30"})
    c = make_prior(edge_weights=np.array([3.0, 1.0, 0.25], "float32"))
    assert a.content_sha256() == b.content_sha256()
    assert a.content_sha256() != c.content_sha256()


def test_missing_file_names_the_build_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="build_prior.py"):
        CodebookPrior.load(tmp_path / "absent.npz")


def test_truncated_file(tmp_path):
    path = make_prior().save(tmp_path / "prior.npz")
    with open(path, "rb") as file:
        data = file.read()
    with open(path, "wb") as file:
        file.write(data[: len(data) // 2])
    with pytest.raises(PriorFileError, match="corrupt or truncated"):
        CodebookPrior.load(path)


def test_corrupt_file(tmp_path):
    path = tmp_path / "prior.npz"
    path.write_bytes(b"this is not a zip archive at all")
    with pytest.raises(PriorFileError, match="corrupt or truncated"):
        CodebookPrior.load(path)


def rewrite_member(path, name, array):
    """Replace one array of an .npz file."""
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    arrays[name] = array
    np.savez(path, **arrays)


def test_other_version(tmp_path):
    path = make_prior().save(tmp_path / "prior.npz")
    header = {"format": "vqct_keras.codebook_prior", "version": 99}
    rewrite_member(path, "header", np.array(json.dumps(header)))
    with pytest.raises(PriorFileError, match=f"reads version {FORMAT_VERSION}"):
        CodebookPrior.load(path)


def test_other_format(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.zeros(3))
    with pytest.raises(PriorFileError, match="no header"):
        CodebookPrior.load(path)
    header = {"format": "something.else", "version": 1}
    np.savez(path, header=np.array(json.dumps(header)))
    with pytest.raises(PriorFileError, match="not a codebook prior"):
        CodebookPrior.load(path)


def test_incompatible_arrays(tmp_path):
    path = make_prior().save(tmp_path / "prior.npz")
    rewrite_member(path, "vectors", np.zeros((4, 4), "float32"))
    with pytest.raises(PriorFileError, match="not a consistent"):
        CodebookPrior.load(path)


def test_missing_array(tmp_path):
    path = make_prior().save(tmp_path / "prior.npz")
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files if key != "edges"}
    np.savez(path, **arrays)
    with pytest.raises(PriorFileError, match="lacks the arrays"):
        CodebookPrior.load(path)


def test_archive_members_have_fixed_dates(tmp_path):
    path = make_prior().save(tmp_path / "prior.npz")
    with zipfile.ZipFile(path) as archive:
        dates = {info.date_time for info in archive.infolist()}
    assert dates == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"adjectives": []}, "at least one adjective"),
        ({"vectors": np.zeros((4, 4))}, "Expected `vectors`"),
        ({"vectors": np.full((5, 4), np.nan)}, "NaN"),
        ({"edge_weights": np.ones(2)}, "same length"),
        ({"edges": np.array([[0, 9]])}, "must lie in"),
        ({"edge_weights": np.array([1.0, 0.0, 1.0])}, "positive"),
        ({"nouns": ["dog", "dog", "car"]}, "more than once"),
    ],
)
def test_validation(overrides, message):
    if "edges" in overrides:
        overrides["edge_weights"] = np.ones(len(overrides["edges"]))
    with pytest.raises(ValueError, match=message):
        make_prior(**overrides)


def test_defaults_without_edges():
    prior = CodebookPrior(["red"], ["dog"], np.ones((2, 3)))
    assert prior.edges.shape == (0, 2)
    assert prior.edge_weights.shape == (0,)
