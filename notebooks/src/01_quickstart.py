"""
Title: Quickstart: a VQCT tokenizer in five minutes
Author: vqct_keras team
Description: Load the default word prior, build the tokenizer, train it with model.fit, look at reconstructions, codebook usage and words, save and reload.
Backends: TensorFlow, JAX
Accelerator: None (a free Colab CPU: about 4 minutes at the default size)
"""

"""
## Introduction

VQCT is a VQGAN image tokenizer whose codebook is *transferred* from a language model: each
code is the vector of a vision-related word (an adjective or a noun), passed through a small
graph network. Every position of an image's code grid is therefore a readable phrase, e.g.
"dark wet road". This notebook builds the small 32 px tokenizer, trains it for a few hundred
steps with `model.fit` on the embedded data (32 px crops of natural photos), and saves it.
"""

# setup: the install cell from notebooks/make_notebooks.py

import os

QUICK = os.environ.get("VQCT_NOTEBOOK_QUICK") == "1"
STEPS = 3 if QUICK else 300
BATCH_SIZE = 4 if QUICK else 16

import keras
import matplotlib.pyplot as plt
import numpy as np

from vqct_keras.data import load_dataset
from vqct_keras.metrics import CodebookUsage
from vqct_keras.metrics import update_adjective_noun_usage
from vqct_keras.models import PatchDiscriminator
from vqct_keras.models import build_tokenizer
from vqct_keras.prior import load_default_prior
from vqct_keras.trainers import VQGANTrainer
from vqct_keras.words import word_map

keras.utils.set_random_seed(0)
print("Keras", keras.__version__, "backend:", keras.backend.backend())

"""
## Data

The embedded default dataset: 32 px RGB images, float32 in [-1, 1], installed offline by
`scripts/setup.sh`. The training pipeline shuffles and repeats forever.
"""

train = load_dataset(
    "default",
    split="train[:512]" if QUICK else "train",
    batch_size=BATCH_SIZE,
    seed=0,
    repeat=True,
    drop_remainder=True,
    shuffle_buffer_size=512 if QUICK else None,
)
test_images = np.asarray(
    next(
        iter(
            load_dataset(
                "default", split="test[:64]", batch_size=64, shuffle=False
            )
        )
    )
)
print("test batch:", test_images.shape, test_images.dtype)

"""
## The word prior and the tokenizer

The default prior holds the all-MiniLM-L6-v2 token vectors of ~2.3k adjectives and ~4.7k nouns
and an adjective-noun graph. `build_tokenizer` sizes the quantizer from it: each latent's first
half is replaced by the mean of its two nearest adjective codes, the second half by its nearest
noun code.
"""

prior = load_default_prior()
print(
    prior.num_adjectives,
    "adjectives,",
    prior.num_nouns,
    "nouns, vectors",
    prior.vectors.shape,
)
tokenizer = build_tokenizer("vqct_tiny_32", prior=prior)
print(
    "parameters:",
    tokenizer.count_params(),
    "downsampling factor:",
    tokenizer.downsampling_factor,
)

"""
## Train with `fit`

`VQGANTrainer` owns two optimizers (autoencoder and discriminator) as the official code.
"""

discriminator = PatchDiscriminator(ndf=16, n_layers=2)
discriminator.build((None, 32, 32, 3))
trainer = VQGANTrainer(
    tokenizer,
    discriminator,
    disc_start=STEPS // 2,  # the GAN terms start halfway
    recompute_reconstruction=False,  # one forward pass cheaper
)
# taming's Adam (betas 0.5, 0.9) for the autoencoder and the discriminator.
trainer.compile(
    g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9),
    d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9),
)
history = trainer.fit(train, steps_per_epoch=STEPS, epochs=1, verbose=2)
print("final L1:", round(history.history["l1"][-1], 4))

"""
## Reconstructions

Originals (top) and their reconstructions (bottom).
"""

outputs = tokenizer(test_images[:8], training=False)
reconstructions = np.asarray(outputs["reconstruction"])
figure, axes = plt.subplots(2, 8, figsize=(12, 3))
for column in range(8):
    for row, batch in enumerate((test_images, reconstructions)):
        axes[row, column].imshow(np.clip((batch[column] + 1) / 2, 0, 1))
        axes[row, column].axis("off")
plt.show()

"""
## Codebook usage

How many adjective and noun codes the test images use (VQCT's transferred codebook keeps
usage high because every code is trained through the graph network at every step).
"""

adjective_usage = CodebookUsage(tokenizer.quantizer.num_adjectives, "adjective")
noun_usage = CodebookUsage(tokenizer.quantizer.num_nouns, "noun")
indices = np.asarray(tokenizer.encode_to_indices(test_images))
update_adjective_noun_usage(adjective_usage, noun_usage, indices)
for usage in (adjective_usage, noun_usage):
    print(
        f"{usage.name}: {usage.used_codes} codes used, perplexity {usage.perplexity:.1f}"
    )
figure, axis = plt.subplots(figsize=(8, 2.5))
axis.bar(np.arange(noun_usage.num_codes), noun_usage.counts, width=8)
axis.set_xlabel("noun code")
axis.set_ylabel("positions")
plt.show()

"""
## Codes are words

Each position of the 8x8 grid is `[adjective_1, adjective_2, noun]`; the tokenizer carries its
words, so `indices_to_words` reads them.
"""

words = tokenizer.indices_to_words(indices[:1])
print(words[0, :2])
word_map(tokenizer, test_images[:1])

"""
## Save and reload

The `.keras` file holds the weights, the prior (as weights) and the words (as an asset).
Decoding the indices reproduces the reconstruction
(to float32 rounding: both methods run compiled, with a cached codebook;
with `tokenizer.run_eagerly = True` they run op by op and match bit for bit).
"""

tokenizer.save("quickstart.keras")
restored = keras.saving.load_model("quickstart.keras")
restored_indices = np.asarray(restored.encode_to_indices(test_images))
print("same indices:", np.array_equal(restored_indices, indices))
print(
    "same words:",
    np.array_equal(
        restored.indices_to_words(restored_indices),
        tokenizer.indices_to_words(indices),
    ),
)
decoded = np.asarray(restored.decode_from_indices(restored_indices[:8]))
print("decode matches:", np.allclose(decoded, reconstructions, atol=1e-4))
