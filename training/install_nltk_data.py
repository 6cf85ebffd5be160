"""Install the NLTK data of the prior builder and say how each was obtained.

    python training/install_nltk_data.py [--offline]

Finds, downloads or builds offline the tagger, the universal tagset map and
WordNet (`vqct_keras.prior.nltk_resources.ensure_nltk_resources`);
`--offline` skips `nltk.download`. Imports NLTK, not Keras:
`scripts/setup.d/20-nltk.sh` runs it on every set-up.
"""

import sys

from training import keras_free


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    resources = keras_free.load_module("vqct_keras.prior.nltk_resources")
    offline = "--offline" in argv
    try:
        status = resources.ensure_nltk_resources(
            download=not offline, quiet=False
        )
    except resources.NLTKResourceError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    for resource, how in status.items():
        print(f"{resource}: {how}")


if __name__ == "__main__":
    main()
