"""Tiny BERT and CLIP text backbones for the prior tests, one per module."""

import pytest

from tests.prior import tiny_backbones


@pytest.fixture(scope="module")
def bert():
    return tiny_backbones.tiny_bert()


@pytest.fixture(scope="module")
def clip():
    return tiny_backbones.tiny_clip()
