"""Training: `VQGANTrainer`, a `keras.Model` with two optimizers for `fit`."""

from vqct_keras.trainers.vqgan_trainer import VQGANTrainer

__all__ = ["VQGANTrainer"]
