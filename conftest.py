"""Pytest configuration shared by every test.

Two logical CPU devices stand in for two GPUs: they are created here, at
import time, before TensorFlow or JAX initialise their devices.
"""

import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if "--xla_force_host_platform_device_count" not in os.environ.get(
    "XLA_FLAGS", ""
):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + " --xla_force_host_platform_device_count=2"
    ).strip()

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0],
    [tf.config.LogicalDeviceConfiguration()] * 2,
)

import keras  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        "--run_large",
        action="store_true",
        default=False,
        help="Also run tests marked `large` (real models, real data).",
    )


def pytest_configure(config):
    keras.config.disable_traceback_filtering()


def pytest_runtest_setup(item):
    """Skip large tests that would start after `$VQCT_LARGE_DEADLINE`.

    `scripts/test.sh` sets it (Unix seconds) so that CI runs the large
    tests while its time budget allows: a test already running finishes,
    later ones are reported as skipped.
    """
    deadline = os.environ.get("VQCT_LARGE_DEADLINE")
    if deadline and "large" in item.keywords and time.time() > float(deadline):
        pytest.skip("large-test time budget spent (VQCT_LARGE_DEADLINE)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run_large"):
        return
    skip_large = pytest.mark.skip(reason="large test: pass --run_large")
    for item in items:
        if "large" in item.keywords:
            item.add_marker(skip_large)
