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


def test_ranked_human_styles_keep_the_best_and_number_a_repeated_look():
    from handwriting.tools.human_styles import rank_human_styles
    from handwriting.writing.hand import Style

    offsets = np.zeros((2, 3), np.float32)
    styles = [Style(name=n, text=t, offsets=offsets) for n, t in
              [("upright-print", "a"), ("slanted-joined", "b"), ("upright-print", "c"), ("upright-print", "d")]]
    keys = ["writer-01", "writer-02", "writer-03", "writer-04"]
    record = {k: {"cer": c, "text": s.text} for k, c, s in zip(keys, [0.2, 0.1, 0.05, 0.9], styles)}
    kept, renamed = rank_human_styles(styles, record, keys, count=3)
    assert [(s.name, s.text) for s in kept] == [("upright-print", "c"), ("slanted-joined", "b"),
                                                 ("upright-print-2", "a")]
    assert {name: r["cer"] for name, r in renamed.items()} == {"upright-print": 0.05, "slanted-joined": 0.1,
                                                                "upright-print-2": 0.2}
    kept, renamed = rank_human_styles(styles, None, keys)  # no selection: every writer, in order
    assert [s.name for s in kept] == ["upright-print", "slanted-joined", "upright-print-2", "upright-print-3"]
    assert renamed is None
