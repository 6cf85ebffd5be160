# NLTK data for the codebook prior builder (sourced by scripts/setup.sh).
#
# Needs the English perceptron tagger, the universal tagset map and WordNet.
# training/install_nltk_data.py (vqct_keras/prior/nltk_resources.py) tries
# nltk.download first and, with no network, builds them from
# textblob-aptagger's WSJ perceptron (read with a restricted unpickler, never
# imported) and Debian's WordNet 3.0 files.
# Cheap when done: the script only checks that NLTK finds the resources.

apt_install wordnet-base wordnet-sense-index ||
  log "could not install Debian WordNet (need root): the offline WordNet build will fail"
pip_install_once textblob_aptagger --no-deps textblob-aptagger==0.2.0
# The command imports only nltk, not keras.
"$VQCT_PY" "$VQCT_ROOT/training/install_nltk_data.py" |
  while read -r line; do log "nltk: $line"; done
