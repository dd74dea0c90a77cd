"""The UNIPEN file format (``unipen.def`` of the UNIPEN tools): keyword blocks, ``.INCLUDE``
resolution, pen components, ``.SEGMENT`` delineations and resolutions, read into
:class:`Segment` records of pen-down strokes in inches with y up.

Components are numbered from 0 in the order ``.PEN_DOWN`` and ``.PEN_UP`` appear, empty pen
streams not counted, and ``.START_SET`` starts the numbering again. A delineation ``A:M-B:N``
takes points ``M`` of component ``A`` to ``N`` of component ``B``; plain ``A-B`` whole
components. Only pen-down components carry ink; a ``.PEN_UP`` component with points is travel.
:class:`BrokenFile` means a file cannot be used; :class:`SkippedSegment` that one segment cannot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import HandwritingError

#: The directory under ROOT that ``.INCLUDE`` names are relative to.
INCLUDE_DIR = "include"
#: Nested ``.INCLUDE`` deeper than this is an error (the format allows none; some files use one).
MAX_INCLUDE_DEPTH = 4
#: Millimetres per inch, for ``.X_POINTS_PER_MM``.
MM_PER_INCH = 25.4

# Reasons for skipping (as counted in the reader's report).
MISSING_FILE = "missing file"
BROKEN_FILE = "broken file"
BROKEN_COMPONENT = "broken component"
BAD_DELINEATION = "bad delineation"

_KEYWORD = re.compile(r"^\.([A-Z_]+)", re.MULTILINE)
_LABEL = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_ESCAPES = {'"': '"', "\\": "\\", "t": " ", "n": " "}
_RANGE_PART = re.compile(r"^(\d+)(?::(\d+))?$")


class BrokenFile(Exception):
    """A file cannot be read (``reason`` is MISSING_FILE or BROKEN_FILE)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class SkippedSegment(Exception):
    """This segment is skipped for ``reason``; ``detail`` says why."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def unescape_label(raw: str) -> str:
    """A label's text: ``\\"`` -> ``"``, ``\\\\`` -> ``\\``, ``\\t``, ``\\n`` and raw
    new-lines or tabs -> a space (an unknown escape keeps its character)."""
    out, i = [], 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            out.append(_ESCAPES.get(raw[i + 1], raw[i + 1]))
            i += 2
            continue
        out.append(" " if ch in "\t\r\n" else ch)
        i += 1
    return "".join(out)


# ---------------------------------------------------------------- delineations


def parse_delineation(text: str) -> list[tuple[int, int, int, int | None]]:
    """Parse ``A[:M]-B[:N],C,...`` into ``(first_component, first_point, last_component, last_point)``.

    Points are 0-based and inclusive; ``last_point`` is None for "to the component's end".
    ``C`` alone is ``(C, 0, C, None)``; ``A:M`` alone is component A from point M on.

    Raises:
        ValueError: the text is not a delineation.
    """
    pieces = []
    for part in text.split(","):
        ends = part.split("-")
        if len(ends) not in (1, 2):
            raise ValueError(f"bad range {part!r}")
        matches = [_RANGE_PART.match(e) for e in ends]
        if not all(matches):
            raise ValueError(f"bad range {part!r}")
        a, m = int(matches[0][1]), int(matches[0][2] or 0)
        if len(ends) == 1:
            pieces.append((a, m, a, None))
            continue
        b, n = int(matches[1][1]), matches[1][2]
        if (b, int(n) if n is not None else float("inf")) < (a, m):
            raise ValueError(f"range {part!r} runs backwards")
        pieces.append((a, m, b, None if n is None else int(n)))
    return pieces


def select_ink(components: list[tuple[bool, np.ndarray | None]], delineation: str) -> list[np.ndarray]:
    """The pen-down strokes a delineation covers: ``[n, 2]`` arrays in order.

    ``components``: ``(pen_down, [n, 2] points)`` per non-empty component of the set (points
    None for a component whose pen data are malformed). Pen-up points inside the range are pen
    travel and are left out.

    Raises:
        SkippedSegment: ``BAD_DELINEATION`` when it cannot be parsed or points outside the components;
            ``BROKEN_COMPONENT`` when it covers a malformed component.
    """
    try:
        pieces = parse_delineation(delineation)
    except ValueError as exc:
        raise SkippedSegment(BAD_DELINEATION, f"{delineation!r}: {exc}") from None
    out = []
    for a, m, b, n in pieces:
        if b >= len(components):
            raise SkippedSegment(BAD_DELINEATION, f"{delineation!r}: component {b} of {len(components)}")
        for k in range(a, b + 1):
            down, points = components[k]
            if points is None:
                raise SkippedSegment(BROKEN_COMPONENT, f"{delineation!r}: component {k} has malformed pen data")
            start = m if k == a else 0
            stop = (n + 1) if (k == b and n is not None) else len(points)
            if start >= len(points) or stop > len(points) or stop <= start:
                raise SkippedSegment(BAD_DELINEATION, f"{delineation!r}: points {start}..{stop - 1} of component {k} "
                                             f"({len(points)} points)")
            if down:
                out.append(points[start:stop])
    return out


# ---------------------------------------------------------------- files


@dataclass
class Segment:
    """One ``.SEGMENT`` as read: its fields, the pen-down strokes it covers, its writer."""

    kind: str
    delineation: str
    quality: str
    label: str
    strokes: list[np.ndarray] | None  # ``[n, 2]`` pen-down strokes in inches (y up); None if unreadable
    skip: SkippedSegment | None  # why the delineation could not be used, if so
    writer: str | None  # .WRITER_ID in force at the segment, if any


@dataclass
class _State:
    """What a label file has declared so far."""

    columns: tuple[str, ...] = ("X", "Y")
    resolution: list[float | None] = field(default_factory=lambda: [None, None])
    components: list[tuple[bool, np.ndarray | None]] = field(default_factory=list)
    writer: str | None = None
    segments: list[Segment] = field(default_factory=list)


class LabelReader:
    """Parses label files, resolving includes; caches the keyword blocks of included files."""

    def __init__(self, include_root: Path):
        self.include_root = include_root
        self._blocks: dict[Path, list[tuple[str, str]]] = {}

    def blocks_of(self, path: Path) -> list[tuple[str, str]]:
        if path not in self._blocks:
            if len(self._blocks) > 64:  # label files rarely share ink: keep only docs and lexicons
                self._blocks = {p: b for p, b in self._blocks.items() if p.suffix != ".dat"}
            self._blocks[path] = _keyword_blocks(_read(path))
        return self._blocks[path]

    def resolve(self, name: str) -> Path:
        relative = Path(name)
        if relative.is_absolute() or ".." in relative.parts:
            raise BrokenFile(BROKEN_FILE, f".INCLUDE {name}: outside {INCLUDE_DIR}/")
        path = self.include_root / relative
        if not path.is_file():
            raise BrokenFile(MISSING_FILE, f"{INCLUDE_DIR}/{name} not found")
        return path

    def read(self, path: Path, flip_y: bool) -> _State:
        state = _State()
        self._run(self.blocks_of(path), state, flip_y, depth=0)
        return state

    def _run(self, blocks: list[tuple[str, str]], state: _State, flip_y: bool, depth: int) -> None:
        for keyword, args in blocks:
            if keyword == "INCLUDE":
                if depth >= MAX_INCLUDE_DEPTH:
                    raise BrokenFile(BROKEN_FILE, f".INCLUDE nested deeper than {MAX_INCLUDE_DEPTH}")
                for name in args.split():
                    self._run(self.blocks_of(self.resolve(name)), state, flip_y, depth + 1)
            elif keyword in ("PEN_DOWN", "PEN_UP"):
                try:
                    points = _points(args, state.columns)
                except BrokenFile:  # keep its number; segments that use it are skipped
                    state.components.append((keyword == "PEN_DOWN", None))
                    continue
                if len(points):  # empty pen streams are not counted
                    state.components.append((keyword == "PEN_DOWN", points))
            elif keyword == "COORD":
                columns = tuple(c.upper() for c in args.split())
                if "X" not in columns or "Y" not in columns:
                    raise BrokenFile(BROKEN_FILE, f".COORD {args.strip()!r} lacks X or Y")
                state.columns = columns
            elif keyword == "START_SET":
                state.components = []
            elif keyword == "WRITER_ID":
                state.writer = args.split()[0] if args.split() else None
            elif keyword in _RESOLUTION:
                axis, factor = _RESOLUTION[keyword]
                try:
                    value = float(args.split()[0]) * factor
                except (IndexError, ValueError):
                    raise BrokenFile(BROKEN_FILE, f".{keyword} {args.strip()!r}") from None
                if value > 0:
                    state.resolution[axis] = value
            elif keyword == "SEGMENT":
                state.segments.append(self._segment(args, state, flip_y))

    def _segment(self, args: str, state: _State, flip_y: bool) -> Segment:
        match = _LABEL.search(args)
        label = unescape_label(match.group(1)) if match else ""
        fields = (args[: match.start()] if match else args).split()
        kind = fields[0] if fields else ""
        delineation = fields[1] if len(fields) > 1 else "?"
        quality = fields[2].upper() if len(fields) > 2 else "?"
        try:
            ink = select_ink(state.components, delineation)
            ink = [_to_inches(s, state.resolution, flip_y) for s in ink]
            skip = None
        except SkippedSegment as exc:
            ink, skip = None, exc
        return Segment(kind, delineation, quality, label, ink, skip, state.writer)


_RESOLUTION = {
    "X_POINTS_PER_INCH": (0, 1.0), "Y_POINTS_PER_INCH": (1, 1.0),
    "X_POINTS_PER_MM": (0, MM_PER_INCH), "Y_POINTS_PER_MM": (1, MM_PER_INCH),
}


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("latin-1")
    except OSError as exc:
        raise BrokenFile(BROKEN_FILE, f"{path}: unreadable ({exc.__class__.__name__})") from None


def _keyword_blocks(text: str) -> list[tuple[str, str]]:
    """``[(KEYWORD, argument text)]`` in order; ``.COMMENT`` blocks are dropped."""
    parts = _KEYWORD.split(text)
    blocks = [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]
    return [b for b in blocks if b[0] != "COMMENT"]


def _points(args: str, columns: tuple[str, ...]) -> np.ndarray:
    """``[n, 2]`` float64 (X, Y) of a pen component's rows of ``columns``."""
    try:
        values = np.array(args.split(), np.float64)
    except ValueError:
        raise BrokenFile(BROKEN_FILE, "non-numeric pen data") from None
    if len(values) % len(columns):
        raise BrokenFile(BROKEN_FILE, f"{len(values)} numbers do not fill rows of {' '.join(columns)}")
    rows = values.reshape(-1, len(columns))
    if not np.isfinite(rows).all():
        raise BrokenFile(BROKEN_FILE, "non-finite pen data")
    return rows[:, [columns.index("X"), columns.index("Y")]]


def _to_inches(points: np.ndarray, resolution: list[float | None], flip_y: bool) -> np.ndarray:
    """Device units -> inches (x and y separately; unchanged without a resolution), y up."""
    x_res, y_res = resolution
    if x_res is None or y_res is None:
        x_res = y_res = x_res or y_res or 1.0
    out = points / np.array([x_res, y_res])
    if flip_y:
        out[:, 1] = -out[:, 1]
    return out


def read_segments(root: Path, path: Path, y_down: bool = False) -> list[Segment]:
    """The segments of one label file under the release ``root``, includes resolved.

    Raises:
        HandwritingError: the file or a file it includes is missing or broken.
    """
    try:
        return LabelReader(Path(root) / INCLUDE_DIR).read(Path(path), flip_y=y_down).segments
    except BrokenFile as exc:
        raise HandwritingError(f"{path}: {exc.detail}") from None


def count_segments(path: Path) -> int:
    try:
        return sum(1 for b in _keyword_blocks(_read(path)) if b[0] == "SEGMENT")
    except BrokenFile:
        return 0


