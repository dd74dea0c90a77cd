import json

import numpy as np
import pytest

from handwriting import inkio
from handwriting.errors import HandwritingError
from handwriting.strokes import split_strokes

ZIGZAG = [[[0, 0], [10, 10], [20, 0], [30, 10], [40, 0]], [[50, 0], [50, 10], [60, 10], [60, 0], [70, 5]]]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_json_strokes_flip_y(tmp_path):
    coords = inkio.read_ink(write(tmp_path, "s.json", json.dumps(ZIGZAG)))
    assert coords.shape == (10, 3)
    parts = split_strokes(coords)
    np.testing.assert_array_equal(parts[0][:, 1], [0, -10, 0, -10, 0])
    np.testing.assert_array_equal(coords[:, 2], [0, 0, 0, 0, 1] * 2)
    also = inkio.read_ink(write(tmp_path, "t.json", json.dumps({"strokes": ZIGZAG})))
    np.testing.assert_array_equal(also, coords)


def test_inkml(tmp_path):
    traces = "".join("<trace>" + ", ".join(f"{x} {y} 0.5" for x, y in s) + "</trace>" for s in ZIGZAG)
    doc = f'<ink xmlns="http://www.w3.org/2003/InkML">{traces}</ink>'
    coords = inkio.read_ink(write(tmp_path, "s.inkml", doc))
    expected = inkio.read_ink(write(tmp_path, "s.json", json.dumps(ZIGZAG)))
    np.testing.assert_array_equal(coords, expected)


def test_svg_lines_and_relative_commands(tmp_path):
    d = "M0 0 L10 10 20 0 30 10 40 0 M50 0 l0 10 h10 V0 L70 5"
    doc = f'<svg xmlns="http://www.w3.org/2000/svg"><path d="{d}"/></svg>'
    coords = inkio.read_ink(write(tmp_path, "s.svg", doc))
    expected = inkio.read_ink(write(tmp_path, "s.json", json.dumps(ZIGZAG)))
    np.testing.assert_allclose(coords, expected)


def test_svg_curves_are_sampled_through_their_end_points():
    strokes = inkio.path_data_strokes("M0 0 C 0 10 10 10 10 0 Q 15 -10 20 0 Z")
    (s,) = strokes
    assert len(s) == 1 + 2 * inkio.CURVE_SAMPLES + 1
    np.testing.assert_allclose(s[inkio.CURVE_SAMPLES], [10, 0])
    np.testing.assert_allclose(s[inkio.CURVE_SAMPLES // 2], [5, 7.5])  # cubic midpoint
    np.testing.assert_allclose(s[-1], [0, 0])  # Z closes the stroke


def test_svg_arcs_follow_the_ellipse_not_the_chord():
    # A quarter circle of radius 10 from (0, 0) to (10, 10) (sweep flag 1: centre (0, 10)).
    (s,) = inkio.path_data_strokes("M0 0 A 10 10 0 0 1 10 10")
    assert len(s) == 1 + inkio.CURVE_SAMPLES
    np.testing.assert_allclose(np.hypot(s[:, 0] - 0, s[:, 1] - 10), 10, atol=1e-6)
    np.testing.assert_allclose(s[-1], [10, 10])
    assert np.hypot(*(s[len(s) // 2] - [5, 5])) > 2  # well off the chord


def test_svg_compact_arc_flags():
    # "011 1" is large-arc 0, sweep 1, then x = 1, y = 1 (SVG allows flags without separators).
    (compact,) = inkio.path_data_strokes("M0 0a1 1 0 011 1")
    (spaced,) = inkio.path_data_strokes("M0 0 a 1 1 0 0 1 1 1")
    np.testing.assert_allclose(compact, spaced)
    np.testing.assert_allclose(compact[-1], [1, 1])


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("a.json", "[[1, 2", "invalid JSON"),
        ("a.json", '[["x", "y"]]', "stroke 0 is not a list"),
        ("a.json", "[[[0, 0], [1, 1]]]", "only 2 points"),
        ("a.json", "[]", "no strokes"),
        ("a.inkml", "<ink><trace>1 2, 3</trace></ink>", "trace point '3'"),
        ("a.inkml", "<ink><trace>", "invalid InkML"),
        ("a.svg", "<svg><rect/></svg>", "no <path>"),
        ("a.svg", "<svg><path d='10 10'/></svg>", "must start with a command"),
        ("a.svg", "<svg><path d='M 10'/></svg>", "malformed path data"),
        ("a.txt", "whatever", "unknown ink format"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, name, text, message):
    with pytest.raises(HandwritingError, match=message) as info:
        inkio.read_ink(write(tmp_path, name, text))
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(HandwritingError, match="not found"):
        inkio.read_ink(tmp_path / "nope.json")
