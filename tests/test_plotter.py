"""Pen-plotter output: G-code, HPGL and plotter SVG read back, profiles, the CLI, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from handwriting.errors import HandwritingError
from handwriting.output.plotter import (
    PLOTTER_FORMATS,
    plotter_profile,
    plotter_profiles,
    write_plotter,
)
from handwriting.output.plotter_page import MM_PER_PX, PlotterLine, PlotterPage, drawing_page
from handwriting.strokes import split_strokes
from plotter_readers import match_strokes, read_gcode, read_hpgl, read_plotter_svg, read_render_svg

from cli_helper import run_cli

pytest.importorskip("vpype")
pytest.importorskip("vpype_gcode")

SVG_NS = "{http://www.w3.org/2000/svg}"
#: The acceptance's tolerance between a plotter format and the SVG, in mm.
TOLERANCE_MM = 0.1
GCODE_PROFILES = [p for p in plotter_profiles().values() if p.format == "gcode"]


def _word(x: float, y: float, strokes: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A made-up word at ``(x, y)`` mm: ``strokes`` wiggles left to right and a one-point dot."""
    out = []
    for k in range(strokes):
        t = np.linspace(0.0, 1.0, 7)
        out.append(np.stack([x + 2.3 * k + 2.0 * t, y - 3.1 * np.sin(np.pi * t) + rng.normal(0, 0.05, 7)], 1))
    out.append(np.array([[x + 1.37, y - 6.2]]))
    return out


def sample_page(colors=("black", "navy")) -> PlotterPage:
    """Two lines of three words, a colour each, on a 120 x 60 mm page."""
    rng = np.random.default_rng(0)
    lines = [PlotterLine(words=[_word(10.0 + 30.0 * k, 15.0 + 20.0 * i, 2 + k, rng) for k in range(3)],
                         color=color, pen_width_mm=0.35) for i, color in enumerate(colors)]
    return PlotterPage(width_mm=120.0, height_mm=60.0, lines=lines)


def page_strokes(page: PlotterPage) -> list[np.ndarray]:
    """Every stroke of the page as written, a dot as a zero-length segment (as plotted)."""
    strokes = [s for line in page.lines for word in line.words for s in word]
    return [np.repeat(s, 2, axis=0) if len(s) == 1 else s for s in strokes]


def test_shipped_profiles_are_complete():
    import vpype as vp

    from handwriting.output.plotter import _vpype

    profiles = plotter_profiles()
    assert {p.format for p in profiles.values()} == {"gcode", "hpgl"} and len(profiles) >= 4
    _vpype()
    for profile in profiles.values():
        assert profile.description
        if profile.format == "gcode":
            assert profile.pen_up and profile.pen_down and profile.pen_up != profile.pen_down
            assert vp.config_manager.config["gwrite"][profile.name]["unit"] == "mm"
        else:
            assert vp.config_manager.get_plotter_config(profile.device) is not None


def test_plotter_svg_is_one_polyline_per_stroke_in_mm_with_a_layer_per_colour(tmp_path):
    page = sample_page()
    (path,), _ = write_plotter([page], tmp_path / "p.svg", "plotter-svg")
    root = ET.parse(path).getroot()
    assert root.get("width") == "12.0cm" and root.get("height") == "6.0cm"
    layers = root.findall(f"{SVG_NS}g")
    assert [g.get("stroke") for g in layers] == ["#000000", "#000080"]
    assert all(g.get("fill") == "none" for g in layers)
    assert not root.findall(f".//{SVG_NS}rect"), "no background"
    strokes = [e for g in layers for e in g]
    assert {e.tag for e in strokes} <= {f"{SVG_NS}{t}" for t in ("polyline", "line", "polygon")}
    assert len(strokes) == len(page_strokes(page))
    width_px = float(layers[0].get("stroke-width"))
    assert width_px * MM_PER_PX == pytest.approx(0.35, abs=1e-3)
    size, read = read_plotter_svg(path)
    assert size == pytest.approx((120.0, 60.0))
    # Each layer holds its own colour's strokes, and nothing is moved or scaled.
    for layer, line in zip(read, page.lines):
        mine = [np.repeat(s, 2, axis=0) if len(s) == 1 else s for w in line.words for s in w]
        match_strokes(layer, mine, tolerance=1e-3)


@pytest.mark.parametrize("profile", GCODE_PROFILES, ids=lambda p: p.name)
def test_gcode_reads_back_as_the_svg_in_mm_from_the_bottom_left(tmp_path, profile):
    page = sample_page()
    (svg,), _ = write_plotter([page], tmp_path / "p.svg", "plotter-svg")
    (gcode,), _ = write_plotter([page], tmp_path / "p.gcode", "gcode", profile.name)
    _, layers = read_plotter_svg(svg)
    plotted = read_gcode(gcode.read_text(), profile.pen_up, profile.pen_down, page.height_mm)
    expected = [s for layer in layers for s in layer]
    assert len(plotted) == len(expected)
    for mine, theirs in zip(plotted, expected):  # same order, point for point
        assert mine.shape == theirs.shape and np.abs(mine - theirs).max() <= TOLERANCE_MM
    assert "M0" in gcode.read_text(), "a pause to change the pen between the two colours"


def test_hpgl_reads_back_as_the_svg_in_plotter_units(tmp_path):
    page = sample_page()
    (svg,), _ = write_plotter([page], tmp_path / "p.svg", "plotter-svg")
    (hpgl,), _ = write_plotter([page], tmp_path / "p.hpgl", "hpgl")
    text = hpgl.read_text()
    assert text.startswith("IN;") and "SP1;" in text and "SP2;" in text, "a pen per colour"
    _, layers = read_plotter_svg(svg)
    plotted = read_hpgl(text, page.height_mm)
    expected = [s for layer in layers for s in layer]
    assert len(plotted) == len(expected)
    for mine, theirs in zip(plotted, expected):
        assert mine.shape == theirs.shape and np.abs(mine - theirs).max() <= TOLERANCE_MM


def test_a_device_profile_takes_its_own_paper_and_refuses_another(tmp_path):
    a4 = PlotterPage(width_mm=210.0, height_mm=297.0, lines=sample_page().lines)
    (path,), _ = write_plotter([a4], tmp_path / "a4.hpgl", "hpgl", "hp7475a")
    assert path.read_text().startswith("IN;DF;")
    with pytest.raises(HandwritingError, match="plots on a4"):
        write_plotter([sample_page()], tmp_path / "small.hpgl", "hpgl", "hp7475a")
    assert not (tmp_path / "small.hpgl").exists()


def test_several_pages_are_numbered_files(tmp_path):
    paths, travel = write_plotter([sample_page(), sample_page()], tmp_path / "letter.gcode", "gcode")
    assert [p.name for p in paths] == ["letter-1.gcode", "letter-2.gcode"]
    assert all(p.exists() for p in paths) and not (tmp_path / "letter.gcode").exists()
    assert 0 < travel.plotted_mm <= travel.writing_mm


def test_a_drawing_becomes_a_page_in_mm_with_y_down():
    from handwriting.output import render
    from handwriting.writing.hand import Drawing

    # Two words ("ab cd") of two strokes each; the second word's first stroke written last.
    line = np.array([[0, -10, 0], [5, -20, 1], [6, -10, 0], [8, -20, 1],
                     [40, -10, 1], [30, -10, 0], [35, -20, 1]], np.float32)
    page = render.Page(lines=[line, None], width=96.0, height=48.0, colors=["navy", "navy"], widths=[1.5, 1.5])
    plotter = drawing_page(Drawing(lines=page.lines, texts=["ab cd", ""], page=page))
    assert (plotter.width_mm, plotter.height_mm) == pytest.approx((25.4, 12.7))
    (only,) = plotter.lines
    assert only.color == "navy" and only.pen_width_mm == pytest.approx(1.5 * MM_PER_PX)
    first, second = only.words
    np.testing.assert_allclose(first[0], np.array([[0, 10], [5, 20]]) * MM_PER_PX)
    assert len(first) == 2 and len(second) == 2
    np.testing.assert_allclose(second[0], np.array([[40, 10]]) * MM_PER_PX)  # writing order kept


@pytest.mark.parametrize("kwargs, message", [
    (dict(width_mm=0.0, height_mm=10.0, lines=[]), "page width"),
    (dict(width_mm=10.0, height_mm=float("nan"), lines=[]), "page height"),
    (dict(width_mm=10.0, height_mm=10.0, lines=[PlotterLine(words=[[np.zeros((3, 3))]])]), "shape"),
    (dict(width_mm=10.0, height_mm=10.0, lines=[PlotterLine(words=[[np.full((2, 2), np.inf)]])]), "finite"),
    (dict(width_mm=10.0, height_mm=10.0, lines=[PlotterLine(words=[[]])]), "no strokes"),
    (dict(width_mm=10.0, height_mm=10.0, lines=[PlotterLine(words=[], pen_width_mm=-1)]), "pen width"),
])
def test_bad_pages_are_refused(kwargs, message):
    with pytest.raises(HandwritingError, match=message):
        PlotterPage(**kwargs)


def test_an_empty_page_is_refused(tmp_path):
    with pytest.raises(HandwritingError, match="nothing to plot on page 2"):
        write_plotter([sample_page(), PlotterPage(10.0, 10.0, lines=[])], tmp_path / "x.gcode", "gcode")
    with pytest.raises(HandwritingError, match="no pages"):
        write_plotter([], tmp_path / "x.gcode", "gcode")
    assert not list(tmp_path.iterdir())


def test_bad_profiles_are_refused():
    with pytest.raises(HandwritingError, match="unknown plotter profile 'nope': use grbl-servo"):
        plotter_profile("gcode", "nope")
    with pytest.raises(HandwritingError, match="writes gcode, not hpgl"):
        plotter_profile("hpgl", "grbl-servo")
    assert plotter_profile("plotter-svg") is None
    assert plotter_profile("gcode").name == "grbl-servo"


# ---------------------------------------------------------------- the command, with the shipped model


def test_cli_writes_gcode_hpgl_and_plotter_svg_that_match_the_svg(tmp_path):
    common = ["Plot this, quite nicely.", "--seed", "3"]
    for name, extra in [("a.svg", []), ("a.gcode", ["--plotter-profile", "grbl-z"]), ("a.hpgl", []),
                        ("p.svg", ["--format", "plotter-svg"])]:
        result = run_cli("write", *common, "-o", tmp_path / name, *extra)
        assert result.returncode == 0, result.stderr
    assert "pen-up travel" in result.stdout
    reference = read_render_svg(tmp_path / "a.svg", MM_PER_PX)
    (width, height), layers = read_plotter_svg(tmp_path / "p.svg")
    root = ET.parse(tmp_path / "a.svg").getroot()
    assert (width, height) == pytest.approx((float(root.get("width")[:-2]) * MM_PER_PX,
                                             float(root.get("height")[:-2]) * MM_PER_PX), abs=0.01)
    grbl_z = plotter_profiles()["grbl-z"]
    for strokes in (layers[0], read_gcode((tmp_path / "a.gcode").read_text(), grbl_z.pen_up, grbl_z.pen_down, height),
                    read_hpgl((tmp_path / "a.hpgl").read_text(), height)):
        match_strokes(strokes, reference, tolerance=TOLERANCE_MM)


@pytest.mark.parametrize("args, message", [
    (["-o", "{tmp}/x.gcode", "--plotter-profile", "nope"], "unknown plotter profile 'nope'"),
    (["-o", "{tmp}/x.hpgl", "--plotter-profile", "grbl-servo"], "writes gcode, not hpgl"),
    (["-o", "{tmp}/x.svg", "--plotter-profile", "grbl-servo"], "--plotter-profile is for pen-plotter output"),
    (["-o", "{tmp}/x.hpgl", "--plotter-profile", "hp7475a"], "plots on a4"),
    (["-o", "{tmp}/x.nc"], "cannot tell the format"),
])
def test_cli_bad_plotter_input_one_line_status_2_no_file(tmp_path, args, message):
    before = set(tmp_path.iterdir())
    result = run_cli("write", "ab", *[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert set(tmp_path.iterdir()) == before


def test_cli_says_how_to_install_vpype_when_it_is_missing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "vpype_gcode", None)  # import vpype_gcode raises ImportError
    result = run_cli("write", "ab", "-o", tmp_path / "x.gcode")
    assert result.returncode == 2
    assert "pip install 'handwriting[plot]'" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_vpype_writes_without_a_display(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen-not-available"  # any Qt start would fail loudly
    code = ("import sys; from handwriting.output.plotter import write_plotter; import test_plotter as t; "
            f"write_plotter([t.sample_page()], {str(tmp_path / 'x.gcode')!r}, 'gcode'); "
            "assert not [m for m in sys.modules if m.startswith(('PySide', 'moderngl', 'glcontext'))]")
    result = subprocess.run([sys.executable, "-c", code], env={**env, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(__file__), env.get("PYTHONPATH", "")])}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.gcode").exists()


def test_cli_batch_mode_writes_one_plotter_file_per_prompt(tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("one line\nanother line\n")
    result = run_cli("write", "--input", prompts, "--output-dir", tmp_path / "out", "--format", "hpgl")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0001.hpgl", "0002.hpgl"]
    assert all(p.read_text().startswith("IN;") for p in (tmp_path / "out").iterdir())
