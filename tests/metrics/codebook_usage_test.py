import doctest
import math

import numpy as np
import PIL.Image
import pytest
from keras import ops

from vqct_keras.metrics import codebook_usage
from vqct_keras.metrics.codebook_usage import CodebookUsage
from vqct_keras.metrics.codebook_usage import plot_code_histogram
from vqct_keras.metrics.codebook_usage import update_adjective_noun_usage


def test_hand_computed_statistics():
    usage = CodebookUsage(num_codes=8, name="toy")
    usage.update(np.array([0, 0, 0, 5]))
    usage.update(ops.convert_to_tensor(np.array([[5, 5], [2, 2]], "int32")))
    # counts: code 0 x3, 2 x2, 5 x3 -> p = (3, 2, 3) / 8
    assert usage.counts.tolist() == [3, 0, 2, 0, 0, 3, 0, 0]
    assert usage.total == 8
    assert usage.used_codes == 3 and usage.dead_codes == 5
    assert usage.usage_fraction == 3 / 8
    entropy = -(2 * (3 / 8) * math.log(3 / 8) + (2 / 8) * math.log(2 / 8))
    assert usage.perplexity == pytest.approx(math.exp(entropy))
    result = usage.result()
    assert result["dead_codes"] == 5 and result["num_codes"] == 8


def test_perplexity_extremes():
    uniform = CodebookUsage(16)
    uniform.update(np.tile(np.arange(16), 5))
    assert uniform.perplexity == pytest.approx(16.0)
    assert uniform.usage_fraction == 1.0 and uniform.dead_codes == 0
    single = CodebookUsage(16)
    single.update(np.full((4, 4), 7))
    assert single.perplexity == pytest.approx(1.0)
    assert math.isnan(CodebookUsage(3).perplexity)


def test_merge_reset_and_checks():
    a, b = CodebookUsage(4), CodebookUsage(4)
    a.update(np.array([0, 1]))
    b.update(np.array([1, 3]))
    a.merge(b)
    assert a.counts.tolist() == [1, 2, 0, 1]
    a.reset()
    assert a.total == 0
    with pytest.raises(ValueError, match="outside"):
        a.update(np.array([4]))
    with pytest.raises(ValueError, match="outside"):
        a.update(np.array([-1]))
    with pytest.raises(ValueError, match="integers"):
        a.update(np.array([0.5]))
    with pytest.raises(ValueError, match="different sizes"):
        a.merge(CodebookUsage(5))


def test_adjective_noun_split():
    adjective, noun = CodebookUsage(3, "adjective"), CodebookUsage(5, "noun")
    indices = np.array([[[[0, 1, 4], [2, 1, 0]]]])  # (1, 1, 2, top_k + 1)
    update_adjective_noun_usage(adjective, noun, indices)
    assert adjective.counts.tolist() == [1, 2, 1]
    assert noun.counts.tolist() == [1, 0, 0, 0, 1]


def test_histogram_png(tmp_path):
    adjective, noun = CodebookUsage(50, "adjective"), CodebookUsage(120, "noun")
    rng = np.random.default_rng(0)
    adjective.update(rng.integers(0, 30, 500))
    noun.update(rng.zipf(1.5, 1000) % 120)
    path = plot_code_histogram([adjective, noun], str(tmp_path / "h.png"))
    with PIL.Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (1100, 640)
    single = plot_code_histogram(
        adjective, str(tmp_path / "a.png"), log_scale=True
    )
    with PIL.Image.open(single) as image:
        assert image.size == (1100, 320)


def test_docstring_examples():
    assert doctest.testmod(codebook_usage, raise_on_error=True).failed == 0


def test_usage_trackers_follow_the_quantizer_layout():
    from vqct_keras.layers.residual_vector_quantizer import (
        ResidualVectorQuantizer,
    )
    from vqct_keras.metrics.codebook_usage import update_usage
    from vqct_keras.metrics.codebook_usage import usage_trackers

    quantizer = ResidualVectorQuantizer(num_codes=4, embed_dim=2)
    usages = usage_trackers(quantizer)
    assert [u.name for u in usages] == ["stage_1", "stage_2"]
    update_usage(usages, quantizer, np.array([[[[0, 3]], [[1, 3]]]]))
    assert usages[0].counts.tolist() == [1, 1, 0, 0]
    assert usages[1].counts.tolist() == [0, 0, 0, 2]
