"""Fault injection on the serving export: malformed requests in a subprocess.

The SavedModel is loaded in a fresh interpreter (as a server would) and
called with 100 malformed requests of every kind in one loop. The process
must survive all of them, answer each with a clear error, and still serve a
valid request afterwards.
"""

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from tests.builders import tiny_tokenizer
from vqct_keras.export import export_for_serving

# Runs in a fresh interpreter: TensorFlow and the SavedModel only.
SERVER = r"""
import json
import sys

import numpy as np
import tensorflow as tf

saved_model_dir, repeats = sys.argv[1], int(sys.argv[2])
loaded = tf.saved_model.load(saved_model_dir)
info = json.load(open(saved_model_dir + "/export_info.json"))
ranges = info["index_layout"]["ranges"]
depth = len(ranges)
size = info["image_size"][0]
grid = size // info["downsampling_factor"]
rng = np.random.default_rng(0)


def images(shape, dtype="float32", low=-1.0, high=1.0):
    return rng.uniform(low, high, shape).astype(dtype)


def indices(shape, value=None):
    if value is not None:
        return np.full(shape, value, "int32")
    return np.zeros(shape, "int32")


nan = images((2, size, size, 3))
nan[0, 1, 1, 0] = np.nan
inf = images((2, size, size, 3))
inf[1, 0, 0, 2] = np.inf
too_high = indices((2, grid, grid, depth))
too_high[..., -1] = ranges[-1]
image_endpoints = ("serving_default", "encode_to_indices", "reconstruct")
malformed = []
for name in image_endpoints + ("encode_uint8",):
    dtype = "uint8" if name == "encode_uint8" else "float32"
    high = 255 if dtype == "uint8" else 1.0
    low = 0 if dtype == "uint8" else -1.0
    malformed += [
        (name, "rank 3", images((size, size, 3), dtype, low, high)),
        (name, "rank 5", images((1, 2, size, size, 3), dtype, low, high)),
        (name, "size", images((1, 2 * size, 2 * size, 3), dtype, low, high)),
        (name, "channels", images((1, size, size, 1), dtype, low, high)),
        (name, "empty batch", images((0, size, size, 3), dtype, low, high)),
        (name, "dtype", images((1, size, size, 3), "float64")),
    ]
for name in image_endpoints:
    malformed += [
        (name, "[0, 255] range", images((1, size, size, 3), "float32", 0, 255)),
        (name, "nan", nan),
        (name, "inf", inf),
    ]
name = "decode_from_indices"
malformed += [
    (name, "negative", indices((1, grid, grid, depth), -1)),
    (name, "too high", too_high),
    (name, "depth", indices((1, grid, grid, depth + 1))),
    (name, "rank 3", indices((grid, grid, depth))),
    (name, "grid", indices((1, grid + 1, grid, depth))),
    (name, "empty batch", indices((0, grid, grid, depth))),
    (name, "dtype", np.zeros((1, grid, grid, depth), "float32")),
]
report = {"accepted": [], "errors": {}}
for _ in range(repeats):
    for name, kind, array in malformed:
        key = "indices" if name == "decode_from_indices" else "images"
        try:
            loaded.signatures[name](**{key: tf.constant(array)})
        except Exception as error:
            lines = str(error).splitlines() or [""]
            useful = [x for x in lines if "Rejected request" in x]
            report["errors"][f"{name}/{kind}"] = (
                type(error).__name__ + ": " + (useful or lines)[0]
            )
        else:
            report["accepted"].append(f"{name}/{kind}")
good = loaded.signatures["serving_default"](
    images=tf.constant(images((2, size, size, 3)))
)["indices"]
report["good_shape"] = list(good.shape)
report["calls"] = repeats * len(malformed)
report["depth"] = depth
print("REPORT " + json.dumps(report))
"""


def _export(tmp_path, quantizer="part_of_speech"):
    return export_for_serving(
        tiny_tokenizer(quantizer), str(tmp_path / "serving"), verify=False
    )


@pytest.mark.large
def test_serving_process_survives_malformed_requests(tmp_path):
    start = time.perf_counter()
    saved = _export(tmp_path)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", SERVER, saved, "100"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, (
        f"the serving process died (rc {result.returncode}): "
        f"{result.stderr[-2000:]}"
    )
    line = [x for x in result.stdout.splitlines() if x.startswith("REPORT ")]
    report = json.loads(line[-1][len("REPORT ") :])
    assert report["accepted"] == []
    depth = report["depth"]
    assert report["good_shape"] == [2, 8, 8, depth]
    errors = report["errors"]
    assert len(errors) == 40
    for key, message in errors.items():
        if key.endswith("/dtype"):
            continue  # rejected by the signature itself, before the graph
        assert message.startswith("InvalidArgumentError"), (key, message)
    assert "rank 4" in errors["serving_default/rank 3"]
    assert "[-1, 1]" in errors["encode_to_indices/[0, 255] range"]
    assert "/ 127.5 - 1" in errors["encode_to_indices/[0, 255] range"]
    assert "encode_uint8" in errors["encode_to_indices/[0, 255] range"]
    assert "NaN or infinite" in errors["reconstruct/nan"]
    assert "16x16" in errors["encode_uint8/size"]
    assert "3 channels" in errors["reconstruct/channels"]
    assert "empty batch" in errors["decode_from_indices/empty batch"]
    assert "[0, 6)" in errors["decode_from_indices/negative"]
    assert f"depth {depth}" in errors["decode_from_indices/depth"]
    print(f"\nwall time {time.perf_counter() - start:.1f} s")


@pytest.mark.large
def test_version_folder_is_world_readable(tmp_path):
    old = os.umask(0o077)
    try:
        saved = _export(tmp_path, quantizer="vector")
    finally:
        os.umask(old)
    for root, folders, files in os.walk(saved):
        mode = stat.S_IMODE(os.stat(root).st_mode)
        assert mode == 0o755, (root, oct(mode))
        for name in files:
            path = os.path.join(root, name)
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o644, path
