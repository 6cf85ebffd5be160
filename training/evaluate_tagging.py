"""Accuracy of the prior's vocabulary filter on the hand-labelled words.

    python training/evaluate_tagging.py [--errors]

Prints `vqct_keras.prior.tagging.evaluate.run()`: for the design list and
the held-out list, the share of words classified correctly, the adjective,
noun and reject recall, and the same figures for NLTK's tagger on isolated
words; `--errors` also lists the misclassified words. See docs/prior.md.
"""

import sys


def main(argv=None):
    from vqct_keras.prior.tagging import evaluate

    argv = sys.argv[1:] if argv is None else argv
    evaluate.run(show_errors="--errors" in argv)


if __name__ == "__main__":
    main()
