"""Reading a user's own handwriting: stroke JSON, InkML and SVG path data -> coords.

All three formats use screen coordinates (y pointing down); the result is ``[N, 3]`` coords
``(x, y, pen_up)`` with y up, as everywhere in the package. Bad files raise
:class:`HandwritingError` with one line naming the problem.

- JSON: a list of strokes, each a list of ``[x, y]`` points (extra numbers such as time or
  pressure after x and y are ignored), or ``{"strokes": [...]}``.
- InkML: every ``<trace>`` in document order; points separated by commas, channels by spaces
  (the first two channels are x and y). Difference-encoded traces are not supported.
- Text inline (:func:`read_ink_lines`): a JSON object's ``"text"`` beside its ``"strokes"``, or
  ``{"lines": [{"text": ..., "strokes": [...]}, ...]}`` for several lines; InkML's
  ``<annotation type="transcription">`` of each ``<traceGroup>`` (one line each) or of the document.
- SVG: path data (``d`` attributes of every ``<path>``, or a bare path-data string), parsed by
  ``svgelements``; ``M`` starts a stroke; lines, curves and arcs are followed, curves and arcs
  sampled into points.
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


#: One line of ink with its text (``None`` when the file does not say it).
InkLine = tuple[np.ndarray, "str | None"]


def read_ink_lines(path: str | Path, format: str | None = None) -> list[InkLine]:
    """Read every line of a handwriting file with its text where the file gives it inline:
    ``[(coords [N, 3] y up, text or None), ...]`` (see the module docstring)."""
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt == "svg":
        return [(read_ink(path, format), None)]
    if not path.is_file():
        raise HandwritingError(f"ink file not found: {path}")
    if fmt not in INK_FORMATS:
        raise HandwritingError(f"{path}: unknown ink format {fmt!r}: use one of {', '.join(INK_FORMATS)}")
    try:
        text = path.read_text(encoding="utf-8")
        pieces = _json_lines(text) if fmt == "json" else _inkml_lines(text)
        return [(strokes_to_coords(strokes, source=f"{path} line {i}"), said) for i, (strokes, said) in
                enumerate(pieces, 1)]
    except UnicodeDecodeError:
        raise HandwritingError(f"{path}: not a UTF-8 text file") from None
    except HandwritingError as exc:
        message = str(exc)
        raise HandwritingError(message if message.startswith(str(path)) else f"{path}: {message}") from None


def _json_lines(text: str) -> list[tuple[list[np.ndarray], str | None]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HandwritingError(f"invalid JSON ({exc.msg} at line {exc.lineno})") from None
    items = data.get("lines") if isinstance(data, dict) and "lines" in data else [data]
    if not isinstance(items, list) or not items:
        raise HandwritingError("'lines' must be a list of {\"text\", \"strokes\"} objects")
    lines = []
    for item in items:
        said = item.get("text") if isinstance(item, dict) else None
        if said is not None and not isinstance(said, str):
            raise HandwritingError("a line's 'text' must be a string")
        lines.append((strokes_from_json(json.dumps(item)), said))
    return lines


def _inkml_lines(text: str) -> list[tuple[list[np.ndarray], str | None]]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise HandwritingError(f"invalid InkML ({exc})") from None
    groups = [g for g in root.iter() if _local(g.tag) == "traceGroup" and _transcription(g, direct=True)]
    if groups:
        return [(strokes_from_inkml(ET.tostring(g, encoding="unicode")), _transcription(g, direct=True))
                for g in groups]
    return [(strokes_from_inkml(text), _transcription(root, direct=False))]


def _transcription(element, direct: bool) -> str | None:
    children = list(element) if direct else element.iter()
    for child in children:
        if _local(child.tag) == "annotation" and child.get("type") == "transcription" and (child.text or "").strip():
            return child.text.strip()
    return None


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


#: Path data begins with a move command (``svgelements`` would silently ignore anything else).
_PATH_START = re.compile(r"^\s*[Mm]")


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


def _segment_points(segment, samples: int) -> np.ndarray:
    """``[n, 2]`` points along one svgelements segment, its start excluded."""
    from svgelements import Linear

    if isinstance(segment, Linear):  # lines and Z: the end point alone
        return np.array([[segment.end.x, segment.end.y]], np.float64)
    t = np.linspace(0, 1, samples + 1)[1:]
    return np.asarray(segment.npoint(t), np.float64).reshape(-1, 2)


def path_data_strokes(d: str, curve_samples: int = CURVE_SAMPLES) -> list[np.ndarray]:
    """SVG path data -> ``[n, 2]`` strokes, parsed by ``svgelements`` (every command of SVG 1.1,
    compact arc flags included); each ``M``/``m`` starts a new stroke, ``Z`` closes a stroke of
    two or more points; curves and arcs are sampled at ``curve_samples`` points."""
    from svgelements import Close, Move, Path

    if not _PATH_START.match(d):
        raise HandwritingError(f"path data must start with a command: {d.strip()[:30]!r}")
    try:
        segments = list(Path(d))
    except (ValueError, IndexError):
        raise HandwritingError(f"malformed path data (a command lacks numbers?): {d.strip()[:30]!r}") from None
    strokes: list[list[np.ndarray]] = []
    for segment in segments:
        if isinstance(segment, Move):
            strokes.append([np.array([segment.end.x, segment.end.y], np.float64)])
        elif isinstance(segment, Close):
            if strokes and len(strokes[-1]) > 1:
                strokes[-1].extend(_segment_points(segment, curve_samples))
        else:
            if not strokes:
                strokes.append([np.array([segment.start.x, segment.start.y], np.float64)])
            strokes[-1].extend(_segment_points(segment, curve_samples))
    return [np.array(s) for s in strokes]
