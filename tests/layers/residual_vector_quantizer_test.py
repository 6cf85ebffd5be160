import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

from tests.test_case import run_model_saving_test
from tests.test_case import value_and_gradients
from vqct_keras.layers.residual_vector_quantizer import ResidualVectorQuantizer
from vqct_keras.models.vqct_presets import build_tokenizer

ARCHITECTURE = dict(
    resolution=16,
    ch=16,
    ch_mult=(1, 2),
    attn_resolutions=(),
    z_channels=8,
    embed_dim=4,
    num_groups=8,
)


class ResidualVectorQuantizerTest:
    init_kwargs = dict(num_codes=8, embed_dim=3, num_stages=2, seed=0)


def latents(shape=(2, 4, 4, 3), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def test_layer_shapes_weights_and_config():
    layer = ResidualVectorQuantizer(**ResidualVectorQuantizerTest.init_kwargs)
    out = layer(latents())
    assert tuple(out["indices"].shape) == (2, 4, 4, 2)
    assert len(layer.trainable_weights) == 1
    assert layer.embeddings.path.endswith("embeddings")
    assert layer.index_depth == 2 and layer.index_ranges == (8, 8)


def test_each_stage_codes_the_residual_of_the_one_before():
    layer = ResidualVectorQuantizer(**ResidualVectorQuantizerTest.init_kwargs)
    z = latents()
    out = layer(z)
    tables = [ops.convert_to_numpy(t) for t in layer.codebooks()]
    residual = z.reshape(-1, 3)
    expected_indices, total = [], np.zeros_like(residual)
    for table in tables:
        distances = ((residual[:, None] - table[None]) ** 2).sum(-1)
        nearest = distances.argmin(axis=1)
        expected_indices.append(nearest)
        total += table[nearest]
        residual = residual - table[nearest]
    indices = ops.convert_to_numpy(out["indices"]).reshape(-1, 2)
    np.testing.assert_array_equal(indices, np.stack(expected_indices, -1))
    np.testing.assert_allclose(
        ops.convert_to_numpy(out["quantized"]).reshape(-1, 3), total, atol=1e-6
    )
    mse = ((total - z.reshape(-1, 3)) ** 2).mean()
    assert float(out["vq_loss"]) == pytest.approx(1.25 * mse, rel=1e-5)
    for stage, name in enumerate(layer.usage_names):
        used = len(set(expected_indices[stage])) / 8
        assert float(out[name]) == pytest.approx(used)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(layer.indices_to_codes(out["indices"])),
        ops.convert_to_numpy(out["quantized"]),
    )


def test_codebook_loss_trains_every_stage():
    layer = ResidualVectorQuantizer(**ResidualVectorQuantizerTest.init_kwargs)
    _, _, (grad,) = value_and_gradients(
        layer, latents(), lambda out: out["codebook_loss"]
    )
    grad = ops.convert_to_numpy(grad)
    assert np.abs(grad[0]).max() > 0 and np.abs(grad[1]).max() > 0


def test_config_round_trip_and_errors():
    from tests.test_case import run_serialization_test

    layer = ResidualVectorQuantizer(num_codes=4, embed_dim=2, num_stages=3)
    revived = run_serialization_test(layer)
    assert revived.num_stages == 3
    assert revived.codebook_names == ("stage_1", "stage_2", "stage_3")
    with pytest.raises(ValueError, match="embed_dim = 3"):
        ResidualVectorQuantizer(num_codes=4, embed_dim=3)(
            np.zeros((1, 2, 2, 4))
        )
    with pytest.raises(ValueError, match="num_stages"):
        ResidualVectorQuantizer(num_stages=0)


def tiny_tokenizer():
    return build_tokenizer(
        "vqct_tiny_32",
        quantizer="residual_vector",
        num_codes=16,
        seed=0,
        top_k=1,  # a part-of-speech argument: ignored
        **ARCHITECTURE,
    )


def test_builds_through_build_tokenizer_and_round_trips_indices():
    tokenizer = tiny_tokenizer()
    assert type(tokenizer.quantizer) is ResidualVectorQuantizer
    assert tokenizer.quantizer.name == "quantizer"
    assert tokenizer.quantizer.num_codes == 16
    images = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3))
    images = images.astype("float32")
    tokenizer.run_eagerly = True
    indices = tokenizer.encode_to_indices(images)
    assert tuple(indices.shape) == (2, 8, 8, 2)
    decoded = tokenizer.decode_from_indices(indices)
    expected = tokenizer(images, training=False)["reconstruction"]
    np.testing.assert_array_equal(
        ops.convert_to_numpy(decoded), ops.convert_to_numpy(expected)
    )
    run_model_saving_test(tokenizer, images)


def test_trains_one_step():
    from vqct_keras.models.patch_discriminator import PatchDiscriminator
    from vqct_keras.trainers.vqgan_trainer import VQGANTrainer

    tokenizer = tiny_tokenizer()
    discriminator = PatchDiscriminator(ndf=8, n_layers=2)
    discriminator.build((None, 16, 16, 3))
    trainer = VQGANTrainer(tokenizer, discriminator, disc_start=0)
    trainer.compile(
        keras.optimizers.SGD(learning_rate=0.01),
        keras.optimizers.SGD(learning_rate=0.01),
    )
    before = ops.convert_to_numpy(tokenizer.quantizer.embeddings)
    images = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3))
    logs = trainer.train_on_batch(images.astype("float32"), return_dict=True)
    assert {"stage_1_usage", "stage_2_usage"} <= set(logs)
    assert all(np.isfinite(float(value)) for value in logs.values())
    after = ops.convert_to_numpy(tokenizer.quantizer.embeddings)
    assert not np.array_equal(before, after)


@pytest.mark.large
@pytest.mark.skipif(
    os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
    reason="one backend is enough for the command-line run",
)
def test_train_cli_trains_it(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    output_dir = tmp_path / "run"
    command = [
        sys.executable,
        os.path.join(root, "training", "train.py"),
        f"--flagfile={os.path.join(root, 'training/configs/tiny_cpu.flags')}",
        f"--output_dir={output_dir}",
        "--quantizer=residual_vector",
        "--num_codes=16",
        "--steps=1",
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=900, env=env
    )
    assert result.returncode == 0, result.stderr[-4000:]
    with open(output_dir / "history.jsonl") as file:
        record = json.loads(file.readline())
    assert "stage_2_usage" in record
    restored = keras.saving.load_model(output_dir / "tokenizer.keras")
    assert type(restored.quantizer) is ResidualVectorQuantizer
