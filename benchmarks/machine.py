"""The machine and the library versions a benchmark ran on, for reports."""

import os
import platform


def machine_description():
    """`"<n> CPU cores, <model>, <system>"`."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU cores, {model}, {platform.system()}"


def versions():
    """Versions of Python, Keras, TensorFlow, JAX and NumPy (those
    installed; imports Keras)."""
    import keras

    found = {"python": platform.python_version(), "keras": keras.__version__}
    for module in ("tensorflow", "jax", "numpy"):
        try:
            found[module] = __import__(module).__version__
        except ImportError:
            pass
    return found
