"""The first-step breakdown runs in --quick mode and reports every phase."""

import keras

from benchmarks import first_step


def test_quick_breakdown_in_process():
    backend = keras.backend.backend()
    report = first_step.run(backend, "s", quick=True, repeats=1, isolate=False)
    results = report["results"]
    if backend == "tensorflow":
        phases = results["grappler_default"]
        assert phases["trace_s"] > 0
        assert phases["graph_nodes"] > 0
        assert phases["tracing_count"] == 1
    keras_path = results["keras_train_on_batch"]
    assert keras_path["first_call_s"] > 0
    assert keras_path["steady_step_s"] > 0
    # One trace of the train step: no retrace on the second batch.
    assert keras_path["tracing_count"] == 1
    if backend == "jax":
        assert keras_path["jax_xla_compile_s"] > 0
    text = first_step.render_markdown(report)
    assert "| phase |" in text
    assert "load average" in text
