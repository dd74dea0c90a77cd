"""What every sampler engine shares: the batch's characters, the per-line stop rule, the pen-lift
wait, the step cap, the trimming after a prime, and how lines are grouped into batches.

Both engines (:mod:`.numpy_sampler`, the default, and :mod:`.sample`, the compiled TensorFlow
loop) call these, so the rules are written once. :func:`advance_lines` is written with Python's
``& | ~`` operators and a ``where`` function, so the same code runs on NumPy arrays and inside a
``tf.while_loop`` on tensors.

A line is finished when the attention window has passed its last character — Graves' rule:
``phi(t, U + 1) > phi(t, u)`` for every real ``u`` (section 5.3) — and the pen has lifted (at
most ``MAX_STEPS_TO_LIFT`` points later); a line whose window leaves its last character while
the pen is up ends there, before a new stroke starts (see :func:`advance_lines`). The step cap
``CAP_BASE_STEPS + CAP_STEPS_PER_CHAR U`` is a counted guard.

Shapes: B lines, U characters (longest line of the batch, padded), T points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import numpy as np

from .. import alphabet
from ..strokes import estimate_x_height, offsets_to_coords, stroke_extents

#: Guard: at most this many points per character (plus ``CAP_BASE_STEPS``) for one line.
CAP_STEPS_PER_CHAR = 60
CAP_BASE_STEPS = 60
#: After the window has passed the last character, wait at most this many points for the
#: pen to lift before the line is ended with a forced lift.
MAX_STEPS_TO_LIFT = 40
#: The character axis is padded to a multiple of this.
CHAR_BUCKET = 8
#: Free-running (no text) mode writes this many points unless told otherwise.
SCRIBBLE_STEPS = 600
#: A line's text has begun once the window puts this much weight on its own characters (not the
#: prime's); strokes finished before then are dropped (see ``trim_before_text``).
TEXT_START_WEIGHT = 0.5
#: A stroke begun once the window's weight on the last character has fallen below this fraction
#: of its peak, to the right of all the line's ink, is ink after the text (see ``trim_after_text``).
LEAVE_FRACTION = 0.75
#: ... provided that the window weighed the last character at least this much at some point.
MIN_LAST_WEIGHT = 0.5
#: Last characters whose final stroke is a dot (a comma's is a short one): once the dot is down,
#: the line is done. The comma joined the list when the web page's sample "Dear Ada," came out as
#: "Dear Ada, /": a tall stroke after the comma, begun with the window still on it.
DOT_ENDINGS = ".!?,;:"
#: A stroke no wider and no taller than this many of the line's x-heights is a dot (or the short
#: tick a hand makes for one).
DOT_X_HEIGHTS = 0.55
#: After a line's final dot, a further dot of its final mark (the next dot of "...", the lower dot
#: of ":") is at most this many times as large as the dot before it, or at most
#: ``SMALL_DOT_X_HEIGHTS`` x-heights: anything larger is a letter begun after the text, such as the
#: small "c" the TensorFlow engine once wrote after "pieces.". A ";" is exempt: its comma may be
#: larger than its dot. A dot the final mark does not have (a second dot after a single ".") is
#: ink after the text (see :func:`final_mark_dots`).
FOLLOWING_DOT_RATIO = 2.5
SMALL_DOT_X_HEIGHTS = 0.3
#: A stroke begun with the window weighing a final "." at least this much is meant for it.
FULL_STOP_WEIGHT = 1.0
#: Lines per batch at most (both engines); more lines are split into balanced batches.
MAX_BATCH_LINES = 64


@dataclass
class SampleBatch:
    """What one call of a sampler's ``sample`` returns.

    Attributes:
        offsets: per line, ``[N_i, 3]`` offsets ``(dx, dy, pen_up)`` in normalised units
            (multiply ``dx, dy`` by the dataset scale); the last point lifts the pen.
        hit_cap: per line, whether it was ended by the step cap rather than the stop rule.
        phi: per line ``[N_i, U_i]`` window weights when asked for, else ``None``.
        trimmed: per line, how many leading points ``trim_before_text`` dropped.
    """

    offsets: list[np.ndarray]
    hit_cap: np.ndarray
    phi: list[np.ndarray] | None = None
    trimmed: np.ndarray | None = None


def step_cap(text_length: int) -> int:
    """The guard on the number of points for a line of ``text_length`` characters."""
    return CAP_BASE_STEPS + CAP_STEPS_PER_CHAR * text_length


def _starts_without_dot(first_char: str) -> bool:
    """Whether a line's first character never begins with a dot: a letter or digit but i and j."""
    return first_char.isalnum() and first_char not in "ij"


def trim_before_text(offsets: np.ndarray, text_from: int, first_char: str = "",
                     x_height: float | None = None) -> int:
    """How many leading points of ``[N, 3]`` offsets to drop: the strokes finished before step
    ``text_from``, when the window first weighed the line's own text (``-1``: never), and then
    any dots (strokes within ``DOT_X_HEIGHTS`` of the line's x-height) left of the first stroke
    of a ``first_char`` that never begins with a dot (a letter or digit but ``i`` and ``j``);
    ``x_height``: the line's, when known (:func:`~handwriting.strokes.estimate_x_height`).

    After a prime the network sometimes first adds a late stroke to the prime's last word (a dot
    or a cross, drawn back over it) and only then moves on to the new text; written alone, that
    stroke is a stray mark before the line. The window often weighs the new text at once (its
    first character is next to the prime's last), so a late i-dot of the prime may come after
    ``text_from``: a dot is never how such a character starts. Whole strokes only: a stroke
    that is still being drawn when the window reaches the text is part of it.
    """
    lifts = np.flatnonzero(offsets[:, 2] > 0.5)
    if lifts.size == 0:
        return 0
    drop = 0
    if text_from > 0:
        before = lifts[lifts < text_from]
        drop = int(before[-1] + 1) if before.size else 0
    if _starts_without_dot(first_char):
        coords = offsets_to_coords(offsets)
        dot_size = DOT_X_HEIGHTS * (estimate_x_height(coords) if x_height is None else x_height)
        dots = drop
        for end in lifts[lifts >= drop]:
            if (np.ptp(coords[dots: end + 1, :2], axis=0) > dot_size).any():
                if dots > drop and coords[drop: dots, 0].max() < coords[dots: end + 1, 0].min():
                    drop = dots  # dots left of a letter's first stroke (one over it may belong to it)
                break
            dots = int(end + 1)
    return drop if drop < len(offsets) else 0


def final_mark_dots(text: str) -> int:
    """How many dots (or dot-sized strokes) a line ending in ``text`` ends with, its final mark's:
    ``"."``, ``"?"``, ``"!"``, ``","`` 1; ``":"``, ``";"`` 2; ``"..."`` 3; 0 for any other ending."""
    last = text[-1:]
    if not last or last not in DOT_ENDINGS:
        return 0
    return len(text) - len(text.rstrip(".")) if last == "." else 2 if last in ":;" else 1


def trim_after_text(offsets: np.ndarray, last_weight: np.ndarray, text: str = "",
                    x_height: float | None = None) -> int:
    """How many points of ``[N, 3]`` offsets to keep: up to the first stroke written after the text.

    ``last_weight`` ``[N]`` is the window's weight on the line's last character at each point
    (phi(t, U)); ``text`` is the line's text (its ending is what counts). After the last
    character the network (never trained past a line's end) often starts another letter, a "1"
    or "/" after the full stop, before Graves' rule sees the window past the end. Such a stroke
    lies wholly to the right of the ink before it, and starts when the window is leaving the
    last character (its weight below ``LEAVE_FRACTION`` of its peak so far). When the text ends
    in one of ``DOT_ENDINGS``, a stroke that follows the line's final dot (a stroke within
    ``DOT_X_HEIGHTS`` begun with the window on the last character) and is no dot itself is cut
    too, even where it overlaps the ink before it by less than a dot (the "S" after a "?", the
    "/" after a "!"); and after a ".", a taller stroke wholly to the right, begun with the
    window on it (``FULL_STOP_WEIGHT``), is cut as well: the human model sometimes draws a "("
    for the full stop (``x_height``: the line's, when known). A late stroke of the last
    character itself (the dot of ``?``, the second bar of ``"``, the dots of an ellipsis, no
    larger than ``FOLLOWING_DOT_RATIO`` times the dot before them) is kept; a dot wholly right
    of the ink, beyond the ones the final mark has (:func:`final_mark_dots`: the second dot of
    "night. ."), is cut, while a late dot over a letter (left of the mark) stays. Measured on
    the font model: 232 of 440 public-prompt lines (4 styles, 2 seeds) had a stroke after the
    text that the window had left; on the human model the full stop's "1" or "(" comes while the
    window is still on it.
    """
    lifts = np.flatnonzero(offsets[:, 2] > 0.5)
    if len(lifts) < 2:
        return len(offsets)
    peak = np.maximum.accumulate(last_weight[: len(offsets)])
    coords = offsets_to_coords(offsets)
    last_char, dots_left = text[-1:], final_mark_dots(text)
    if dots_left:
        x_height = estimate_x_height(coords) if x_height is None else x_height
    else:
        x_height = 0.0  # no dot tests
    dot_size, small_dot = DOT_X_HEIGHTS * x_height, SMALL_DOT_X_HEIGHTS * x_height
    starts = np.r_[0, lifts[:-1] + 1]
    low, high = stroke_extents(coords[: lifts[-1] + 1])
    sizes = (high - low).max(axis=1)
    dots = (sizes <= dot_size) & (dot_size > 0)
    ink_right = np.maximum.accumulate(high[:, 0])
    gaps = np.r_[-np.inf, low[1:, 0] - ink_right[:-1]]  # > 0: wholly right of the ink before it
    weights, peaks = last_weight[starts], peak[starts]
    after_dot, dot_extent = False, 0.0
    for start, is_dot, gap, weight, peak_so_far, size in zip(starts.tolist(), dots.tolist(), gaps.tolist(),
                                                               weights.tolist(), peaks.tolist(), sizes.tolist()):
        if after_dot and last_char != ";" and size > max(FOLLOWING_DOT_RATIO * dot_extent, small_dot):
            is_dot = False  # much larger than the dot before it: a letter, not the next dot of "..."
        if gap > 0 and peak_so_far >= MIN_LAST_WEIGHT and weight < LEAVE_FRACTION * peak_so_far:
            return start  # begun as the window leaves the last character
        # after the final dot, a stroke that is no dot and overlaps the ink before it by less than one
        if after_dot and not is_dot and gap > -dot_size:
            return start
        if after_dot and is_dot and gap > 0 and dots_left <= 0:
            return start  # a dot right of the line that the final mark does not have
        # a full stop is a dot: a taller stroke begun on it, to the right of the line, is none
        if last_char == "." and not is_dot and gap > 0 and weight >= FULL_STOP_WEIGHT:
            return start
        if is_dot and weight >= MIN_LAST_WEIGHT:
            after_dot, dot_extent, dots_left = True, size, dots_left - 1
    return len(offsets)


@dataclass
class LineSpec:
    """A batch's characters and per-line limits (from :func:`line_spec`).

    Attributes:
        chars: ``[B, U]`` int32 ids, ``prefix + text`` per line, 0-padded to a multiple of ``CHAR_BUCKET``.
        char_mask: ``[B, U]`` float32, 1 on real characters.
        text_mask: ``[B, U]`` float32, 1 on the line's own text (not the prime's).
        lengths: ``[B]`` int32 characters per line, prefix included (``U + 1`` is the end position).
        caps: ``[B]`` int32 step caps.
        free_running: ``[B]`` bool, lines with no text (scribbles, no stop rule).
        prefix: the prime's ``text + " "`` (``""`` unprimed).
    """

    chars: np.ndarray
    char_mask: np.ndarray
    text_mask: np.ndarray
    lengths: np.ndarray
    caps: np.ndarray
    free_running: np.ndarray
    prefix: str


def line_spec(texts: Sequence[str], prime_text: str | None, max_steps: int | None) -> LineSpec:
    """Encode ``texts`` (already validated) for one batch, after a prime's text when given."""
    prefix = (prime_text + " ") if prime_text is not None else ""
    sequences = [prefix + t if t else "" for t in texts]
    lengths = np.array([len(s) for s in sequences], np.int32)
    # Padded characters change nothing (phi = 0 there); rounding U up bounds the shapes compiled.
    u = -(-max(int(lengths.max()), 1) // CHAR_BUCKET) * CHAR_BUCKET
    chars = np.zeros((len(texts), u), np.int32)
    for i, s in enumerate(sequences):
        if s:
            chars[i, : len(s)] = alphabet.encode(s, normalise_text=False)
    char_mask = (chars > 0).astype(np.float32)
    own = np.array([len(t) for t in texts])
    caps = np.where(own > 0, [step_cap(n) for n in own], SCRIBBLE_STEPS).astype(np.int32)
    if max_steps is not None:
        caps = np.full_like(caps, max_steps)
    text_mask = char_mask * (np.arange(u) >= len(prefix))[None]
    return LineSpec(chars, char_mask, text_mask.astype(np.float32), lengths, caps, lengths == 0, prefix)


class LineState(NamedTuple):
    """Per-line bookkeeping of the stop rule, each ``[B]``: NumPy arrays or tensors."""

    finished: object  # bool: the line adds no more points
    passed: object  # bool: the window has passed the last character
    since_passed: object  # int: points written since then
    counts: object  # int: points written
    hit_cap: object  # bool: ended by the step cap
    text_from: object  # int: the step the window first weighed the line's own text (-1: not yet)


def initial_line_state(zeros_int, zeros_bool) -> LineState:
    """The state before the first point, from ``[B]`` int and bool zeros of either kind."""
    return LineState(zeros_bool, zeros_bool, zeros_int, zeros_int, zeros_bool, zeros_int - 1)


def advance_lines(where: Callable, lines: LineState, t, past_end, lift, pen_was_up, on_text, caps,
                  free_running) -> tuple[LineState, object, object]:
    """One step of the stop rule for every line; works on NumPy arrays and on tensors.

    Args:
        where: ``np.where`` or ``tf.where``.
        lines: the state before step ``t`` (0-based).
        past_end: ``[B]`` Graves' test at this step, ``phi(t, U + 1) > max_u phi(t, u)``.
        lift: ``[B]`` the sampled pen-up of this step's point.
        pen_was_up: ``[B]`` whether the previous point lifted the pen (``True`` at the start).
        on_text: ``[B]`` whether the window weighs the line's own text more than ``TEXT_START_WEIGHT``.
        caps, free_running: from :class:`LineSpec`.

    Returns:
        ``(new_state, lift, keep)``: ``lift`` with the forced lift of a line's last point;
        ``keep`` ``[B]`` whether this step's point is written (the line was still active and the
        point is not a new stroke begun after the window left the text).

    A line whose window passes the end while the pen is up (between strokes) ends at once: its
    previous point was already its last, and this point, the start of a stroke after the text,
    is dropped. Otherwise the current stroke is finished first (the pen-lift wait).
    """
    passed = lines.passed | (past_end & ~free_running)
    since_passed = where(passed, lines.since_passed + 1, lines.since_passed)
    at_cap = t + 1 >= caps
    active = ~lines.finished
    ends_between_strokes = passed & ~lines.passed & pen_was_up & (t > 0)
    done = (passed & (lift | (since_passed >= MAX_STEPS_TO_LIFT))) | at_cap | ends_between_strokes
    keep = active & ~ends_between_strokes
    counts = where(keep, t + 1, lines.counts)
    text_from = where((lines.text_from < 0) & on_text & active, t, lines.text_from)
    hit_cap = lines.hit_cap | (active & at_cap & ~passed & ~free_running)
    new = LineState(lines.finished | done, passed, since_passed, counts, hit_cap, text_from)
    return new, lift | done, keep


def finish_lines(points: np.ndarray, counts: np.ndarray, text_from: np.ndarray, phi: np.ndarray | None,
                 spec: LineSpec, last_weight: np.ndarray) -> tuple[list[np.ndarray], np.ndarray,
                                                                   list[np.ndarray] | None]:
    """Cut ``[B, T, 3]`` points to each line: its count, without strokes after its text
    (``trim_after_text`` with ``last_weight`` ``[B, T]``) or before it (``trim_before_text``).

    Returns ``(offsets per line, trimmed [B], phi per line or None)``; a dropped leading stroke's
    movement is kept in the first remaining step so the line starts where it would have.
    """
    offsets, trimmed = [], np.zeros(len(counts), np.int64)
    counts, lengths = np.array(counts), spec.lengths
    for i in range(len(counts)):
        line = np.array(points[i, : counts[i]], np.float32)
        capped = counts[i] >= spec.caps[i]  # kept as the cap left it (a counted failure): no stray dots cut
        text = alphabet.decode(spec.chars[i, len(spec.prefix): lengths[i]])
        first_char = "" if capped else text[:1]
        x_height = None  # measured once, only for a line whose ends the dot tests look at
        if len(line) > 1 and (final_mark_dots(text) or _starts_without_dot(first_char)):
            x_height = estimate_x_height(offsets_to_coords(line))
        if lengths[i] > 0:
            counts[i] = trim_after_text(line, last_weight[i], text, x_height)
            line = line[: counts[i]]
        if len(line):
            line[-1, 2] = 1.0  # the last point lifts the pen
        trimmed[i] = k = trim_before_text(line, int(text_from[i]), first_char, x_height)
        if k:
            line[k, :2] += line[:k, :2].sum(axis=0)
        offsets.append(line[k:])
    phis = None
    if phi is not None:
        phis = [phi[i, trimmed[i]: counts[i], : max(int(lengths[i]), 1)] for i in range(len(counts))]
    return offsets, trimmed, phis


def plan_batches(lengths: Sequence[int], max_lines: int = MAX_BATCH_LINES) -> list[list[int]]:
    """Group line indices into batches of similar length and balanced size.

    The lines are sorted by length and cut into ``ceil(n / max_lines)`` batches of near-equal
    size (65 lines: 33 + 32, not 64 + 1), so a batch's lines finish at about the same step and
    no batch is nearly empty. Each batch lists its lines in their original order.
    """
    n = len(lengths)
    if n == 0:
        return []
    batches = -(-n // max_lines)
    order = sorted(range(n), key=lambda i: (lengths[i], i))
    bounds = np.linspace(0, n, batches + 1).round().astype(int)
    return [sorted(order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
