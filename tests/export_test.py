import doctest
import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

from tests.builders import random_images
from tests.builders import tiny_tokenizer
from vqct_keras import export
from vqct_keras.export import ExportBackendError
from vqct_keras.export import export_for_serving
from vqct_keras.export import export_info
from vqct_keras.export import normalize_image_size

SIGNATURES = (
    "decode_from_indices",
    "encode_to_indices",
    "encode_uint8",
    "reconstruct",
    "serving_default",
)
# Runs in a fresh interpreter: only TensorFlow and the SavedModel, no Keras
# model code. Calls are described in plan.json, arrays come from an .npz.
LOADER = r"""
import json
import sys

import numpy as np
import tensorflow as tf

saved_model_dir, work_dir = sys.argv[1:3]
with open(f"{work_dir}/plan.json") as file:
    plan = json.load(file)
arrays = dict(np.load(f"{work_dir}/inputs.npz"))
loaded = tf.saved_model.load(saved_model_dir)
report = {"signatures": sorted(loaded.signatures), "errors": {}}
outputs = {}
for call in plan:
    signature = loaded.signatures[call["signature"]]
    argument = {call["input"]: tf.constant(arrays[call["array"]])}
    try:
        result = signature(**argument)
    except Exception as error:
        report["errors"][call["id"]] = str(error)
        continue
    for key, value in result.items():
        outputs[f"{call['id']}/{key}"] = value.numpy()
# The endpoints are also plain methods of the loaded object.
method = loaded.encode_to_indices(tf.constant(arrays["images"]))
outputs["method/indices"] = method["indices"].numpy()
np.savez(f"{work_dir}/outputs.npz", **outputs)
with open(f"{work_dir}/report.json", "w") as file:
    json.dump(report, file)
"""


def numpy(x):
    return ops.convert_to_numpy(x)


def saved_model_cli():
    path = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    return path if os.path.exists(path) else shutil.which("saved_model_cli")


# === Fast checks: arguments and export_info ===


def test_normalize_image_size():
    assert normalize_image_size(None, 16, 2) == (16, 16)
    assert normalize_image_size(24, 16, 2) == (24, 24)
    assert normalize_image_size((16, 32), 16, 2) == (16, 32)
    assert normalize_image_size("dynamic", 16, 2) == (None, None)
    assert normalize_image_size((None, 16), 16, 2) == (None, 16)
    for bad, message in (
        (15, "multiples of the tokenizer's downsampling factor 2"),
        (0, "positive multiples"),
        ((16, -2), "positive multiples"),
        ("large", "'dynamic'"),
        ((16, 16, 3), "\\(height, width\\) pair"),
        ((16.0, 16), "ints or None"),
        ((True, 16), "ints or None"),
    ):
        with pytest.raises(ValueError, match=message):
            normalize_image_size(bad, 16, 2)


def test_bad_arguments_are_rejected_before_writing(tmp_path):
    tokenizer = tiny_tokenizer()
    cases = [
        (dict(tokenizer=keras.Sequential()), TypeError, "VQCTTokenizer"),
        (
            dict(tokenizer=tiny_tokenizer(build=False)),
            ValueError,
            "not built",
        ),
        (dict(image_size=17), ValueError, "downsampling factor 2"),
        (dict(batch_size=0), ValueError, "`batch_size` must be a positive"),
        (dict(batch_size=2.5), ValueError, "`batch_size`"),
        (dict(version=0), ValueError, "`version` must be a positive int"),
        (dict(version="1"), ValueError, "`version`"),
    ]
    for overrides, error, message in cases:
        kwargs = dict(tokenizer=tokenizer, path=str(tmp_path / "model"))
        kwargs.update(overrides)
        with pytest.raises(error, match=message):
            export_for_serving(**kwargs)
    assert not (tmp_path / "model").exists()

    (tmp_path / "model" / "1").mkdir(parents=True)
    (tmp_path / "model" / "1" / "saved_model.pb").write_bytes(b"old")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_for_serving(tokenizer, str(tmp_path / "model"))
    assert os.listdir(tmp_path / "model") == ["1"]


@pytest.mark.parametrize("quantizer", ["part_of_speech", "vector"])
def test_export_info_describes_shapes_and_index_layout(quantizer):
    tokenizer = tiny_tokenizer(quantizer)
    info = export_info(tokenizer, 16, None, None)
    assert json.loads(json.dumps(info)) == info
    assert info["image_size"] == [16, None]
    assert info["downsampling_factor"] == 2
    encode = info["signatures"]["encode_to_indices"]
    depth = 3 if quantizer == "part_of_speech" else 1
    assert encode["inputs"]["images"]["shape"] == [None, 16, None, 3]
    assert encode["outputs"]["indices"]["shape"] == [None, 8, None, depth]
    assert info["signatures"]["encode_uint8"]["inputs"]["images"]["dtype"] == (
        "uint8"
    )
    assert set(info["signatures"]) == set(SIGNATURES)
    layout = info["index_layout"]
    if quantizer == "part_of_speech":
        assert layout["slots"] == ["adjective_1", "adjective_2", "noun"]
        assert layout["ranges"] == [6, 6, 10]
    else:
        assert layout["slots"] == ["code"] and layout["ranges"] == [16]
    assert info["versions"]["keras"] == keras.__version__
    assert info["keras_backend"] == keras.backend.backend()


# === Full export, checked in a fresh process ===


def export_or_xfail(tokenizer, path, **kwargs):
    """Export; with JAX, an `ExportBackendError` is the documented outcome
    when this jax/TensorFlow pair cannot run the model (docs/export.md)."""
    try:
        return export_for_serving(tokenizer, path, **kwargs)
    except ExportBackendError as error:
        if keras.backend.backend() != "jax":
            raise
        assert "KERAS_BACKEND=tensorflow" in str(error)
        assert not [
            name for name in os.listdir(path) if name.startswith(".export")
        ]
        pytest.xfail(f"JAX export not servable here: {error}")


def run_in_fresh_process(saved_model_dir, work_dir, plan, arrays):
    with open(os.path.join(work_dir, "plan.json"), "w") as file:
        json.dump(plan, file)
    np.savez(os.path.join(work_dir, "inputs.npz"), **arrays)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run(
        [sys.executable, "-c", LOADER, saved_model_dir, work_dir],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    with open(os.path.join(work_dir, "report.json")) as file:
        report = json.load(file)
    outputs = dict(np.load(os.path.join(work_dir, "outputs.npz")))
    return report, outputs


def assert_signatures_match_keras(tokenizer, outputs, prefix, images):
    expected_indices = numpy(tokenizer.encode_to_indices(images))
    uint8_images = np.round((images + 1.0) * 127.5).astype("uint8")
    expected_uint8 = numpy(
        tokenizer.encode_to_indices(uint8_images.astype("float32") / 127.5 - 1)
    )
    expected_reconstruction = numpy(
        tokenizer(images, training=False)["reconstruction"]
    )
    expected_decoded = numpy(tokenizer.decode_from_indices(expected_indices))
    for name in ("encode_to_indices", "serving_default"):
        np.testing.assert_array_equal(
            outputs[f"{prefix}{name}/indices"], expected_indices
        )
    assert outputs[f"{prefix}encode_to_indices/indices"].dtype == np.int32
    np.testing.assert_array_equal(
        outputs[f"{prefix}encode_uint8/indices"], expected_uint8
    )
    np.testing.assert_array_equal(
        outputs[f"{prefix}reconstruct/indices"], expected_indices
    )
    np.testing.assert_allclose(
        outputs[f"{prefix}reconstruct/reconstruction"],
        expected_reconstruction,
        atol=1e-5,
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        outputs[f"{prefix}decode_from_indices/images"],
        expected_decoded,
        atol=1e-5,
        rtol=1e-5,
    )


def call_plan(prefix, images_key, indices_key, uint8_key):
    calls = []
    for signature, argument, array in (
        ("encode_to_indices", "images", images_key),
        ("serving_default", "images", images_key),
        ("encode_uint8", "images", uint8_key),
        ("reconstruct", "images", images_key),
        ("decode_from_indices", "indices", indices_key),
    ):
        calls.append(
            {
                "id": f"{prefix}{signature}",
                "signature": signature,
                "input": argument,
                "array": array,
            }
        )
    return calls


@pytest.mark.large
@pytest.mark.parametrize(
    "quantizer, image_size",
    [("part_of_speech", None), ("vector", "dynamic")],
)
def test_saved_model_matches_keras_in_a_fresh_process(
    tmp_path, quantizer, image_size
):
    tokenizer = tiny_tokenizer(quantizer)
    base = tmp_path / "serving"
    base.mkdir()
    saved_model_dir = export_or_xfail(
        tokenizer, str(base), image_size=image_size
    )
    assert saved_model_dir == str(base / "1")
    assert sorted(os.listdir(base)) == ["1"]
    for name in ("saved_model.pb", "variables", "export_info.json"):
        assert os.path.exists(os.path.join(saved_model_dir, name)), name

    images = random_images(3, 16)
    arrays = {
        "images": images,
        "uint8": np.round((images + 1.0) * 127.5).astype("uint8"),
        "indices": numpy(tokenizer.encode_to_indices(images)),
    }
    plan = call_plan("", "images", "indices", "uint8")
    if image_size == "dynamic":
        # Another size divisible by 2, non-square, and one that is not.
        other = random_images(2, 24, seed=1)[:, :, :20]
        arrays["other"] = other
        arrays["other_uint8"] = np.round((other + 1) * 127.5).astype("uint8")
        arrays["other_indices"] = numpy(tokenizer.encode_to_indices(other))
        arrays["odd"] = random_images(1, 15)
        plan += call_plan("other/", "other", "other_indices", "other_uint8")
        plan.append(
            {
                "id": "odd",
                "signature": "encode_to_indices",
                "input": "images",
                "array": "odd",
            }
        )

    report, outputs = run_in_fresh_process(
        saved_model_dir, str(tmp_path), plan, arrays
    )
    assert set(SIGNATURES) <= set(report["signatures"])
    assert_signatures_match_keras(tokenizer, outputs, "", images)
    np.testing.assert_array_equal(outputs["method/indices"], arrays["indices"])
    if image_size == "dynamic":
        assert_signatures_match_keras(tokenizer, outputs, "other/", other)
        assert outputs["other/encode_to_indices/indices"].shape[1:3] == (
            12,
            10,
        )
        assert "odd" in report["errors"], "15 px images were not rejected"
    assert set(report["errors"]) <= {"odd"}, report["errors"]

    with open(os.path.join(saved_model_dir, "export_info.json")) as file:
        info = json.load(file)
    assert info["default_signature"] == "encode_to_indices"
    expected_size = [16, 16] if image_size is None else [None, None]
    assert info["image_size"] == expected_size
    assert info["verified"] is True

    cli = saved_model_cli()
    assert cli, "saved_model_cli not found next to the Python interpreter"
    shown = subprocess.run(
        [cli, "show", "--dir", saved_model_dir, "--all"],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert shown.returncode == 0, shown.stderr[-4000:]
    for name in SIGNATURES:
        assert f"signature_def['{name}']" in shown.stdout, name
    assert "dtype: DT_UINT8" in shown.stdout
    assert "dtype: DT_INT32" in shown.stdout


@pytest.mark.large
def test_docstring_examples_run():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("The example exports; the JAX path is tested above.")
    assert doctest.testmod(export, raise_on_error=True).failed == 0
