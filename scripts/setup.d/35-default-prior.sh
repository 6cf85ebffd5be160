# Prebuild the default codebook prior (MiniLM vocabulary, token vectors, kNN
# edges) into the asset folder, so that training demos start at once.
# About a minute on 2 cores; skipped when the file exists.  The name must
# match DEFAULT_PRIOR_NAME in vqct_keras/prior/default_prior.py.

_vqct_prior="${VQCT_KERAS_HOME:-$HOME/.cache/vqct_keras}/priors/minilm_l6_v2_token_knn_r1.npz"
if [ ! -f "$_vqct_prior" ]; then
  log "building the default codebook prior $_vqct_prior"
  if ! "$VQCT_PY" "$VQCT_ROOT/training/build_default_prior.py" |
    while read -r line; do log "prior: $line"; done; then
    log "default prior not built; load_default_prior() builds it on first use"
  fi
fi
unset _vqct_prior
