"""The clean step (datasets/clean.py) on small synthetic lines in x-height units."""

from __future__ import annotations

import numpy as np
import pytest

from handwriting import strokes
from handwriting.datasets.clean import (
    NO_CLEAR_GAPS,
    POINTS_MISMATCH,
    WIDTH_MISMATCH,
    WORD_TOO_LONG,
    CleanConfig,
    clean_dataset,
    ink_blocks,
    robust_range,
    split_line,
)
from handwriting.datasets.format import StrokeDataset
from handwriting.errors import HandwritingError

X_HEIGHT = 20.0
#: Width of one letter and gaps between letters and words, in x-heights.
LETTER, LETTER_GAP, WORD_GAP = 0.6, 0.15, 0.8
POINTS_PER_LETTER = 8


def _letter(x: float, points: int = POINTS_PER_LETTER) -> np.ndarray:
    """One letter-sized zigzag stroke starting at ``x`` (x-heights), ``[points, 2]`` dataset units."""
    t = np.linspace(0.0, 1.0, points)
    return np.stack([x + LETTER * t, np.abs(np.sin(3 * np.pi * t))], 1) * X_HEIGHT


def _line(text: str, word_gap: float = WORD_GAP, letter_points: int = POINTS_PER_LETTER,
          squeeze: float = 1.0) -> np.ndarray:
    """Offsets of ``text`` written with one stroke per letter (spaces leave ``word_gap``)."""
    pieces, x = [], 0.0
    for ch in text:
        if ch == " ":
            x += word_gap - LETTER_GAP
            continue
        pieces.append(_letter(x, letter_points))
        x += (LETTER + LETTER_GAP) * squeeze
    coords = strokes.join_strokes(pieces)
    coords[:, :2] -= coords[0, :2]
    return strokes.coords_to_offsets(coords)


def _dataset(lines: list[tuple[np.ndarray, str, int]], writers=("aaa/1", "bbb/2")) -> StrokeDataset:
    offsets = [o for o, _, _ in lines]
    return StrokeDataset(offsets=offsets, texts=[t for _, t, _ in lines],
                         writer_ids=np.array([w for _, _, w in lines], np.int32), writers=list(writers),
                         scale=strokes.estimate_scale(offsets), metadata={"x_height_units": X_HEIGHT})


def test_ink_blocks_find_the_gaps_between_runs_of_ink():
    a, b, c = np.array([[0, 0], [2, 0]]), np.array([[1, 0], [3, 0]]), np.array([[5, 0], [6, 0]])
    block, gaps = ink_blocks([a, c, b])
    assert list(block) == [0, 1, 0]
    np.testing.assert_allclose(gaps, [2.0])


def test_a_short_line_is_kept_whole():
    offsets = _line("ab cd")
    pieces, dropped = split_line(offsets, "ab cd", CleanConfig(), X_HEIGHT)
    assert dropped == [] and len(pieces) == 1 and pieces[0][0] is offsets


def test_a_long_line_is_split_at_word_gaps_within_the_limits():
    text = "one two three four five six"
    config = CleanConfig(max_chars=10, min_points=1)
    pieces, dropped = split_line(_line(text), text, config, X_HEIGHT)
    assert dropped == []
    assert [t for _, t in pieces] == ["one two", "three four", "five six"]
    for offsets, piece_text in pieces:
        np.testing.assert_array_equal(offsets[0, :2], [0, 0])
        assert len(offsets) == POINTS_PER_LETTER * len(piece_text.replace(" ", ""))
        assert offsets[-1, 2] == 1.0
    # the point limit splits too
    by_points = CleanConfig(max_points=POINTS_PER_LETTER * 8, min_points=1)
    pieces, _ = split_line(_line(text), text, by_points, X_HEIGHT)
    assert all(len(o) <= by_points.max_points for o, _ in pieces) and len(pieces) > 1


def test_unclear_word_gaps_drop_the_line():
    text = "one two three four"
    config = CleanConfig(max_chars=8)
    pieces, dropped = split_line(_line(text, word_gap=LETTER_GAP), text, config, X_HEIGHT)
    assert pieces == [] and dropped[0][0] == NO_CLEAR_GAPS


def test_a_word_over_the_limits_is_dropped_alone():
    text = "a extraordinarily b"
    pieces, dropped = split_line(_line(text), text, CleanConfig(max_chars=5, min_points=1), X_HEIGHT)
    assert [t for _, t in pieces] == ["a", "b"]
    assert dropped[0][0] == WORD_TOO_LONG


def test_robust_range_is_symmetric_in_log_space():
    low, high = robust_range(np.array([1.0, 2.0, 4.0]), 1.0)
    assert low * high == pytest.approx(4.0)


def test_clean_drops_mismatched_ink_and_reports_per_contributor():
    rng = np.random.default_rng(0)
    words = ["ab", "cde", "fg", "hij", "kl"]
    lines = []
    for i in range(30):
        text = " ".join(rng.choice(words, 3))
        lines.append((_line(text, letter_points=POINTS_PER_LETTER + i % 3), text, i % 2))
    lines.append((_line("ab cd ef", squeeze=0.2), "ab cd ef gh ij kl mn", 0))  # label longer than the ink
    lines.append((_line("abc", letter_points=60), "abc", 1))  # far too many points per character
    cleaned, report = clean_dataset(_dataset(lines), CleanConfig(min_points=1))
    assert len(cleaned) == 30
    assert report.dropped == {WIDTH_MISMATCH: 1, POINTS_MISMATCH: 1}
    assert report.by_contributor["aaa"]["in"] == 16 and report.by_contributor["aaa"]["out"] == 15
    assert report.by_contributor["bbb"]["out"] == 15
    assert cleaned.writers == ["aaa/1", "bbb/2"]
    assert cleaned.metadata["clean"]["report"]["lines_out"] == 30
    assert "aaa" in report.summary() and WIDTH_MISMATCH in report.summary()


def test_clean_config_and_empty_results_are_errors():
    with pytest.raises(HandwritingError):
        CleanConfig(gap_ratio=0.5)
    with pytest.raises(HandwritingError, match="no line"):
        clean_dataset(_dataset([(_line("ab"), "ab", 0)]), CleanConfig(min_points=1000, max_points=2000))
