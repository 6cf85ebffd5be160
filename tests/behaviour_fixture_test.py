"""Behaviour fixed before the issue-10 restructure: same indices and losses.

`tests/fixtures/behaviour/<backend>.npz` was recorded on the code before the
quantizer contract, the split of `evaluation.py` and the public API moved
things around. Each test rebuilds the same seeded tiny tokenizers (VQCT and
the VQGAN baseline) and trainer and checks that they still give the same
code indices (exactly), quantizer outputs, reconstructions and train-step
losses (to float32 rounding).

Re-record (only for an intended change of behaviour, said in the commit):

    KERAS_BACKEND=tensorflow python tests/behaviour_fixture_test.py
    KERAS_BACKEND=jax python tests/behaviour_fixture_test.py
"""

import os

import numpy as np
import pytest

FIXTURE_DIR = os.path.join(os.path.dirname(__file__), "fixtures", "behaviour")
QUANTIZERS = {
    "part_of_speech": {},
    "vector": {"quantizer": "vector", "num_codes": 16},
}


def record():
    """Everything the fixture holds, computed by the current code."""
    import keras
    from keras import ops

    from tests import builders
    from tests.trainers import tiny_trainer
    from vqct_keras.models.vqct_presets import build_tokenizer

    def numpy(value):
        return np.asarray(ops.convert_to_numpy(value))

    images = tiny_trainer.make_images(4, seed=5)
    results = {}
    for name, kwargs in QUANTIZERS.items():
        keras.utils.set_random_seed(0)
        prior = builders.tiny_prior() if name == "part_of_speech" else None
        tokenizer = build_tokenizer(
            "vqct_tiny_32",
            prior=prior,
            seed=0,
            **kwargs,
            **tiny_trainer.ARCHITECTURE,
        )
        outputs = tokenizer(images, training=False)
        for key, value in outputs.items():
            results[f"{name}/call/{key}"] = numpy(value)
        indices = numpy(tokenizer.encode_to_indices(images))
        results[f"{name}/encode_to_indices"] = indices
        results[f"{name}/decode_from_indices"] = numpy(
            tokenizer.decode_from_indices(indices)
        )
    trainer = tiny_trainer.build_trainer(disc_start=1)
    batch = tiny_trainer.make_images(tiny_trainer.BATCH, seed=3)
    for step in range(2):
        logs = trainer.train_on_batch(batch, return_dict=True)
        for key, value in logs.items():
            results[f"trainer/{step}/{key}"] = np.asarray(value, "float32")
    return results


def fixture_path():
    import keras

    return os.path.join(FIXTURE_DIR, f"{keras.backend.backend()}.npz")


@pytest.fixture(scope="module")
def recorded_and_now():
    path = fixture_path()
    with np.load(path) as data:
        expected = dict(data)
    return expected, record()


def test_same_keys(recorded_and_now):
    expected, actual = recorded_and_now
    assert sorted(actual) == sorted(expected)


@pytest.mark.parametrize("part", ["part_of_speech", "vector", "trainer"])
def test_same_values(recorded_and_now, part):
    expected, actual = recorded_and_now
    keys = [key for key in expected if key.startswith(part + "/")]
    assert keys
    for key in keys:
        if np.issubdtype(expected[key].dtype, np.integer):
            np.testing.assert_array_equal(actual[key], expected[key], key)
        else:
            np.testing.assert_allclose(
                actual[key], expected[key], rtol=1e-5, atol=1e-5, err_msg=key
            )


if __name__ == "__main__":
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    np.savez(fixture_path(), **record())
    print("wrote", fixture_path())
