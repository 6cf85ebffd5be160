"""Codebook and colour diagnostics of a VQCT tokenizer.

Prints, per codebook half (adjectives, nouns): the spread of the codes (mean
norm, per-dimension standard deviation, effective rank), the norms of the
encoder's latents and of the codes they are replaced by, the quantization
error relative to the latent spread, the codes in use; and, over the images,
the mean and spread of each colour channel of the originals and of the
reconstructions (a tokenizer that loses colours has reconstructions whose
per-image channel means are pulled together).

    python training/codebook_stats.py --model=runs/demo/tokenizer.keras \
        --dataset=photo_crops --image_size=32 --split=test --batches=8
    python training/codebook_stats.py --preset=vqct_tiny_32 \
        --num_groups=32                      # untrained, 32 GroupNorm groups

Without `--model` it builds the preset's untrained tokenizer with the
default prior (the codebook as the GCN first produces it).
"""

import json

from absl import app
from absl import flags

FLAGS = flags.FLAGS
COMMAND_NAME = "codebook_stats"


def define_flags():
    flags.DEFINE_string("model", None, "A saved tokenizer.keras.")
    flags.DEFINE_string("preset", "vqct_tiny_32", "Preset, without --model.")
    flags.DEFINE_integer("seed", 0, "Seed of the untrained tokenizer.")
    flags.DEFINE_integer(
        "num_groups", None, "GroupNorm groups of the untrained tokenizer."
    )
    flags.DEFINE_string("dataset", "default", "Dataset name or folder.")
    flags.DEFINE_string("split", "test", "Split.")
    flags.DEFINE_integer("image_size", None, "Image side.")
    flags.DEFINE_integer("batch_size", 32, "Images per batch.")
    flags.DEFINE_integer("batches", 8, "Batches read.")
    flags.DEFINE_string("output", None, "Also write the numbers as JSON.")
    flags.DEFINE_string(
        "data_dir", None, "tfds data folder. Default: vqct_keras assets."
    )


def effective_rank(matrix):
    """exp(entropy of the normalised singular values) (Roy & Vetterli)."""
    import numpy as np

    singular = np.linalg.svd(matrix - matrix.mean(0), compute_uv=False)
    p = singular / max(singular.sum(), 1e-12)
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def codebook_summary(codes):
    """Spread of a `(K, D)` codebook."""
    import numpy as np

    norms = np.linalg.norm(codes, axis=-1)
    return {
        "codes": int(codes.shape[0]),
        "mean_norm": float(norms.mean()),
        "dim_std": float(codes.std(0).mean()),
        "centroid_norm": float(np.linalg.norm(codes.mean(0))),
        "effective_rank": effective_rank(codes),
        "dims": int(codes.shape[1]),
    }


def half_summary(latents, quantized, indices, codes):
    """Latents `(N, D)`, their replacements and indices `(N, k)`."""
    import numpy as np

    latent_spread = latents.std(0)
    error = quantized - latents
    return {
        "latent_norm": float(np.linalg.norm(latents, axis=-1).mean()),
        "latent_dim_std": float(latent_spread.mean()),
        "latent_effective_rank": effective_rank(latents),
        "quantized_norm": float(np.linalg.norm(quantized, axis=-1).mean()),
        # Against quantized_norm: how much the top-k mean shrinks codes.
        "nearest_code_norm": float(
            np.linalg.norm(codes[indices[:, 0]], axis=-1).mean()
        ),
        "quantized_dim_std": float(quantized.std(0).mean()),
        "quantized_effective_rank": effective_rank(quantized),
        "relative_error": float(
            (error**2).sum(-1).mean() / max((latent_spread**2).sum(), 1e-12)
        ),
        "codes_used": int(np.unique(indices).size),
        "codebook": codebook_summary(codes),
    }


def colour_summary(images):
    """Per-image channel means of `(N, H, W, 3)` images in [-1, 1]."""
    means = images.mean(axis=(1, 2))
    return {
        "channel_mean": [round(float(v), 4) for v in means.mean(0)],
        "channel_mean_std_over_images": [
            round(float(v), 4) for v in means.std(0)
        ],
        "saturation": float(
            (images - images.mean(-1, keepdims=True)).std()  # chroma spread
        ),
    }


def mean_psnr(originals, outputs):
    """Mean per-image PSNR (dB) of images in [-1, 1]."""
    import numpy as np

    mse = ((outputs - originals) ** 2).mean(axis=(1, 2, 3)) / 4.0
    return float((10 * np.log10(1.0 / np.maximum(mse, 1e-10))).mean())


def main(argv):
    del argv
    import numpy as np

    from vqct_keras.data import load_dataset
    from vqct_keras.models.input_contract import resolve_image_size

    if FLAGS.model:
        from training import cli_utils

        tokenizer = cli_utils.load_model_flag(FLAGS.model)
    else:
        from vqct_keras.models.vqct_presets import build_tokenizer
        from vqct_keras.prior.default_prior import load_default_prior

        overrides = {}
        if FLAGS.num_groups:
            overrides["num_groups"] = FLAGS.num_groups
        tokenizer = build_tokenizer(
            FLAGS.preset,
            prior=load_default_prior(),
            seed=FLAGS.seed,
            **overrides,
        )
    quantizer = tokenizer.quantizer
    size = resolve_image_size(FLAGS.image_size, tokenizer)
    data = load_dataset(
        FLAGS.dataset,
        split=FLAGS.split,
        image_size=size,
        batch_size=FLAGS.batch_size,
        shuffle=False,
        data_dir=FLAGS.data_dir,
    )
    latents, quantized, indices, originals = [], [], [], []
    outputs, unquantized = [], []
    for batch in data.take(FLAGS.batches):
        images = batch.numpy()
        z = tokenizer.quant_conv(tokenizer.encoder(images, training=False))
        out = quantizer(z, training=False)
        latents.append(np.asarray(z).reshape(-1, z.shape[-1]))
        quantized.append(np.asarray(out["quantized"]).reshape(-1, z.shape[-1]))
        indices.append(
            np.asarray(out["indices"]).reshape(-1, out["indices"].shape[-1])
        )
        originals.append(images)
        outputs.append(np.asarray(tokenizer.decode(out["quantized"])))
        # The decoder fed the encoder's latents as they are (no codebook).
        unquantized.append(np.asarray(tokenizer.decode(z)))
    latents = np.concatenate(latents)
    quantized = np.concatenate(quantized)
    indices = np.concatenate(indices)
    originals = np.concatenate(originals)
    outputs = np.clip(np.concatenate(outputs), -1, 1)
    unquantized = np.clip(np.concatenate(unquantized), -1, 1)
    results = {"images": int(len(originals))}
    # One summary per codebook ("adjectives", "nouns" for VQCT): the
    # latent channels it codes and the index slots that point into it.
    for number, codes in enumerate(quantizer.codebooks()):
        start, stop = quantizer.codebook_channels[number]
        slots = [
            slot
            for slot, codebook in enumerate(quantizer.slot_codebooks)
            if codebook == number
        ]
        results[f"{quantizer.codebook_names[number]}s"] = half_summary(
            latents[:, start:stop],
            quantized[:, start:stop],
            indices[:, slots],
            np.asarray(codes),
        )
    results["originals"] = colour_summary(originals)
    results["reconstructions"] = colour_summary(outputs)
    results["unquantized_reconstructions"] = colour_summary(unquantized)
    results["psnr"] = mean_psnr(originals, outputs)
    results["psnr_unquantized"] = mean_psnr(originals, unquantized)
    text = json.dumps(results, indent=2)
    print(text)
    if FLAGS.output:
        with open(FLAGS.output, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    define_flags()
    app.run(main)
