import json

import numpy as np
import pytest
import tensorflow as tf

from tests.builders import words_tokenizer
from vqct_keras import words
from vqct_keras.layers import PartOfSpeechQuantizer
from vqct_keras.layers import VectorQuantizer
from vqct_keras.prior import CodebookPrior
from vqct_keras.vocabulary import WordsUnavailableError

NOUNS = ["dog", "car", "sky", "tree", "house", "road", "cloud", "lamp", "cup"]
ADJECTIVES = ["red", "big", "old", "wet", "dark", "soft"]


def tokenizer_for(transfer="gcn", vectors=None, quantizer=None):
    if quantizer is None:
        if vectors is None:
            vectors = np.random.default_rng(0).normal(size=(15, 8))
        prior = CodebookPrior(
            ADJECTIVES, NOUNS, vectors, edges=[[0, 6], [1, 7], [2, 8]]
        )
        quantizer = PartOfSpeechQuantizer.from_prior(
            prior,
            embed_dim=8 if transfer == "frozen" else 4,
            transfer=transfer,
            seed=0,
        )
    return words_tokenizer(quantizer)


def images(count=5):
    rng = np.random.default_rng(1)
    return rng.uniform(-1, 1, (count, 8, 8, 3)).astype("float32")


def test_top_words_counts_every_pick():
    tokenizer = tokenizer_for()
    indices = np.asarray(tokenizer.encode_to_indices(images()))
    counts = words.top_words(tokenizer, images(), k=100, batch_size=2)
    expected_nouns = np.bincount(indices[..., -1].ravel(), minlength=9)
    assert dict(counts.nouns) == {
        NOUNS[i]: c for i, c in enumerate(expected_nouns) if c
    }
    expected_adjectives = np.bincount(indices[..., :2].ravel(), minlength=6)
    assert dict(counts.adjectives) == {
        ADJECTIVES[i]: c for i, c in enumerate(expected_adjectives) if c
    }
    assert counts.num_images == 5 and counts.num_positions == 5 * 16
    assert [c for _, c in counts.nouns] == sorted(
        (c for _, c in counts.nouns), reverse=True
    )
    top = words.top_words(tokenizer, images(), k=2)
    assert top.nouns == counts.nouns[:2]
    assert "noun" in str(top) and top.nouns[0][0] in str(top)
    assert json.loads(json.dumps(top.to_dict()))["num_positions"] == 80


def test_top_words_reads_datasets_like_arrays():
    tokenizer = tokenizer_for()
    dataset = tf.data.Dataset.from_tensor_slices(images()).batch(2)
    from_dataset = words.top_words(tokenizer, dataset)
    assert from_dataset == words.top_words(tokenizer, images())
    single = words.top_words(tokenizer, images()[0])
    assert single.num_images == 1


def test_nearest_words_agree_with_the_prior_when_nothing_is_learned():
    # A frozen codebook of unit vectors: L2 and cosine order alike, so the
    # trained neighbours are the prior's.
    vectors = np.random.default_rng(2).normal(size=(15, 8))
    vectors /= np.linalg.norm(vectors, axis=-1, keepdims=True)
    tokenizer = tokenizer_for("frozen", vectors)
    table = words.nearest_words(tokenizer, images(), k=3)
    assert table.rows and {r["part_of_speech"] for r in table.rows} == {
        "noun",
        "adjective",
    }
    for row in table.rows:
        assert row["neighbours"] == row["prior_neighbours"]
        assert row["overlap"] == 1.0 and row["word"] not in row["neighbours"]
    assert table.mean_overlap("noun") == 1.0
    assert table.chance_overlap == {"noun": 3 / 8, "adjective": 3 / 5}
    noun_rows = [r for r in table.rows if r["part_of_speech"] == "noun"]
    assert noun_rows[0]["word"] == NOUNS[noun_rows[0]["index"]]
    # The nearest noun of the first row, by hand.
    codes = vectors[6:]
    index = noun_rows[0]["index"]
    distances = np.sum((codes - codes[index]) ** 2, axis=-1)
    distances[index] = np.inf
    assert noun_rows[0]["neighbours"][0] == NOUNS[int(np.argmin(distances))]
    assert "shared with the prior" in str(table)


def test_nearest_words_of_given_indices():
    tokenizer = tokenizer_for()
    table = words.nearest_words(
        tokenizer, indices=np.array([[[1, 0, 2], [1, 3, 2]]]), k=2
    )
    assert [(r["word"], r["count"]) for r in table.rows] == [
        ("sky", 2),
        ("big", 2),
        ("red", 1),
        ("wet", 1),
    ]
    with pytest.raises(ValueError, match="exactly one"):
        words.nearest_words(tokenizer)


def test_word_map_labels_cells_and_colours_each_noun_once(tmp_path):
    tokenizer = tokenizer_for()
    batch = images(2)
    path = tmp_path / "map.png"
    figure = words.word_map(tokenizer, batch, path=str(path), title="toy")
    assert path.stat().st_size > 1000
    assert len(figure.axes) == 4
    cell_words = tokenizer.quantizer.index_words(
        tokenizer.encode_to_indices(batch)
    )
    colours = {}
    for row in range(2):
        grid_axis = figure.axes[2 * row + 1]
        texts = [t.get_text() for t in grid_axis.texts]
        assert texts[:3] == list(cell_words[row, 0, 0][[2, 0, 1]])
        assert len(texts) == 4 * 4 * 3
        for patch, cell in zip(
            grid_axis.patches, cell_words[row].reshape(-1, 3)
        ):
            colour = tuple(np.round(patch.get_facecolor()[:3], 6))
            assert colours.setdefault(cell[-1], colour) == colour
    assert len(set(colours.values())) == len(colours)


def test_word_map_accepts_uint8_and_one_image():
    tokenizer = tokenizer_for()
    uint8 = ((images(1)[0] + 1) * 127.5).astype("uint8")
    assert len(words.word_map(tokenizer, uint8).axes) == 2


def test_write_word_outputs(tmp_path):
    tokenizer = tokenizer_for()
    dataset = tf.data.Dataset.from_tensor_slices(images()).batch(2)
    files = words.write_word_outputs(
        tokenizer, dataset, str(tmp_path), num_images=3, k=4
    )
    assert sorted(files) == ["top_words", "top_words_text", "word_map"]
    with open(files["top_words"]) as file:
        table = json.load(file)
    assert table["num_images"] == 5 and len(table["nouns"]) <= 4
    assert (tmp_path / "word_map.png").stat().st_size > 1000
    baseline = tokenizer_for(quantizer=VectorQuantizer(8, 4))
    assert words.write_word_outputs(baseline, dataset, str(tmp_path)) == {}


def test_baseline_says_it_has_no_words():
    baseline = tokenizer_for(quantizer=VectorQuantizer(8, 4))
    for function in (words.top_words, words.word_map):
        with pytest.raises(WordsUnavailableError, match="VQGAN baseline"):
            function(baseline, images())
