"""Accuracy of the vocabulary filter on the hand-labelled words.

`run()` (the command `python training/evaluate_tagging.py [--errors]`)
prints, for the design list and the held-out list of `labelled_words.py`,
the share of words classified correctly (adjective, noun or rejected),
the adjective and noun recall, and the same figures for NLTK's tagger on
isolated words.
"""

import dataclasses
import sys

from vqct_keras.prior.tagging import labelled_words
from vqct_keras.prior.tagging import vocabulary


@dataclasses.dataclass
class Evaluation:
    """Figures of one classifier on one labelled list."""

    num_words: int
    accuracy: float
    adjective_recall: float
    noun_recall: float
    reject_recall: float
    errors: list


def evaluate(classify, labelled):
    """Score `classify(word) -> "adj" | "noun" | None` on labelled words.

    Args:
        classify: callable from a word to its class (`None` = rejected).
        labelled: dict from word to the tuple of correct classes.

    Returns:
        An `Evaluation`. A word with one correct class counts towards that
        class's recall; words that accept two classes count only towards
        the accuracy.

    Example:

    >>> labelled = {"dog": ("noun",), "of": ("reject",)}
    >>> result = evaluate(lambda word: "noun", labelled)
    >>> result.accuracy, result.noun_recall, result.reject_recall
    (0.5, 1.0, 0.0)
    """
    hits = {"adj": [0, 0], "noun": [0, 0], "reject": [0, 0]}
    correct = 0
    errors = []
    for word, classes in labelled.items():
        predicted = classify(word) or "reject"
        ok = predicted in classes
        correct += ok
        if len(classes) == 1:
            hits[classes[0]][0] += ok
            hits[classes[0]][1] += 1
        if not ok:
            errors.append((word, "|".join(classes), predicted))

    def recall(name):
        good, total = hits[name]
        return good / total if total else float("nan")

    return Evaluation(
        num_words=len(labelled),
        accuracy=correct / len(labelled),
        adjective_recall=recall("adj"),
        noun_recall=recall("noun"),
        reject_recall=recall("reject"),
        errors=errors,
    )


def run(show_errors=False, stream=sys.stdout):
    """Evaluate the default `VocabularyTagger` and the isolation baseline."""
    tagger = vocabulary.VocabularyTagger()

    def filtered(word):
        return tagger.classify_word(word).part_of_speech

    results = {}
    for list_name, labelled in (
        ("design", labelled_words.LABELLED_WORDS),
        ("held-out", labelled_words.HELD_OUT_WORDS),
    ):
        for method, classify in (
            ("vocabulary filter", filtered),
            ("tagger in isolation", vocabulary.isolation_baseline),
        ):
            result = evaluate(classify, labelled)
            results[(list_name, method)] = result
            print(
                f"{list_name:8s} list ({result.num_words} words), "
                f"{method:19s}: accuracy {result.accuracy:.1%}, adjective "
                f"recall {result.adjective_recall:.1%}, noun recall "
                f"{result.noun_recall:.1%}, reject recall "
                f"{result.reject_recall:.1%}",
                file=stream,
            )
            if show_errors and method == "vocabulary filter":
                for word, expected, predicted in result.errors:
                    print(
                        f"    {word}: expected {expected}, got {predicted}",
                        file=stream,
                    )
    return results
