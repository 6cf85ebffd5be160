"""Where the first training step's time goes, per phase.

The first `train_on_batch` of a VQCT training process is much slower than
the steps after it. This script splits it, at one configuration of
`benchmarks/throughput.py`, into:

- TensorFlow: Python tracing of the train step into a graph
  (`tf.function(...).get_concrete_function`), then the first call of the
  concrete function (function instantiation, grappler graph optimisation,
  and the first execution with its one-off kernel and buffer set-up), the
  second call and the steady-state step. Each variant runs in a fresh
  process: grappler as configured by default, and grappler switched off
  (`disable_meta_optimizer`, only to measure what it costs at the first
  call and what it saves at every later one). A last variant times the
  real Keras path (`train_on_batch`) and counts its traces (a retrace
  would show as a count above 1).
- JAX (`--backend=jax`): the Keras path's first and later steps, with the
  first call split by JAX's own compile-duration events (tracing to a
  jaxpr, lowering to StableHLO, XLA compilation; the rest of the first
  call is its execution).

Usage (from the repository root):

    python benchmarks/first_step.py --config=s --backend=tensorflow
    python benchmarks/first_step.py --config=s --backend=jax
    python benchmarks/first_step.py --quick

Prints a Markdown table (and writes JSON with `--json_output`). Compare ratios
from one run: on a shared machine the seconds move with the load, which
the table reports.
"""

import json
import sys
import time

from absl import app
from absl import flags

from benchmarks import throughput

TF_VARIANTS = ("grappler_default", "grappler_off", "keras_train_on_batch")
JAX_VARIANTS = ("keras_train_on_batch",)

# --config, --backend (the first one listed), --quick, --repeats and
# --result_file are the flags of benchmarks/throughput.py, defined on import.
_OUTPUT = flags.DEFINE_string("json_output", None, "Optional JSON output file.")
_VARIANT = flags.DEFINE_string(
    "variant", None, "Internal: run one variant in this process."
)


def build_trainer(config):
    """The training set-up of `throughput.measure_train`, and a batch."""
    import keras

    from vqct_keras.models.patch_discriminator import PatchDiscriminator
    from vqct_keras.trainers.vqgan_trainer import VQGANTrainer

    keras.utils.set_random_seed(0)
    tokenizer = throughput.build_tokenizer(config)
    discriminator = PatchDiscriminator(
        ndf=config["ndf"], n_layers=config["n_layers"], name="discriminator"
    )
    size = config["image_size"]
    discriminator.build((None, size, size, 3))
    lpips, _ = throughput.perceptual_loss()
    trainer = VQGANTrainer(
        tokenizer, discriminator, perceptual_loss=lpips, disc_start=0
    )
    trainer.compile(
        keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9),
        keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9),
    )
    images = throughput.random_images(config, config["batch_size"])
    return trainer, images


def _seconds(fn):
    start = time.perf_counter()
    throughput._block(fn())
    return time.perf_counter() - start


def measure_tensorflow_phases(config, repeats, grappler):
    """Trace, first call, second call and steady step of the train step."""
    import tensorflow as tf

    if not grappler:
        tf.config.optimizer.set_experimental_options(
            {"disable_meta_optimizer": True}
        )
    start = time.perf_counter()
    trainer, images = build_trainer(config)
    results = {"build_s": time.perf_counter() - start}
    # Variables of the optimizers are created here, eagerly, as Keras does
    # before its first traced step.
    start = time.perf_counter()
    trainer.g_optimizer.build(trainer.tokenizer.trainable_variables)
    trainer.d_optimizer.build(trainer.discriminator.trainable_variables)
    results["optimizer_build_s"] = time.perf_counter() - start
    step = tf.function(trainer.train_step, reduce_retracing=True)
    batch = (tf.constant(images),)
    start = time.perf_counter()
    concrete = step.get_concrete_function(batch)
    results["trace_s"] = time.perf_counter() - start
    results["graph_nodes"] = len(concrete.graph.as_graph_def().node)
    results["first_call_s"] = _seconds(lambda: step(batch))
    results["second_call_s"] = _seconds(lambda: step(batch))
    results["steady_step_s"] = throughput.timed(lambda: step(batch), repeats)
    results["tracing_count"] = int(step.experimental_get_tracing_count())
    results["first_call_extra_s"] = (
        results["first_call_s"] - results["steady_step_s"]
    )
    results["peak_rss_gib"] = throughput.peak_rss_gib()
    return results


def _jax_compile_listener():
    """Seconds per JAX compile phase (tracing, lowering, XLA), summed."""
    import jax

    durations = {}

    def listener(event, seconds, **kwargs):
        durations[event] = durations.get(event, 0.0) + seconds

    jax.monitoring.register_event_duration_secs_listener(listener)
    return durations


JAX_EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "jax_trace_s",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "jax_lower_s",
    "/jax/core/compile/backend_compile_duration": "jax_xla_compile_s",
}


def measure_keras_path(config, repeats):
    """`train_on_batch` as a training process runs it, with its traces."""
    import keras

    durations = None
    if keras.backend.backend() == "jax":
        durations = _jax_compile_listener()
    start = time.perf_counter()
    trainer, images = build_trainer(config)
    results = {"build_s": time.perf_counter() - start}
    # Count the Python calls of the train step: one per trace (TF and JAX
    # call it only while tracing), so a count above 1 is a retrace.
    traces = []
    train_step = trainer.train_step

    def counted(*args):
        traces.append(1)
        return train_step(*args)

    trainer.train_step = counted
    build = getattr(trainer, "_maybe_symbolic_build", None)
    if build is not None:
        start = time.perf_counter()
        build(data_batch=(images, None, None))
        results["symbolic_build_s"] = time.perf_counter() - start
    if durations is not None:
        durations.clear()
    results["first_call_s"] = _seconds(
        lambda: trainer.train_on_batch(images, return_dict=True)
    )
    if durations is not None:
        for event, key in JAX_EVENTS.items():
            results[key] = durations.get(event, 0.0)
    results["second_call_s"] = _seconds(
        lambda: trainer.train_on_batch(images, return_dict=True)
    )
    results["steady_step_s"] = throughput.timed(
        lambda: trainer.train_on_batch(images, return_dict=True), repeats
    )
    results["first_call_extra_s"] = (
        results["first_call_s"] - results["steady_step_s"]
    )
    results["tracing_count"] = len(traces)
    results["peak_rss_gib"] = throughput.peak_rss_gib()
    return results


def run_variant(variant, config, repeats):
    if variant == "grappler_default":
        return measure_tensorflow_phases(config, repeats, grappler=True)
    if variant == "grappler_off":
        return measure_tensorflow_phases(config, repeats, grappler=False)
    if variant == "keras_train_on_batch":
        return measure_keras_path(config, repeats)
    raise ValueError(f"Unknown variant {variant!r}.")


def run_isolated(variant, backend, config_name, quick, repeats):
    return throughput.run_script_isolated(
        __file__,
        [
            f"--variant={variant}",
            f"--backend={backend}",
            f"--config={config_name}",
            f"--repeats={repeats}",
            "--quick" if quick else "--noquick",
        ],
        backend,
        f"Variant {variant!r} on {backend}",
    )


ROWS = (
    ("build_s", "models, LPIPS, optimizers built"),
    ("optimizer_build_s", "optimizer variables created"),
    ("symbolic_build_s", "Keras symbolic build (before the step)"),
    ("trace_s", "Python tracing (get_concrete_function)"),
    ("jax_trace_s", "JAX: tracing to jaxpr (first call)"),
    ("jax_lower_s", "JAX: lowering to StableHLO (first call)"),
    ("jax_xla_compile_s", "JAX: XLA compile (first call)"),
    ("graph_nodes", "traced graph, nodes"),
    ("first_call_s", "first call"),
    ("second_call_s", "second call"),
    ("steady_step_s", "steady step (median)"),
    ("first_call_extra_s", "first call - steady step"),
    ("tracing_count", "traces after all steps"),
    ("peak_rss_gib", "peak RSS, GiB"),
)


def render_markdown(report):
    variants = list(report["results"])
    lines = [
        f"First training step, {report['backend']}, configuration "
        f"{report['config_name']}{' (quick)' if report['quick'] else ''}",
        "",
        f"Command: `{report['command']}`, {report['date']} UTC, load "
        f"average {report['load_before']} before, {report['load_after']} "
        "after.",
        "",
        "| phase | " + " | ".join(variants) + " |",
        "| --- |" + " --- |" * len(variants),
    ]
    for key, label in ROWS:
        cells = []
        for variant in variants:
            value = report["results"][variant].get(key)
            if value is None:
                cells.append("")
            elif isinstance(value, int):
                cells.append(str(value))
            else:
                cells.append(f"{value:.2f}")
        if any(cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run(backend, config_name, quick, repeats, isolate=True):
    """Every variant of `backend`, each in its own process if `isolate`."""
    repeats = repeats or (1 if quick else 5)
    variants = TF_VARIANTS if backend == "tensorflow" else JAX_VARIANTS
    if not isolate:
        # In-process (tests): the grappler switch is process-wide, so only
        # the variants that leave it as it is.
        variants = tuple(v for v in variants if v != "grappler_off")
    report = {
        "command": "python " + " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "load_before": throughput._load(),
        "backend": backend,
        "config_name": config_name,
        "quick": quick,
        "repeats": repeats,
        "results": {},
    }
    config = throughput.config_for(config_name, quick)
    for variant in variants:
        if isolate:
            result = run_isolated(variant, backend, config_name, quick, repeats)
        else:
            result = run_variant(variant, config, repeats)
        report["results"][variant] = result
    report["load_after"] = throughput._load()
    return report


def main(argv):
    from vqct_keras.utils import files

    del argv
    quick = throughput._QUICK.value
    repeats = throughput._REPEATS.value or (1 if quick else 5)
    config_name = throughput._CONFIG.value
    if _VARIANT.value:
        config = throughput.config_for(config_name, quick)
        result = run_variant(_VARIANT.value, config, repeats)
        with open(throughput._RESULT_FILE.value, "w") as f:
            json.dump(result, f)
        return
    backend = throughput._BACKEND.value[0]
    report = run(backend, config_name, quick, repeats)
    print(render_markdown(report))
    if _OUTPUT.value:
        files.write_json(_OUTPUT.value, report)


if __name__ == "__main__":
    app.run(main)
