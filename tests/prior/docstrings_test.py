"""The examples in the prior modules' docstrings run."""

import doctest
import importlib

import pytest

from vqct_keras.prior import nltk_resources

MODULES = [
    "vqct_keras.prior.codebook_prior",
    "vqct_keras.prior.graph",
    "vqct_keras.prior.nltk_resources",
    "vqct_keras.prior.text_backbone",
    "vqct_keras.prior.tagging.evaluate",
    "vqct_keras.prior.tagging.tagger",
    "vqct_keras.prior.tagging.vocabulary",
    "vqct_keras.prior.builder",
    "vqct_keras.prior.default_prior",
]


@pytest.fixture(scope="module", autouse=True)
def nltk_data():
    nltk_resources.ensure_nltk_resources(download=False)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_lazy_package_names():
    from vqct_keras import prior
    from vqct_keras.prior import builder
    from vqct_keras.prior import default_prior

    assert prior.load_default_prior is default_prior.load_default_prior
    assert prior.PriorConfig is builder.PriorConfig
    with pytest.raises(AttributeError):
        prior.no_such_name
