"""The measures a reader sees, against hand-made lines whose gaps, widths, slants and turning are known."""

import numpy as np
import pytest

from handwriting import strokes
from handwriting.tools.realism_measures import (MEASURE_NAMES, MEASURES, compare_measures, fine_turning,
                                                ink_spacing, line_measures)

GAP, WORD_GAP, WIDTH = 0.3, 1.5, 0.6


def _boxes(words: list[int], width: float = WIDTH, gap: float = GAP, word_gap: float = WORD_GAP,
           slant: float = 0.0, height: float = 1.0) -> np.ndarray:
    """A line of rectangles, one a letter, ``words`` letters a word (coords, y up, x-height ``height``),
    sheared to lean by ``slant`` radians."""
    boxes, x = [], 0.0
    for w, letters in enumerate(words):
        for k in range(letters):
            xs = np.array([x, x + width, x + width, x, x])
            ys = np.array([0.0, 0.0, height, height, 0.0])
            pen = np.array([0, 0, 0, 0, 1.0])
            boxes.append(np.c_[xs + np.tan(slant) * ys, ys, pen])
            x += width + (gap if k < letters - 1 else word_gap)
    return np.concatenate(boxes)


def _column(name: str) -> int:
    return MEASURE_NAMES.index(name)


def test_gaps_and_width_per_character_of_boxes_are_known():
    line = _boxes([3, 2])  # "abc de": 3 gaps inside words, one word gap, 5 letters
    gap, width, slant, _ = line_measures(line, "abc de", x_height=1.0)
    assert gap == pytest.approx(3 * GAP / 5) and width == pytest.approx(WIDTH) and slant == pytest.approx(0.0)
    # in x-heights: the same line drawn twice as tall (and wide) with its x-height, the same figures
    assert line_measures(line * [2, 2, 1], "abc de", x_height=2.0)[:2] == pytest.approx([3 * GAP / 5, WIDTH])
    # no space: every gap is inside the word
    assert ink_spacing(_boxes([4]), "abcd") == pytest.approx((3 * GAP / 4, WIDTH))
    # the word gaps are the widest ones, whatever their place; spaces are not characters
    assert ink_spacing(_boxes([1, 2, 1]), "a bc d")[0] == pytest.approx(GAP / 4)


def test_slant_is_measured_and_does_not_change_gaps_or_width():
    upright = line_measures(_boxes([3, 2]), "abc de", x_height=1.0)
    leaning = line_measures(_boxes([3, 2], slant=0.3), "abc de", x_height=1.0)
    assert leaning[_column("slant")] == pytest.approx(0.3, abs=1e-4)
    # sheared by 0.3 rad a box's top reaches 0.31 to the right, past the 0.3 gap: on the page the
    # letters overlap in x and would be one word; deslanted they are the upright boxes again
    assert leaning[:2] == pytest.approx(upright[:2], abs=1e-4)
    backhand = line_measures(_boxes([3, 2], slant=-0.2), "abc de", x_height=1.0)
    assert backhand[_column("slant")] == pytest.approx(-0.2, abs=1e-4)


def test_measures_do_not_depend_on_size_or_sampling():
    rng = np.random.default_rng(0)
    line = _boxes([3, 2], slant=0.1)
    line[:, :2] += rng.normal(0, 0.01, (len(line), 2))
    f = line_measures(line, "abc de")
    bigger = line.copy()
    bigger[:, :2] *= 7.0
    np.testing.assert_allclose(line_measures(bigger, "abc de"), f, rtol=1e-4, atol=1e-6)
    denser = np.asarray(strokes.resample(line, 0.02), np.float64)  # the same ink, points 0.02 apart
    np.testing.assert_allclose(line_measures(denser, "abc de"), f, rtol=0.03, atol=0.01)


def _circle(radius: float, points: int) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, points)
    coords = np.c_[radius * np.cos(t), radius * np.sin(t), np.zeros(points)]
    coords[-1, 2] = 1.0
    return coords


def test_fine_turning_is_the_curvature_per_length():
    for radius in (0.5, 1.0, 2.0):
        assert fine_turning(_circle(radius, 2000)) == pytest.approx(1 / radius, rel=0.03)
    # a coarse polygon turns only at its corners: the same figure at any fine resampling
    assert fine_turning(_circle(1.0, 40)) == pytest.approx(1.0, rel=0.05)
    # a square: three corners of pi/2 inside the stroke, over a perimeter of 4
    square = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1.0]])
    assert fine_turning(square) == pytest.approx(3 * np.pi / 2 / 4, rel=0.01)
    straight = np.array([[0, 0, 0], [3, 1, 1.0], [4, 0, 0], [6, 0, 1.0]])  # two straight strokes
    assert fine_turning(straight) == pytest.approx(0.0, abs=1e-9)


def test_medians_are_compared_with_the_issues_tolerances():
    human = np.tile([1.0, 1.0, 0.15, 2.0], (5, 1))
    near = np.tile([1.19, 0.81, 0.19, 9.0], (5, 1))
    far = np.tile([1.21, 0.79, 0.21, 9.0], (5, 1))
    assert [r["within"] for r in compare_measures(human, near)] == [True, True, True, None]
    assert [r["within"] for r in compare_measures(human, far)] == [False, False, False, None]
    rows = compare_measures(human, far)
    assert [r["name"] for r in rows] == [m.name for m in MEASURES]
    assert rows[0]["human"] == 1.0 and rows[0]["generated"] == pytest.approx(1.21)
    assert rows[2]["difference"] == pytest.approx(0.06)
