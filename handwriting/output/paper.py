"""Paper: the ruling printed under the ink in previews (PNG, PDF), never in plotter output.

Pure numpy. Geometry is in the page's units with y up and the page spanning ``x in [0, width]``,
``y in [-height, 0]`` (as :class:`~handwriting.output.pages.Page`). Lined paper has a rule
under every baseline, from the first line's baseline to the foot of the page and up to its
head at the same pitch, and a margin rule; grid and dotted paper have a square pitch of
``pitch / GRID_DIVISIONS`` placed so that every baseline lies on a grid line (or a row of dots).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import HandwritingError

PLAIN = "plain"
LINED = "lined"
GRID = "grid"
DOTTED = "dotted"
PAPERS: tuple[str, ...] = (PLAIN, LINED, GRID, DOTTED)
#: Squares (or dot steps) per line pitch on grid and dotted paper: a 10 mm line pitch gives the
#: common 5 mm squares.
GRID_DIVISIONS = 2
#: The ruling's colour: a light blue, as printed exercise paper has.
RULE_COLOR = "#9cc3e6"
#: The margin rule's colour: the red of printed exercise paper, light.
MARGIN_RULE_COLOR = "#f0a0a0"
#: Rule width as a fraction of the line pitch (0.2 mm for a 10 mm pitch).
RULE_WIDTH_PER_PITCH = 0.02
#: Dot diameter on dotted paper as a fraction of the line pitch.
DOT_SIZE_PER_PITCH = 0.05


def check_paper(kind: str) -> str:
    """``kind`` if it names a paper, else a :class:`HandwritingError` naming the choices."""
    if kind not in PAPERS:
        raise HandwritingError(f"unknown paper {kind!r}: use {', '.join(PAPERS)}")
    return kind


@dataclass(frozen=True)
class Ruling:
    """What is printed on a sheet before anyone writes on it.

    Attributes:
        kind: one of :data:`PAPERS`.
        pitch: the line pitch (baseline to baseline) in page units.
        first_baseline: the y of the first line's baseline (y up, so negative).
        margin_x: the x of the margin rule (the text box's left edge).
    """

    kind: str
    pitch: float
    first_baseline: float
    margin_x: float

    @property
    def width(self) -> float:
        """Rule width in page units."""
        return RULE_WIDTH_PER_PITCH * self.pitch

    @property
    def dot_size(self) -> float:
        """Dot diameter in page units (dotted paper)."""
        return DOT_SIZE_PER_PITCH * self.pitch

    def _steps(self, origin: float, step: float, low: float, high: float) -> np.ndarray:
        """Every ``origin + k * step`` within ``(low, high)``."""
        first = np.ceil((low - origin) / step)
        last = np.floor((high - origin) / step)
        return origin + step * np.arange(first, last + 1)

    def rows(self, height: float) -> np.ndarray:
        """``[R]`` y of the horizontal rules (lined) or grid rows (grid, dotted) on a page of ``height``."""
        step = self.pitch if self.kind == LINED else self.pitch / GRID_DIVISIONS
        return self._steps(self.first_baseline, step, -height, 0.0)

    def columns(self, width: float) -> np.ndarray:
        """``[C]`` x of the vertical grid lines (or dot columns); none on lined or plain paper."""
        if self.kind not in (GRID, DOTTED):
            return np.zeros(0)
        return self._steps(self.margin_x, self.pitch / GRID_DIVISIONS, 0.0, width)

    def segments(self, width: float, height: float) -> np.ndarray:
        """``[S, 2, 2]`` rule segments ``((x0, y0), (x1, y1))``: lined and grid paper's lines
        (the margin rule is :meth:`margin_segment`); none on plain or dotted paper."""
        if self.kind not in (LINED, GRID):
            return np.zeros((0, 2, 2))
        rows = [((0.0, y), (width, y)) for y in self.rows(height)]
        cols = [((x, 0.0), (x, -height)) for x in self.columns(width)]
        return np.asarray(rows + cols, np.float64).reshape(-1, 2, 2)

    def margin_segment(self, height: float) -> np.ndarray | None:
        """``[2, 2]``: the margin rule down the page (lined paper), else ``None``."""
        if self.kind != LINED:
            return None
        return np.array([(self.margin_x, 0.0), (self.margin_x, -height)])

    def dots(self, width: float, height: float) -> np.ndarray:
        """``[D, 2]`` dot centres (dotted paper), else empty."""
        if self.kind != DOTTED:
            return np.zeros((0, 2))
        xs, ys = np.meshgrid(self.columns(width), self.rows(height))
        return np.stack([xs.ravel(), ys.ravel()], 1)
