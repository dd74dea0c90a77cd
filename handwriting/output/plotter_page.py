"""The plotter's input: pages of strokes in millimetres, grouped into words and lines.

Strokes inside the package have y up (``output.pages.Page``, in px or mm); a plotter works in
millimetres on a sheet whose origin is a corner. A :class:`PlotterPage` holds, per written line,
its words, and per word its strokes in writing order, each ``[n, 2]`` points in mm with y down
from the page's top-left corner (as on paper and in SVG). Words are the units a plotter may
reorder (:mod:`.stroke_order`); the strokes inside a word keep the hand's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..errors import HandwritingError
from ..strokes import split_strokes, x_overlap_groups
from .pages import PX_PER_MM

if TYPE_CHECKING:
    from .drawing import Drawing
    from .pages import Page

#: A page fitted to its ink is in CSS pixels (SVG user units): 96 to the inch.
MM_PER_PX = 1.0 / PX_PER_MM
DEFAULT_COLOR = "black"
#: A fine-liner's line width, for pages built without one.
DEFAULT_PEN_WIDTH_MM = 0.4

Word = Sequence[np.ndarray]


@dataclass(frozen=True)
class PlotterLine:
    """One written line.

    Attributes:
        words: per word (left to right, as written), its strokes in writing order, each
            ``[n, 2]`` float points ``(x, y)`` in mm, y down from the page's top edge.
        color: the pen's colour (any CSS colour); lines of one colour are one plotter layer.
        pen_width_mm: the stroke width shown in plotter SVG.
    """

    words: Sequence[Word]
    color: str = DEFAULT_COLOR
    pen_width_mm: float = DEFAULT_PEN_WIDTH_MM


@dataclass(frozen=True)
class PlotterPage:
    """One sheet: its size in mm and its written lines (blank lines are simply absent)."""

    width_mm: float
    height_mm: float
    lines: Sequence[PlotterLine]

    def __post_init__(self) -> None:
        for name, value in (("width", self.width_mm), ("height", self.height_mm)):
            if not (np.isfinite(value) and value > 0):
                raise HandwritingError(f"the page {name} must be a positive number of mm, not {value}")
        for line in self.lines:
            if not (np.isfinite(line.pen_width_mm) and line.pen_width_mm > 0):
                raise HandwritingError(f"pen width must be a positive number of mm, not {line.pen_width_mm}")
            for word in line.words:
                if not len(word):
                    raise HandwritingError("a word on a plotter page has no strokes")
                for stroke in word:
                    if stroke.ndim != 2 or stroke.shape[1] != 2 or not len(stroke):
                        raise HandwritingError(f"a stroke must be [n, 2] points, not an array of shape {stroke.shape}")
                    if not np.isfinite(stroke).all():
                        raise HandwritingError("a stroke on a plotter page has a point that is not a finite number")

    def words(self) -> list[tuple[int, Word]]:
        """Every word of the page in writing order, with the index of its line."""
        return [(i, word) for i, line in enumerate(self.lines) for word in line.words]


def split_words(coords: np.ndarray, count: int) -> list[list[int]]:
    """A written line's strokes split into words at its ``count`` widest gaps.

    Args:
        coords: ``[N, 3]`` coords ``(x, y, pen_up)`` of one line (any units, x to the right).
        count: the number of word gaps to cut at: the line's spaces.

    Returns:
        Per word, left to right, the indices of its strokes (as ``split_strokes`` numbers them)
        in writing order. Strokes whose x-extents overlap are never parted
        (``strokes.x_overlap_groups``), so a line whose ink shows fewer gaps has fewer words.
    """
    groups = x_overlap_groups(coords)
    if count <= 0 or len(groups) < 2:
        return [sorted(i for g in groups for i in g)] if groups else []
    strokes = split_strokes(coords)
    lefts = [min(float(strokes[i][:, 0].min()) for i in g) for g in groups]
    rights = [max(float(strokes[i][:, 0].max()) for i in g) for g in groups]
    gaps = np.array([b - a for a, b in zip(rights, lefts[1:])])
    cuts = set(np.argsort(-gaps, kind="stable")[:count].tolist())
    words: list[list[int]] = [[]]
    for k, group in enumerate(groups):
        words[-1].extend(group)
        if k in cuts:
            words.append([])
    return [sorted(w) for w in words]


def plotter_page(page: "Page", texts: Sequence[str] | None = None) -> PlotterPage:
    """One page (:class:`~.pages.Page`, in px or mm, y up) as a plotter page in mm, y down.

    Each line's words are found at its text's spaces (:func:`split_words`; ``texts``, default the
    page's own); its colour and width come from the page.
    """
    page = page.in_mm()
    lines = []
    for coords, text, color, width in zip(page.lines, page.texts if texts is None else texts, page.colors,
                                          page.widths):
        if coords is None or not len(coords):
            continue
        strokes = [s.astype(np.float64) * (1.0, -1.0) for s in split_strokes(coords)]
        words = [[strokes[i] for i in word] for word in split_words(coords, text.count(" "))]
        lines.append(PlotterLine(words=words, color=color, pen_width_mm=width))
    return PlotterPage(width_mm=page.width, height_mm=page.height, lines=lines)


def drawing_page(drawing: "Drawing") -> PlotterPage:
    """A drawing's first page as a plotter page (the drawing's texts name a one-page drawing's lines)."""
    return plotter_page(drawing.page, drawing.texts if len(drawing.pages) == 1 else None)


def drawing_pages(drawing: "Drawing") -> list[PlotterPage]:
    """Every page of a drawing (one sized to its ink, or the sheets of ``page="a4"``) for a plotter."""
    return [drawing_page(drawing)] + [plotter_page(page) for page in drawing.pages[1:]]
