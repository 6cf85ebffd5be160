"""Flags of `training/train.py` (absl). Presets live in `training/configs/`."""

from absl import flags

from training import cli_utils
from training import keras_free
from training.strategy import STRATEGIES

# Integer architecture fields that --architecture may override.
ARCHITECTURE_KEYS = (
    "ch",
    "num_res_blocks",
    "z_channels",
    "embed_dim",
    "num_groups",
)

# The `ProtocolFlags` of --eval_*, set by `define_flags`.
EVAL_PROTOCOL = None


def define_flags():
    """Define every flag of the training CLI (call once, under __main__)."""
    global EVAL_PROTOCOL
    cli_utils.define_output_dir_flag()
    # Data.
    cli_utils.define_dataset_flag()
    flags.DEFINE_string("train_split", "train", "Training split.")
    # --eval_split, --eval_jpeg_quality, --eval_max_images,
    # --eval_fid_protocol: the evaluation protocol (held-out scores every
    # epoch, best checkpoint, final metrics), as evaluate.py's.
    EVAL_PROTOCOL = cli_utils.define_protocol_flags("eval_")
    flags.DEFINE_integer(
        "image_size", None, "Image side; defaults to the preset's resolution."
    )
    flags.DEFINE_integer("batch_size", 16, "Global batch size.", lower_bound=1)
    # Model.
    flags.DEFINE_string("preset", "vqct_tiny_32", "Architecture preset.")
    flags.DEFINE_list(
        "architecture",
        None,
        "Override integer fields of the preset, e.g. ch=32,z_channels=32 "
        f"(keys: {', '.join(ARCHITECTURE_KEYS)}); for quick checks.",
    )
    flags.DEFINE_enum(
        "quantizer",
        "part_of_speech",
        keras_free.quantizer_names(),
        "VQCT's part-of-speech quantizer, the VQGAN baseline ('vector'), "
        "or another registered quantizer (docs/quantizers.md).",
    )
    flags.DEFINE_integer(
        "num_codes",
        1024,
        "Codebook size of 'vector' (per stage for 'residual_vector').",
    )
    flags.DEFINE_string(
        "prior",
        None,
        "Codebook prior .npz (training/build_prior.py); defaults to the "
        "MiniLM prior that scripts/setup.sh builds.",
    )
    flags.DEFINE_enum(
        "transfer",
        "gcn",
        ["gcn", "mlp", "frozen", "learned"],
        "Codebook transfer network (ablations).",
    )
    flags.DEFINE_integer("top_k", 2, "Adjective codes averaged per position.")
    flags.DEFINE_float("codebook_dropout", 0.5, "Dropout inside the GCN.")
    flags.DEFINE_integer("disc_ndf", 64, "Discriminator base filters.")
    flags.DEFINE_integer("disc_layers", 3, "Discriminator stride-2 layers.")
    # Losses.
    flags.DEFINE_float("perceptual_weight", 1.0, "LPIPS weight; 0 disables.")
    flags.DEFINE_float("codebook_weight", 1.0, "Quantizer loss weight.")
    flags.DEFINE_float("disc_weight", 0.8, "Adaptive GAN weight factor.")
    flags.DEFINE_integer(
        "disc_start",
        5000,
        "First step with GAN losses. The official config's 10000 counts "
        "both optimizers' steps (PyTorch Lightning 1.6), i.e. 5000 of ours.",
    )
    flags.DEFINE_bool(
        "recompute_reconstruction",
        True,
        "Recompute x_hat with the updated autoencoder for the discriminator "
        "step (official); false reuses the generator step's (faster).",
    )
    # Optimisation.
    flags.DEFINE_float("base_learning_rate", 4.5e-6, "Per-image learning rate.")
    flags.DEFINE_float(
        "learning_rate",
        None,
        "Learning rate; defaults to base_learning_rate x global batch size, "
        "as the official code.",
    )
    flags.DEFINE_float(
        "adam_epsilon",
        1e-8,
        "Adam epsilon of both optimizers (PyTorch's default, which the "
        "official code keeps; Keras' default is 1e-7).",
    )
    flags.DEFINE_integer(
        "epochs",
        None,
        "Training length in passes over the training split (the official "
        "length); steps = epochs x floor(split size / batch size).",
        lower_bound=1,
    )
    flags.DEFINE_integer(
        "steps",
        None,
        "Training length in steps; wins over --epochs when both are set.",
        lower_bound=1,
    )
    flags.DEFINE_integer(
        "steps_per_epoch",
        None,
        "Steps between checkpoints, held-out scores, pictures and log "
        "lines. Default: one pass over the training split (the official "
        "validation and checkpoint period).",
    )
    flags.DEFINE_enum(
        "mixed_precision",
        "float32",
        ["float32", "mixed_bfloat16", "mixed_float16"],
        "Encoder/decoder precision; the quantizer stays float32.",
    )
    flags.DEFINE_enum(
        "distribution", "auto", list(STRATEGIES), "Distribution strategy."
    )
    flags.DEFINE_list(
        "devices",
        None,
        "Devices for --distribution=mirrored, e.g. CPU:0,CPU:1.",
    )
    flags.DEFINE_integer(
        "logical_cpus",
        0,
        "Split the CPU into this many logical devices (TensorFlow) or host "
        "devices (JAX) so that distributed training can run on a CPU-only "
        "machine, e.g. --logical_cpus=2 --distribution=mirrored.",
    )
    flags.DEFINE_integer("seed", 0, "Random seed.")
    flags.DEFINE_integer(
        "eval_batch_size", 16, "Batch size of every held-out evaluation."
    )
    flags.DEFINE_integer(
        "epoch_eval_batches",
        4,
        "Held-out batches (of --eval_batch_size, from --eval_split) scored "
        "every epoch: reconstruction loss (L1 + perceptual_weight x LPIPS, "
        "the official val/rec_loss, which picks tokenizer_best.keras), "
        "PSNR, SSIM, usage. 0: the whole split (official).",
    )
    flags.DEFINE_enum(
        "evaluate_checkpoint",
        "best",
        ["best", "last"],
        "The tokenizer scored at the end: the one with the lowest held-out "
        "reconstruction loss (tokenizer_best.keras) or the last weights "
        "(tokenizer.keras).",
    )
    flags.DEFINE_bool("resume", True, "Continue from output_dir's checkpoint.")
    flags.DEFINE_bool(
        "overwrite",
        False,
        "With --noresume on a folder that holds a run: move that run aside "
        "to <output_dir>.replaced-<stamp>/ and start afresh.",
    )
    flags.DEFINE_integer(
        "verbose",
        None,
        "Keras progress: 0 (none), 1 (a bar with the losses, every step), 2 "
        "(one line per epoch). Default: 1 on a terminal, 2 in a log or pipe.",
    )
