"""What gives a written line away, measured as a reader sees it: spacing, width, slant, turning.

Four measures of one line, each free of the line's size (lengths in x-heights,
:func:`strokes.estimate_x_height`) and of how densely its points were sampled:

- **gaps between letters per character** (``gap_per_char``, x-heights): the line is deslanted
  (:func:`strokes.deslant`: a slanted hand's letters overlap more in x), its strokes gathered
  into groups whose x-extents overlap (:func:`strokes.x_overlap_groups`: letters of a print hand,
  whole words of a joined one, a dot with its letter), and the horizontal gaps between
  neighbouring groups taken; the widest ``words - 1`` of them are the word gaps and are left out.
  The rest, summed, divided by the text's characters other than spaces.
- **ink width per character** (``ink_width_per_char``, x-heights): the groups' widths, summed,
  divided by the same count. Ink width, gaps inside words and word gaps add up to the line's
  deslanted width.
- **slant** (``slant``, radians, positive leaning right): :func:`strokes.estimate_slant`.
- **fine-scale turning** (``fine_turning``, radians per x-height of ink): every stroke resampled
  at :data:`FINE_SPACING` x-heights, then the absolute angles between successive steps of a
  stroke summed and divided by the pen-down arc length: a circle of radius ``r`` x-heights
  turns ``1 / r``, a straight stroke 0. A drawn polyline turns only at its corners, so the figure
  is its total curvature per length, which resampling at a finer spacing does not change.

Issue 26 asks the generated lines' medians of the first three to be near the human ones
(:data:`MEASURES` holds each tolerance); the turning is reported without one.

Shapes: a line is ``[N, 3]`` absolute coords ``(x, y, pen_up)``, y up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .. import strokes

#: Strokes are resampled at this arc length (x-heights) before their turning is measured.
FINE_SPACING = 0.05
#: The smallest x-height and arc length divided by (a line without ink measures 0, not NaN).
TINY = 1e-9


@dataclass(frozen=True)
class Measure:
    """One reported measure: its feature name, what a reader calls it, its unit and the tolerance
    on the difference of medians (a fraction of the human median when ``relative``; ``None``: none)."""

    name: str
    label: str
    unit: str
    tolerance: float | None
    relative: bool = False

    def within(self, human: float, generated: float) -> bool | None:
        """Whether ``generated`` (a median) is within tolerance of ``human`` (``None``: no tolerance)."""
        if self.tolerance is None:
            return None
        allowed = self.tolerance * abs(human) if self.relative else self.tolerance
        return bool(abs(generated - human) <= allowed)


#: The measures, in :func:`line_measures`' order, with issue 26's tolerances.
MEASURES = (
    Measure("gap_per_char", "gaps between letters per character", "x-heights", 0.20, relative=True),
    Measure("ink_width_per_char", "ink width per character", "x-heights", 0.20, relative=True),
    Measure("slant", "slant", "rad", 0.05),
    Measure("fine_turning", "fine-scale turning", "rad per x-height", None),
)
MEASURE_NAMES = tuple(m.name for m in MEASURES)


def line_measures(coords: np.ndarray, text: str, x_height: float | None = None) -> np.ndarray:
    """``[len(MEASURES)]`` measures of one line: gaps and ink width per character, slant, turning.

    Args:
        coords: ``[N, 3]`` absolute coords of the line (y up).
        text: what the line says (its spaces give the number of word gaps).
        x_height: the line's x-height in coords' units (default: :func:`strokes.estimate_x_height`).
    """
    coords = np.asarray(coords, np.float64)
    if not len(coords):
        return np.zeros(len(MEASURES))
    x_height = max(strokes.estimate_x_height(coords) if x_height is None else float(x_height), TINY)
    scaled = coords.copy()
    scaled[:, :2] /= x_height
    gap, width = ink_spacing(strokes.deslant(scaled), text)
    return np.array([gap, width, strokes.estimate_slant(scaled), fine_turning(scaled)])


def ink_spacing(coords: np.ndarray, text: str) -> tuple[float, float]:
    """``(gaps inside words, ink width)`` per character other than a space, in coords' units.

    ``coords`` ``[N, 3]``: groups of strokes whose x-extents overlap are the ink; the gaps between
    neighbouring groups, less the ``words - 1`` widest (the word gaps), are the gaps inside words.
    """
    chars = max(sum(not c.isspace() for c in text), 1)
    low, high = strokes.stroke_extents(coords)
    spans = np.array([(low[g, 0].min(), high[g, 0].max()) for g in strokes.x_overlap_groups(coords)])
    if not len(spans):
        return 0.0, 0.0
    gaps = np.sort(spans[1:, 0] - spans[:-1, 1])
    word_gaps = max(len(text.split()) - 1, 0)
    inside = gaps[: max(len(gaps) - word_gaps, 0)]
    return float(inside.sum()) / chars, float((spans[:, 1] - spans[:, 0]).sum()) / chars


def fine_turning(coords: np.ndarray, spacing: float = FINE_SPACING) -> float:
    """Absolute turning per unit of pen-down arc length (radians per coords' unit) of ``[N, 3]``
    coords, every stroke resampled at ``spacing`` first."""
    fine = np.asarray(strokes.resample(coords, spacing), np.float64)
    if len(fine) < 3:
        return 0.0
    steps = np.diff(fine[:, :2], axis=0)
    drawn = strokes.pen_down_steps(fine)
    heading = np.arctan2(steps[:, 1], steps[:, 0])
    turns = np.abs(np.angle(np.exp(1j * np.diff(heading))))
    turns = turns[drawn[:-1] & drawn[1:]]  # both steps inside one stroke
    arc = float(np.linalg.norm(steps[drawn], axis=1).sum())
    return float(turns.sum()) / max(arc, TINY)


def compare_measures(human: np.ndarray, generated: np.ndarray) -> list[dict]:
    """Medians of each measure, human against generated, and whether they are within tolerance.

    Args:
        human: ``[H, len(MEASURES)]`` :func:`line_measures` of the human lines.
        generated: ``[G, len(MEASURES)]`` of the generated lines.

    Returns:
        One dict per measure: ``name, label, unit, human, generated, difference, tolerance,
        relative, within`` (``within`` is ``None`` for a measure without tolerance).
    """
    rows = []
    for k, measure in enumerate(MEASURES):
        h, g = float(np.median(human[:, k])), float(np.median(generated[:, k]))
        rows.append({"name": measure.name, "label": measure.label, "unit": measure.unit, "human": h,
                     "generated": g, "difference": g - h, "tolerance": measure.tolerance,
                     "relative": measure.relative, "within": measure.within(h, g)})
    return rows


def format_measures_row(rows: Sequence[dict]) -> str:
    """The cells of :func:`compare_measures`' rows for a Markdown table: ``human vs generated``
    and a tick or cross where there is a tolerance."""
    mark = {True: " ok", False: " no", None: ""}
    return " | ".join(f"{r['human']:.3f} vs {r['generated']:.3f}{mark[r['within']]}" for r in rows)


def measures_header() -> tuple[str, str]:
    """The header cells of :func:`format_measures_row` and the Markdown rule under them."""
    cells = []
    for m in MEASURES:
        tolerance = "" if m.tolerance is None else f", within {m.tolerance:.0%}" if m.relative else \
            f", within {m.tolerance:g} {m.unit}"
        cells.append(f"{m.label} ({m.unit}{tolerance})")
    return " | ".join(cells), "|".join(["---"] * len(cells))
