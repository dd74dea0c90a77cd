"""Joining one writer's isolated characters into lines (handwriting.datasets.char_lines)."""

from __future__ import annotations

import numpy as np
import pytest

from handwriting import strokes
from handwriting.datasets import load_dataset, save_dataset
from handwriting.datasets.char_lines import CharLinesConfig, char_lines, font_shapes, shape_character
from handwriting.datasets.format import StrokeDataset
from handwriting.errors import HandwritingError

from cli_helper import run_cli

XH = 20.0  # dataset units per x-height


def _character(scale: float, rng) -> np.ndarray:
    """Offsets of a made-up character at any scale: a tall stroke and a cross bar (an 'A'-ish tent)."""
    tent = np.array([[0.0, 0.0, 0], [0.5, 1.4, 0], [1.0, 0.0, 1]])
    bar = np.array([[0.25, 0.6, 0], [0.75, 0.6, 1]])
    coords = np.concatenate([tent, bar]) * [scale, scale, 1] + [rng.uniform(-50, 50), rng.uniform(-50, 50), 0]
    return strokes.coords_to_offsets(coords.astype(np.float32))


def _characters(rng, texts_by_writer: list[str]) -> StrokeDataset:
    offsets, texts, writers = [], [], []
    for w, text in enumerate(texts_by_writer):
        for ch in text:
            offsets.append(_character(rng.uniform(3, 40), rng))  # the reader's scale means nothing here
            texts.append(ch)
            writers.append(w)
    names = [f"c/w{w}" for w in range(len(texts_by_writer))]
    return StrokeDataset(offsets, texts, np.array(writers, np.int32), names, 3.0, {"x_height_units": XH})


def _ink_boxes(offsets: np.ndarray) -> list[tuple[float, float]]:
    """Left and right x of each run of touching strokes, in x-heights, left to right."""
    coords = strokes.offsets_to_coords(offsets)
    boxes = sorted((p[:, 0].min() / XH, p[:, 0].max() / XH) for p in strokes.split_strokes(coords))
    merged = [list(boxes[0])]
    for left, right in boxes[1:]:
        if left <= merged[-1][1] + 1e-6:
            merged[-1][1] = max(merged[-1][1], right)
        else:
            merged.append([left, right])
    return [tuple(b) for b in merged]


def test_the_fonts_say_where_capitals_digits_and_marks_sit():
    shapes = font_shapes()
    for ch in "AKQ0157":  # capitals and figures: about 1.4-1.6 x-heights tall, on the baseline
        assert 1.3 < shapes[ch].extent < 1.7 and 0.6 < shapes[ch].centre < 0.85
    assert shapes["."].extent < 0.3 and shapes["."].centre < 0.25
    assert shapes[","].centre < 0.15 < shapes["-"].centre < shapes["'"].centre
    assert shapes["'"].centre > 1.0 and shapes["("].extent > shapes["A"].extent


def test_a_character_is_sized_and_placed_as_the_fonts_place_it_whatever_its_scale():
    rng = np.random.default_rng(0)
    shape = font_shapes()["A"]
    for scale in (2.0, 37.0):
        coords = shape_character(_character(scale, rng), shape, 1.1, 2.5, XH)
        low, high = coords[:, :2].min(axis=0) / XH, coords[:, :2].max(axis=0) / XH
        assert max(high - low) == pytest.approx(1.1 * shape.extent, rel=0.02)
        assert (low[1] + high[1]) / 2 == pytest.approx(1.1 * shape.centre, abs=0.02)
        assert low[0] == pytest.approx(0.0, abs=1e-6)
        steps = np.linalg.norm(np.diff(coords[:, :2], axis=0), axis=1)[strokes.pen_down_steps(coords)] / XH
        assert steps.max() < 0.6  # resampled at the corpus' density, not at the reader's own scale
        assert int(coords[:, 2].sum()) == 2  # both strokes kept


def test_characters_join_into_runs_in_writing_order_with_letter_and_word_gaps():
    rng = np.random.default_rng(1)
    characters = _characters(rng, ["ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "().,;:!?"])
    config = CharLinesConfig(min_chars=8, max_chars=16, max_run=4, letter_gap=(0.2, 0.4), seed=3)
    joined = char_lines(characters, None, config)  # no written lines: every word gap is 1 x-height
    for w, text in enumerate(["ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "().,;:!?"]):
        mine = [t for t, i in zip(joined.texts, joined.writer_ids) if i == w]
        assert "".join(mine).replace(" ", "") == text
        assert all(1 <= len(run) <= 4 for t in mine for run in t.split(" ")) and all(len(t) <= 16 for t in mine)
    assert sum(map(len, "".join(joined.texts).split())) == len(characters)
    for offsets, text in zip(joined.offsets, joined.texts):
        if text[0] in "().,;:!?":
            continue  # marks may touch or sit above each other; the gaps are checked on the tents
        boxes = _ink_boxes(offsets)
        gaps = [b[0] - a[1] for a, b in zip(boxes, boxes[1:])]
        assert len(boxes) == len(text.replace(" ", ""))
        word_gap_at = np.cumsum([len(run) for run in text.split(" ")])[:-1] - 1  # the gap after a run's end
        for k, gap in enumerate(gaps):
            if k in word_gap_at:
                assert gap == pytest.approx(1.0, abs=0.01)
            else:
                assert 0.2 - 1e-6 <= gap <= 0.4 + 1e-6
        assert offsets[0, 0] == 0 and offsets[0, 1] == 0


def test_the_same_seed_gives_the_same_lines_and_the_point_limit_holds():
    rng = np.random.default_rng(2)
    characters = _characters(rng, ["ABCDEFGHIJKLMNOP", "0123456789"])
    config = CharLinesConfig(max_points=80, seed=5)
    a, b = char_lines(characters, None, config), char_lines(characters, None, config)
    assert a.texts == b.texts and all(np.array_equal(x, y) for x, y in zip(a.offsets, b.offsets))
    assert max(map(len, a.offsets)) <= 80
    assert a.texts != char_lines(characters, None, CharLinesConfig(max_points=80, seed=6)).texts


def test_samples_that_are_not_one_known_character_and_bad_options_are_refused():
    rng = np.random.default_rng(3)
    characters = _characters(rng, ["AB"])
    characters.texts[1] = "AB"
    with pytest.raises(HandwritingError, match="not one character"):
        char_lines(characters)
    with pytest.raises(HandwritingError, match="letter_gap"):
        CharLinesConfig(letter_gap=(0.5, 0.2))
    with pytest.raises(HandwritingError, match="max_run"):
        CharLinesConfig(max_run=0)


def test_the_command_writes_the_lines(tmp_path):
    rng = np.random.default_rng(4)
    save_dataset(_characters(rng, ["ABCDEFGH", "12345678"]), tmp_path / "chars.npz")
    result = run_cli("prepare", "char-lines", tmp_path / "chars.npz", "--max-run", "3", "-o", tmp_path / "lines.npz")
    assert result.returncode == 0, result.stderr
    assert "lines of 16 characters (2 writers)" in result.stdout
    lines = load_dataset(tmp_path / "lines.npz")
    assert lines.metadata["char_lines"]["max_run"] == 3
    bad = run_cli("prepare", "char-lines", tmp_path / "chars.npz", "--max-run", "0", "-o", tmp_path / "bad.npz")
    assert bad.returncode == 2 and "max_run" in bad.stderr and not (tmp_path / "bad.npz").exists()
