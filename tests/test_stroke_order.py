"""The plotter's word order: words whole and forwards, pen-up travel cut; the words of a line."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from handwriting.output.plotter_page import drawing_page, drawing_pages, split_words
from handwriting.output.stroke_order import order_words, pen_up_travel, travel_lower_bound, word_travel
from handwriting.strokes import join_strokes

pytest.importorskip("vpype")

LETTER = Path(__file__).parent / "fixtures" / "pages" / "letter.txt"


def test_pen_up_travel_is_the_sum_of_the_jumps():
    strokes = [np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[4.0, 4.0]]), np.array([[4.0, 1.0], [9.0, 9.0]])]
    assert pen_up_travel(strokes) == pytest.approx(5.0 + 3.0)
    assert pen_up_travel(strokes[:1]) == 0.0


def test_a_line_splits_into_words_at_its_widest_gaps():
    strokes = [np.array([[0, 0], [2, 1]]), np.array([[1, 0], [3, 1]]),  # "ab": overlapping strokes
               np.array([[8, 0], [9, 1]]),                               # "c", 5 after "ab"
               np.array([[12, 0], [14, 1]]), np.array([[15, 0], [16, 1]]),  # "de" with a gap of 1
               np.array([[1.5, 2]])]                                    # a dot over "ab", written last
    coords = join_strokes([s.astype(float) for s in strokes])
    assert split_words(coords, 2) == [[0, 1, 5], [2], [3, 4]]
    assert split_words(coords, 1) == [[0, 1, 5], [2, 3, 4]]
    assert split_words(coords, 0) == [[0, 1, 2, 3, 4, 5]]
    crossed = join_strokes([s.astype(float) for s in strokes] + [np.array([[2.0, 1.0], [13.0, 1.0]])])
    assert split_words(crossed, 2) == [[0, 1, 2, 3, 5, 6], [4]], "a stroke across a gap joins its words"


def _words_on_a_line(xs, width=4.0):
    """One two-stroke word at each x, drawn left to right: first point at x, last at x + width."""
    return [[np.array([[x, 0.0], [x + width / 2, 2.0]]), np.array([[x + width / 2, 0.0], [x + width, 1.0]])]
            for x in xs]


def test_shuffled_words_are_drawn_left_to_right():
    xs = [30.0, 0.0, 50.0, 10.0, 40.0, 20.0]
    words = _words_on_a_line(xs)
    order = order_words(words)
    assert [xs[k] for k in order] == sorted(xs)
    inside = sum(pen_up_travel(w) for w in words)
    assert word_travel(words, order) == pytest.approx(inside + 5 * np.hypot(10.0 - 4.0, 1.0))


def _brute_force(words) -> float:
    return min(word_travel(words, p) for p in itertools.permutations(range(len(words))))


def test_the_order_is_never_worse_than_writing_order_and_near_the_optimum_above_the_bound():
    rng = np.random.default_rng(4)
    ratios = []
    for _ in range(20):
        words = [[rng.uniform(0, 50, (3, 2)), rng.uniform(0, 50, (2, 2))] for _ in range(6)]
        order = order_words(words)
        assert sorted(order) == list(range(6))
        assert word_travel(words, order) <= word_travel(words) + 1e-9
        best = _brute_force(words)
        assert travel_lower_bound(words) <= best + 1e-9
        ratios.append(word_travel(words, order) / best)
    assert np.mean(ratios) < 1.05 and max(ratios) < 1.3


def test_plotted_words_stay_whole_and_keep_their_strokes_in_order(tmp_path):
    import handwriting
    from handwriting.output.plotter import write_plotter
    from plotter_readers import match_strokes, read_plotter_svg

    drawing = handwriting.load().write("the quick brown fox jumps\nover a lazy dog, again and again", seed=2,
                                       line_height=40.0)
    page = drawing_page(drawing)
    words = [w for line in page.lines for w in line.words]
    assert len(words) == 12
    (path,), travel = write_plotter([page], tmp_path / "p.svg", "plotter-svg")
    _, (layer,) = read_plotter_svg(path)
    strokes = [np.repeat(s, 2, axis=0) if len(s) == 1 else s for w in words for s in w]
    plotted = match_strokes(layer, strokes, tolerance=1e-3)
    first = np.cumsum([0] + [len(w) for w in words])
    runs, k = [], 0
    while k < len(plotted):  # each word: its first stroke, then the rest of its strokes in order
        word = int(np.searchsorted(first, plotted[k], side="right")) - 1
        assert plotted[k] == first[word], "a word is drawn from its first stroke"
        run = plotted[k:k + len(words[word])]
        assert run == list(range(first[word], first[word + 1])), "a word's strokes together, in order"
        runs.append(word)
        k += len(run)
    assert sorted(runs) == list(range(len(words)))
    assert travel.plotted_mm <= travel.writing_mm


# ---------------------------------------------------------------- the 600-word letter

@pytest.mark.slow
def test_the_letter_s_pen_up_travel_is_cut(tmp_path):
    """The letter of the page tests, written on A4 pages: the order cuts its pen-up travel to
    within a few points of what any order of forward-drawn words could. The issue asks for 30%,
    which no such order reaches: the lifts inside words are fixed, and the assignment relaxation
    of the jumps between words bounds the cut (printed)."""
    import handwriting
    from handwriting.output.plotter import ordered_page, write_plotter

    drawing = handwriting.load().write(LETTER.read_text(), page="a4", seed=1)
    pages = drawing_pages(drawing)
    assert len(pages) >= 3
    writing = plotted = inside = bound = 0.0  # mm
    for page in pages:
        words = [w for line in page.lines for w in line.words]
        ink = np.vstack([s for w in words for s in w])
        assert ink.min() >= 0 and (ink.max(axis=0) <= (page.width_mm, page.height_mm)).all(), "the ink is on the page"
        travel = ordered_page(page)[1]
        writing, plotted = writing + travel.writing_mm, plotted + travel.plotted_mm
        inside += sum(pen_up_travel(w) for w in words)
        bound += travel_lower_bound(words)
    cut, best_cut = 1 - plotted / writing, 1 - bound / writing
    print(f"\n{len(LETTER.read_text().split())}-word letter, {len(pages)} A4 pages: pen-up travel "
          f"{writing / 1000:.2f} m in writing order, {plotted / 1000:.2f} m ordered: {cut:.1%} less (lifts inside "
          f"words {inside / writing:.0%}; no order of forward words saves more than {best_cut:.1%})")
    assert cut >= 0.1 and cut >= best_cut - 0.03
    paths, _ = write_plotter(pages, tmp_path / "letter.gcode", "gcode")
    assert len(paths) == len(pages) and all(p.stat().st_size for p in paths)

