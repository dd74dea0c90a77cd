"""The plotter's input: pages of strokes in millimetres, grouped into words and lines.

Strokes inside the package are px with y up (``writing.hand.Drawing``); a plotter works in
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

if TYPE_CHECKING:
    from ..writing.hand import Drawing

#: Page units of a drawing are CSS pixels (SVG user units): 96 to the inch.
CSS_PX_PER_INCH = 96.0
MM_PER_INCH = 25.4
MM_PER_PX = MM_PER_INCH / CSS_PX_PER_INCH
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


def drawing_page(drawing: "Drawing") -> PlotterPage:
    """A drawing (one page sized to its ink plus margin, px with y up) as a plotter page in mm.

    Each line's words are found at its text's spaces (:func:`split_words`); its colour and width
    come from the drawing's page.
    """
    page = drawing.page
    lines = []
    for coords, text, color, width in zip(page.lines, drawing.texts, page.colors, page.widths):
        if coords is None or not len(coords):
            continue
        strokes = [s.astype(np.float64) * (MM_PER_PX, -MM_PER_PX) for s in split_strokes(coords)]
        words = [[strokes[i] for i in word] for word in split_words(coords, text.count(" "))]
        lines.append(PlotterLine(words=words, color=color, pen_width_mm=width * MM_PER_PX))
    return PlotterPage(width_mm=page.width * MM_PER_PX, height_mm=page.height * MM_PER_PX, lines=lines)
