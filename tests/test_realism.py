"""Realism AUC: identical populations score about 0.5, clearly different ones about 1."""

import numpy as np
import pytest

from handwriting.errors import HandwritingError
from handwriting.tools.realism import FEATURE_NAMES, line_features, realism_auc


def _scribble(rng, chars: int, wobble: float, step: float = 0.4) -> np.ndarray:
    """A line of ``chars`` loops (coords, y up), ``wobble`` jitter on each point."""
    t = np.linspace(0, 2 * np.pi * chars, 12 * chars)
    xy = np.c_[t / (2 * np.pi) + 0.3 * np.sin(t), np.cos(t) + 1.0] * step * 2.5
    xy += rng.normal(0, wobble, xy.shape)
    coords = np.c_[xy, np.zeros(len(xy))]
    coords[11::12, 2] = 1.0
    coords[-1, 2] = 1.0
    return coords


def test_features_are_finite_and_do_not_depend_on_size():
    rng = np.random.default_rng(0)
    line = _scribble(rng, 8, 0.02)
    f = line_features(line, "abcdefgh")
    assert f.shape == (len(FEATURE_NAMES),) and np.isfinite(f).all()
    bigger = line.copy()
    bigger[:, :2] *= 7.0
    np.testing.assert_allclose(line_features(bigger, "abcdefgh"), f, rtol=1e-5, atol=1e-7)
    assert f[FEATURE_NAMES.index("points_per_char")] == pytest.approx(12.0)
    assert f[FEATURE_NAMES.index("lifts_per_char")] == pytest.approx(1.0)


@pytest.mark.slow  # a classifier cross-validated twice: about 15 s on 2 busy cores
def test_the_same_hand_is_indistinguishable_and_a_shaky_one_is_not():
    rng = np.random.default_rng(1)
    texts = [f"line {i}" for i in range(40)]
    human = [_scribble(rng, 6, 0.02) for _ in texts]
    same = [_scribble(rng, 6, 0.02) for _ in texts]
    shaky = [_scribble(rng, 6, 0.12) for _ in texts]
    assert abs(realism_auc(human, same, texts).auc - 0.5) < 0.2
    assert realism_auc(human, shaky, texts).auc > 0.95


def test_too_few_or_unpaired_lines_are_refused():
    rng = np.random.default_rng(2)
    lines = [_scribble(rng, 3, 0.02) for _ in range(4)]
    with pytest.raises(HandwritingError, match="at least"):
        realism_auc(lines, lines, ["a"] * 4)
    with pytest.raises(HandwritingError, match="one human and one generated"):
        realism_auc(lines, lines[:3], ["a"] * 4)
