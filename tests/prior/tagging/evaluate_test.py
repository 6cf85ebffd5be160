import io

from vqct_keras.prior import nltk_resources
from vqct_keras.prior.tagging import evaluate


def test_evaluate_counts():
    labelled = {
        "red": ("adj",),
        "dog": ("noun",),
        "of": ("reject",),
        "orange": ("adj", "noun"),
    }
    answers = {"red": "adj", "dog": "adj", "of": None, "orange": "noun"}
    result = evaluate.evaluate(answers.get, labelled)
    assert result.accuracy == 0.75
    assert result.adjective_recall == 1.0
    assert result.noun_recall == 0.0
    assert result.reject_recall == 1.0
    assert result.errors == [("dog", "noun", "adj")]


def test_run_prints_both_lists():
    nltk_resources.ensure_nltk_resources(download=False)
    stream = io.StringIO()
    results = evaluate.run(show_errors=True, stream=stream)
    text = stream.getvalue()
    assert "design   list" in text and "held-out list" in text
    assert results[("design", "vocabulary filter")].accuracy >= 0.9
