"""The order a plotter draws a page's words in, to cut the pen's travel in the air.

The plotter draws what the hand wrote: every word keeps its strokes, their order and their
direction, so a word is always entered at its first point and left at its last. Only whole
words move: an asymmetric travelling-salesman path over the words, the cost of going from word
``i`` to word ``j`` being the distance from ``i``'s last point to ``j``'s first. The order is the
shortest of three starts, each refined by or-opt (runs of up to :data:`OR_OPT_MAX_WORDS` words
moved to wherever they shorten the travel, never reversed): writing order; greedy nearest
neighbour (the word whose first point is nearest the pen, found with vpype's spatial index,
``vpype.LineIndex``); and the assignment relaxation (each word given the successor that costs
least overall, ``scipy.optimize.linear_sum_assignment``) with its cycles patched into one path
(Karp and Steele's patching). The assignment's cost is also a lower bound on any order's
travel (:func:`travel_lower_bound`).
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
    starts_of = [list(range(len(words))), _greedy(starts, ends), _patched_assignment(starts, ends)]
    candidates = [_or_opt(order, starts, ends) for order in starts_of]
    return min(candidates, key=lambda order: _joins(order, starts, ends))


def travel_lower_bound(words: Sequence[Sequence[np.ndarray]]) -> float:
    """No order of ``words`` (each drawn forwards) travels less with the pen up than this: the
    lifts inside the words plus the assignment relaxation of the jumps between them."""
    if len(words) < 2:
        return word_travel(words)
    starts = np.array([complex(*w[0][0]) for w in words])
    ends = np.array([complex(*w[-1][-1]) for w in words])
    costs = _path_costs(starts, ends)
    rows, successors = _assign(costs)
    return sum(pen_up_travel(w) for w in words) + float(costs[rows, successors].sum())


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


def _path_costs(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``[n + 1, n + 1]``: entry ``i, j`` the jump from word ``i``'s end to word ``j``'s start; the
    last row and column are a free depot (the path's start and end), the diagonal forbidden."""
    count = len(starts)
    costs = np.zeros((count + 1, count + 1))
    costs[:count, :count] = np.abs(starts[None, :] - ends[:, None])
    np.fill_diagonal(costs, np.inf)
    return costs


def _assign(costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.optimize import linear_sum_assignment

    finite = np.where(np.isfinite(costs), costs, costs[np.isfinite(costs)].sum() + 1.0)
    return linear_sum_assignment(finite)


def _patched_assignment(starts: np.ndarray, ends: np.ndarray) -> list[int]:
    """The assignment relaxation's successors, its cycles patched into one path through the depot:
    the largest cycle takes in, one at a time, the cycle whose arc swap costs least."""
    costs = _path_costs(starts, ends)
    successor = _assign(costs)[1]
    cycles = _cycles(successor)
    while len(cycles) > 1:
        cycles.sort(key=len, reverse=True)
        big = np.array(cycles[0])
        best = (np.inf, 0, 0)
        for other in map(np.array, cycles[1:]):
            # Swapping the successors of big's i and other's j joins the two cycles.
            change = (costs[big[:, None], successor[other][None, :]] + costs[other[None, :], successor[big][:, None]]
                      - costs[big, successor[big]][:, None] - costs[other, successor[other]][None, :])
            i, j = np.unravel_index(int(np.argmin(change)), change.shape)
            if change[i, j] < best[0]:
                best = (change[i, j], big[i], other[j])
        _, i, j = best
        successor[i], successor[j] = successor[j], successor[i]
        cycles = _cycles(successor)
    depot, order = len(starts), []
    word = successor[depot]
    while word != depot:
        order.append(int(word))
        word = successor[word]
    return order


def _cycles(successor: np.ndarray) -> list[list[int]]:
    seen = np.zeros(len(successor), bool)
    cycles = []
    for first in range(len(successor)):
        cycle, node = [], first
        while not seen[node]:
            seen[node] = True
            cycle.append(node)
            node = successor[node]
        if cycle:
            cycles.append(cycle)
    return cycles


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
