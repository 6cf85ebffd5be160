import keras
import numpy as np
import pytest
from keras import ops

from tests.builders import TINY_ARCHITECTURE
from tests.builders import random_images
from tests.builders import tiny_prior
from tests.builders import tiny_tokenizer
from tests.test_case import run_model_saving_test
from tests.test_case import run_serialization_test
from vqct_keras.layers.part_of_speech_quantizer import PartOfSpeechQuantizer
from vqct_keras.layers.vector_quantizer import VectorQuantizer
from vqct_keras.models.vqct_tokenizer import VQCTTokenizer


@pytest.mark.parametrize("quantizer", ["part_of_speech", "vector"])
def test_call_outputs(quantizer):
    tokenizer = tiny_tokenizer(quantizer)
    out = tokenizer(random_images(), training=True)
    assert tuple(out["reconstruction"].shape) == (2, 16, 16, 3)
    depth = 3 if quantizer == "part_of_speech" else 1
    assert tuple(out["indices"].shape) == (2, 8, 8, depth)
    for key in ("commitment_loss", "codebook_loss", "vq_loss"):
        assert tuple(out[key].shape) == ()


@pytest.mark.parametrize("quantizer", ["part_of_speech", "vector"])
def test_decode_from_indices_reproduces_reconstruction_exactly(quantizer):
    tokenizer = tiny_tokenizer(quantizer)
    # Op by op, as the eager call below (compiled, they agree to rounding:
    # see vqct_tokenizer_inference_test.py).
    tokenizer.run_eagerly = True
    x = random_images()
    indices = tokenizer.encode_to_indices(x)
    reconstruction = tokenizer(x, training=False)["reconstruction"]
    decoded = tokenizer.decode_from_indices(ops.convert_to_numpy(indices))
    np.testing.assert_array_equal(
        ops.convert_to_numpy(decoded), ops.convert_to_numpy(reconstruction)
    )
    np.testing.assert_array_equal(
        ops.convert_to_numpy(tokenizer.decode(tokenizer.encode(x))),
        ops.convert_to_numpy(reconstruction),
    )


def test_index_layout_is_adjectives_then_noun():
    tokenizer = tiny_tokenizer()
    indices = ops.convert_to_numpy(tokenizer.encode_to_indices(random_images()))
    assert indices.dtype == np.int32
    assert indices[..., :2].max() < 6 and indices[..., 2].max() < 10
    # adj_1 is the nearest adjective, adj_2 the second nearest: distinct.
    assert np.all(indices[..., 0] != indices[..., 1])


def test_saving_keeps_outputs_and_codebook():
    tokenizer = tiny_tokenizer()
    x = random_images()
    restored = run_model_saving_test(
        tokenizer,
        x,
        output_fn=lambda m, v: m(v, training=False)["reconstruction"],
    )
    np.testing.assert_array_equal(
        ops.convert_to_numpy(restored.quantizer.codebooks()[1]),
        ops.convert_to_numpy(tokenizer.quantizer.codebooks()[1]),
    )
    np.testing.assert_array_equal(
        ops.convert_to_numpy(restored.encode_to_indices(x)),
        ops.convert_to_numpy(tokenizer.encode_to_indices(x)),
    )
    run_serialization_test(tokenizer)


def test_mixed_precision_keeps_quantizer_in_float32():
    layer = PartOfSpeechQuantizer.from_prior(
        tiny_prior(), embed_dim=8, dtype="float32"
    )
    tokenizer = VQCTTokenizer(
        layer, dtype="mixed_bfloat16", **TINY_ARCHITECTURE
    )
    out = tokenizer(random_images())
    assert keras.backend.standardize_dtype(out["quantized"].dtype) == (
        "float32"
    )
    assert keras.backend.standardize_dtype(out["vq_loss"].dtype) == "float32"


def test_bad_images_are_rejected_with_the_fix():
    tokenizer = tiny_tokenizer()
    cases = [
        (np.zeros((16, 16, 3), "float32"), "images\\[None\\]"),
        (np.zeros((1, 16, 16, 1), "float32"), "3 image channels"),
        (np.zeros((1, 3, 16, 16), "float32"), "channels"),
        (np.zeros((1, 16, 16, 3), "uint8"), "images / 127.5 - 1.0"),
        (np.zeros((1, 17, 17, 3), "float32"), "divisible by .* 2"),
        (np.full((1, 16, 16, 3), 255.0, "float32"), "\\[-1, 1\\]"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError, match=message):
            tokenizer.encode_to_indices(bad)
    with pytest.raises(ValueError, match="resolution"):
        VQCTTokenizer(VectorQuantizer(4, 8), resolution=18, ch_mult=(1, 2, 2))


def test_bad_indices_are_rejected():
    tokenizer = tiny_tokenizer()
    with pytest.raises(ValueError, match="\\(batch, height, width, 3\\)"):
        tokenizer.decode_from_indices(np.zeros((1, 8, 8, 2), "int32"))
    with pytest.raises(ValueError, match="integer"):
        tokenizer.decode_from_indices(np.zeros((1, 8, 8, 3), "float32"))
    too_large = np.zeros((1, 8, 8, 3), "int32")
    too_large[..., 2] = 10
    with pytest.raises(ValueError, match="slot 2 must lie in \\[0, 10\\)"):
        tokenizer.decode_from_indices(too_large)
