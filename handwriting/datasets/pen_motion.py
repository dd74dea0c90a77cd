"""How a pen moves along strokes: corner rounding, resampling by arc length or by time, and
the pen's speed (slow at a stroke's ends and in tight curves: the two-thirds power law).

Strokes are passed as their points concatenated, ``[P, 2]``, with ``[S]`` points per stroke.
Used by the font corpus to time synthetic writing, and by readers of human ink to resample
lines recorded at different device rates the same way.
"""

from __future__ import annotations

import numpy as np

from ..strokes import steps_within, stroke_ends

#: Spacing of the dense resampling between corner rounding and timing.
DENSE_STEP = 0.03
#: Radius of curvature below which the pen slows (two-thirds power law).
FREE_RADIUS = 1.0
#: Exponent of the power law: speed ~ curvature ** -POWER_LAW_EXPONENT.
POWER_LAW_EXPONENT = 1.0 / 3.0
#: Distance over which the pen speeds up from rest and slows to a stop.
END_RAMP = 0.25
#: Relative speed at a stroke's ends, and the slowest the pen ever moves.
END_SPEED = 0.15
MIN_SPEED = 0.08


def round_corners(stroke: np.ndarray, passes: int) -> np.ndarray:
    """Chaikin corner cutting of an ``[n, 2]`` polyline, ``passes`` times; both ends are kept."""
    for _ in range(passes):
        if len(stroke) < 3:
            break
        a, b = stroke[:-1], stroke[1:]
        cut = np.empty((2 * len(a), 2))
        cut[0::2] = 0.75 * a + 0.25 * b
        cut[1::2] = 0.25 * a + 0.75 * b
        cut[0], cut[-1] = stroke[0], stroke[-1]
        stroke = cut
    return stroke


def pen_speed(points: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Relative pen speed ``[P - 1]`` on each step of densely sampled strokes (1 between strokes).

    Slow near both ends of a stroke (rest to full speed over :data:`END_RAMP`) and in tight
    curves (speed ~ curvature ** -1/3, the two-thirds power law of human movement).
    """
    d = np.diff(points, axis=0)
    seg = np.linalg.norm(d, axis=1)
    inside = steps_within(counts)
    first, last = stroke_ends(counts)
    arc = np.concatenate([[0.0], np.cumsum(np.where(inside, seg, 0.0))])
    stroke_of_step = np.repeat(np.arange(len(counts)), counts)[:-1]
    mid = 0.5 * (arc[:-1] + arc[1:]) - arc[first][stroke_of_step]
    to_end = np.minimum(mid, (arc[last] - arc[first])[stroke_of_step] - mid)
    ends = END_SPEED + (1.0 - END_SPEED) * (1.0 - np.exp(-np.maximum(to_end, 0.0) / END_RAMP))
    heading = np.arctan2(d[:, 1], d[:, 0])
    turn = np.abs(np.angle(np.exp(1j * np.diff(heading))))  # at each interior point
    kappa = np.where(inside[:-1] & inside[1:], turn / np.maximum(0.5 * (seg[:-1] + seg[1:]), 1e-9), 0.0)
    curvature = np.zeros(len(seg))
    curvature[:-1] += 0.5 * kappa
    curvature[1:] += 0.5 * kappa
    curve = np.minimum(1.0, (np.maximum(curvature, 1e-9) * FREE_RADIUS) ** -POWER_LAW_EXPONENT)
    return np.where(inside, np.maximum(ends * curve, MIN_SPEED), 1.0)


def time_progress(points: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``[P]`` time along densely sampled strokes at the :func:`pen_speed`, a unit jump between strokes."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    steps = np.where(steps_within(counts), seg, 1.0) / pen_speed(points, counts)
    return np.concatenate([[0.0], np.cumsum(steps)])
