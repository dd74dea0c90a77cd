"""Pen-stroke arrays in pure numpy.

Formats (y points up everywhere in the package; SVG output flips it):

- ``coords``: ``[N, 3]`` float32 of absolute ``(x, y, pen_up)``; ``pen_up = 1`` marks the last
  point of a stroke (the pen lifts after it).
- ``offsets`` (stroke-3): ``[N, 3]`` float32 of ``(dx, dy, pen_up)``; ``offsets[0]`` holds the
  first point itself, so ``offsets_to_coords(coords_to_offsets(c)) == c``.
- a list of strokes: one ``[n, 2]`` array of ``(x, y)`` per pen-down stroke.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: Smallest step treated as movement when dropping repeated points.
DUPLICATE_EPSILON = 1e-6
#: Quantile of per-stroke lowest points taken as the baseline (robust to descenders).
BASELINE_QUANTILE = 0.25


def coords_to_offsets(coords: np.ndarray) -> np.ndarray:
    """Absolute ``[N, 3]`` coords -> ``[N, 3]`` offsets (the first row keeps the start point)."""
    coords = np.asarray(coords, dtype=np.float32)
    offsets = coords.copy()
    offsets[1:, :2] = coords[1:, :2] - coords[:-1, :2]
    return offsets


def offsets_to_coords(offsets: np.ndarray) -> np.ndarray:
    """``[N, 3]`` offsets -> absolute ``[N, 3]`` coords (cumulative sum of the steps)."""
    offsets = np.asarray(offsets, dtype=np.float32)
    coords = offsets.copy()
    coords[:, :2] = np.cumsum(offsets[:, :2].astype(np.float64), axis=0)
    return coords


def split_strokes(coords: np.ndarray) -> list[np.ndarray]:
    """``[N, 3]`` coords -> list of ``[n, 2]`` strokes, split after each ``pen_up`` point.

    Points after the last pen lift form a final stroke of their own.
    """
    coords = np.asarray(coords, dtype=np.float32)
    ends = np.flatnonzero(coords[:, 2] > 0.5) + 1
    pieces = np.split(coords[:, :2], ends)
    return [p for p in pieces if len(p)]


def join_strokes(strokes: Sequence[np.ndarray]) -> np.ndarray:
    """List of ``[n, 2]`` strokes -> ``[N, 3]`` coords with ``pen_up = 1`` on each stroke's end."""
    parts = []
    for stroke in strokes:
        stroke = np.asarray(stroke, dtype=np.float32).reshape(-1, 2)
        if not len(stroke):
            continue
        pen = np.zeros((len(stroke), 1), np.float32)
        pen[-1] = 1.0
        parts.append(np.hstack([stroke, pen]))
    if not parts:
        return np.zeros((0, 3), np.float32)
    return np.vstack(parts)


def bounding_box(coords: np.ndarray) -> tuple[float, float, float, float]:
    """``(x_min, y_min, x_max, y_max)`` of ``[N, >=2]`` coords."""
    coords = np.asarray(coords)
    if not len(coords):
        raise ValueError("bounding box of an empty stroke array")
    x_min, y_min = coords[:, :2].min(axis=0)
    x_max, y_max = coords[:, :2].max(axis=0)
    return float(x_min), float(y_min), float(x_max), float(y_max)


def estimate_scale(offsets_list: Sequence[np.ndarray]) -> float:
    """One dataset scale: the standard deviation of all steps ``(dx, dy)`` pooled.

    The first row of each array (the start point, not a step) is left out. Dividing offsets
    by this scale gives steps of unit spread, which is what the model is trained on; the
    scale is stored with the dataset and the checkpoint so it can be applied back.
    """
    steps = [np.asarray(o, np.float64)[1:, :2].ravel() for o in offsets_list if len(o) > 1]
    if not steps:
        raise ValueError("cannot estimate a scale from no steps")
    scale = float(np.std(np.concatenate(steps)))
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"degenerate stroke scale {scale}")
    return scale


def normalise_offsets(offsets: np.ndarray, scale: float) -> np.ndarray:
    """Divide the steps of ``[N, 3]`` offsets by ``scale`` (pen column untouched)."""
    out = np.array(offsets, dtype=np.float32, copy=True)
    out[:, :2] /= scale
    return out


def denormalise_offsets(offsets: np.ndarray, scale: float) -> np.ndarray:
    """Inverse of :func:`normalise_offsets`."""
    out = np.array(offsets, dtype=np.float32, copy=True)
    out[:, :2] *= scale
    return out


def remove_duplicate_points(coords: np.ndarray, epsilon: float = DUPLICATE_EPSILON) -> np.ndarray:
    """Drop points that repeat the previous point of the same stroke (keeps stroke ends)."""
    coords = np.asarray(coords, dtype=np.float32)
    if len(coords) < 2:
        return coords.copy()
    step = np.linalg.norm(np.diff(coords[:, :2], axis=0), axis=1)
    same_stroke = coords[:-1, 2] < 0.5
    repeat = np.zeros(len(coords), bool)
    # A repeated point is dropped; if it ended a stroke, its predecessor inherits the pen lift.
    repeat[1:] = (step <= epsilon) & same_stroke
    out = coords.copy()
    for i in np.flatnonzero(repeat)[::-1]:
        out[i - 1, 2] = max(out[i - 1, 2], out[i, 2])
    return out[~repeat]


def drop_outlier_steps(coords: np.ndarray, max_step: float) -> np.ndarray:
    """Remove digitiser glitches: pen-down points far (> ``max_step``) from both neighbours.

    Within a stroke, a point whose steps from the previous and to the next point both exceed
    ``max_step`` is a spike and is dropped; so is a stroke's first (last) point when its step
    to the next (from the previous) point is that long. Moves across a pen lift are real
    moves and never count. A stroke reduced to nothing disappears; pen lifts are kept on the
    last surviving point of each stroke.
    """
    coords = np.asarray(coords, dtype=np.float32)
    kept = []
    for stroke in split_strokes(coords):
        stroke = _drop_spikes(stroke, max_step)
        if len(stroke) > 2:
            far = _far_steps(stroke, max_step)
            ends = np.zeros(len(stroke), bool)
            ends[0] = far[0] and not far[1]
            ends[-1] = far[-1] and not far[-2]
            stroke = stroke[~ends]
        kept.append(stroke)
    return join_strokes(kept)


def _far_steps(stroke: np.ndarray, max_step: float) -> np.ndarray:
    """``[n - 1]`` bool: which steps of an ``[n, 2]`` stroke are longer than ``max_step``."""
    return np.hypot(*np.diff(stroke.astype(np.float64), axis=0).T) > max_step


def _drop_spikes(stroke: np.ndarray, max_step: float) -> np.ndarray:
    """Drop interior points whose steps in and out are both longer than ``max_step``."""
    if len(stroke) < 3:
        return stroke
    far = _far_steps(stroke, max_step)
    spike = np.zeros(len(stroke), bool)
    spike[1:-1] = far[:-1] & far[1:]
    return stroke[~spike]


def smooth(coords: np.ndarray, window: int = 3) -> np.ndarray:
    """Denoise each stroke with a centred moving average of ``window`` points.

    Stroke ends stay fixed so that strokes keep their extent; strokes shorter than the
    window are left alone.
    """
    if window < 2:
        return np.asarray(coords, np.float32).copy()
    kernel = np.ones(window) / window
    half = window // 2
    out = []
    for stroke in split_strokes(coords):
        if len(stroke) > window:
            padded = np.pad(stroke.astype(np.float64), ((half, window - 1 - half), (0, 0)), mode="edge")
            smoothed = np.stack([np.convolve(padded[:, d], kernel, mode="valid") for d in range(2)], 1)
            smoothed[0], smoothed[-1] = stroke[0], stroke[-1]
            stroke = smoothed
        out.append(stroke)
    return join_strokes(out)


def savgol_smooth(coords: np.ndarray, window: int = 7, order: int = 3) -> np.ndarray:
    """Each stroke of ``[N, 3]`` coords smoothed by a Savitzky-Golay filter: every point moved onto
    the least-squares polynomial of degree ``order`` through the ``window`` points around it
    (scipy's ``savgol_filter``; at a stroke's ends the polynomial of its first or last ``window``
    points). Unlike :func:`smooth`'s moving average it keeps corners and loop sizes: a polynomial
    of degree ``order`` passes through unchanged. Strokes of at most ``window`` points, and a
    ``window`` below 3, are left alone. Returns a new float32 array with the same pen lifts.
    """
    coords = np.asarray(coords, np.float32)
    if window < 3:
        return coords.copy()
    from scipy.signal import savgol_filter

    window += window % 2 == 0  # the filter is centred: an odd number of points
    out = []
    for stroke in split_strokes(coords):
        if len(stroke) > window:
            stroke = savgol_filter(stroke.astype(np.float64), window, min(order, window - 1), axis=0, mode="interp")
        out.append(stroke)
    return join_strokes(out)


def baseline_angle(coords: np.ndarray) -> float:
    """Angle (radians) of the points' principal axis: the writing direction of a line.

    Unlike a least-squares fit of y on x, the principal axis turns with the points, so
    rotating by ``-baseline_angle`` levels a line exactly.
    """
    xy = np.asarray(coords, np.float64)[:, :2]
    if len(xy) < 2:
        return 0.0
    cov = np.cov(xy.T)
    angle = 0.5 * np.arctan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1])
    # The principal axis of a line of writing is never steeper than 45 degrees in practice;
    # keep the angle in (-pi/4, pi/4] so a short, tall sample is not turned on its side.
    return float(angle) if abs(angle) <= np.pi / 4 else 0.0


def rotate(coords: np.ndarray, angle: float) -> np.ndarray:
    """Rotate coords counter-clockwise by ``angle`` radians about the origin."""
    out = np.array(coords, dtype=np.float32, copy=True)
    c, s = np.cos(angle), np.sin(angle)
    x, y = out[:, 0].astype(np.float64), out[:, 1].astype(np.float64)
    out[:, 0], out[:, 1] = c * x - s * y, s * x + c * y
    return out


def baseline_height(coords: np.ndarray) -> float:
    """A robust baseline y: a low quantile of the strokes' lowest points (descenders aside)."""
    lows = stroke_extents(coords)[0][:, 1]
    return float(np.quantile(lows, BASELINE_QUANTILE)) if len(lows) else 0.0


def align_baseline(coords: np.ndarray) -> np.ndarray:
    """Level the writing direction and move the text to start at x = 0 on the baseline y = 0."""
    out = rotate(coords, -baseline_angle(coords))
    out[:, 0] -= out[:, 0].min()
    out[:, 1] -= baseline_height(out)
    return out


def estimate_slant(coords: np.ndarray) -> float:
    """Slant (radians, positive leaning right) of the near-vertical pen-down segments.

    The length-weighted mean of ``dx/dy`` over segments steeper than 45 degrees, with the
    sign of ``dy`` removed so up- and down-strokes agree.
    """
    coords = np.asarray(coords)
    if len(coords) < 2:
        return 0.0
    d = np.diff(coords[:, :2].astype(np.float64), axis=0)[pen_down_steps(coords)]
    steep = np.abs(d[:, 1]) > np.abs(d[:, 0])
    if not steep.any():
        return 0.0
    return float(np.arctan((d[steep, 0] * np.sign(d[steep, 1])).sum() / np.abs(d[steep, 1]).sum()))


def shear(coords: np.ndarray, slant: float) -> np.ndarray:
    """Shear horizontally so that vertical lines lean by ``slant`` radians (right if > 0)."""
    out = np.array(coords, dtype=np.float32, copy=True)
    out[:, 0] += np.tan(slant) * out[:, 1]
    return out


#: :func:`set_slant` measures at most this many times, and stops within ``SLANT_TOLERANCE`` radians.
SLANT_PASSES = 10
SLANT_TOLERANCE = 1e-4


def set_slant(coords: np.ndarray, slant: float) -> np.ndarray:
    """Shear so that :func:`estimate_slant` reads ``slant`` radians.

    A shear adds its tangent to every steep segment's ``dx/dy``, and so to the slant's tangent;
    but segments near 45 degrees change sides of the steepness test, so the shear is corrected
    until the slant reads right (3 passes took a shipped line from 0.44 to -10.00 degrees; a
    random scrawl sheared by 30 degrees took 8).
    """
    tangent, target = 0.0, float(np.tan(slant))
    out = np.array(coords, np.float32, copy=True)
    for _ in range(SLANT_PASSES):
        now = estimate_slant(out)
        if abs(now - slant) <= SLANT_TOLERANCE:
            break
        tangent += target - float(np.tan(now))
        out = shear(coords, float(np.arctan(tangent)))
    return out


def deslant(coords: np.ndarray) -> np.ndarray:
    """Remove the slant measured by :func:`estimate_slant`."""
    return set_slant(coords, 0.0)


def ragged_linspace(starts: np.ndarray, spans: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``linspace(starts[k], starts[k] + spans[k], counts[k])`` for every k, concatenated ``[sum(counts)]``."""
    first = np.repeat(np.cumsum(counts) - counts, counts)
    step = np.arange(int(counts.sum())) - first
    return np.repeat(starts, counts) + np.repeat(spans, counts) * step / np.repeat(np.maximum(counts - 1, 1), counts)


def stroke_ends(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the first and of the last point of each stroke, given points per stroke ``[S]``."""
    last = np.cumsum(counts) - 1
    return last - counts + 1, last


def steps_within(counts: np.ndarray) -> np.ndarray:
    """``[sum(counts) - 1]`` bool: which steps between consecutive points stay in one stroke."""
    inside = np.ones(int(counts.sum()) - 1, bool)
    inside[np.cumsum(counts)[:-1] - 1] = False
    return inside


def resample_strokes(points: np.ndarray, counts: np.ndarray, progress: np.ndarray, step: float,
                     at_most: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Resample strokes at equal steps of a per-point ``progress`` (arc length or time).

    Args:
        points: ``[P, 2]`` the strokes' points, concatenated.
        counts: ``[S]`` points per stroke.
        progress: ``[P]`` non-decreasing; strictly increasing from one stroke to the next.
        step: the wanted progress between samples (rounded so samples are equally spaced).
        at_most: make the samples at most ``step`` apart (round the count of steps up).

    Returns:
        ``[Q, 2]`` the new points, both ends of each stroke kept, and ``[S]`` their counts
        (one point for a stroke with no progress).
    """
    first, last = stroke_ends(counts)
    start, span = progress[first], progress[last] - progress[first]
    steps = np.ceil(span / step) if at_most else np.round(span / step)
    new_counts = np.where(span > 0, np.maximum(steps, 1) + 1, 1).astype(np.int64)
    at = ragged_linspace(start, span, new_counts)
    return np.stack([np.interp(at, progress, points[:, 0]), np.interp(at, progress, points[:, 1])], 1), new_counts


def arc_progress(points: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``[P]`` arc length along the strokes, with a unit jump between strokes."""
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    steps[~steps_within(counts)] = 1.0
    return np.concatenate([[0.0], np.cumsum(steps)])


def pen_down_steps(coords: np.ndarray) -> np.ndarray:
    """``[N - 1]`` bool: which steps of ``[N, 3]`` coords are drawn (their first point does not
    lift the pen), as :func:`steps_within` of :func:`stroke_counts`, from the pen column at once."""
    return np.asarray(coords)[:-1, 2] <= 0.5


def stroke_starts(coords: np.ndarray) -> np.ndarray:
    """``[S]`` index of each stroke's first point in ``[N, 3]`` coords (split as :func:`split_strokes` splits)."""
    ends = np.flatnonzero(np.asarray(coords)[:, 2] > 0.5) + 1
    return np.concatenate([[0], ends[ends < len(coords)]])


def stroke_counts(coords: np.ndarray) -> np.ndarray:
    """``[S]`` points per stroke of ``[N, 3]`` coords (split as :func:`split_strokes` splits)."""
    return np.diff(np.append(stroke_starts(coords), len(coords)))


def stroke_extents(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` ``[S, 2]``: each stroke's smallest and largest x and y (strokes as
    :func:`split_strokes` splits them)."""
    coords = np.asarray(coords)
    if not len(coords):
        return np.zeros((0, 2), coords.dtype), np.zeros((0, 2), coords.dtype)
    starts = stroke_starts(coords)
    return np.minimum.reduceat(coords[:, :2], starts), np.maximum.reduceat(coords[:, :2], starts)


def x_overlap_groups(coords: np.ndarray) -> list[list[int]]:
    """Strokes of ``[N, 3]`` coords gathered into groups whose x-extents overlap (chains of
    overlapping strokes are one group), left to right: the ink's words when the gaps between
    groups are word gaps. Each group lists its stroke indices (as :func:`split_strokes` numbers
    them) in writing order."""
    low, high = stroke_extents(coords)
    groups: list[list[int]] = []
    right = -np.inf
    for index in np.lexsort((high[:, 0], low[:, 0])).tolist():
        if groups and low[index, 0] <= right:
            groups[-1].append(index)
            right = max(right, float(high[index, 0]))
        else:
            groups.append([index])
            right = float(high[index, 0])
    return [sorted(g) for g in groups]


def resample_stroke(stroke: np.ndarray, spacing: float) -> np.ndarray:
    """Resample one ``[n, 2]`` stroke at equal arc-length steps of at most ``spacing``, keeping both ends."""
    stroke = np.asarray(stroke, np.float32).reshape(-1, 2)
    pen = np.zeros((len(stroke), 1), np.float32)
    pen[-1:] = 1.0
    return resample(np.hstack([stroke, pen]), spacing)[:, :2]


def resample(coords: np.ndarray, spacing: float) -> np.ndarray:
    """Resample every stroke of ``[N, 3]`` coords at equal arc-length steps of at most ``spacing``
    (both ends of each stroke kept; a stroke without length becomes its first point)."""
    coords = np.asarray(coords, np.float32)
    if not len(coords):
        return np.zeros((0, 3), np.float32)
    counts = stroke_counts(coords)
    points = coords[:, :2].astype(np.float64)
    return _strokes_to_coords(*resample_strokes(points, counts, arc_progress(points, counts), spacing, at_most=True))


def _strokes_to_coords(points: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``[P, 2]`` points of strokes of ``[S]`` counts -> ``[P, 3]`` coords, the pen lifted at each stroke's end."""
    out = np.zeros((len(points), 3), np.float32)
    out[:, :2] = points
    out[np.cumsum(counts) - 1, 2] = 1.0
    return out


def resample_in_time(coords: np.ndarray, points: float) -> np.ndarray:
    """Resample every stroke of ``[N, 3]`` coords to about ``points`` points in all, evenly in sample
    index: for ink sampled at a steady rate, evenly in time, so the pen's speed profile (slow in the
    turns, fast along the strokes) is kept, which equal arc-length steps would erase. Both ends of
    each stroke are kept; a one-point stroke (a dot) stays one point."""
    coords = np.asarray(coords, np.float32)
    if not len(coords):
        return np.zeros((0, 3), np.float32)
    counts = stroke_counts(coords)
    clock = np.arange(len(coords), dtype=np.float64) + np.repeat(np.arange(len(counts)), counts)
    step = len(coords) / max(points, 1.0)
    return _strokes_to_coords(*resample_strokes(coords[:, :2].astype(np.float64), counts, clock, step))


#: Quantiles of a line's ink heights whose distance measures its x-height (the central band).
X_HEIGHT_BAND = (0.25, 0.75)
#: x-height per unit of that band's height: calibrated on the font corpus, whose x-height is
#: known (300 ``prepare fonts`` lines: band / x-height has a median of 0.68, and 0.45-0.92
#: from the 10th to the 90th percentile, the simulated writers' 15% spread of size included).
X_HEIGHT_PER_BAND = 1.48
#: A stroke without length (a dot) weighs as much ink as this fraction of the ink's height.
DOT_INK_FRACTION = 1.0 / 200.0


def ink_quantiles(coords: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """Quantiles of the heights of the ink of ``[N, 3]`` coords, weighted by ink length.

    Each pen-down segment spreads its length evenly over the heights it spans (the limit of
    resampling the strokes at ever finer equal arc-length steps), so the result depends on the
    drawn shape, not on how densely a device sampled it; a dot (a stroke without length) weighs
    :data:`DOT_INK_FRACTION` of the ink's height. Computed exactly from the segments' piecewise
    linear distribution: no resampling.

    Returns:
        ``[len(quantiles)]`` float64 heights.
    """
    coords = np.asarray(coords, np.float64)
    if not len(coords):
        raise ValueError("ink quantiles of an empty stroke array")
    y, counts = coords[:, 1], stroke_counts(coords)
    inside = pen_down_steps(coords)
    steps = np.diff(coords[:, :2], axis=0)
    length = np.where(inside, np.hypot(steps[:, 0], steps[:, 1]), 0.0)
    low, high = np.minimum(y[:-1], y[1:]), np.maximum(y[:-1], y[1:])
    first, last = stroke_ends(counts)
    arc = np.concatenate([[0.0], np.cumsum(length)])
    dots = arc[last] - arc[first] <= 0
    spread = (high > low) & (length > 0)
    flat = ~spread & (length > 0)
    density = length[spread] / (high - low)[spread]
    dot_weight = max(float(np.ptp(y)), 1e-12) * DOT_INK_FRACTION
    # Breakpoints of the cumulative distribution: where a segment's spread starts (+density) and
    # ends (-density), and point masses (level segments, dots).
    at = np.concatenate([low[spread], high[spread], y[:-1][flat], y[first][dots]])
    slope_change = np.concatenate([density, -density, np.zeros(int(flat.sum()) + int(dots.sum()))])
    mass = np.concatenate([np.zeros(2 * len(density)), length[flat], np.full(int(dots.sum()), dot_weight)])
    order = np.argsort(at, kind="stable")
    at, slope_change, mass = at[order], slope_change[order], mass[order]
    slope = np.maximum(np.cumsum(slope_change), 0.0)  # on (at[i], at[i + 1])
    after = np.cumsum(mass + np.concatenate([[0.0], slope[:-1] * np.diff(at)]))  # up to and with at[i]
    targets = np.asarray(quantiles, np.float64) * after[-1]
    i = np.minimum(np.searchsorted(after, targets), len(at) - 1)
    before = after[i] - mass[i]  # up to at[i], its own mass not included
    previous = np.maximum(i - 1, 0)
    within = (targets < before) & (i > 0)
    rise = np.where(within, (targets - after[previous]) / np.maximum(slope[previous], 1e-300), 0.0)
    return np.where(within, np.minimum(at[previous] + rise, at[i]), at[i])


def estimate_x_height(coords: np.ndarray) -> float:
    """A robust x-height of one levelled line of writing (same units as ``coords``).

    The height of the central band of the ink (between the :data:`X_HEIGHT_BAND` quantiles of
    the ink heights, :func:`ink_quantiles`) times :data:`X_HEIGHT_PER_BAND`. Ascenders,
    descenders, capitals and a few stray points move the quantiles little, and the band does
    not depend on the sampling rate. For a line of capitals or digits only, the band is the
    cap height's, so its x-height comes out about 1.5x too large (and the line small once
    scaled to a common x-height): the price of not reading the text.
    """
    low, high = ink_quantiles(coords, X_HEIGHT_BAND)
    return float(high - low) * X_HEIGHT_PER_BAND
