"""Evaluation metrics: LPIPS, FID (Inception), PSNR/SSIM, codebook usage."""

from vqct_keras.metrics.codebook_usage import CodebookUsage
from vqct_keras.metrics.codebook_usage import plot_code_histogram
from vqct_keras.metrics.codebook_usage import update_adjective_noun_usage
from vqct_keras.metrics.codebook_usage import update_usage
from vqct_keras.metrics.codebook_usage import usage_trackers
from vqct_keras.metrics.fid import FrechetInceptionDistance
from vqct_keras.metrics.fid import frechet_distance
from vqct_keras.metrics.image_quality import jpeg_round_trip
from vqct_keras.metrics.image_quality import l1_error
from vqct_keras.metrics.image_quality import mean_squared_error
from vqct_keras.metrics.image_quality import psnr
from vqct_keras.metrics.image_quality import rgb_to_grayscale
from vqct_keras.metrics.image_quality import ssim
from vqct_keras.metrics.inception import FIDInceptionV3
from vqct_keras.metrics.lpips import LPIPS
from vqct_keras.metrics.weights import MissingWeightsError
from vqct_keras.utils.images import to_uint8

__all__ = [
    "CodebookUsage",
    "FIDInceptionV3",
    "FrechetInceptionDistance",
    "LPIPS",
    "MissingWeightsError",
    "frechet_distance",
    "jpeg_round_trip",
    "l1_error",
    "mean_squared_error",
    "plot_code_histogram",
    "psnr",
    "rgb_to_grayscale",
    "ssim",
    "to_uint8",
    "update_adjective_noun_usage",
    "update_usage",
    "usage_trackers",
]
