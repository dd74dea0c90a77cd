"""The order a plotter draws a page's words in, to cut the pen's travel in the air.

The plotter draws what the hand wrote: every word keeps its strokes, their order and their
direction, so a word is always entered at its first point and left at its last. Only whole
words move. The order is the shortest of: writing order; greedy nearest neighbour (the word
whose first point is nearest the pen, found with vpype's spatial index, ``vpype.LineIndex``);
each refined by or-opt (runs of up to :data:`OR_OPT_MAX_WORDS` words moved to wherever they
shorten the travel, never reversed).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: The longest run of consecutive words or-opt tries to move.
OR_OPT_MAX_WORDS = 3
#: Moves shorter than this (mm) are rounding error, not gain: or-opt stops.
MIN_GAIN_MM = 1e-6


def pen_up_travel(strokes: Sequence[np.ndarray]) -> float:
    """The distance the pen travels lifted between consecutive ``[n, 2]`` strokes (their units)."""
    if len(strokes) < 2:
        return 0.0
    ends = np.array([s[-1] for s in strokes[:-1]], np.float64)
    starts = np.array([s[0] for s in strokes[1:]], np.float64)
    return float(np.hypot(*(starts - ends).T).sum())


def word_travel(words: Sequence[Sequence[np.ndarray]], order: Sequence[int] | None = None) -> float:
    """Pen-up travel of drawing ``words`` (each a list of ``[n, 2]`` strokes) in ``order``
    (default: as given), the lifts inside words included."""
    order = range(len(words)) if order is None else order
    return pen_up_travel([stroke for k in order for stroke in words[k]])


def order_words(words: Sequence[Sequence[np.ndarray]]) -> list[int]:
    """The order to draw ``words`` in (indices into ``words``) for the least pen-up travel found.

    Args:
        words: per word, its strokes in writing order, each ``[n, 2]`` points.

    Returns:
        A permutation of ``range(len(words))``; never longer in the air than writing order.
    """
    if len(words) < 2:
        return list(range(len(words)))
    starts = np.array([complex(*w[0][0]) for w in words])
    ends = np.array([complex(*w[-1][-1]) for w in words])
    candidates = [_or_opt(list(range(len(words))), starts, ends), _or_opt(_greedy(starts, ends), starts, ends)]
    return min(candidates, key=lambda order: _joins(order, starts, ends))


def _joins(order: Sequence[int], starts: np.ndarray, ends: np.ndarray) -> float:
    """Pen-up travel between the words of ``order`` (the lifts inside words are fixed)."""
    return float(np.abs(starts[order[1:]] - ends[order[:-1]]).sum())


def _greedy(starts: np.ndarray, ends: np.ndarray) -> list[int]:
    """Nearest neighbour from the first word: next, the word whose start is nearest the pen."""
    import vpype as vp

    # Each word stands in as the segment from its first point to its last; reverse=False: a
    # word is only ever drawn from its start.
    index = vp.LineIndex([np.array([s, e]) for s, e in zip(starts[1:], ends[1:])], reverse=False)
    order = [0]
    while len(index):
        found, _ = index.find_nearest(ends[order[-1]])
        index.pop(found)
        order.append(found + 1)
    return order


def _or_opt(order: list[int], starts: np.ndarray, ends: np.ndarray) -> list[int]:
    """Move runs of up to :data:`OR_OPT_MAX_WORDS` words, each to its best place, while any move helps."""
    improved = True
    while improved:
        improved = False
        for length in range(1, OR_OPT_MAX_WORDS + 1):
            first = 0
            while first + length <= len(order):
                gain, place = _best_move(order, first, length, starts, ends)
                if gain > MIN_GAIN_MM:
                    run = order[first:first + length]
                    rest = order[:first] + order[first + length:]
                    order = rest[:place] + run + rest[place:]
                    improved = True
                first += 1
    return order


def _best_move(order: list[int], first: int, length: int, starts: np.ndarray,
               ends: np.ndarray) -> tuple[float, int]:
    """The travel saved by moving ``order[first:first + length]`` to its best place in the rest
    (an index into the rest: the run goes before that word), and that place."""
    run_start, run_end = starts[order[first]], ends[order[first + length - 1]]
    before = order[first - 1] if first else None
    after = order[first + length] if first + length < len(order) else None
    saved = 0.0
    if before is not None:
        saved += abs(run_start - ends[before])
    if after is not None:
        saved += abs(starts[after] - run_end)
    if before is not None and after is not None:
        saved -= abs(starts[after] - ends[before])
    rest = np.array(order[:first] + order[first + length:])
    if not len(rest):
        return 0.0, 0
    # added[p]: the cost of putting the run before rest[p] (p == len(rest): after the last).
    added = np.empty(len(rest) + 1)
    added[0] = abs(starts[rest[0]] - run_end)
    added[-1] = abs(run_start - ends[rest[-1]])
    added[1:-1] = (np.abs(run_start - ends[rest[:-1]]) + np.abs(starts[rest[1:]] - run_end)
                   - np.abs(starts[rest[1:]] - ends[rest[:-1]]))
    added[first] = np.inf  # where the run already is
    place = int(np.argmin(added))
    return saved - float(added[place]), place
