"""Joining one writer's words into lines (handwriting.datasets.word_lines)."""

from __future__ import annotations

import numpy as np
import pytest

from handwriting import strokes
from handwriting.datasets.format import StrokeDataset
from handwriting.datasets.word_lines import WordLinesConfig, join_line, line_word_gaps, word_lines
from handwriting.errors import HandwritingError

XH = 20.0  # dataset units per x-height


def _word(letters: int, baseline: float, rng) -> np.ndarray:
    """Offsets of a word: one stroke per letter, a zigzag from y = baseline up one x-height."""
    coords = []
    for k in range(letters):
        x = 12.0 * k + np.array([0.0, 3.0, 6.0, 9.0])
        y = baseline + np.array([0.0, XH, 0.0, XH]) + rng.normal(0, 0.01, 4)
        stroke = np.column_stack([x, y, [0, 0, 0, 1]])
        coords.append(stroke)
    c = np.concatenate(coords).astype(np.float32)
    c[:, :2] -= c[0, :2]
    return strokes.coords_to_offsets(c)


def _line(word_letters: list[int], gaps: list[float], rng) -> np.ndarray:
    words = [_word(n, 0.0, rng) for n in word_letters]
    return join_line(words, np.array(gaps) * XH)


def _datasets(rng, gaps_by_writer):
    line_offsets, line_texts, line_writers = [], [], []
    for w, gaps in enumerate(gaps_by_writer):
        for g in gaps:
            line_offsets.append(_line([3, 2, 4], [g, g], rng))
            line_texts.append("abc de fghi")
            line_writers.append(w)
    names = [f"c/w{w}" for w in range(len(gaps_by_writer))]
    meta = {"x_height_units": XH}
    lines = StrokeDataset(line_offsets, line_texts, np.array(line_writers, np.int32), names, 3.0, meta)
    vocabulary = ["cat", "dog", "a", "horse", "is", "big", "red", "tree"]
    word_offsets, word_texts, word_writers = [], [], []
    for w in range(len(gaps_by_writer)):
        for k in range(30):
            text = vocabulary[(k * 3 + w) % len(vocabulary)]
            word_offsets.append(_word(len(text), rng.uniform(-15, 15), rng))
            word_texts.append(text)
            word_writers.append(w)
    words = StrokeDataset(word_offsets, word_texts, np.array(word_writers, np.int32), names, 3.0, dict(meta))
    return words, lines


def test_a_written_lines_word_gaps_are_measured_in_x_heights():
    rng = np.random.default_rng(0)
    gaps = line_word_gaps(_line([3, 2, 4], [1.5, 2.25], rng), "abc de fghi", XH)
    np.testing.assert_allclose(gaps, [1.5, 2.25], atol=0.01)
    assert len(line_word_gaps(_line([3], [], rng), "abc", XH)) == 0


def test_words_join_into_lines_in_order_with_their_writers_spacing_and_baselines():
    rng = np.random.default_rng(1)
    words, lines = _datasets(rng, [[1.2] * 6, [2.6] * 6, [0.9] * 2])  # the last writer has too few gaps
    joined = word_lines(words, lines, WordLinesConfig(min_chars=10, max_chars=20, seed=3))
    for w in range(3):
        texts = [t for t, i in zip(joined.texts, joined.writer_ids) if i == w]
        assert " ".join(texts).split(" ") == [t for t, i in zip(words.texts, words.writer_ids) if i == w]
    assert sum(map(len, joined.offsets)) == sum(map(len, words.offsets))
    assert all(len(t) <= 20 or " " not in t for t in joined.texts)
    assert joined.metadata["word_lines"]["writers_with_own_spacing"] == 2
    for offsets, text, w in zip(joined.offsets, joined.texts, joined.writer_ids):
        measured = line_word_gaps(offsets, text, XH)
        if w == 0:
            np.testing.assert_allclose(measured, 1.2, atol=0.02)
        elif w == 1:
            np.testing.assert_allclose(measured, 2.6, atol=0.02)
        else:  # the pooled gaps of every writer
            assert all(min(abs(g - 1.2), abs(g - 2.6), abs(g - 0.9)) < 0.02 for g in measured)
        coords = strokes.offsets_to_coords(offsets)
        lows = coords[np.r_[0, np.flatnonzero(coords[:-1, 2] > 0.5) + 1], 1]  # each stroke starts on the baseline
        assert np.ptp(lows) < 0.1
        assert offsets[0, 0] == 0 and offsets[0, 1] == 0


def test_the_same_seed_gives_the_same_lines_and_limits_hold():
    rng = np.random.default_rng(2)
    words, lines = _datasets(rng, [[1.0, 1.5, 2.0, 2.5, 3.0]])
    config = WordLinesConfig(min_chars=5, max_chars=40, max_points=60, seed=7)
    a, b = word_lines(words, lines, config), word_lines(words, lines, config)
    assert a.texts == b.texts and all(np.array_equal(x, y) for x, y in zip(a.offsets, b.offsets))
    assert max(map(len, a.offsets)) <= 60
    assert a.texts != word_lines(words, lines, WordLinesConfig(min_chars=5, max_chars=40, max_points=60, seed=8)).texts


def test_bad_options_are_refused():
    with pytest.raises(HandwritingError, match="min_chars"):
        WordLinesConfig(min_chars=30, max_chars=20)


def test_a_word_with_a_descender_sits_on_the_same_baseline():
    from handwriting.datasets.word_lines import band_baseline

    rng = np.random.default_rng(4)
    plain = strokes.offsets_to_coords(_word(2, 0.0, rng))
    descender = np.array([[30.0, XH, 0], [31.0, 0.0, 0], [32.0, -0.8 * XH, 1]])  # a 'y' tail
    with_tail = np.concatenate([plain, descender])
    assert abs(band_baseline(with_tail) - band_baseline(plain)) < 0.1 * XH
    assert abs(strokes.baseline_height(with_tail) - strokes.baseline_height(plain)) > 0.1 * XH  # the reader's rule
