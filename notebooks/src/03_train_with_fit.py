"""
Title: Train a VQCT image tokenizer with `model.fit`
Author: vqct_keras team
Description: Transfer a MiniLM word-vector codebook into a VQGAN and train it with fit() on a tf.data pipeline, on either backend.
Backends: TensorFlow, JAX
Accelerator: GPU (optional; runs on a free Colab CPU in about 2 minutes)
"""

"""
## Introduction

VQCT replaces a VQGAN's learned codebook with one *transferred* from a language model: the
vectors of vision-related adjectives and nouns, passed through a small graph network. This
notebook builds the tiny tokenizer, trains it for a few steps with plain `model.fit` on a
`tf.data.Dataset`, looks at reconstructions, and saves it.
"""

# setup: the install cell from notebooks/make_notebooks.py

import os

QUICK = os.environ.get("VQCT_NOTEBOOK_QUICK") == "1"
STEPS = 2 if QUICK else 20

import keras
import numpy as np

from vqct_keras.data import load_dataset
from vqct_keras.models import PatchDiscriminator
from vqct_keras.models import build_tokenizer
from vqct_keras.prior import load_default_prior
from vqct_keras.trainers import VQGANTrainer

keras.utils.set_random_seed(0)

"""
## Data

The embedded default: 32 px crops of natural photos, installed offline by
`scripts/setup.sh`. Images are float32 in [-1, 1].
"""

train = load_dataset(
    "default",
    split="train[:512]" if QUICK else "train",
    batch_size=8,
    seed=0,
    repeat=True,
    drop_remainder=True,
    shuffle_buffer_size=512 if QUICK else None,
)
test_images = next(
    iter(load_dataset("default", split="test", batch_size=8, shuffle=False))
)
print(test_images.shape)

"""
## Model

The codebook prior holds MiniLM token vectors of adjectives and nouns and an adjective-noun
graph. The tokenizer quantizes the first half of each latent against the adjectives (mean of
the two nearest) and the second half against the nouns.
"""

prior = load_default_prior()
print(prior.num_adjectives, "adjectives,", prior.num_nouns, "nouns")
tokenizer = build_tokenizer("vqct_tiny_32", prior=prior)
discriminator = PatchDiscriminator(ndf=16, n_layers=2)
discriminator.build((None, 32, 32, 3))

"""
## Compile and fit

`VQGANTrainer` owns two optimizers (autoencoder and discriminator), as the official code.
"""

trainer = VQGANTrainer(
    tokenizer,
    discriminator,
    disc_start=STEPS // 2,
    recompute_reconstruction=False,
)
trainer.compile(
    g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9),
    d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9),
)
history = trainer.fit(train, steps_per_epoch=STEPS, epochs=1, verbose=2)

"""
## Visualize

Originals (top) and reconstructions (bottom).
"""

import matplotlib.pyplot as plt

reconstructions = tokenizer(test_images, training=False)["reconstruction"]
figure, axes = plt.subplots(2, 8, figsize=(12, 3))
for column in range(8):
    for row, batch in enumerate((test_images, reconstructions)):
        image = np.clip((np.asarray(batch[column]) + 1) / 2, 0, 1)
        axes[row, column].imshow(image)
        axes[row, column].axis("off")
plt.show()

"""
## Tokens

Each 8x8 position holds `[adjective_1, adjective_2, noun]`; decoding the indices gives back
the reconstruction (to float32 rounding: both methods run compiled, with a cached codebook;
with `tokenizer.run_eagerly = True` they run op by op and match bit for bit).
"""

indices = np.asarray(tokenizer.encode_to_indices(np.asarray(test_images)))
print(
    indices[0, 0, 0],
    "->",
    tokenizer.indices_to_words(indices[:1, :1, :1])[0, 0, 0],
)
decoded = tokenizer.decode_from_indices(indices)
print(
    "decode matches:",
    np.allclose(np.asarray(decoded), np.asarray(reconstructions), atol=1e-4),
)

"""
## Save

The tokenizer (with its prior as weights and its words as an asset) round-trips through
`.keras`.
"""

tokenizer.save("vqct_tiny.keras")
restored = keras.saving.load_model("vqct_tiny.keras")
print(restored.count_params(), "parameters; words:", restored.words_available)
