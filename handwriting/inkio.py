"""Reading a user's own handwriting: stroke JSON, InkML and SVG path data -> coords.

All three formats use screen coordinates (y pointing down); the result is ``[N, 3]`` coords
``(x, y, pen_up)`` with y up, as everywhere in the package. Bad files raise
:class:`HandwritingError` with one line naming the problem.

- JSON: a list of strokes, each a list of ``[x, y]`` points (extra numbers such as time or
  pressure after x and y are ignored), or ``{"strokes": [...]}``.
- InkML: every ``<trace>`` in document order; points separated by commas, channels by spaces
  (the first two channels are x and y). Difference-encoded traces are not supported.
- SVG: path data (``d`` attributes of every ``<path>``, or a bare path-data string); ``M``
  starts a stroke; lines, curves and arcs are followed, curves sampled into points.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import HandwritingError
from .strokes import join_strokes

INK_FORMATS = ("json", "inkml", "svg")
#: Points sampled along each SVG curve segment.
CURVE_SAMPLES = 12
#: A style sample needs at least this many points to be a usable prime.
MIN_POINTS = 10


def read_ink(path: str | Path, format: str | None = None) -> np.ndarray:
    """Read a handwriting sample from ``path`` as ``[N, 3]`` coords (y up).

    ``format`` is one of ``json``, ``inkml``, ``svg``; by default taken from the extension.
    """
    path = Path(path)
    if not path.is_file():
        raise HandwritingError(f"ink file not found: {path}")
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in INK_FORMATS:
        raise HandwritingError(f"{path}: unknown ink format {fmt!r}: use one of {', '.join(INK_FORMATS)}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise HandwritingError(f"{path}: not a UTF-8 text file") from None
    parse = {"json": strokes_from_json, "inkml": strokes_from_inkml, "svg": strokes_from_svg}[fmt]
    try:
        strokes = parse(text)
    except HandwritingError as exc:
        raise HandwritingError(f"{path}: {exc}") from None
    return strokes_to_coords(strokes, source=str(path))


def strokes_to_coords(strokes: Sequence[np.ndarray], source: str = "ink") -> np.ndarray:
    """Screen-space strokes (y down) -> validated ``[N, 3]`` coords with y up."""
    strokes = [np.asarray(s, np.float64).reshape(-1, 2) for s in strokes if len(s)]
    if not strokes:
        raise HandwritingError(f"{source}: no strokes found")
    coords = join_strokes([np.stack([s[:, 0], -s[:, 1]], 1) for s in strokes])
    if not np.isfinite(coords).all():
        raise HandwritingError(f"{source}: coordinates must be finite numbers")
    if len(coords) < MIN_POINTS:
        raise HandwritingError(f"{source}: only {len(coords)} points; a style sample needs at least {MIN_POINTS}")
    return coords


def strokes_from_json(text: str) -> list[np.ndarray]:
    """Parse stroke JSON: ``[[[x, y], ...], ...]`` or ``{"strokes": ...}``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HandwritingError(f"invalid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict):
        data = data.get("strokes")
    if not isinstance(data, list):
        raise HandwritingError("expected a list of strokes, each a list of [x, y] points")
    strokes = []
    for i, stroke in enumerate(data):
        if not isinstance(stroke, list) or not all(
            isinstance(p, (list, tuple)) and len(p) >= 2 and all(isinstance(v, (int, float)) for v in p[:2])
            for p in stroke
        ):
            raise HandwritingError(f"stroke {i} is not a list of [x, y] number pairs")
        strokes.append(np.array([p[:2] for p in stroke], np.float64))
    return strokes


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def strokes_from_inkml(text: str) -> list[np.ndarray]:
    """Parse the ``<trace>`` elements of an InkML document."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise HandwritingError(f"invalid InkML ({exc})") from None
    strokes = []
    for trace in root.iter():
        if _local(trace.tag) != "trace" or not (trace.text or "").strip():
            continue
        points = []
        for point in trace.text.strip().split(","):
            values = point.split()
            try:
                points.append([float(values[0]), float(values[1])])
            except (IndexError, ValueError):
                raise HandwritingError(f"trace point {point.strip()!r} is not 'x y ...'") from None
        strokes.append(np.array(points))
    return strokes


_PATH_TOKEN = re.compile(r"[MmLlHhVvCcSsQqTtAaZz]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARGS = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "A": 7, "Z": 0}


def strokes_from_svg(text: str) -> list[np.ndarray]:
    """Parse the path data of an SVG document (or a bare path-data string) into strokes."""
    stripped = text.strip()
    if stripped.startswith("<"):
        try:
            root = ET.fromstring(stripped)
        except ET.ParseError as exc:
            raise HandwritingError(f"invalid SVG ({exc})") from None
        data = [el.get("d", "") for el in root.iter() if _local(el.tag) == "path"]
        if not data:
            raise HandwritingError("the SVG holds no <path> elements")
    else:
        data = [stripped]
    strokes: list[np.ndarray] = []
    for d in data:
        strokes.extend(path_data_strokes(d))
    return strokes


def _bezier(control: np.ndarray, samples: int) -> np.ndarray:
    """Sample the Bezier curve of ``[k, 2]`` control points at ``samples`` steps, start excluded."""
    from math import comb

    degree = len(control) - 1
    t = np.linspace(0, 1, samples + 1)[1:, None]
    return sum(comb(degree, i) * (1 - t) ** (degree - i) * t**i * control[i] for i in range(degree + 1))


def _arc(start: np.ndarray, end: np.ndarray, samples: int) -> np.ndarray:
    """Approximate an elliptical arc by its chord, sampled (enough for handwriting samples)."""
    t = np.linspace(0, 1, samples + 1)[1:, None]
    return start + t * (end - start)


def path_data_strokes(d: str, curve_samples: int = CURVE_SAMPLES) -> list[np.ndarray]:
    """SVG path data -> ``[n, 2]`` strokes (each ``M``/``m`` starts a new one; ``Z`` closes a
    stroke of two or more points); curves and arcs are sampled at ``curve_samples`` points."""
    tokens = _PATH_TOKEN.findall(d)
    if not tokens or not tokens[0].isalpha():
        raise HandwritingError(f"path data must start with a command: {d[:30]!r}")
    strokes: list[list[np.ndarray]] = []
    pos = np.zeros(2)
    start = np.zeros(2)
    last_control = None
    i, cmd = 0, None
    while i < len(tokens):
        if tokens[i].isalpha():
            cmd = tokens[i]
            i += 1
            if cmd in "Zz":
                if strokes and len(strokes[-1]) > 1:
                    strokes[-1].append(start.copy())
                pos = start.copy()
                continue
        upper, relative = cmd.upper(), cmd.islower()
        n = _ARGS[upper]
        try:
            args = np.array([float(t) for t in tokens[i:i + n]])
        except ValueError:
            raise HandwritingError(f"command {cmd} needs {n} numbers") from None
        if len(args) < n:
            raise HandwritingError(f"command {cmd} needs {n} numbers")
        i += n
        base = pos if relative else np.zeros(2)
        if upper == "M":
            pos = base + args
            start = pos.copy()
            strokes.append([pos.copy()])
            cmd = "l" if relative else "L"  # further pairs are line-tos
            continue
        if not strokes:
            strokes.append([pos.copy()])
        if upper == "L" or upper == "T":
            new = [base + args]
        elif upper == "H":
            new = [np.array([args[0] + (pos[0] if relative else 0), pos[1]])]
        elif upper == "V":
            new = [np.array([pos[0], args[0] + (pos[1] if relative else 0)])]
        elif upper == "C":
            ctrl = np.vstack([pos, base + args[0:2], base + args[2:4], base + args[4:6]])
            new = list(_bezier(ctrl, curve_samples))
            last_control = ctrl[2]
        elif upper == "S":
            first = 2 * pos - last_control if last_control is not None else pos
            ctrl = np.vstack([pos, first, base + args[0:2], base + args[2:4]])
            new = list(_bezier(ctrl, curve_samples))
            last_control = ctrl[2]
        elif upper == "Q":
            ctrl = np.vstack([pos, base + args[0:2], base + args[2:4]])
            new = list(_bezier(ctrl, curve_samples))
        else:  # A
            new = list(_arc(pos, base + args[5:7], curve_samples))
        if upper not in "CS":
            last_control = None
        strokes[-1].extend(new)
        pos = np.array(new[-1], float)
    return [np.array(s) for s in strokes]
