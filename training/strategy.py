"""Distribution strategies by name, for the TensorFlow and JAX backends."""

import contextlib

# No Keras at import time: `train.py --help` reads STRATEGIES and must not
# wait for TensorFlow to start.

STRATEGIES = (
    "auto",
    "default",
    "one_device",
    "mirrored",
    "multi_worker",
    "tpu",
)


class _JaxDistribution:
    """`keras.distribution.DataParallel` behind a strategy-like interface."""

    def __init__(self, devices=None):
        import jax

        self.devices = devices or jax.devices()
        if len(self.devices) > 1:
            import keras

            keras.distribution.set_distribution(
                keras.distribution.DataParallel(devices=self.devices)
            )
        self.num_replicas_in_sync = len(self.devices)

    def scope(self):
        return contextlib.nullcontext()


def split_cpu(count):
    """Make `count` logical CPU devices; call before any TF/JAX op runs."""
    import os

    if count <= 1:
        return
    flag = f"--xla_force_host_platform_device_count={count}"
    os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " " + flag
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * count
    )


def get_strategy(name="auto", devices=None):
    """A distribution strategy for training.

    Args:
        name: str. `"auto"` (mirrored over all GPUs when there are several,
            else the default strategy), `"default"`, `"one_device"`,
            `"mirrored"`, `"multi_worker"` (reads `TF_CONFIG`), `"tpu"`.
            On the JAX backend every name except `"default"` and
            `"one_device"` means data parallelism over all (or the given)
            devices with `keras.distribution.DataParallel`.
        devices: list of str. Devices for `"mirrored"` (e.g.
            `["CPU:0", "CPU:1"]`) or the JAX device list.

    Returns:
        An object with `scope()` and `num_replicas_in_sync`.

    Example:

    >>> strategy = get_strategy("default")
    >>> strategy.num_replicas_in_sync
    1
    """
    if name not in STRATEGIES:
        raise ValueError(f"--distribution must be one of {STRATEGIES}.")
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        if name in ("default", "one_device"):
            return _JaxDistribution(devices=jax.devices()[:1])
        if devices:
            wanted = set(devices)
            selected = [d for d in jax.devices() if str(d) in wanted]
            return _JaxDistribution(devices=selected or None)
        return _JaxDistribution()
    if backend != "tensorflow":
        raise ValueError(
            f"Training supports the tensorflow and jax backends, not "
            f"{backend!r}."
        )
    import tensorflow as tf

    if name == "multi_worker":
        # Must come before anything initialises the TensorFlow runtime
        # (listing devices does).
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(
            (devices or ["GPU:0" if gpus else "CPU:0"])[0]
        )
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices or None)
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
