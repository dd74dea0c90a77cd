"""Pages: the one page object every output reads (SVG, PNG, PDF, plotter formats), paper sizes,
margins, and the flow of written lines onto sheets of paper.

The page object, :class:`Page`, for a consumer such as a plotter writer::

    page.unit                 "mm" for a sheet of paper (hand.write(text, page="a4")), "px" for a
                              page fitted to its ink (1 px = 1/96 inch: PX_PER_MM px per mm)
    page.width, page.height   the page size in page.unit
    page.lines                per text line, [N, 3] float32 coords (x, y, pen_up) in page.unit, or
                              None for a blank line; x right from the page's left edge, y UP from
                              its top edge, so the page spans x in [0, width], y in [-height, 0]
                              (an SVG or a plotter with y down uses (x, -y)); pen_up = 1 on the
                              last point of each stroke
    page.strokes()            the same ink as [(line index, [n, 2] points)], one per pen-down
                              stroke, in writing order
    page.texts                per line, the text it says ("" for a blank line)
    page.colors, page.widths  per line stroke colour (CSS) and pen width (page.unit)
    page.margins              Margins(top, right, bottom, left) in page.unit, or None
    page.ruling               the paper's ruling (output.paper.Ruling), or None: for previews only
    page.in_mm()              the same page in millimetres, whatever its unit

Pure numpy: nothing here knows the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from ..errors import HandwritingError
from ..strokes import split_strokes
from .paper import PLAIN, Ruling, check_paper
from .variation import PageVariation, draw_lines

PX = "px"
MM = "mm"
MM_PER_INCH = 25.4
#: CSS pixels per inch: SVG user units and the PNG's 1:1 scale.
PX_PER_INCH = 96.0
PX_PER_MM = PX_PER_INCH / MM_PER_INCH
#: Named paper sizes, (width, height) in mm, portrait.
PAGE_SIZES: dict[str, tuple[float, float]] = {"a4": (210.0, 297.0), "letter": (215.9, 279.4), "a5": (148.0, 210.0)}
#: A size given as ``WxHmm`` (``148x105mm``); decimals allowed.
CUSTOM_SIZE = re.compile(r"^(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)mm$")
#: Sides of a custom page, in mm, at least and at most (A0's long side is 1189 mm).
PAGE_SIDE_RANGE = (10.0, 1200.0)
#: Margins on every side of a sheet, in mm, unless given.
DEFAULT_MARGIN_MM = 20.0
DEFAULT_COLOR = "black"
DEFAULT_WIDTH = 1.5
#: Margin (page units) around the ink when the page size is not given.
DEFAULT_MARGIN = 10.0


def page_size(spec: str) -> tuple[float, float]:
    """``(width, height)`` in mm of ``a4``, ``letter``, ``a5`` or ``WxHmm``.

    Raises:
        HandwritingError: anything else, or a side outside :data:`PAGE_SIDE_RANGE`.
    """
    key = str(spec).strip().lower()
    if key in PAGE_SIZES:
        return PAGE_SIZES[key]
    match = CUSTOM_SIZE.match(key)
    if match is None:
        raise HandwritingError(f"unknown page size {spec!r}: use {', '.join(PAGE_SIZES)} or WxHmm (e.g. 148x105mm)")
    width, height = float(match[1]), float(match[2])
    low, high = PAGE_SIDE_RANGE
    if not (low <= width <= high and low <= height <= high):
        raise HandwritingError(f"page size {spec!r}: each side must be {low:g}-{high:g} mm")
    return width, height


@dataclass(frozen=True)
class Margins:
    """Distances from each edge of a page to its text, in the page's unit."""

    top: float
    right: float
    bottom: float
    left: float

    @staticmethod
    def uniform(value: float) -> "Margins":
        return Margins(value, value, value, value)

    def scaled(self, factor: float) -> "Margins":
        return Margins(self.top * factor, self.right * factor, self.bottom * factor, self.left * factor)


@dataclass(frozen=True)
class Page:
    """One written page, ready for any output (the module docstring gives the shape)."""

    lines: Sequence[np.ndarray | None]
    width: float
    height: float
    colors: Sequence[str]
    widths: Sequence[float]
    unit: str = PX
    texts: Sequence[str] = ()
    margins: Margins | None = None
    ruling: Ruling | None = None

    @staticmethod
    def fit(
        lines: Sequence[np.ndarray | None],
        *,
        color: str | Sequence[str] = DEFAULT_COLOR,
        width: float | Sequence[float] = DEFAULT_WIDTH,
        margin: float = DEFAULT_MARGIN,
        page_width: float | None = None,
        texts: Sequence[str] = (),
    ) -> "Page":
        """A page just big enough for ``lines`` plus ``margin``; the ink is moved to fit.

        ``page_width`` keeps a given width (for aligned layouts whose x is already final);
        otherwise the ink is shifted to start at the left margin.
        """
        written = [c for c in lines if c is not None and len(c)]
        if not written:
            raise HandwritingError("nothing to render: every line is empty")
        allxy = np.vstack([c[:, :2] for c in written])
        x_min, y_min = allxy.min(axis=0)
        x_max, y_max = allxy.max(axis=0)
        shift = np.array([0.0 if page_width is not None else margin - x_min, -margin - y_max], np.float32)
        moved = [None if c is None or not len(c) else _moved(c, shift) for c in lines]
        w = page_width if page_width is not None else float(x_max - x_min + 2 * margin)
        h = float(y_max - y_min + 2 * margin)
        return Page(lines=moved, width=w, height=h, colors=per_line(color, len(lines), check_color),
                    widths=per_line(width, len(lines), check_width), texts=tuple(texts))

    def strokes(self) -> list[tuple[int, np.ndarray]]:
        """Every pen-down stroke as ``(line index, [n, 2] points)``, in writing order."""
        return [(i, s[:, :2]) for i, c in enumerate(self.lines) if c is not None for s in split_strokes(c)]

    def in_mm(self) -> "Page":
        """This page with every length in millimetres."""
        if self.unit == MM:
            return self
        factor = 1.0 / PX_PER_MM
        ruling = self.ruling
        if ruling is not None:
            ruling = replace(ruling, pitch=ruling.pitch * factor, first_baseline=ruling.first_baseline * factor,
                             margin_x=ruling.margin_x * factor)
        scale = np.array([factor, factor, 1.0], np.float32)
        return replace(self, unit=MM, width=self.width * factor, height=self.height * factor,
                       lines=[None if c is None else c * scale for c in self.lines],
                       widths=[w * factor for w in self.widths], ruling=ruling,
                       margins=None if self.margins is None else self.margins.scaled(factor))


def _moved(coords: np.ndarray, shift: np.ndarray) -> np.ndarray:
    out = np.array(coords, np.float32, copy=True)
    out[:, :2] += shift
    return out


def check_color(color: str) -> str:
    """``color`` if it is a CSS colour name or hex code, else a :class:`HandwritingError`."""
    from matplotlib.colors import is_color_like

    if not isinstance(color, str) or not is_color_like(color) or color.lower() in ("none", "c0"):
        raise HandwritingError(f"unknown colour {color!r}: use a CSS name like 'navy' or a hex code like '#1a2b3c'")
    return color


def check_width(width: float) -> float:
    """``width`` as a float if it is a positive number, else a :class:`HandwritingError`."""
    if not np.isfinite(width) or width <= 0:
        raise HandwritingError(f"stroke width must be a positive number, not {width}")
    return float(width)


def per_line(value, n: int, check) -> list:
    """One checked value per line from one value or a sequence of ``n``."""
    values = [value] * n if isinstance(value, (str, int, float)) else list(value)
    if len(values) != n:
        raise HandwritingError(f"need one colour and one width per line ({n} lines), got {len(values)}")
    return [check(v) for v in values]


@dataclass(frozen=True)
class Sheet:
    """A sheet of paper to write on: size and margins in mm, and its paper."""

    width: float
    height: float
    margins: Margins
    paper: str = PLAIN

    @staticmethod
    def make(size: str, margin: float | Margins = DEFAULT_MARGIN_MM, paper: str = PLAIN) -> "Sheet":
        """A sheet of a named or ``WxHmm`` size (:func:`page_size`).

        Raises:
            HandwritingError: an unknown size or paper, a negative margin, or margins that
                leave no room for text.
        """
        width, height = page_size(size)
        margins = margin if isinstance(margin, Margins) else Margins.uniform(float(margin))
        sides = (margins.top, margins.right, margins.bottom, margins.left)
        if not all(np.isfinite(v) and v >= 0 for v in sides):
            raise HandwritingError(f"margins must be 0 or more mm, not {sides}")
        if margins.left + margins.right >= width or margins.top + margins.bottom >= height:
            raise HandwritingError(f"margins of {_mm(sides)} mm are bigger than the {width:g}x{height:g} mm page")
        return Sheet(width, height, margins, check_paper(paper))

    @property
    def text_width(self) -> float:
        return self.width - self.margins.left - self.margins.right

    @property
    def text_height(self) -> float:
        return self.height - self.margins.top - self.margins.bottom


def _mm(values: Sequence[float]) -> str:
    return "/".join(f"{v:g}" for v in values)


@dataclass(frozen=True)
class Flow:
    """How lines go onto sheets: the pitch and size (mm), the variation and its seed."""

    line_height: float
    x_height: float
    variation: PageVariation
    seed: int

    def lines_per_page(self, sheet: Sheet) -> int:
        """The most lines a sheet holds (its text height over the line height, plus one)."""
        return max(int(sheet.text_height // self.line_height) + 1, 1)

    def room(self, sheet: Sheet) -> float:
        """The widest written line (mm, before variation) that stays inside the margins."""
        lines = self.lines_per_page(sheet)
        spread = self.variation.width_allowance(lines) * self.x_height
        return (sheet.text_width - spread) / self.variation.max_scale(lines)


def _vary(coords: np.ndarray, tilt: float, scale: float) -> np.ndarray:
    """A levelled line (baseline y = 0, starting at x = 0) scaled, then tilted about its middle."""
    out = np.array(coords, np.float32, copy=True)
    out[:, :2] *= scale
    middle = float(out[:, 0].max()) / 2
    c, s = np.cos(tilt), np.sin(tilt)
    x, y = out[:, 0] - middle, out[:, 1].copy()
    out[:, 0], out[:, 1] = c * x - s * y + middle, s * x + c * y
    return out


def paginate(lines: Sequence[np.ndarray | None], texts: Sequence[str], sheet: Sheet, flow: Flow, *,
             color: str = DEFAULT_COLOR, width: float = DEFAULT_WIDTH / PX_PER_MM,
             max_pages: int | None = None) -> list[Page]:
    """Put written lines onto sheets, top to bottom, as many sheets as they need.

    Args:
        lines: per text line ``[N, 3]`` coords in mm, levelled (baseline y = 0, ink from x = 0),
            no wider than ``flow.room(sheet)``; ``None`` for a blank line (a paragraph break,
            dropped at the top of a sheet).
        texts: per line, its text.
        sheet: the paper.
        flow: line height, x-height, the variation (:mod:`.variation`) and its seed; sheet
            ``k`` draws from ``default_rng([seed, k])``.
        max_pages: fail rather than use more sheets.

    Returns:
        The :class:`Page` of each sheet, in mm, with the paper's ruling.

    Raises:
        HandwritingError: more pages than ``max_pages``, or a line taller than a sheet's text.
    """
    m = sheet.margins
    bottom = -(sheet.height - m.bottom)
    ruled = sheet.paper != PLAIN
    capacity = flow.lines_per_page(sheet)
    pages, i = [], 0
    while i < len(lines):
        while i < len(lines) and lines[i] is None:
            i += 1
        if i == len(lines):
            break
        draws = draw_lines(flow.variation, capacity, np.random.default_rng([flow.seed, len(pages)]))
        placed, placed_texts, baseline, first = [], [], 0.0, None
        for slot in range(capacity):
            if i == len(lines):
                break
            c = None if lines[i] is None else _vary(lines[i], draws.tilt[slot], draws.scale[slot])
            if first is None:  # the first line's ink touches the top margin
                first = -m.top - float(c[:, 1].max())
                baseline = first
            if c is not None:
                c[:, 0] += m.left + draws.start[slot] * flow.x_height - c[:, 0].min()  # tilted: its ink starts there
                c[:, 1] += baseline
                if c[:, 1].min() < bottom:
                    if slot == 0:
                        raise HandwritingError(f"line {i + 1} is taller than the page's text height")
                    break
            placed.append(c)
            placed_texts.append(texts[i])
            i += 1
            baseline -= flow.line_height + (0.0 if ruled else draws.pitch[slot] * flow.x_height)
        ruling = Ruling(sheet.paper, flow.line_height, first, m.left) if sheet.paper != PLAIN else None
        pages.append(Page(lines=placed, width=sheet.width, height=sheet.height, colors=[color] * len(placed),
                          widths=[width] * len(placed), unit=MM, texts=tuple(placed_texts), margins=m,
                          ruling=ruling))
        if max_pages is not None and len(pages) > max_pages:
            raise HandwritingError(f"the text needs more than {max_pages} page(s) (--max-pages)")
    return pages


__all__ = ["MM", "PX", "Flow", "Margins", "Page", "Sheet", "page_size", "paginate"]
