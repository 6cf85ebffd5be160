"""The tokenizer carries its words through `.keras` files."""

import json
import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from tests.builders import words_tokenizer
from vqct_keras.layers import PartOfSpeechQuantizer
from vqct_keras.layers import VectorQuantizer
from vqct_keras.prior import CodebookPrior
from vqct_keras.vocabulary import WordsUnavailableError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
ADJECTIVES = [f"adjective{i}" for i in range(6)]
NOUNS = [f"noun{i}" for i in range(9)]


def toy_prior():
    rng = np.random.default_rng(0)
    return CodebookPrior(
        ADJECTIVES,
        NOUNS,
        rng.normal(size=(15, 8)),
        edges=[[0, 6], [1, 7], [2, 8]],
        metadata={"backbone": "toy"},
    )


def part_of_speech_tokenizer(prior=None):
    quantizer = PartOfSpeechQuantizer.from_prior(
        toy_prior() if prior is None else prior, embed_dim=4
    )
    return words_tokenizer(quantizer)


def save(tokenizer, tmp_path):
    path = str(tmp_path / "tokenizer.keras")
    tokenizer.save(path)
    return path


def images():
    rng = np.random.default_rng(1)
    return rng.uniform(-1, 1, (2, 8, 8, 3)).astype("float32")


@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_words_follow_the_index_layout(top_k):
    quantizer = PartOfSpeechQuantizer.from_prior(
        toy_prior(), embed_dim=4, top_k=top_k, seed=0
    )
    tokenizer = words_tokenizer(quantizer)
    indices = np.asarray(tokenizer.encode_to_indices(images()))
    words = tokenizer.indices_to_words(indices)
    assert words.shape == indices.shape[:-1]
    parts = words[1, 2, 3].split(" ")
    assert len(parts) == top_k + 1
    position = indices[1, 2, 3]
    assert parts[:-1] == [ADJECTIVES[i] for i in position[:-1]]
    assert parts[-1] == NOUNS[position[-1]]
    assert quantizer.index_slots[-1] == "noun"
    assert len(quantizer.index_slots) == top_k + 1


def test_indices_to_words_checks_ranges():
    tokenizer = part_of_speech_tokenizer()
    with pytest.raises(ValueError, match=r"slot 2 \(noun\) .* \[0, 9\)"):
        tokenizer.indices_to_words(np.array([[[[0, 0, 9]]]]))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        tokenizer.indices_to_words(np.array([[[[0, 0]]]]))


def test_words_are_an_asset_not_config(tmp_path):
    prior = toy_prior()
    tokenizer = part_of_speech_tokenizer(prior)
    path = save(tokenizer, tmp_path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        config = archive.read("config.json").decode()
    assert any(name.endswith("/vocabulary.json") for name in names), names
    assert "noun3" not in config and "adjective3" not in config

    restored = keras.saving.load_model(path)
    assert restored.words_available
    assert restored.vocabulary == tokenizer.vocabulary
    provenance = restored.vocabulary.provenance
    assert provenance["content_sha256"] == prior.content_sha256()
    assert provenance["metadata"] == {"backbone": "toy"}
    indices = np.asarray(tokenizer.encode_to_indices(images()))
    np.testing.assert_array_equal(
        restored.indices_to_words(indices), tokenizer.indices_to_words(indices)
    )


@pytest.mark.large
def test_same_words_in_a_fresh_process(tmp_path):
    tokenizer = part_of_speech_tokenizer()
    path = save(tokenizer, tmp_path)
    np.save(tmp_path / "images.npy", images())
    script = (
        "import json, sys, keras, numpy as np\n"
        "import vqct_keras\n"
        "model = keras.saving.load_model(sys.argv[1])\n"
        "indices = model.encode_to_indices(np.load(sys.argv[2]))\n"
        "print(json.dumps(model.indices_to_words(indices).tolist()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, path, str(tmp_path / "images.npy")],
        env=dict(os.environ, PYTHONPATH=ROOT),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    words = json.loads(result.stdout.strip().splitlines()[-1])
    indices = tokenizer.encode_to_indices(images())
    assert words == tokenizer.indices_to_words(indices).tolist()


def test_older_file_without_words_loads_and_says_so(tmp_path):
    prior = toy_prior()
    tokenizer = part_of_speech_tokenizer(prior)
    path = save(tokenizer, tmp_path)
    # An older file: the same archive without its assets folder.
    old_path = str(tmp_path / "old.keras")
    with zipfile.ZipFile(path) as source:
        with zipfile.ZipFile(old_path, "w") as target:
            for name in source.namelist():
                if not name.startswith("assets/"):
                    target.writestr(name, source.read(name))
    restored = keras.saving.load_model(old_path)
    assert not restored.words_available and restored.vocabulary is None
    indices = np.asarray(restored.encode_to_indices(images()))
    np.testing.assert_array_equal(
        indices, np.asarray(tokenizer.encode_to_indices(images()))
    )
    with pytest.raises(WordsUnavailableError, match="set_vocabulary"):
        restored.indices_to_words(indices)
    restored.quantizer.set_vocabulary(prior)
    np.testing.assert_array_equal(
        restored.indices_to_words(indices), tokenizer.indices_to_words(indices)
    )


def test_vocabulary_must_fit_the_codebooks():
    quantizer = PartOfSpeechQuantizer.from_prior(toy_prior(), embed_dim=4)
    other = CodebookPrior(["a"], ["b", "c"], np.eye(3, 8))
    with pytest.raises(ValueError, match="does not fit the codebooks"):
        quantizer.set_vocabulary(other)


def test_vqgan_baseline_has_no_words():
    tokenizer = words_tokenizer(VectorQuantizer(num_codes=8, embed_dim=4))
    assert not tokenizer.words_available and tokenizer.vocabulary is None
    indices = tokenizer.encode_to_indices(images())
    with pytest.raises(WordsUnavailableError, match="VQGAN baseline"):
        tokenizer.indices_to_words(indices)
