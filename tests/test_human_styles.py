"""Styles from held-out human writers: names read from the ink, never the writer's."""

import numpy as np
import pytest

from handwriting.tools.human_styles import describe_hand
from handwriting.writing.hand import RESERVED_STYLE_NAMES


def _loops(letters: int, slant: float, lift_every: int, width: float = 1.2) -> np.ndarray:
    """``letters`` upright ovals of height 1 (coords), sheared by ``slant``, lifting after every
    ``lift_every`` letters, advancing ``width`` x-heights per letter."""
    t = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    rows = []
    for k in range(letters):
        oval = np.c_[k * width + 0.4 * np.sin(t), 0.5 - 0.5 * np.cos(t), np.zeros_like(t)]
        oval[-1, 2] = float((k + 1) % lift_every == 0 or k == letters - 1)
        rows.append(oval)
    coords = np.concatenate(rows)
    coords[:, 0] += np.tan(slant) * coords[:, 1]
    return coords


@pytest.mark.parametrize("slant, lift_every, width, expected", [
    (0.0, 1, 1.2, "upright-print"),
    (0.4, 8, 1.2, "slanted-joined"),
    (-0.3, 2, 1.2, "backhand-part-joined"),
    (0.0, 1, 0.8, "upright-print-narrow"),
    (0.0, 1, 2.0, "upright-print-wide"),
])
def test_a_hand_is_named_by_its_slant_joins_and_width(slant, lift_every, width, expected):
    text = "o" * 8
    assert describe_hand(_loops(8, slant, lift_every, width), text) == expected
    assert expected not in RESERVED_STYLE_NAMES
