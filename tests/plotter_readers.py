"""Small readers for the tests: G-code and HPGL back to strokes in page mm (y down), and SVG.

vpype reads SVG but neither G-code nor HPGL, so these parse the two formats just as far as the
shipped profiles write them, and check the pen's state on the way: a stroke is drawn only with
the pen down, and the pen travels only lifted.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

#: HPGL plotter units of the generic profile (vpype's device "handwriting-hpgl").
HPGL_MM_PER_UNIT = 0.025
SVG = "{http://www.w3.org/2000/svg}"
_COMMENT = re.compile(r"\([^)]*\)|;.*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def read_gcode(text: str, pen_up: str, pen_down: str, page_height_mm: float) -> list[np.ndarray]:
    """Strokes ``[n, 2]`` in page mm (y down) from absolute millimetre G-code whose origin is the
    page's bottom-left corner; the pen commands are the profile's."""
    lines = [_COMMENT.sub("", raw).strip() for raw in text.splitlines()]
    lines = [line for line in lines if line]
    assert "G21" in lines and "G90" in lines and "G20" not in lines, "millimetres, absolute"
    strokes: list[list[tuple[float, float]]] = []
    down, here = False, None
    for line in lines:
        if line == pen_down:
            assert not down and here is not None, "the pen goes down once, where it is"
            down = True
            strokes.append([here])
            continue
        if line == pen_up:
            down = False
            continue
        command, *rest = line.split()
        if command in ("G0", "G1") and any(w[0] == "X" for w in rest):
            words = {w[0]: float(w[1:]) for w in rest}
            here = (words["X"], page_height_mm - words["Y"])
            if command == "G0":
                assert not down, "rapid moves travel with the pen up"
            else:
                assert down, "drawing moves have the pen down"
                strokes[-1].append(here)
    assert not down, "the pen is lifted at the end"
    return [np.array(s) for s in strokes]


def read_hpgl(text: str, page_height_mm: float) -> list[np.ndarray]:
    """Strokes ``[n, 2]`` in page mm (y down) from absolute HPGL (``PU x,y;PD x,y,...;``) at
    :data:`HPGL_MM_PER_UNIT`, origin at the page's bottom-left corner, y up."""
    strokes, here = [], None
    for command in text.strip().split(";"):
        op, args = command[:2], [float(v) for v in _NUMBER.findall(command[2:])]
        assert op != "PR", "absolute coordinates"
        points = [(x * HPGL_MM_PER_UNIT, page_height_mm - y * HPGL_MM_PER_UNIT) for x, y in zip(args[::2], args[1::2])]
        if op == "PU" and points:
            here = points[-1]
        elif op == "PD":
            assert here is not None
            strokes.append(np.array([here] + points))
            here = points[-1]
    return strokes


def read_plotter_svg(path: Path) -> tuple[tuple[float, float], list[list[np.ndarray]]]:
    """The page size in mm and, per layer (``<g>``), its strokes ``[n, 2]`` in mm.

    vpype's own reader drops zero-length lines (the dots), so the elements are read here:
    ``polyline``, ``polygon`` (closed: its first point again at the end) and ``line``, in user
    units scaled to the page's physical size (``width``/``height`` in cm against the viewBox).
    """
    root = ET.parse(path).getroot()
    _, _, box_width, box_height = (float(v) for v in root.get("viewBox").split())
    width_mm, height_mm = (float(root.get(k).removesuffix("cm")) * 10.0 for k in ("width", "height"))
    scale = np.array([width_mm / box_width, height_mm / box_height])
    layers = []
    for group in root.findall(f"{SVG}g"):
        strokes = []
        for element in group:
            tag = element.tag.removeprefix(SVG)
            if tag == "line":
                points = [[float(element.get(k)) for k in ("x1", "y1")], [float(element.get(k)) for k in ("x2", "y2")]]
            else:
                values = [float(v) for v in _NUMBER.findall(element.get("points"))]
                points = np.reshape(values, (-1, 2)).tolist()
                if tag == "polygon":
                    points.append(points[0])
            strokes.append(np.array(points) * scale)
        layers.append(strokes)
    return (width_mm, height_mm), layers


def read_render_svg(path: Path, mm_per_px: float) -> list[np.ndarray]:
    """Strokes ``[n, 2]`` in mm from the project's own SVG (paths of ``M x y L x y x y ...``
    subpaths, one a stroke, in px with y down)."""
    strokes = []
    for element in ET.parse(path).getroot().iter(f"{SVG}path"):
        for subpath in element.get("d").split("M")[1:]:
            values = [float(v) for v in _NUMBER.findall(subpath)]
            strokes.append(np.array(values).reshape(-1, 2) * mm_per_px)
    return strokes


def match_strokes(found: list[np.ndarray], expected: list[np.ndarray], tolerance: float) -> list[int]:
    """For each found stroke the index of the expected stroke it is, point for point within
    ``tolerance``; asserts every expected stroke is found exactly once."""
    matched = []
    for stroke in found:
        hits = [k for k, e in enumerate(expected) if e.shape == stroke.shape and np.abs(e - stroke).max() <= tolerance]
        assert hits, f"a stroke of {len(stroke)} points at {stroke[0]} matches none expected"
        matched.append(next((k for k in hits if k not in matched), hits[0]))
    assert sorted(matched) == list(range(len(expected))), "every stroke once"
    return matched
