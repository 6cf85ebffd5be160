"""The trainer in the official setting: LPIPS on and GCN dropout 0.5.

The other trainer tests run without LPIPS and with the GCN dropout off
(deterministic steps); this one checks that both enter a real step: the
logged perceptual term is LPIPS of the images and of the reconstruction
made with the step's dropout mask, `nll = l1 + perceptual`, LPIPS stays
frozen, each step draws a new GCN mask, and evaluation has no dropout.
"""

import numpy as np
import pytest
from keras import ops

from tests.trainers.tiny_trainer import BATCH
from tests.trainers.tiny_trainer import build_trainer
from tests.trainers.tiny_trainer import make_images
from vqct_keras.metrics.lpips import LPIPS

IMAGES = make_images(BATCH, seed=4)


def numpy_values(variables):
    return [np.array(ops.convert_to_numpy(v.value)) for v in variables]


@pytest.fixture(scope="module")
def trainer():
    # VGG16 (LPIPS) in the traced step: ~25 s on TensorFlow, longer on JAX.
    return build_trainer(
        disc_start=1, dropout=0.5, perceptual_loss=LPIPS(name="lpips")
    )


def seed_state(trainer):
    generator = trainer.tokenizer.quantizer.transferred_codebook.seed_generator
    return generator.state


@pytest.mark.large
def test_step_with_lpips_and_gcn_dropout(trainer):
    tokenizer, lpips = trainer.tokenizer, trainer.perceptual_loss
    assert tokenizer.quantizer.transferred_codebook.dropout == 0.5
    state = seed_state(trainer)
    before = np.array(ops.convert_to_numpy(state.value))
    lpips_weights = numpy_values(lpips.weights)
    assert lpips_weights and not lpips.trainable_weights
    assert not {id(v) for v in lpips.weights} & {
        id(v) for v in trainer.g_optimizer.variables
    }

    # What the step's autoencoder forward computes: the training-mode
    # reconstruction with the first GCN mask drawn from this seed state.
    outputs = tokenizer(IMAGES, training=True)
    expected_perceptual = float(
        ops.mean(lpips(IMAGES, outputs["reconstruction"]))
    )
    expected_vq_loss = float(outputs["vq_loss"])
    inference_vq_loss = float(tokenizer(IMAGES, training=False)["vq_loss"])
    state.assign(before)

    logs = trainer.train_on_batch(IMAGES, return_dict=True)
    assert logs["perceptual"] > 0
    np.testing.assert_allclose(
        logs["perceptual"], expected_perceptual, rtol=1e-4
    )
    np.testing.assert_allclose(
        logs["nll"], logs["l1"] + logs["perceptual"], rtol=1e-5
    )
    # The step's codebook had the dropout: its VQ loss is the training one.
    np.testing.assert_allclose(logs["vq_loss"], expected_vq_loss, rtol=1e-4)
    assert abs(logs["vq_loss"] - inference_vq_loss) > 1e-3 * abs(
        inference_vq_loss
    )
    for old, new in zip(lpips_weights, numpy_values(lpips.weights)):
        np.testing.assert_array_equal(new, old)

    # Every step draws new masks (the seed state moves on).
    after_one = np.array(ops.convert_to_numpy(state.value))
    assert not np.array_equal(after_one, before)
    logs = trainer.train_on_batch(IMAGES, return_dict=True)
    assert np.all(np.isfinite(list(logs.values())))
    assert not np.array_equal(ops.convert_to_numpy(state.value), after_one)

    # Evaluation runs without dropout: the same numbers twice.
    first = trainer.evaluate(IMAGES, batch_size=BATCH, verbose=0)
    second = trainer.evaluate(IMAGES, batch_size=BATCH, verbose=0)
    np.testing.assert_array_equal(first, second)
