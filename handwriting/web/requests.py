"""The web API's request bodies: read, limited and validated before any work is done.

Every problem is an :class:`ApiError` with an HTTP status and a one-line message naming it; the
app answers it as ``{"error": message}``. Nothing here touches the model.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import HandwritingError
from ..output import layout, render
from ..output.drawing import OUTPUT_FORMATS
from ..output.pages import MM, PX, Page, Sheet
from ..output.paper import PAPERS, PLAIN, Ruling
from ..writing.hand import DEFAULT_SLANT, DEFAULT_STYLE, slant_radians
from ..tools.adaptation import MAX_LINES as MAX_ADAPT_LINES

#: Largest request body accepted (bytes): a style sample of ``MAX_SAMPLE_POINTS`` points fits.
MAX_BODY_BYTES = 2_000_000
#: Longest text one request may write (characters, after normalisation).
MAX_TEXT_CHARS = 1_000
#: Most written lines one request may ask for (after wrapping).
MAX_LINES = 30
#: Legibility bias accepted (Graves eqs 61-62); beyond a few the drawing no longer changes.
MAX_BIAS = 10.0
#: Seeds are 31-bit non-negative integers, as the sampler takes them.
MAX_SEED = 2**31 - 1
#: Stroke width (px), margin, line height and page width bounds.
MAX_STROKE_WIDTH = 20.0
MAX_MARGIN = 200.0
MAX_LINE_HEIGHT = 400.0
MAX_PAGE_SIZE = 5_000.0
MAX_LINE_CHARS = 200
#: Wrap long lines here when the request does not say (the page's default too).
DEFAULT_MAX_LINE_CHARS = 60
#: Most points in a user's handwriting sample, and in a page sent back for rendering.
MAX_SAMPLE_POINTS = 20_000
MAX_RENDER_POINTS = 200_000
#: Drawing speed of an animated SVG, as the CLI's ``--speed``.
MAX_SPEED = 20.0
DOWNLOAD_FORMATS = OUTPUT_FORMATS  # the files the CLI writes
#: The largest adaptation budget a request may ask for, in minutes (default: ``AdaptConfig``'s).
MAX_MINUTES = 10.0
#: The most adaptation steps a request may ask for.
MAX_STEPS = 1000


#: Most pages one request may write, or send back to be rendered.
MAX_PAGES = 10


class ApiError(Exception):
    """A bad request: ``status`` (4xx) and a one-line message."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def parse_json(body: bytes) -> dict[str, Any]:
    """A JSON object from a request body (size already checked)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(f"the body is not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ApiError("the body must be a JSON object")
    return data


def _number(data: dict, key: str, default: float | None, low: float, high: float, *, allow_none: bool = False,
            integer: bool = False) -> float | int | None:
    value = data.get(key, default)
    if value is None and (allow_none or default is None):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        kind = "an integer" if integer else "a number"
        raise ApiError(f"{key!r} must be {kind}, not {json.dumps(value)[:40]}")
    if integer and value != int(value):
        raise ApiError(f"{key!r} must be an integer, not {value}")
    if not low <= value <= high:
        raise ApiError(f"{key!r} must be between {low:g} and {high:g}, not {value:g}")
    return int(value) if integer else float(value)


def _string(data: dict, key: str, default: str | None, max_length: int) -> str | None:
    value = data.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(f"{key!r} must be a string, not {type(value).__name__}")
    if len(value) > max_length:
        raise ApiError(f"{key!r} is too long: {len(value)} characters, at most {max_length}")
    return value


def _slant(data: dict) -> str | float:
    """``"style"``, ``"model"`` or degrees (see :meth:`Hand.write`)."""
    value = data.get("slant", DEFAULT_SLANT)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ApiError(f"'slant' must be 'style', 'model' or a number of degrees, not {type(value).__name__}")
    try:
        slant_radians(value)
    except HandwritingError as exc:
        raise ApiError(str(exc)) from None
    return value


def _color(data: dict) -> str:
    color = _string(data, "color", render.DEFAULT_COLOR, 40)
    try:
        render.check_color(color)
    except Exception as exc:  # HandwritingError: the message names the colour
        raise ApiError(str(exc)) from None
    return color


@dataclass(frozen=True)
class WriteRequest:
    """``POST /api/write``: what to write and how; ``options`` are :meth:`Hand.write_many`'s, and
    ``sheet`` the options of :meth:`Hand.write` on paper (``page``, ``paper``, ``neat``) or ``None``."""

    text: str
    seed: int | None
    options: dict[str, Any]
    sheet: dict[str, Any] | None = None

    @staticmethod
    def parse(data: dict[str, Any]) -> "WriteRequest":
        text = data.get("text")
        if not isinstance(text, str):
            raise ApiError("'text' is required and must be a string")
        if len(text) > MAX_TEXT_CHARS:
            raise ApiError(f"the text is too long: {len(text)} characters, at most {MAX_TEXT_CHARS}", 413)
        align = _string(data, "align", "left", 10)
        if align not in layout.ALIGNMENTS:
            raise ApiError(f"'align' must be one of {', '.join(layout.ALIGNMENTS)}, not {align!r}")
        normalise = data.get("normalise_text", True)
        if not isinstance(normalise, bool):
            raise ApiError("'normalise_text' must be true or false")
        style = _string(data, "style", DEFAULT_STYLE, 80)
        options = dict(
            style=DEFAULT_STYLE if style is None else style,
            bias=_number(data, "bias", None, 0.0, MAX_BIAS),  # None: the model's default bias
            slant=_slant(data),
            max_line_chars=_number(data, "max_line_chars", DEFAULT_MAX_LINE_CHARS, 1, MAX_LINE_CHARS,
                                   allow_none=True, integer=True),
            align=align,
            color=_color(data),
            width=_number(data, "width", render.DEFAULT_WIDTH, 0.05, MAX_STROKE_WIDTH),
            line_height=_number(data, "line_height", None, 1.0, MAX_LINE_HEIGHT),
            page_width=_number(data, "page_width", None, 1.0, MAX_PAGE_SIZE),
            margin=_number(data, "margin", render.DEFAULT_MARGIN, 0.0, MAX_MARGIN),
            normalise_text=normalise,
        )
        seed = _number(data, "seed", None, 0, MAX_SEED, integer=True)
        return WriteRequest(text=text, seed=seed, options=options, sheet=_sheet(data))


def _sheet(data: dict) -> dict[str, Any] | None:
    """``page``, ``paper``, ``neat`` and ``margin`` (mm) of a write request (``None`` without a page size)."""
    page = _string(data, "page", None, 40)
    paper = _string(data, "paper", PLAIN, 10)
    neat = data.get("neat", False)
    if not isinstance(neat, bool):
        raise ApiError("'neat' must be true or false")
    if page is None:
        if paper != PLAIN or neat:
            raise ApiError("'paper' and 'neat' need a 'page' size")
        return None
    if paper not in PAPERS:
        raise ApiError(f"'paper' must be one of {', '.join(PAPERS)}, not {paper!r}")
    margin = _number(data, "margin", None, 0.0, MAX_MARGIN)
    try:
        Sheet.make(page, paper=paper) if margin is None else Sheet.make(page, margin, paper)
    except HandwritingError as exc:
        raise ApiError(str(exc)) from None
    return {"page": page, "paper": paper, "neat": neat, "max_pages": MAX_PAGES, "margin": margin}


def _point_rows(value: Any, what: str, columns: int, max_points: int) -> np.ndarray:
    """A ``[n, >= columns]`` list of finite numbers -> float64 array of its first ``columns``."""
    if not isinstance(value, list) or not value:
        raise ApiError(f"{what} must be a non-empty list of points")
    if len(value) > max_points:
        raise ApiError(f"{what} has too many points: at most {max_points}", 413)
    for i, point in enumerate(value):
        if (not isinstance(point, list) or len(point) < columns
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in point[:columns])):
            raise ApiError(f"{what}, point {i}: expected a list of at least {columns} numbers")
    array = np.array([p[:columns] for p in value], np.float64)
    if not np.isfinite(array).all():
        raise ApiError(f"{what}: coordinates must be finite numbers")
    return array


@dataclass(frozen=True)
class StyleRequest:
    """``POST /api/styles``: a user's handwriting sample, in screen pixels (y down)."""

    name: str
    text: str
    strokes: list[np.ndarray]
    replace: bool

    @staticmethod
    def parse(data: dict[str, Any]) -> "StyleRequest":
        name = data.get("name")
        text = data.get("text")
        if not isinstance(name, str) or not name:
            raise ApiError("'name' is required and must be a string")
        if not isinstance(text, str) or not text.strip():
            raise ApiError("'text' is required: what the sample says")
        if len(text) > MAX_TEXT_CHARS:
            raise ApiError(f"the text is too long: {len(text)} characters, at most {MAX_TEXT_CHARS}", 413)
        strokes = data.get("strokes")
        if not isinstance(strokes, list) or not strokes:
            raise ApiError("'strokes' must be a non-empty list of strokes, each a list of [x, y] points")
        total = sum(len(s) for s in strokes if isinstance(s, list))
        if total > MAX_SAMPLE_POINTS:
            raise ApiError(f"the sample has too many points: {total}, at most {MAX_SAMPLE_POINTS}", 413)
        arrays = [_point_rows(s, f"stroke {i}", 2, MAX_SAMPLE_POINTS) for i, s in enumerate(strokes)]
        replace = data.get("replace", False)
        if not isinstance(replace, bool):
            raise ApiError("'replace' must be true or false")
        return StyleRequest(name=name, text=text, strokes=arrays, replace=replace)


def ruling_json(ruling: Ruling | None) -> dict[str, Any] | None:
    """A page's ruling as JSON (read back by :func:`_ruling`)."""
    if ruling is None:
        return None
    return {"kind": ruling.kind, "pitch": ruling.pitch, "first_baseline": ruling.first_baseline,
            "margin_x": ruling.margin_x}


def _ruling(value: Any) -> Ruling | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("kind") not in PAPERS:
        raise ApiError(f"'ruling' must be null or {{'kind': one of {', '.join(PAPERS)}, 'pitch', ...}}")
    numbers = [_number(value, key, None, -MAX_PAGE_SIZE, MAX_PAGE_SIZE) for key in ("pitch", "first_baseline", "margin_x")]
    if None in numbers or not numbers[0] > 0:
        raise ApiError("'ruling' needs a positive 'pitch', 'first_baseline' and 'margin_x'")
    return Ruling(value["kind"], *numbers)


def _page(data: dict, color: str, width: float) -> Page:
    """One page as ``/api/write`` returned it: ``lines``, ``page_width``, ``page_height``, and on
    sheets of paper ``unit`` (``mm``) and ``ruling``."""
    lines = data.get("lines")
    if not isinstance(lines, list) or not lines or len(lines) > MAX_LINES * 2:
        raise ApiError(f"'lines' must be a list of 1-{MAX_LINES * 2} lines (null for a blank line)")
    if sum(len(line) for line in lines if isinstance(line, list)) > MAX_RENDER_POINTS:
        raise ApiError(f"the page has too many points: at most {MAX_RENDER_POINTS}", 413)
    arrays = [None if line is None else _point_rows(line, f"line {i}", 3, MAX_RENDER_POINTS).astype(np.float32)
              for i, line in enumerate(lines)]
    if all(a is None for a in arrays):
        raise ApiError("every line is blank: there is nothing to render")
    unit = data.get("unit", PX)
    if unit not in (PX, MM):
        raise ApiError(f"'unit' must be {PX!r} or {MM!r}, not {json.dumps(unit)[:20]}")
    page = Page(lines=arrays, width=_number(data, "page_width", None, 1.0, MAX_PAGE_SIZE),
                height=_number(data, "page_height", None, 1.0, MAX_PAGE_SIZE), colors=[color] * len(arrays),
                widths=[width] * len(arrays), unit=unit, ruling=_ruling(data.get("ruling")))
    if page.width is None or page.height is None:
        raise ApiError("'page_width' and 'page_height' are required (as /api/write returns them)")
    return page


@dataclass(frozen=True)
class AdaptRequest:
    """``POST /api/adapt``: ``{"name", "lines": [{"text", "strokes"}], "minutes", "steps", "strength",
    "replace"}`` (``strength``: :attr:`~handwriting.training.adapt.AdaptConfig.strength`)."""

    name: str
    lines: list[tuple[str, list[np.ndarray]]]
    minutes: float | None
    steps: int | None
    replace: bool
    strength: float | None = None

    @staticmethod
    def parse(data: dict[str, Any]) -> "AdaptRequest":
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ApiError("'name' is required and must be a string")
        lines = data.get("lines")
        if not isinstance(lines, list) or not lines or len(lines) > MAX_ADAPT_LINES:
            raise ApiError(f"'lines' must be a list of 1-{MAX_ADAPT_LINES} {{\"text\", \"strokes\"}} objects")
        parsed, total = [], 0
        for i, line in enumerate(lines, 1):
            if not isinstance(line, dict) or not isinstance(line.get("text"), str) or not line["text"].strip():
                raise ApiError(f"line {i}: 'text' is required: what the line says")
            strokes = line.get("strokes")
            if not isinstance(strokes, list) or not strokes:
                raise ApiError(f"line {i}: 'strokes' must be a non-empty list of strokes")
            total += sum(len(s) for s in strokes if isinstance(s, list))
            if total > MAX_SAMPLE_POINTS:
                raise ApiError(f"the lines have too many points: at most {MAX_SAMPLE_POINTS}", 413)
            parsed.append((line["text"], [_point_rows(s, f"line {i} stroke {k}", 2, MAX_SAMPLE_POINTS)
                                          for k, s in enumerate(strokes)]))
        minutes = data.get("minutes")
        if minutes is not None and (not isinstance(minutes, (int, float)) or isinstance(minutes, bool)
                                    or not 0 < minutes <= MAX_MINUTES):
            raise ApiError(f"'minutes' must be a number in (0, {MAX_MINUTES:g}]")
        steps = data.get("steps")
        if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= MAX_STEPS):
            raise ApiError(f"'steps' must be a whole number in [1, {MAX_STEPS}]")
        strength = data.get("strength")
        if strength is not None and (not isinstance(strength, (int, float)) or isinstance(strength, bool)
                                     or not 0 < strength <= 1):
            raise ApiError("'strength' must be a number in (0, 1]: how far towards your hand")
        replace = data.get("replace", False)
        if not isinstance(replace, bool):
            raise ApiError("'replace' must be true or false")
        return AdaptRequest(name, parsed, None if minutes is None else float(minutes), steps, replace,
                            None if strength is None else float(strength))


@dataclass(frozen=True)
class RenderRequest:
    """``POST /api/render``: written pages (as ``/api/write`` gave them) -> an SVG, PNG or animated
    SVG of the first page, or a PDF of them all."""

    pages: list[Page]
    format: str
    speed: float

    @property
    def page(self) -> Page:
        return self.pages[0]

    @staticmethod
    def parse(data: dict[str, Any]) -> "RenderRequest":
        fmt = data.get("format", "svg")
        if fmt not in DOWNLOAD_FORMATS:
            raise ApiError(f"'format' must be one of {', '.join(DOWNLOAD_FORMATS)}, not {json.dumps(fmt)[:40]}")
        color = _color(data)
        width = _number(data, "width", render.DEFAULT_WIDTH, 0.01, MAX_STROKE_WIDTH)
        pages = data.get("pages")
        if pages is None:
            pages = [data]
        if not isinstance(pages, list) or not 1 <= len(pages) <= MAX_PAGES or not all(isinstance(p, dict) for p in pages):
            raise ApiError(f"'pages' must be a list of 1-{MAX_PAGES} pages")
        if sum(len(line) for p in pages for line in (p.get("lines") or []) if isinstance(line, list)) > MAX_RENDER_POINTS:
            raise ApiError(f"the pages have too many points: at most {MAX_RENDER_POINTS}", 413)
        return RenderRequest(pages=[_page(p, color, width) for p in pages], format=fmt,
                             speed=_number(data, "speed", 1.0, 0.05, MAX_SPEED))
