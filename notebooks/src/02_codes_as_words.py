"""
Title: Codes as words: word maps, top words and nearest words
Author: vqct_keras team
Description: Tokenize images, decode them back, read every code as an adjective-noun phrase, draw word maps, count the most used words and look at each code's nearest words.
Backends: TensorFlow, JAX
Accelerator: None (a free Colab CPU: about 3 minutes at the default size)
"""

"""
## Introduction

What sets VQCT apart from other image tokenizers is that its codebook is made of words: the
adjective half and the noun half of each latent are replaced by the nearest adjective and noun
codes, which the graph network computed from the language model's word vectors. This notebook
tokenizes images and reads the codes: per position, per image (a *word map*), over a dataset
(*top words*), and inside the codebook (*nearest words*: does the trained codebook keep the
language model's related words near each other?).
"""

# setup: the install cell from notebooks/make_notebooks.py

import os

QUICK = os.environ.get("VQCT_NOTEBOOK_QUICK") == "1"
STEPS = 0 if QUICK else 200
NUM_IMAGES = 32 if QUICK else 512

import keras
import matplotlib.pyplot as plt
import numpy as np

from vqct_keras.data import load_dataset
from vqct_keras.models import PatchDiscriminator
from vqct_keras.models import build_tokenizer
from vqct_keras.prior import load_default_prior
from vqct_keras.trainers import VQGANTrainer
from vqct_keras.words import nearest_words
from vqct_keras.words import top_words
from vqct_keras.words import word_map

keras.utils.set_random_seed(0)

"""
## A tokenizer

The one the quickstart notebook saved (`quickstart.keras`, with its words inside) if it is
here; otherwise a fresh tiny tokenizer trained for a couple of hundred steps (words of an
untrained tokenizer are close to random picks).
"""

if os.path.exists("quickstart.keras"):
    tokenizer = keras.saving.load_model("quickstart.keras")
else:
    tokenizer = build_tokenizer("vqct_tiny_32", prior=load_default_prior())
    if STEPS:
        discriminator = PatchDiscriminator(ndf=16, n_layers=2)
        discriminator.build((None, 32, 32, 3))
        trainer = VQGANTrainer(
            tokenizer,
            discriminator,
            disc_start=STEPS,
            recompute_reconstruction=False,
        )
        trainer.compile(
            g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9),
            d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9),
        )
        train = load_dataset(
            "default",
            split="train",
            batch_size=16,
            seed=0,
            repeat=True,
            drop_remainder=True,
        )
        trainer.fit(train, steps_per_epoch=STEPS, epochs=1, verbose=2)
print("words available:", tokenizer.words_available)
print(
    "prior:",
    tokenizer.vocabulary.provenance["content_sha256"][:16],
    tokenizer.vocabulary.provenance["metadata"]["backbone"]["backbone"],
)

"""
## Tokenize and decode

`encode_to_indices` gives `(batch, 8, 8, 3)` int32: `[adjective_1, adjective_2, noun]` per
position, local indices into the adjective and the noun codebooks. `decode_from_indices`
reproduces the reconstruction (to float32 rounding: both methods run compiled, with a cached codebook;
with `tokenizer.run_eagerly = True` they run op by op and match bit for bit).
"""

images = np.asarray(
    next(
        iter(
            load_dataset(
                "default",
                split=f"test[:{NUM_IMAGES}]",
                batch_size=NUM_IMAGES,
                shuffle=False,
            )
        )
    )
)
indices = np.asarray(tokenizer.encode_to_indices(images))
decoded = np.asarray(tokenizer.decode_from_indices(indices[:4]))
reconstruction = np.asarray(
    tokenizer(images[:4], training=False)["reconstruction"]
)
print(
    "indices:",
    indices.shape,
    indices.dtype,
    "decode matches:",
    np.allclose(decoded, reconstruction, atol=1e-4),
)
# One montage: the originals on top, the images decoded from indices below.
montage = np.concatenate(
    [np.concatenate(list(batch[:4]), axis=1) for batch in (images, decoded)]
)
plt.figure(figsize=(6, 3))
plt.imshow(np.clip((montage + 1) / 2, 0, 1))
plt.axis("off")
plt.show()

"""
## Every position is a phrase

`indices_to_words` turns any index grid into `"adjective_1 adjective_2 noun"` strings.
"""

phrases = tokenizer.indices_to_words(indices[:1])[0]
for row in phrases[:3]:
    print(" | ".join(row[:4]))

"""
## Word maps

An image beside its code grid: each cell shows its noun (bold) and its adjectives, and each
noun keeps one colour across the whole picture, so regions that share a noun stand out.
"""

word_map(tokenizer, images[:2], title="codes of two test images")

"""
## Top words

The most used adjectives and nouns over the test images (each of the two adjective picks of a
position counts).
"""

counts = top_words(tokenizer, images, k=10)
print(counts)

"""
## Nearest words

For each code the images use: its word, the words of its nearest codes in the trained codebook
(squared L2, as the quantizer measures), and the nearest words of the prior's MiniLM vectors
(cosine). The shared fraction tells how much of the language model's neighbourhood the transfer
kept; the chance level is the fraction a random neighbour list would share.
"""

table = nearest_words(tokenizer, images, k=5)
print(table.to_text(max_rows=12))
