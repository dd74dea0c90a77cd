import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from handwriting.output import layout, render
from handwriting import strokes as S
from handwriting.errors import HandwritingError

GOLDEN = Path(__file__).parent / "golden"
SVG_NS = "{http://www.w3.org/2000/svg}"


def hand_written_page() -> list[np.ndarray | None]:
    """Two short lines drawn by hand: 'L.' and 'v', with a blank line between them."""
    ell = S.join_strokes([np.array([[0, 20], [0, 0], [8, 0]]), np.array([[12, 0]])])
    vee = S.join_strokes([np.array([[0, 10], [4, 0], [8, 10]])])
    return [ell, None, vee]


def test_wrap_keeps_newlines_and_paragraphs():
    text = "The quick brown fox jumps over the lazy dog\n\nSecond paragraph here\nthird"
    assert layout.wrap_text(text, max_line_chars=16) == [
        "The quick brown", "fox jumps over", "the lazy dog", "", "Second paragraph", "here", "third"]
    assert layout.wrap_text("\n\n  one  \n\n\n") == ["one"]
    assert layout.wrap_text("a" * 25, max_line_chars=10) == ["a" * 10, "a" * 10, "a" * 5]
    for line in layout.wrap_text("lorem ipsum " * 40, max_line_chars=50):
        assert len(line) <= 50
    with pytest.raises(ValueError):
        layout.wrap_text("x", max_line_chars=0)


def test_lines_stack_at_one_line_height_with_levelled_baselines():
    rng = np.random.default_rng(0)
    lines = []
    for k in range(3):
        x = np.linspace(0, 100 + 20 * k, 80)
        c = S.join_strokes([np.stack([x, 6 * np.abs(np.sin(x / 4))], 1)])
        lines.append(S.rotate(c, np.deg2rad(rng.uniform(-6, 6))))
    placed = layout.place_lines(lines, line_height=40, margin=5)
    baselines = [S.baseline_height(c) for c in placed]
    np.testing.assert_allclose(np.diff(baselines), -40, atol=1e-3)
    for c in placed:
        assert abs(S.baseline_angle(c)) < 1e-3
        assert c[:, 0].min() == pytest.approx(5)


@pytest.mark.parametrize("align", ["left", "center", "right"])
def test_alignment_geometry(align):
    short = S.join_strokes([np.array([[0, 0], [10, 0]])])
    long = S.join_strokes([np.array([[0, 0], [50, 0]])])
    placed = layout.place_lines([short, long], line_height=20, align=align, page_width=100, margin=10, level=False)
    left, right = placed[0][:, 0].min(), placed[0][:, 0].max()
    expected = {"left": (10, 20), "center": (45, 55), "right": (80, 90)}[align]
    assert (left, right) == pytest.approx(expected)
    with pytest.raises(ValueError):
        layout.place_lines([short], align="justify")


def test_golden_svg():
    placed = layout.place_lines(hand_written_page(), line_height=30, margin=5, level=False)
    page = render.Page.fit(placed, color=["navy", "black", "#aa0000"], width=2.5, margin=5)
    expected = (GOLDEN / "two_lines.svg").read_text()
    assert render.svg_text(page) == expected


def test_svg_is_plotter_friendly():
    placed = layout.place_lines(hand_written_page(), line_height=30, level=False)
    root = ET.fromstring(render.svg_text(render.Page.fit(placed)))
    paths = root.findall(f".//{SVG_NS}path")
    assert len(paths) == 2
    for group in root.findall(f"{SVG_NS}g"):
        assert group.get("fill") == "none"
        assert group.get("stroke-linecap") == "round" and group.get("stroke-linejoin") == "round"
    for p in paths:
        letters = {ch for ch in p.get("d") if ch.isalpha()}
        assert letters <= {"M", "L"}
    assert paths[0].get("d").count("M") == 2  # two strokes in the first line


def test_animated_svg_draws_each_stroke_in_order():
    placed = layout.place_lines(hand_written_page(), line_height=30, level=False)
    root = ET.fromstring(render.animated_svg_text(render.Page.fit(placed), speed=2.0))
    animations = root.findall(f".//{SVG_NS}animate")
    assert len(animations) == 3  # one per stroke
    begins = [float(a.get("begin").rstrip("s")) for a in animations]
    assert begins == sorted(begins) and begins[0] == 0
    slow = ET.fromstring(render.animated_svg_text(render.Page.fit(placed), speed=1.0))
    slow_last = float(slow.findall(f".//{SVG_NS}animate")[-1].get("begin").rstrip("s"))
    assert slow_last == pytest.approx(2 * begins[-1], rel=0.01)
    with pytest.raises(HandwritingError):
        render.animated_svg_text(render.Page.fit(placed), speed=0)


def test_png_and_atomic_writes(tmp_path):
    placed = layout.place_lines(hand_written_page(), line_height=30, level=False)
    page = render.Page.fit(placed, width=3)
    render.write_png(page, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(HandwritingError):
        render.write_svg(page, tmp_path / "missing" / "p.svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png"]


@pytest.mark.parametrize("kwargs", [dict(color="notacolour"), dict(width=-1), dict(color=["red"])])
def test_bad_style_options(kwargs):
    with pytest.raises(HandwritingError):
        render.Page.fit(hand_written_page(), **kwargs)


@pytest.mark.parametrize("text, limit, expected", [
    ("Hello, world! This is my handwriting.", 20, ["Hello, world! This", "is my handwriting."]),
    ("The quick brown fox jumps over the lazy dog.", 20, ["The quick brown", "fox jumps over", "the lazy dog."]),
    ("Supercalifragilisticexpialidocious is long", 20, ["Supercalifragilisticexpialidocious", "is long"]),
    ("fits", 20, ["fits"]),
    ("a b c", None, ["a b c"]),
    ("Unbreakablewordlongerthanthelimit", 10, ["Unbreakablewordlongerthanthelimit"]),
])
def test_long_lines_split_into_even_pieces_at_spaces(text, limit, expected):
    pieces = layout.split_pieces(text, limit)
    assert pieces == expected
    assert " ".join(pieces) == text


def _word(x0: float, width: float, rise: float = 0.0) -> np.ndarray:
    """A zigzag 'word' of height 1 from x0, ``rise`` above the baseline, as one stroke."""
    x = np.linspace(x0, x0 + width, 9)
    return np.stack([x, rise + (np.arange(9) % 2).astype(float)], 1)


def test_word_gaps_are_the_widest_gaps_between_overlapping_stroke_groups():
    line = S.join_strokes([_word(0, 3), _word(2.5, 1), _word(5, 2), _word(9, 2)])  # groups 0-3.5, 5-7, 9-11
    assert layout.word_gaps(line, 2) == pytest.approx([2.0, 1.5])
    assert layout.word_gaps(line, 1) == pytest.approx([2.0])
    assert layout.word_gaps(line, 0) == []


def test_pieces_joined_at_one_size_when_asked():
    first = S.join_strokes([_word(0, 3), _word(4.5, 3)])
    second = S.join_strokes([_word(0, 3), _word(4.5, 3)])
    second[:, :2] *= 1.4  # written larger
    as_written = layout.join_pieces([first, second], ["ab cd", "ef gh"])
    levelled = layout.join_pieces([first, second], ["ab cd", "ef gh"], level_sizes=True)
    a, b = levelled[: len(first)], levelled[len(first):]
    assert S.estimate_x_height(a) == pytest.approx(S.estimate_x_height(b), rel=1e-3)
    # both move to the median: the first grows, the second shrinks, each by the same factor
    assert S.estimate_x_height(a) == pytest.approx(1.2 * S.estimate_x_height(as_written[: len(first)]), rel=1e-3)
    np.testing.assert_array_equal(levelled[:, 2], as_written[:, 2])
    huge = second.copy()
    huge[:, :2] *= 10.0  # a misread size is not followed all the way
    capped = layout.join_pieces([first, huge], ["ab cd", "EF GH"], level_sizes=True)
    ratio = S.estimate_x_height(capped[len(first):]) / S.estimate_x_height(capped[: len(first)])
    assert ratio == pytest.approx(14.0 / layout.MAX_PIECE_RESIZE**2, rel=1e-2)


def test_scale_word_gaps_moves_whole_words_and_commutes_with_the_slant():
    line = S.join_strokes([_word(0, 3), _word(2.5, 1), _word(5, 2), _word(9, 2)])  # words 0-3.5, 5-7, 9-11
    wider = layout.scale_word_gaps(line, "ab cd ef", 2.0)
    assert layout.word_gaps(wider, 2) == pytest.approx([4.0, 3.0])
    first_word = S.stroke_counts(line)[:2].sum()
    np.testing.assert_allclose(wider[:first_word], line[:first_word])  # the first word stays where it was
    np.testing.assert_allclose(wider[:, 1:], line[:, 1:])  # heights and pen lifts untouched
    np.testing.assert_array_equal(layout.scale_word_gaps(line, "abcdef", 2.0), line)  # no spaces, no gaps
    np.testing.assert_array_equal(layout.scale_word_gaps(line, "ab cd ef", 1.0), line)
    slanted = S.shear(line, 0.3)
    np.testing.assert_allclose(layout.scale_word_gaps(slanted, "ab cd ef", 0.5),
                               S.shear(layout.scale_word_gaps(line, "ab cd ef", 0.5), 0.3), atol=1e-4)


def test_scale_gaps_narrows_the_gaps_between_letters_and_keeps_the_word_gaps():
    line = S.join_strokes([_word(0, 1), _word(1.5, 1), _word(4, 1), _word(5.2, 1)])  # "ab cd": letters 0.5, 0.2 apart
    tighter = layout.scale_gaps(line, "ab cd", letters=0.5)
    starts = [tighter[a:b, 0].min() for a, b in zip(*_stroke_bounds(line))]
    assert starts == pytest.approx([0.0, 1.25, 3.75, 4.85])  # each letter gap halved, the word gap (1.5) kept
    np.testing.assert_allclose(tighter[:, 1:], line[:, 1:])
    both = layout.scale_gaps(line, "ab cd", words=2.0, letters=0.5)
    assert [both[a:b, 0].min() for a, b in zip(*_stroke_bounds(line))] == pytest.approx([0.0, 1.25, 5.25, 6.35])
    slanted = S.shear(line, 0.3)
    np.testing.assert_allclose(layout.scale_gaps(slanted, "ab cd", letters=0.5), S.shear(tighter, 0.3), atol=1e-4)


def _stroke_bounds(coords: np.ndarray) -> tuple[list[int], list[int]]:
    ends = np.cumsum(S.stroke_counts(coords)).tolist()
    return [0] + ends[:-1], ends


def test_pieces_join_on_one_band_a_word_gap_apart():
    first = S.join_strokes([_word(0, 3), _word(4.5, 3)])  # "ab cd": its own word gap is 1.5
    second = S.join_strokes([_word(0, 3)])
    second[:, 1] += 7.0  # written apart, it sits higher
    line = layout.join_pieces([first, second], ["ab cd", "ef"])
    a, b = line[: len(first)], line[len(first):]
    assert b[:, 0].min() - a[:, 0].max() == pytest.approx(1.5, abs=1e-3)  # the hand's own gap
    band = lambda c: np.mean(S.ink_quantiles(c, S.X_HEIGHT_BAND))  # noqa: E731
    assert band(b) == pytest.approx(band(a), abs=1e-3)
    assert line[:, 2].sum() == first[:, 2].sum() + second[:, 2].sum()  # every stroke still ends with a lift
    alone = layout.join_pieces([second, second.copy()], ["ef", "gh"])  # no spaces: the default gap
    gap = alone[len(second):, 0].min() - alone[: len(second), 0].max()
    assert gap == pytest.approx(layout.PIECE_GAP_X_HEIGHTS * S.estimate_x_height(alone), rel=0.05)


def test_slanted_pieces_keep_their_word_gap_upright():
    """A slanted hand's pieces are a word gap apart with the slant taken out, as people's words
    are measured; placed by the slanted ink's extents, the last word's leaning top and the next
    one's foot overlap in x and the space between the pieces is lost."""
    upright_first = S.join_strokes([_word(0, 3), _word(4.5, 3)])  # its own word gap is 1.5
    upright_second = S.join_strokes([_word(0, 3)])
    joined = layout.join_pieces([S.shear(upright_first, 0.4), S.shear(upright_second, 0.4)], ["ab cd", "ef"])
    straight = S.shear(joined, -S.estimate_slant(joined))  # the slant as measured (0.37 for these zigzags)
    assert layout.word_gaps(straight, 2) == pytest.approx([1.5, 1.5], abs=0.03)  # by the ink: 1.5 - 0.42
