"""Throughput of VQCT training and tokenization, per Keras backend.

Measures, for one configuration:

- the training step (both players: autoencoder and discriminator, LPIPS,
  the GAN loss and the adaptive weight on from step 0), in images/s, and
  the time of the first step (tracing and compilation included);
- `encode_to_indices` and `decode_from_indices`, the public methods
  themselves, in images/s, and the time of their first call;
- the quantizer forward pass (codebook recomputed, as in training), the GCN
  alone, and the inference codebook lookup (cache check);
- peak resident memory (`ru_maxrss`) of each measurement's own process;
- analytic FLOPs per image, and the achieved FLOP/s as a fraction of a
  dense float32 matmul measured in the same run.

Each measurement runs in a fresh Python process (`--isolate`, the default)
with `KERAS_BACKEND` set to each backend of `--backend` in turn, so that
memory and first-call figures are those of a process that did only that.
Results go to `<output_dir>/throughput.md` (a Markdown table, beside the
official PyTorch figures quoted with their date) and `throughput.json`.

Usage (from the repository root):

    python benchmarks/throughput.py --config=s
    python benchmarks/throughput.py --config=s --backend=jax
    python benchmarks/throughput.py --quick --output_dir=/tmp/bench

`--quick` uses a tiny configuration and few repetitions: it checks that the
script runs, and its numbers mean nothing.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

from benchmarks import machine
from training import keras_free

# Figures of the official PyTorch VQCT code at configuration S, measured by
# a previous session on the same 2-core machine (torch 2.13 CPU, 2 threads,
# eager float32, medians of 3 interleaved runs), 2026-12.
OFFICIAL = {
    "date": "2026-12",
    "setup": (
        "official PyTorch VQCT code, torch 2.13 CPU, 2 threads, eager "
        "float32, same 2-core machine, medians of 3 interleaved runs"
    ),
    "figures": {
        "train_images_per_s": 3.57,
        "encode_b8_images_per_s": 45.0,
        "encode_b64_images_per_s": 56.4,
        "quantizer_forward_ms": 94.0,
        "gcn_ms": 82.0,
        "train_first_step_s": 2.4,
        "train_peak_rss_gib": 1.42,
    },
}


def preset_architecture(name):
    """A tokenizer preset's architecture in this script's terms, read
    without importing Keras (the measurements run in child processes)."""
    config = keras_free.preset_config(name)
    return dict(image_size=config.pop("resolution"), **config)


# The configuration "S" and --quick's (every code path, tiny
# sizes), setting by setting.
_S_AND_QUICK = {
    # setting: (s, quick)
    "image_size": (64, 16),
    "batch_size": (8, 2),
    "ch": (64, 16),
    "ch_mult": ((1, 2, 2, 4), (1, 2)),
    "num_res_blocks": (1, 1),
    "attn_resolutions": ((8,), (8,)),
    "z_channels": (128, 8),
    "embed_dim": (128, 8),
    "ndf": (32, 8),
    "n_layers": (2, 2),
    "num_adjectives": (1949, 12),
    "num_nouns": (4258, 20),
    "prior_dim": (512, 16),
    "num_edges": (50000, 40),
    "top_k": (2, 2),
    "encode_batches": ((8, 64), (2,)),
    "decode_batches": ((8,), (2,)),
}


def _configuration(column):
    """Column `column` of `_S_AND_QUICK` (0: s, 1: quick)."""
    return {setting: values[column] for setting, values in _S_AND_QUICK.items()}


CONFIGS = {
    "s": _configuration(0),
    # The paper's f16 tokenizer at 256 px (the preset vqct_f16_256, taming
    # PatchGAN defaults), with S's prior and top_k (the paper's).
    "paper": dict(
        _configuration(0),
        **preset_architecture("vqct_f16_256"),
        batch_size=2,
        ndf=64,
        n_layers=3,
        encode_batches=(2, 8),
        decode_batches=(2,),
    ),
    "quick": _configuration(1),
}

MEASUREMENTS = ("matmul", "train", "encode", "decode", "quantizer")

# (key, label, unit, official key or None, higher is better)
ROWS = (
    (
        "train_images_per_s",
        "training step (both players)",
        "images/s",
        "train_images_per_s",
        True,
    ),
    (
        "train_first_step_s",
        "first training step (tracing)",
        "s",
        "train_first_step_s",
        False,
    ),
    (
        "train_peak_rss_gib",
        "peak memory, training process",
        "GiB",
        "train_peak_rss_gib",
        False,
    ),
    (
        "encode_b{small}_images_per_s",
        "encode_to_indices, batch {small}",
        "images/s",
        "encode_b8_images_per_s",
        True,
    ),
    (
        "encode_b{large}_images_per_s",
        "encode_to_indices, batch {large}",
        "images/s",
        "encode_b64_images_per_s",
        True,
    ),
    ("encode_first_call_s", "encode_to_indices, first call", "s", None, False),
    (
        "encode_peak_rss_gib",
        "peak memory, encoding process",
        "GiB",
        None,
        False,
    ),
    (
        "decode_b{small}_images_per_s",
        "decode_from_indices, batch {small}",
        "images/s",
        None,
        True,
    ),
    (
        "quantizer_forward_ms",
        "quantizer forward (codebook recomputed)",
        "ms",
        "quantizer_forward_ms",
        False,
    ),
    ("gcn_ms", "GCN alone", "ms", "gcn_ms", False),
    (
        "codebook_cache_hit_ms",
        "inference codebook, cached (check only)",
        "ms",
        None,
        False,
    ),
    ("matmul_gflops", "dense float32 matmul", "GFLOP/s", None, True),
    (
        "train_gflop_per_image",
        "training step FLOPs per image (analytic)",
        "GFLOP",
        None,
        None,
    ),
    (
        "train_matmul_fraction",
        "training step FLOP/s / matmul FLOP/s",
        "",
        None,
        True,
    ),
    (
        "encode_gflop_per_image",
        "encode FLOPs per image (analytic)",
        "GFLOP",
        None,
        None,
    ),
    ("encode_matmul_fraction", "encode FLOP/s / matmul FLOP/s", "", None, True),
)

_CONFIG = flags.DEFINE_enum(
    "config",
    "s",
    ["s", "paper"],
    "Model configuration: the issue's S or the paper's f16 at 256 px.",
)
_BACKEND = flags.DEFINE_list(
    "backend",
    ["tensorflow", "jax"],
    "Keras backends to measure, each in its own processes (KERAS_BACKEND).",
)
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", "docs/results", "Folder for throughput.md and .json."
)
_QUICK = flags.DEFINE_boolean(
    "quick", False, "Tiny configuration, few repetitions (a smoke test)."
)
_ISOLATE = flags.DEFINE_boolean(
    "isolate",
    True,
    "Run each measurement in a fresh process (peak memory "
    "and first-call time of that measurement alone). With --noisolate "
    "everything runs in this process, on the current backend only.",
)
_REPEATS = flags.DEFINE_integer(
    "repeats",
    None,
    "Timed repetitions per figure (median). Defaults to 7, or 2 with --quick.",
)
_MEASURE = flags.DEFINE_enum(
    "measure",
    None,
    list(MEASUREMENTS),
    "Internal: run one measurement in "
    "this process and write it to --result_file.",
)
_RESULT_FILE = flags.DEFINE_string(
    "result_file", None, "Internal: where --measure writes its JSON."
)


# === Set-up ===


def config_for(name, quick):
    return dict(CONFIGS["quick" if quick else name])


def synthetic_prior(config, seed=0):
    """A random prior of the configured shape (adjective-noun edges)."""
    import numpy as np

    from vqct_keras.prior.codebook_prior import CodebookPrior

    rng = np.random.default_rng(seed)
    adjectives = config["num_adjectives"]
    nouns = config["num_nouns"]
    vectors = rng.normal(size=(adjectives + nouns, config["prior_dim"]))
    edges = np.stack(
        [
            rng.integers(0, adjectives, config["num_edges"]),
            adjectives + rng.integers(0, nouns, config["num_edges"]),
        ],
        axis=1,
    )
    return CodebookPrior(
        adjectives=[f"adjective{i}" for i in range(adjectives)],
        nouns=[f"noun{i}" for i in range(nouns)],
        vectors=vectors.astype("float32"),
        edges=edges,
    )


def build_tokenizer(config):
    from vqct_keras.layers.part_of_speech_quantizer import PartOfSpeechQuantizer
    from vqct_keras.models.vqct_tokenizer import VQCTTokenizer

    quantizer = PartOfSpeechQuantizer.from_prior(
        synthetic_prior(config),
        embed_dim=config["embed_dim"],
        top_k=config["top_k"],
        dtype="float32",
        name="quantizer",
        seed=0,
    )
    tokenizer = VQCTTokenizer(
        quantizer,
        resolution=config["image_size"],
        ch=config["ch"],
        ch_mult=config["ch_mult"],
        num_res_blocks=config["num_res_blocks"],
        attn_resolutions=config["attn_resolutions"],
        z_channels=config["z_channels"],
        num_groups=config.get("num_groups", min(32, config["ch"])),
        name="vqct_tokenizer",
    )
    tokenizer.build()
    return tokenizer


def perceptual_loss():
    """The real LPIPS when its weights are installed, else random weights."""
    from vqct_keras.metrics.lpips import LPIPS
    from vqct_keras.metrics.weights import MissingWeightsError

    try:
        return LPIPS(), True
    except MissingWeightsError:
        return LPIPS(pretrained=False), False


def random_images(config, batch_size, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    size = config["image_size"]
    return rng.uniform(-1, 1, (batch_size, size, size, 3)).astype("float32")


def timed(fn, repeats):
    """Median seconds of `repeats` calls (results synchronised to host)."""
    import numpy as np

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _block(fn())
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _block(value):
    import keras

    for leaf in keras.tree.flatten(value):
        if hasattr(leaf, "block_until_ready"):
            leaf.block_until_ready()
        elif hasattr(leaf, "numpy"):
            leaf.numpy()
    return value


def peak_rss_gib():
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def current_rss_gib():
    """Resident memory now (Linux `VmRSS`), or the peak elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return peak_rss_gib()


# === Analytic FLOPs ===


def _conv_flops(layer, input_shape):
    output_shape = layer.compute_output_shape(input_shape)
    kernel = tuple(layer.kernel.shape)
    multiply_adds = 1
    for size in kernel:
        multiply_adds *= size
    return 2 * multiply_adds * output_shape[1] * output_shape[2]


def forward_flops(model, image_shape):
    """FLOPs of one forward pass of one image through `model`.

    Counts every `Conv2D` (2 FLOPs per multiply-add, from its kernel and
    its output size) and the two attention matmuls of every
    `AttentionBlock2D`, by recording the input shapes of one eager call.
    Normalisations, activations and additions are left out (a few %).
    """
    import keras
    import numpy as np

    from vqct_keras.layers.attention_block import AttentionBlock2D

    records = []
    conv_call = keras.layers.Conv2D.call
    attention_call = AttentionBlock2D.call

    def counting_conv(self, inputs):
        records.append(_conv_flops(self, tuple(inputs.shape)))
        return conv_call(self, inputs)

    def counting_attention(self, inputs):
        _, height, width, channels = tuple(inputs.shape)
        records.append(2 * 2 * (height * width) ** 2 * channels)
        return attention_call(self, inputs)

    keras.layers.Conv2D.call = counting_conv
    AttentionBlock2D.call = counting_attention
    try:
        model(np.zeros((1,) + tuple(image_shape), "float32"), training=False)
    finally:
        keras.layers.Conv2D.call = conv_call
        AttentionBlock2D.call = attention_call
    return float(sum(records))


def lpips_flops(image_size):
    """FLOPs of LPIPS' VGG16 stack on one image (convolutions only)."""
    from vqct_keras.metrics.lpips import _VGG16_LAYERS

    flops, size, channels = 0, image_size, 3
    for name, filters in _VGG16_LAYERS:
        if name == "pool":
            size //= 2
            continue
        flops += 2 * 9 * channels * filters * size * size
        channels = filters
    return float(flops)


def quantizer_flops(config, batch_size):
    """FLOPs of the codebook (GCN) and the nearest-code search per step."""
    codes = config["num_adjectives"] + config["num_nouns"]
    dim = config["embed_dim"]
    edges = 2 * config["num_edges"] + codes  # both directions + self loops
    gcn = 2 * codes * config["prior_dim"] * dim + 2 * codes * dim * dim
    gcn += 2 * 2 * edges * dim
    grid = config["image_size"] // 2 ** (len(config["ch_mult"]) - 1)
    search = 2 * batch_size * grid * grid * codes * dim
    return float(gcn), float(search)


def training_flops(tokenizer, discriminator, config):
    """Analytic FLOPs per image of one training step (both players).

    Forward = 1, backward = 2 (input and weight gradients) or 1 (input
    gradients only, e.g. through the frozen LPIPS network):
    autoencoder forward + backward (3), the discriminator's second forward
    of the autoencoder (`recompute_reconstruction`, 1); LPIPS forward of
    both images and backward to the reconstruction (3), plus one more
    backward for the adaptive weight's perceptual gradient (1); the
    discriminator on the reconstruction with a backward to its input in
    the autoencoder update (2) plus one more backward for the adaptive
    weight (1), and on both batches with full backward in its own update
    (6). The GCN (forward + backward) is spread over the batch.
    """
    shape = (config["image_size"], config["image_size"], 3)
    tokenizer_forward = forward_flops(tokenizer, shape)
    discriminator_forward = forward_flops(discriminator, shape)
    lpips = lpips_flops(config["image_size"])
    gcn, search = quantizer_flops(config, config["batch_size"])
    per_image_quantizer = (3 * gcn + 3 * search) / config["batch_size"]
    parts = {
        "tokenizer_forward": tokenizer_forward / 1e9,
        "lpips_forward": lpips / 1e9,
        "discriminator_forward": discriminator_forward / 1e9,
        "gcn_per_step": gcn / 1e9,
        "code_search_per_step": search / 1e9,
    }
    return (
        4 * tokenizer_forward
        + 4 * lpips
        + 9 * discriminator_forward
        + per_image_quantizer
    ), parts


# === Measurements (each runs in its own process) ===


def measure_matmul(config, repeats):
    import keras
    import numpy as np
    from keras import ops

    size = 1024
    a = ops.convert_to_tensor(np.random.rand(size, size).astype("float32"))
    b = ops.convert_to_tensor(np.random.rand(size, size).astype("float32"))
    chain = 8

    def chained(x, y):
        for _ in range(chain):
            x = ops.matmul(x, y) * (1.0 / size)
        return x

    # The operands are arguments, not captured constants (XLA would fold
    # a product of constants at compile time).
    if keras.backend.backend() == "jax":
        import jax

        compiled = jax.jit(chained)
    else:
        import tensorflow as tf

        compiled = tf.function(chained)

    def product():
        return compiled(a, b)

    _block(product())
    seconds = timed(product, repeats)
    return {
        "matmul_gflops": 2 * size**3 * chain / seconds / 1e9,
        "matmul_peak_rss_gib": peak_rss_gib(),
    }


def measure_train(config, repeats):
    import keras

    from vqct_keras.models.patch_discriminator import PatchDiscriminator
    from vqct_keras.trainers.vqgan_trainer import VQGANTrainer

    memory = {"imports": current_rss_gib()}
    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    tokenizer = build_tokenizer(config)
    discriminator = PatchDiscriminator(
        ndf=config["ndf"], n_layers=config["n_layers"], name="discriminator"
    )
    size = config["image_size"]
    discriminator.build((None, size, size, 3))
    memory["models"] = current_rss_gib()
    lpips, pretrained = perceptual_loss()
    memory["lpips"] = current_rss_gib()
    trainer = VQGANTrainer(
        tokenizer,
        discriminator,
        perceptual_loss=lpips,
        disc_start=0,
    )
    trainer.compile(
        keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9),
        keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9),
    )
    build_seconds = time.perf_counter() - start
    memory["optimizers"] = current_rss_gib()
    images = random_images(config, config["batch_size"])
    start = time.perf_counter()
    logs = trainer.train_on_batch(images, return_dict=True)
    first_step = time.perf_counter() - start
    memory["first_step"] = current_rss_gib()
    memory["first_step_peak"] = peak_rss_gib()
    trainer.train_on_batch(images)
    step = timed(lambda: trainer.train_on_batch(images), repeats)
    memory["steps"] = current_rss_gib()
    flops, flop_parts = training_flops(tokenizer, discriminator, config)
    return {
        "train_images_per_s": config["batch_size"] / step,
        "train_step_s": step,
        "train_first_step_s": first_step,
        "train_build_s": build_seconds,
        "train_peak_rss_gib": peak_rss_gib(),
        "train_gflop_per_image": flops / 1e9,
        "train_gflop_parts": flop_parts,
        "train_lpips_pretrained": pretrained,
        "train_d_weight": float(logs["d_weight"]),
        "train_rss_stages_gib": memory,
        "tokenizer_parameters": int(tokenizer.count_params()),
        "discriminator_parameters": int(discriminator.count_params()),
    }


def per_batch_throughput(name, batch_sizes, call_for, repeats):
    """`{name}_first_call_s` (of the first batch size) and
    `{name}_b{batch_size}_images_per_s` of the calls that
    `call_for(index, batch_size)` returns (a fresh call per batch size)."""
    results = {}
    for index, batch_size in enumerate(batch_sizes):
        call = call_for(index, batch_size)
        start = time.perf_counter()
        _block(call())
        if index == 0:
            results[f"{name}_first_call_s"] = time.perf_counter() - start
        seconds = timed(call, repeats)
        results[f"{name}_b{batch_size}_images_per_s"] = batch_size / seconds
    return results


def measure_encode(config, repeats):
    tokenizer = build_tokenizer(config)

    def encode(index, batch_size):
        images = random_images(config, batch_size, seed=index)
        return lambda: tokenizer.encode_to_indices(images)

    results = per_batch_throughput(
        "encode", config["encode_batches"], encode, repeats
    )
    shape = (config["image_size"], config["image_size"], 3)
    _, search = quantizer_flops(config, 1)
    encoder_only = _encoder_flops(tokenizer, shape)
    results["encode_gflop_per_image"] = (encoder_only + search) / 1e9
    results["encode_peak_rss_gib"] = peak_rss_gib()
    return results


def _encoder_flops(tokenizer, shape):
    class Encode:
        def __call__(self, images, training=False):
            return tokenizer.quant_conv(tokenizer.encoder(images))

    return forward_flops(Encode(), shape)


def measure_decode(config, repeats):
    import numpy as np

    tokenizer = build_tokenizer(config)

    def decode(index, batch_size):
        indices = np.asarray(
            tokenizer.encode_to_indices(random_images(config, batch_size))
        )
        return lambda: tokenizer.decode_from_indices(indices)

    results = per_batch_throughput(
        "decode", config["decode_batches"], decode, repeats
    )
    results["decode_peak_rss_gib"] = peak_rss_gib()
    return results


def measure_quantizer(config, repeats):
    import keras
    import numpy as np

    tokenizer = build_tokenizer(config)
    quantizer = tokenizer.quantizer
    codebook = quantizer.transferred_codebook
    grid = config["image_size"] // tokenizer.downsampling_factor
    latents = np.random.default_rng(0).normal(
        size=(config["batch_size"], grid, grid, quantizer.latent_channels)
    )
    latents = latents.astype("float32")

    def forward():
        return quantizer(latents, training=False)["indices"]

    def gcn():
        return codebook.codebook(training=False)

    if keras.backend.backend() == "jax":
        import jax

        forward = _jax_stateless(quantizer, forward, jax)
        gcn = _jax_stateless(codebook, gcn, jax)
    else:
        import tensorflow as tf

        forward, gcn = tf.function(forward), tf.function(gcn)
    _block(forward())
    _block(gcn())
    results = {
        "quantizer_forward_ms": 1e3 * timed(forward, repeats),
        "gcn_ms": 1e3 * timed(gcn, repeats),
    }
    cached = getattr(quantizer, "inference_codebooks", None)
    if cached is not None:
        _block(cached())
        results["codebook_cache_hit_ms"] = 1e3 * timed(cached, repeats)
    results["quantizer_peak_rss_gib"] = peak_rss_gib()
    return results


def _jax_stateless(layer, fn, jax):
    """`fn` jitted with the layer's variables as arguments (not constants)."""
    import keras

    variables = list(layer.variables)

    @jax.jit
    def jitted(values):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return fn()

    def call():
        return jitted([v.value for v in variables])

    return call


MEASURE_FUNCTIONS = {
    "matmul": measure_matmul,
    "train": measure_train,
    "encode": measure_encode,
    "decode": measure_decode,
    "quantizer": measure_quantizer,
}


# === Orchestration ===


def run_measurement(name, backend, config_name, quick, repeats, isolate):
    """One measurement's results, from a fresh process when `isolate`."""
    if not isolate:
        config = config_for(config_name, quick)
        return MEASURE_FUNCTIONS[name](config, repeats)
    return run_script_isolated(
        __file__,
        [
            f"--measure={name}",
            f"--config={config_name}",
            f"--repeats={repeats}",
            "--quick" if quick else "--noquick",
        ],
        backend,
        f"Measurement {name!r} on {backend}",
    )


def run_script_isolated(script, arguments, backend, what):
    """Runs `script` in a fresh process on `backend`; its result file's JSON.

    The script is given `arguments` and a `--result_file` to write; `what`
    names the run in the error raised when the process fails.
    """
    with tempfile.TemporaryDirectory() as folder:
        result_file = os.path.join(folder, "result.json")
        command = [
            sys.executable,
            os.path.abspath(script),
            *arguments,
            f"--result_file={result_file}",
        ]
        env = dict(os.environ, KERAS_BACKEND=backend)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        completed = subprocess.run(
            command, env=env, capture_output=True, text=True
        )
        if completed.returncode:
            raise RuntimeError(f"{what} failed:\n{completed.stderr[-4000:]}")
        with open(result_file) as f:
            return json.load(f)


def add_derived(results):
    """FLOP/s fractions of the dense matmul, per backend."""
    gflops = results.get("matmul_gflops")
    if not gflops:
        return results
    if "train_gflop_per_image" in results:
        achieved = (
            results["train_gflop_per_image"] * results["train_images_per_s"]
        )
        results["train_gflops"] = achieved
        results["train_matmul_fraction"] = achieved / gflops
    small = [k for k in results if k.startswith("encode_b")]
    if "encode_gflop_per_image" in results and small:
        rate = results[sorted(small, key=_batch_of)[0]]
        achieved = results["encode_gflop_per_image"] * rate
        results["encode_gflops"] = achieved
        results["encode_matmul_fraction"] = achieved / gflops
    return results


def _batch_of(key):
    return int(key.split("_")[1][1:])


def table_rows(config):
    small = config["encode_batches"][0]
    large = config["encode_batches"][-1]
    rows = []
    for key, label, unit, official, higher in ROWS:
        key = key.format(small=small, large=large)
        label = label.format(small=small, large=large)
        if label in [row[1] for row in rows]:
            continue
        rows.append((key, label, unit, official, higher))
    return rows


def _format(value):
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def render_markdown(report):
    config = report["config"]
    backends = report["backends"]
    use_official = report["config_name"] == "s" and not report["quick"]
    lines = [
        "# Throughput",
        "",
        "Generated by `benchmarks/throughput.py`; do not edit by hand.",
        "",
        f"- command: `{report['command']}`",
        f"- date (UTC): {report['date']}",
        f"- machine: {report['machine']}",
        f"- load average before / after: {report['load_before']} / "
        f"{report['load_after']} (1, 5, 15 min)",
        f"- versions: {report['versions']}",
        f"- XLA_FLAGS: `{report['xla_flags'] or '(unset)'}`",
        f"- configuration: {report['config_name']}"
        + (" (--quick: numbers are meaningless)" if report["quick"] else "")
        + f": `{json.dumps(config, sort_keys=True)}`",
        f"- each figure is the median of {report['repeats']} runs; every "
        "measurement ran in "
        + (
            "its own fresh process (peak memory is that process's ru_maxrss)"
            if report["isolate"]
            else "one shared process (peak memory is that process's)"
        ),
        "",
    ]
    header = "| figure | unit |"
    rule = "| --- | --- |"
    if use_official:
        header += f" official PyTorch ({OFFICIAL['date']}) |"
        rule += " --- |"
    for backend in backends:
        header += f" ours, {backend} |"
        rule += " --- |"
        if use_official:
            header += " ratio |"
            rule += " --- |"
    lines += [header, rule]
    for key, label, unit, official_key, higher in table_rows(config):
        official = OFFICIAL["figures"].get(official_key)
        row = f"| {label} | {unit} |"
        if use_official:
            row += f" {_format(official)} |"
        for backend in backends:
            value = report["results"][backend].get(key)
            row += f" {_format(value)} |"
            if use_official:
                ratio = None
                if official and value:
                    ratio = value / official if higher else official / value
                row += f" {ratio:.2f}x |" if ratio is not None else " n/a |"
        lines.append(row)
    lines += [
        "",
        "Resident memory of the training process after each stage "
        "(GiB; `first_step_peak` is the peak so far):",
        "",
    ]
    for backend in backends:
        stages = report["results"][backend].get("train_rss_stages_gib", {})
        cells = ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
        lines.append(f"- {backend}: {cells}")
    parts = report["results"][backends[0]].get("train_gflop_parts", {})
    lines += [
        "",
        "Analytic GFLOP (one image unless stated): "
        + ", ".join(f"{k} {v:.3g}" for k, v in parts.items())
        + ".",
    ]
    lines += [
        "",
        "Ratios are ours / official for rates and official / ours for "
        "times and memory, so above 1 is better for us. Official figures: "
        f"{OFFICIAL['setup']}, {OFFICIAL['date']}; the figures of this "
        "run are measured by the script.",
        "",
    ]
    return "\n".join(lines)


def _load():
    try:
        return "%.2f, %.2f, %.2f" % os.getloadavg()
    except OSError:
        return "n/a"


def run(backends, config_name, quick, output_dir, repeats, isolate):
    """Measure every backend and write the Markdown and JSON reports."""
    import keras

    from vqct_keras.utils import files

    if not isolate:
        current = keras.backend.backend()
        if list(backends) != [current]:
            raise ValueError(
                f"--noisolate measures the current backend ({current}) "
                f"only; got --backend={','.join(backends)}."
            )
    repeats = repeats or (2 if quick else 7)
    config = config_for(config_name, quick)
    report = {
        "command": "python " + " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "machine": machine.machine_description(),
        "load_before": _load(),
        "versions": machine.versions(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "config_name": config_name,
        "config": config,
        "quick": quick,
        "isolate": isolate,
        "repeats": repeats,
        "backends": list(backends),
        "official": OFFICIAL,
        "results": {},
    }
    for backend in backends:
        results = {}
        for name in MEASUREMENTS:
            results.update(
                run_measurement(
                    name, backend, config_name, quick, repeats, isolate
                )
            )
        report["results"][backend] = add_derived(results)
    report["load_after"] = _load()
    os.makedirs(output_dir, exist_ok=True)
    files.write_json(os.path.join(output_dir, "throughput.json"), report)
    files.write_text(
        os.path.join(output_dir, "throughput.md"), render_markdown(report)
    )
    return report


def main(argv):
    del argv
    if _MEASURE.value:
        config = config_for(_CONFIG.value, _QUICK.value)
        results = MEASURE_FUNCTIONS[_MEASURE.value](
            config, _REPEATS.value or (2 if _QUICK.value else 7)
        )
        with open(_RESULT_FILE.value, "w") as f:
            json.dump(results, f)
        return
    run(
        _BACKEND.value,
        _CONFIG.value,
        _QUICK.value,
        _OUTPUT_DIR.value,
        _REPEATS.value,
        _ISOLATE.value,
    )


if __name__ == "__main__":
    app.run(main)
