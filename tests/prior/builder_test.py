import nltk
import numpy as np
import pytest

from tests.prior import tiny_backbones
from vqct_keras.prior import builder
from vqct_keras.prior import nltk_resources
from vqct_keras.prior.codebook_prior import CodebookPrior


@pytest.fixture(scope="module", autouse=True)
def nltk_data():
    nltk_resources.ensure_nltk_resources(download=False)


def config(**kwargs):
    kwargs.setdefault("date", "2025-01-01")
    kwargs.setdefault("download_nltk", False)
    return builder.PriorConfig(**kwargs)


def corpus_config(**kwargs):
    return config(
        vocabulary_source="corpus",
        corpus_files=(tiny_backbones.CAPTIONS_FILE,),
        min_count=1,
        **kwargs,
    )


def test_corpus_mode_follows_the_paper(bert):
    prior, summary = builder.build_prior(corpus_config(), text_backbone=bert)
    # Kept words: count > 1, in order of first appearance.
    assert prior.adjectives[:4] == ["small", "fluffy", "green", "red"]
    assert prior.nouns[:3] == ["dog", "grass", "car"]
    assert "dogs" not in prior.nouns  # Lemmatised.
    assert "sitting" not in prior.adjectives + prior.nouns
    # Co-occurrence edges weighted by counts: "red car" appears 7 times.
    red = prior.adjectives.index("red")
    car = prior.num_adjectives + prior.nouns.index("car")
    pairs = {
        tuple(e): w for e, w in zip(prior.edges.tolist(), prior.edge_weights)
    }
    assert pairs[(red, car)] == 7.0
    assert summary["num_edges"] == len(prior.edges)
    metadata = prior.metadata
    assert metadata["graph"]["kind"] == "cooccurrence"
    assert metadata["vocabulary_source"] == "corpus"
    assert metadata["thresholds"]["min_count"] == 1
    assert metadata["source"]["files"][0]["name"] == "captions.txt"
    assert metadata["source"]["num_captions"] == 25
    assert metadata["date"] == "2025-01-01"
    assert metadata["backbone"]["backbone_class"] == "BertBackbone"
    assert metadata["tagging"]["nltk_version"] == nltk.__version__
    assert metadata["content_sha256"] == prior.content_sha256()


def test_caps_keep_the_most_frequent(bert):
    prior, _ = builder.build_prior(
        corpus_config(max_adjectives=2, max_nouns=3), text_backbone=bert
    )
    # The most frequent words, kept in first-appearance order.
    assert prior.adjectives == ["small", "red"]
    assert prior.nouns == ["dog", "grass", "car"]


def test_min_count_is_strict(bert):
    # "boat" is in exactly 3 captions.
    kwargs = dict(
        vocabulary_source="corpus",
        corpus_files=(tiny_backbones.CAPTIONS_FILE,),
    )
    prior, _ = builder.build_prior(
        config(min_count=2, **kwargs), text_backbone=bert
    )
    assert "boat" in prior.nouns
    prior, _ = builder.build_prior(
        config(min_count=3, **kwargs), text_backbone=bert
    )
    assert "boat" not in prior.nouns


@pytest.mark.parametrize("name", ["bert", "clip"])
def test_tokenizer_mode_token_vectors_knn(name, request):
    text_backbone = request.getfixturevalue(name)
    prior, summary = builder.build_prior(
        config(knn=2), text_backbone=text_backbone
    )
    assert {"red", "fluffy", "striped"} <= set(prior.adjectives)
    assert {"dog", "car", "bird"} <= set(prior.nouns)
    assert not {"the", "run", "sitting", "quickly", "dogs"} & set(
        prior.adjectives + prior.nouns
    )
    # Token mode: vectors are exactly the embedding rows.
    table = text_backbone.embedding_table()
    pieces = text_backbone.word_pieces(prior.adjectives + prior.nouns)
    for row, ids in enumerate(pieces):
        assert len(ids) == 1
        np.testing.assert_array_equal(prior.vectors[row], table[ids[0]])
    assert prior.metadata["graph"] == {
        "kind": "knn",
        "k": 2,
        "weighting": "similarity",
        "metric": "cosine",
        "direction": "adjective->k nouns and noun->k adjectives, union",
    }
    assert np.all(prior.edges[:, 0] < prior.num_adjectives)
    assert np.all(prior.edges[:, 1] >= prior.num_adjectives)
    assert summary["num_adjectives"] == prior.num_adjectives


def test_prompt_mode(clip):
    prior, _ = builder.build_prior(
        corpus_config(vector_mode="prompt", pooling="last"),
        text_backbone=clip,
    )
    expected = clip.encode(
        ["a photo of small object", "a photo of dog"], pooling="last"
    )
    np.testing.assert_allclose(prior.vectors[0], expected[0], atol=1e-5)
    dog = prior.num_adjectives + prior.nouns.index("dog")
    np.testing.assert_allclose(prior.vectors[dog], expected[1], atol=1e-5)
    assert prior.metadata["vectors"]["adjective_prompt"] == (
        "a photo of {word} object"
    )


def test_knn_graph_on_corpus_words(bert):
    prior, _ = builder.build_prior(
        corpus_config(graph="knn", knn=1), text_backbone=bert
    )
    assert prior.metadata["graph"]["kind"] == "knn"


def test_same_inputs_give_the_same_bytes(bert, tmp_path):
    paths = []
    for index in range(2):
        prior, _ = builder.build_prior(config(knn=3), text_backbone=bert)
        paths.append(prior.save(tmp_path / f"prior{index}.npz"))
    with open(paths[0], "rb") as first, open(paths[1], "rb") as second:
        assert first.read() == second.read()
    assert CodebookPrior.load(paths[0]).num_codes == prior.num_codes


def test_no_adjectives_left():
    nouns_only = tiny_backbones.tiny_bert(
        words=tiny_backbones.NOUNS + tiny_backbones.OTHERS
    )
    with pytest.raises(builder.EmptyPriorError, match="No adjectives left"):
        builder.build_prior(config(), text_backbone=nouns_only)


def test_no_nouns_left():
    adjectives_only = tiny_backbones.tiny_bert(
        words=tiny_backbones.ADJECTIVES[:-1] + tiny_backbones.OTHERS[:10]
    )
    with pytest.raises(builder.EmptyPriorError, match="No nouns left"):
        builder.build_prior(config(), text_backbone=adjectives_only)


def test_min_count_too_high(bert):
    with pytest.raises(builder.EmptyPriorError, match="count > 100"):
        builder.build_prior(
            config(
                vocabulary_source="corpus",
                corpus_files=(tiny_backbones.CAPTIONS_FILE,),
                min_count=100,
            ),
            text_backbone=bert,
        )


def test_missing_nltk_data(bert, tmp_path, monkeypatch):
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    monkeypatch.setattr(
        nltk_resources, "default_data_dir", lambda: str(tmp_path)
    )
    monkeypatch.setattr(
        nltk_resources, "textblob_aptagger_pickle_path", lambda: None
    )
    with pytest.raises(
        nltk_resources.NLTKResourceError, match="textblob-aptagger"
    ):
        builder.build_prior(config(), text_backbone=bert)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocabulary_source": "wiki"}, "vocabulary_source"),
        ({"vector_mode": "glove"}, "vector_mode"),
        ({"graph": "full"}, "graph must be"),
        ({"vocabulary_source": "corpus"}, "needs caption files"),
        ({"graph": "cooccurrence"}, "need a caption corpus"),
        ({"max_nouns": 0}, "max_nouns"),
        ({"min_count": -1}, "min_count"),
        ({"date": "yesterday"}, "isoformat"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        config(**kwargs).validate()


def test_resolve_date(monkeypatch):
    assert builder.resolve_date("2024-02-29") == "2024-02-29"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert builder.resolve_date() == "1970-01-01"
