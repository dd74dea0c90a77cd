"""A page that looks written: how a person's lines vary down a page, drawn and measured.

Pure numpy. One model draws the variation and one function measures it, so the figures of
generated pages and of real UNIPEN pages (``handwriting.tools.page_figures``) are the same
numbers. Everything is in x-heights (the hand's own size), so it holds at any scale.

Per line ``i`` of a page (counted from 0 at its top), a person's hand:

- tilts the baseline by ``N(0, tilt_sd)`` degrees about the line's middle;
- steps down from the last baseline by the line pitch plus ``N(0, pitch_sd)`` x-heights
  (plain paper only: on ruled paper the rule sets the baseline);
- starts at the left margin plus ``margin_drift * i + N(0, margin_sd)`` x-heights;
- writes at ``1 + tiring * i + N(0, size_sd)`` times its size (tiring: larger down the page).

Every draw is clipped at :data:`CLIP_SDS` standard deviations, so that the room the variation
takes (:meth:`PageVariation.width_allowance`) is bounded and no ink crosses a margin.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..strokes import baseline_angle, baseline_height, estimate_x_height, rotate

#: A draw is clipped at this many standard deviations.
CLIP_SDS = 2.0
#: A robust standard deviation: 1.4826 median absolute deviations (exact for a normal
#: distribution); indented first lines and a stray line move it little.
MAD_TO_SD = 1.4826


#: ``(median, 10th percentile, 90th percentile)`` over the multi-line pages of UNIPEN
#: train_r01_v07 (category 8: runs of at least four lines of two or more words written one under
#: another on one sheet; ``handwriting.tools.page_figures`` says how they are found), as
#: ``scripts/measure_page_variation.py /path/to/unipen`` prints them (docs/pages.md).
UNIPEN_FIGURES: dict[str, tuple[float, float, float]] = {
    "x_height_mm": (4.39, 2.80, 7.04),
    "pitch": (3.78, 2.63, 4.75),
    "tilt_sd": (0.93, 0.22, 2.78),
    "pitch_sd": (0.52, 0.094, 1.50),
    "margin_sd": (0.50, 0.009, 1.10),
    "margin_drift": (0.001, -0.454, 0.564),
    "size_sd": (0.066, 0.032, 0.253),
    "tiring": (-0.005, -0.085, 0.029),
}


@dataclass(frozen=True)
class PageVariation:
    """The few numbers of a page's natural variation (see the module docstring); the defaults
    are the medians of the UNIPEN pages (:data:`UNIPEN_FIGURES`)."""

    tilt_sd: float = UNIPEN_FIGURES["tilt_sd"][0]
    pitch_sd: float = UNIPEN_FIGURES["pitch_sd"][0]
    margin_sd: float = UNIPEN_FIGURES["margin_sd"][0]
    margin_drift: float = UNIPEN_FIGURES["margin_drift"][0]
    size_sd: float = UNIPEN_FIGURES["size_sd"][0]
    tiring: float = UNIPEN_FIGURES["tiring"][0]

    @staticmethod
    def neat() -> "PageVariation":
        """No variation: every line level, on its baseline, at the margin, at one size."""
        return PageVariation(**{f.name: 0.0 for f in fields(PageVariation)})

    def max_scale(self, lines: int) -> float:
        """The largest size factor a page of ``lines`` lines can draw."""
        return 1.0 + max(self.tiring * (lines - 1), 0.0) + CLIP_SDS * self.size_sd

    def width_allowance(self, lines: int) -> float:
        """The widest spread of line starts (x-heights) a page of ``lines`` lines can draw."""
        return abs(self.margin_drift) * max(lines - 1, 0) + 2 * CLIP_SDS * self.margin_sd


@dataclass(frozen=True)
class LineDraws:
    """One page's draws, per line ``[L]``: tilt (radians), pitch change and start (x-heights),
    size factor. ``start`` is shifted so that its smallest possible value is 0."""

    tilt: np.ndarray
    pitch: np.ndarray
    start: np.ndarray
    scale: np.ndarray


def draw_lines(variation: PageVariation, lines: int, rng: np.random.Generator) -> LineDraws:
    """Draw the variation of a page of ``lines`` lines (always four normal draws per line, in
    one order, so the same generator state gives the same page)."""
    noise = np.clip(rng.standard_normal((4, lines)), -CLIP_SDS, CLIP_SDS)
    index = np.arange(lines, dtype=np.float64)
    trend = variation.margin_drift * index
    start = trend + variation.margin_sd * noise[2]
    start -= min(0.0, variation.margin_drift * max(lines - 1, 0)) - CLIP_SDS * variation.margin_sd
    return LineDraws(tilt=np.radians(variation.tilt_sd * noise[0]), pitch=variation.pitch_sd * noise[1],
                     start=start, scale=1.0 + variation.tiring * index + variation.size_sd * noise[3])


@dataclass(frozen=True)
class LineGeometry:
    """What a written line shows of its place on the page, in its coordinates' units."""

    angle: float  # baseline angle, radians (counter-clockwise)
    baseline: float  # the baseline's y under the middle of the line
    start: float  # the leftmost ink's x
    x_height: float


def line_geometry(coords: np.ndarray) -> LineGeometry:
    """Measure one placed line of ``[N, 3]`` coords (y up)."""
    xy = np.asarray(coords, np.float64)
    angle = baseline_angle(xy)
    middle = np.array([(xy[:, 0].min() + xy[:, 0].max()) / 2, xy[:, 1].mean()])
    level = np.array(coords, np.float32, copy=True)
    level[:, :2] -= middle
    level = rotate(level, -angle)
    return LineGeometry(angle=angle, baseline=float(middle[1] + baseline_height(level)),
                        start=float(xy[:, 0].min()), x_height=estimate_x_height(level))


def _robust_sd(values: np.ndarray) -> float:
    return float(MAD_TO_SD * np.median(np.abs(values - np.median(values)))) if len(values) else 0.0


def _trend(values: np.ndarray) -> tuple[float, np.ndarray]:
    """Slope per line of ``values`` and their residuals from the fitted line."""
    index = np.arange(len(values), dtype=np.float64)
    slope, intercept = np.polyfit(index, values, 1)
    return float(slope), values - (slope * index + intercept)


def page_figures(lines: list[np.ndarray]) -> dict[str, float]:
    """The variation figures of one page's lines, top to bottom (at least three).

    Returns:
        ``{"tilt_sd"}`` in degrees; ``{"pitch", "pitch_sd", "margin_sd", "margin_drift"}`` in
        x-heights (the page's median); ``{"size_sd", "tiring"}`` relative to that x-height. The
        sds are robust (:data:`MAD_TO_SD`); the margin's and the size's are taken about their
        trend down the page (``margin_drift``, ``tiring``: slopes per line).
    """
    geometry = [line_geometry(c) for c in lines]
    h = float(np.median([g.x_height for g in geometry]))
    angles = np.degrees([g.angle for g in geometry])
    pitches = -np.diff([g.baseline for g in geometry]) / h
    drift, margin_residual = _trend(np.array([g.start for g in geometry]) / h)
    tiring, size_residual = _trend(np.array([g.x_height for g in geometry]) / h)
    return {"tilt_sd": _robust_sd(angles - np.median(angles)), "pitch": float(np.median(pitches)),
            "pitch_sd": _robust_sd(pitches), "margin_sd": _robust_sd(margin_residual), "margin_drift": drift,
            "size_sd": _robust_sd(size_residual), "tiring": tiring}
