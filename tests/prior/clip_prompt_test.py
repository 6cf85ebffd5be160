"""The official prior recipe: CLIP prompt vectors of caption words.

The vectors are checked against a NumPy re-computation of OpenAI CLIP's
`encode_text` written here from the weights (token + position embedding,
pre-norm causal transformer with quick-GELU, final layer norm, the
end-of-text token's feature, times the text projection), one prompt at a
time and unpadded, from the start token, KerasHub's BPE pieces and the end
token.
"""

import os
import re
import shutil

import keras
import keras_hub
import numpy as np
import pytest

from tests.prior import tiny_backbones
from tests.training.evaluate_test import run_cli
from training import build_prior
from vqct_keras.prior import builder
from vqct_keras.prior import nltk_resources
from vqct_keras.prior import text_backbone
from vqct_keras.prior.codebook_prior import CodebookPrior
from vqct_keras.prior.text_backbone import BackboneLoadError


def caption_words():
    with open(tiny_backbones.CAPTIONS_FILE) as file:
        text = file.read().lower()
    return sorted(
        set(re.findall(r"[a-z]+", text)) | {"a", "photo", "of", "object"}
    )


@pytest.fixture(scope="module")
def clip():
    return tiny_backbones.tiny_clip_backbone(words=caption_words())


def numpy(value):
    return np.asarray(keras.ops.convert_to_numpy(value), dtype="float64")


def layer_norm(x, layer):
    mean = x.mean(-1, keepdims=True)
    variance = x.var(-1, keepdims=True)
    normalised = (x - mean) / np.sqrt(variance + layer.epsilon)
    return normalised * numpy(layer.gamma) + numpy(layer.beta)


def attention(x, layer):
    """Causal multi-head self-attention of one sequence `(T, D)`."""
    heads = []
    length = x.shape[0]
    causal = np.triu(np.full((length, length), -np.inf), k=1)
    query_kernel = numpy(layer._query_dense.kernel)
    for head in range(query_kernel.shape[1]):

        def project(dense):
            kernel, bias = numpy(dense.kernel), numpy(dense.bias)
            return x @ kernel[:, head] + bias[head]

        query = project(layer._query_dense)
        key = project(layer._key_dense)
        value = project(layer._value_dense)
        scores = query @ key.T / np.sqrt(query.shape[-1]) + causal
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        heads.append((scores / scores.sum(-1, keepdims=True)) @ value)
    output = layer._output_dense
    kernel = numpy(output.kernel)  # (heads, head_dim, D)
    return sum(h @ kernel[i] for i, h in enumerate(heads)) + numpy(output.bias)


def reference_encode_text(backbone, token_ids):
    """OpenAI CLIP's `encode_text` of one token sequence, in NumPy."""
    encoder = backbone.text_encoder
    embedding = encoder.embedding
    x = numpy(embedding.token_embedding.embeddings)[token_ids]
    x = (
        x
        + numpy(embedding.position_embedding.position_embeddings)[
            : len(token_ids)
        ]
    )
    for block in encoder.encoder_layers:
        x = x + attention(layer_norm(x, block.layer_norm_1), block.attention)
        hidden = layer_norm(x, block.layer_norm_2)
        hidden = hidden @ numpy(block.dense_1.kernel) + numpy(
            block.dense_1.bias
        )
        hidden = hidden / (1.0 + np.exp(-1.702 * hidden))  # quick GELU
        x = x + hidden @ numpy(block.dense_2.kernel) + numpy(block.dense_2.bias)
    x = layer_norm(x, encoder.layer_norm)
    end_of_text = x[len(token_ids) - 1]  # The last token is <|endoftext|>.
    return end_of_text @ numpy(backbone.text_projection.kernel)


def reference_ids(text_backbone, prompt):
    """`<|startoftext|>`, KerasHub's BPE pieces of the prompt,
    `<|endoftext|>`: OpenAI's `clip.tokenize` without its padding."""
    vocabulary = list(text_backbone.tokenizer.get_vocabulary())
    pieces = text_backbone.tokenizer([prompt])
    pieces = np.asarray(keras.ops.convert_to_numpy(pieces)).reshape(-1)
    return (
        [vocabulary.index("<|startoftext|>")]
        + [int(i) for i in pieces]
        + [vocabulary.index("<|endoftext|>")]
    )


def reference_vectors(text_backbone, prompts):
    return np.stack(
        [
            reference_encode_text(
                text_backbone.backbone, reference_ids(text_backbone, prompt)
            )
            for prompt in prompts
        ]
    )


def test_clip_pooling_is_encode_text(clip):
    prompts = [
        "a photo of dog",
        "a photo of red object",
        "a photo of fluffy object",
        "a photo of man",
    ]
    expected = reference_vectors(clip, prompts)
    assert expected.shape == (4, 6)  # The projection size, not hidden (8).
    # Prompts of different lengths share padded batches of 3.
    for pooling in ("clip", "auto"):
        got = clip.encode(prompts, pooling=pooling, batch_size=3)
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    # Neither the mean nor the unprojected end-of-text feature is it.
    assert clip.encode(prompts, pooling="last").shape == (4, 8)
    assert clip.encode(prompts, pooling="mean").shape == (4, 8)


def test_clip_pooling_needs_the_projection():
    text_encoder_only = tiny_backbones.tiny_clip()
    with pytest.raises(ValueError, match="CLIPBackbone"):
        text_encoder_only.encode(["a photo of dog"], pooling="clip")
    assert text_encoder_only.resolve_pooling("auto") == "mean"


def test_official_recipe_end_to_end_from_the_cli(clip, tmp_path):
    """One command, as docs/prior.md gives it, on a local CLIP preset."""
    nltk_resources.ensure_nltk_resources(download=False)
    preset = tiny_backbones.save_preset(clip, str(tmp_path / "clip_preset"))
    output_dir = str(tmp_path / "prior")
    run_cli(
        build_prior,
        [
            f"--backbone={preset}",
            "--vocabulary_source=corpus",
            f"--corpus={tiny_backbones.CAPTIONS_FILE}",
            "--vector_mode=prompt",
            "--pooling=clip",
            "--min_count=2",
            "--graph=cooccurrence",
            f"--output_dir={output_dir}",
            "--date=2025-01-01",
            "--nonltk_download",
            "--noprogress",
        ],
    )
    prior = CodebookPrior.load(os.path.join(output_dir, "prior.npz"))
    # Caption words: JJ adjectives as written, nouns lemmatised, count > 2,
    # first-appearance order.
    assert prior.adjectives[:4] == ["small", "fluffy", "red", "tall"]
    assert "green" not in prior.adjectives  # 2 captions
    assert "car" in prior.nouns and "cars" not in prior.nouns
    assert "boat" in prior.nouns  # 3 captions
    assert "flower" not in prior.nouns  # 2 captions: not more than 2
    prompts = [f"a photo of {word} object" for word in prior.adjectives]
    prompts += [f"a photo of {word}" for word in prior.nouns]
    np.testing.assert_allclose(
        prior.vectors, reference_vectors(clip, prompts), atol=1e-5, rtol=0
    )
    # Duplicated adjective-noun pairs are kept as weights.
    pairs = {
        tuple(edge): weight
        for edge, weight in zip(prior.edges.tolist(), prior.edge_weights)
    }
    red = prior.adjectives.index("red")
    car = prior.num_adjectives + prior.nouns.index("car")
    assert pairs[(red, car)] == 7.0
    vectors = prior.metadata["vectors"]
    assert vectors["pooling"] == "clip"
    assert vectors["feature"] == builder.CLIP_FEATURE
    assert prior.metadata["backbone"]["backbone_class"] == "CLIPBackbone"
    assert prior.metadata["backbone"]["text_projection_shape"] == [8, 6]


def no_download(*args, **kwargs):
    raise AssertionError("nothing may be downloaded")


def test_official_backbone_offline_says_what_to_download_and_where(
    monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("VQCT_KERAS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))
    monkeypatch.setattr(text_backbone, "_host_reachable", lambda host: False)
    monkeypatch.setattr(keras_hub.models.Backbone, "from_preset", no_download)
    folder = text_backbone.local_preset_dir("clip_vit_base_patch32")
    assert folder == str(
        tmp_path / "home" / "backbones" / "clip_vit_base_patch32"
    )
    with pytest.raises(BackboneLoadError) as error:
        text_backbone.load_text_backbone("clip_vit_base_patch32")
    message = str(error.value)
    assert (
        "kagglehub.model_download('keras/clip/keras/clip_vit_base_patch32/3')"
        in message
    )
    assert folder in message and "--backbone=<folder>" in message
    # The CLI prints it on one line and exits 1.
    with pytest.raises(SystemExit) as exit_info:
        run_cli(
            build_prior,
            [
                "--backbone=clip_vit_base_patch32",
                "--vocabulary_source=corpus",
                f"--corpus={tiny_backbones.CAPTIONS_FILE}",
                "--vector_mode=prompt",
                f"--output_dir={tmp_path / 'out'}",
                "--nonltk_download",
            ],
        )
    assert exit_info.value.code == 1
    assert folder in capsys.readouterr().err


def test_a_preset_copied_to_its_folder_loads_offline(
    clip, monkeypatch, tmp_path
):
    monkeypatch.setenv("VQCT_KERAS_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(text_backbone, "_host_reachable", no_download)
    source = tiny_backbones.save_preset(clip, str(tmp_path / "download"))
    shutil.copytree(
        source, text_backbone.local_preset_dir("clip_vit_base_patch32")
    )
    loaded = text_backbone.load_text_backbone("clip_vit_base_patch32")
    assert loaded.handle == "clip_vit_base_patch32"
    assert isinstance(loaded.backbone, keras_hub.models.CLIPBackbone)
    prompts = ["a photo of dog"]
    np.testing.assert_allclose(
        loaded.encode(prompts, pooling="auto"),
        reference_vectors(clip, prompts),
        atol=1e-5,
        rtol=0,
    )
