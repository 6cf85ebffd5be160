"""Version of the vqct_keras package."""

__version__ = "0.1.0"
