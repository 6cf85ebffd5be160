# Real images that need no download (sourced by scripts/setup.sh).
#
# Debian packages: Fashion-MNIST's original IDX files and four sets of
# wallpapers that include photos. Then the `default` dataset (crops of the
# natural photos, vqct_keras/data/photo_sources.py) is prepared once as
# tfds data under $TFDS_DATA_DIR, else $VQCT_KERAS_HOME/tensorflow_datasets
# (default ~/.cache/vqct_keras/tensorflow_datasets). A stamp file records
# the data's definition (photo_sources.DATA_VERSION) and the photos it was
# made from: a machine that keeps an older copy prepares it again; while
# they are unchanged this fragment only checks the stamp (no TensorFlow
# import).

if ! apt_install dataset-fashion-mnist mate-backgrounds plasma-workspace-wallpapers \
    lomiri-wallpapers-16.04 lomiri-wallpapers-20.04; then
  log "images: could not install the Debian image packages; the 'default' dataset will be incomplete"
fi

_vqct_tfds_dir="${TFDS_DATA_DIR:-${VQCT_KERAS_HOME:-$HOME/.cache/vqct_keras}/tensorflow_datasets}"
_vqct_images_stamp="$_vqct_tfds_dir/vqct_default.stamp"
_vqct_images_want="$("$VQCT_PY" "$VQCT_ROOT/training/data_fingerprint.py" 2>/dev/null || true)"
if [ -n "$_vqct_images_want" ] && [ -f "$_vqct_images_stamp" ] \
   && [ "$(cat "$_vqct_images_stamp")" = "$_vqct_images_want" ]; then
  log "images: 'default' dataset already prepared in $_vqct_tfds_dir"
else
  log "images: preparing the 'default' dataset in $_vqct_tfds_dir (about two minutes, once)"
  if ! TF_CPP_MIN_LOG_LEVEL=2 "$VQCT_PY" "$VQCT_ROOT/training/prepare_data.py" \
      --datasets=default --data_dir="$_vqct_tfds_dir" \
      --stamp="$_vqct_images_stamp" >&2; then
    log "images: preparing the 'default' dataset failed (see above)"
  fi
fi
unset _vqct_tfds_dir _vqct_images_stamp _vqct_images_want
