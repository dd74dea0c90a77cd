"""Page layout: text -> lines to write, written lines -> positions on the page.

Pure numpy. Coordinates are ``[N, 3]`` coords ``(x, y, pen_up)`` with y up (see strokes.py);
line ``i`` of a page sits on the baseline ``y = -i * line_height``.
"""

from __future__ import annotations

import textwrap
from typing import Literal, Sequence

import numpy as np

from ..strokes import (
    X_HEIGHT_BAND,
    align_baseline,
    deslant,
    estimate_slant,
    estimate_x_height,
    ink_quantiles,
    shear,
    stroke_counts,
    stroke_extents,
    x_overlap_groups,
)

Alignment = Literal["left", "center", "right"]
ALIGNMENTS: tuple[str, ...] = ("left", "center", "right")
#: Default line pitch as a multiple of the tallest line's ink height on the page.
LINE_SPACING = 1.25
#: The gap between joined pieces, in x-heights, when no piece shows a word gap of its own (the
#: median ink gap between words of 2,000 UNIPEN lines is 1.58 x-heights).
PIECE_GAP_X_HEIGHTS = 1.5
#: ``join_pieces(level_sizes=True)`` scales a piece by at most this factor, up or down.
MAX_PIECE_RESIZE = 1.5


def wrap_text(text: str, max_line_chars: int | None = None) -> list[str]:
    """Split ``text`` into the lines to write.

    Explicit newlines are kept; a blank line (``""`` in the result) is a paragraph break and
    is kept as vertical space. Lines longer than ``max_line_chars`` are wrapped at spaces
    (a single word longer than the limit is split). Runs of spaces inside a line collapse
    only where the line is wrapped.

    Example:
        >>> wrap_text("one two three\\n\\nfour", max_line_chars=8)
        ['one two', 'three', '', 'four']
    """
    if max_line_chars is not None and max_line_chars < 1:
        raise ValueError("max_line_chars must be at least 1")
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        raw = raw.strip()
        if not raw:
            lines.append("")
        elif max_line_chars is None or len(raw) <= max_line_chars:
            lines.append(raw)
        else:
            lines.extend(textwrap.wrap(raw, width=max_line_chars, break_long_words=True, break_on_hyphens=True))
    # Blank lines at either end of the text carry no meaning.
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def split_pieces(text: str, max_chars: int | None) -> list[str]:
    """One line of text as the pieces a model writes apart: at most ``max_chars`` characters each,
    cut at spaces into as few pieces of as even a length as fit (a longer word is a piece of its
    own); the whole line when it fits or ``max_chars`` is ``None``.

    Example:
        >>> split_pieces("Hello, world! This is my handwriting.", 20)
        ['Hello, world! This', 'is my handwriting.']
    """
    if max_chars is None or len(text) <= max_chars or " " not in text.strip():
        return [text]
    count = -(-len(text) // max_chars)
    for width in range(-(-len(text) // count), max_chars + 1):
        pieces = textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False)
        if len(pieces) <= count:
            return pieces
    return textwrap.wrap(text, width=max_chars, break_long_words=False, break_on_hyphens=False)


def word_gaps(coords: np.ndarray, count: int) -> list[float]:
    """The ``count`` widest horizontal gaps between a line's ink (strokes whose x-extents overlap
    are one group): its word gaps, for a line of ``count`` spaces; fewer if the ink has fewer."""
    low, high = stroke_extents(coords)
    spans = [(float(low[g, 0].min()), float(high[g, 0].max())) for g in x_overlap_groups(coords)]
    gaps = sorted((b[0] - a[1] for a, b in zip(spans, spans[1:])), reverse=True)
    return gaps[:count] if count > 0 else []


def scale_word_gaps(coords: np.ndarray, text: str, factor: float) -> np.ndarray:
    """The line with each word gap ``factor`` times as wide: every word's ink moved sideways
    (:func:`scale_gaps`)."""
    return scale_gaps(coords, text, words=factor)


def scale_gaps(coords: np.ndarray, text: str, *, words: float = 1.0, letters: float = 1.0) -> np.ndarray:
    """The line with each word gap ``words`` times as wide and each gap between letters inside a
    word ``letters`` times as wide: the ink after a gap moved sideways by the change.

    The gaps are found as the realism measures find them: the line deslanted, its strokes
    gathered into groups whose x-extents overlap (:func:`~handwriting.strokes.x_overlap_groups`:
    a print hand's letters, a joined hand's words), and the ``text.count(" ")`` widest gaps
    between groups taken as the word gaps; the others are gaps between letters. A horizontal move
    commutes with the shear, so the moves found on the deslanted line apply to ``coords`` as they
    are. ``coords`` ``[N, 3]``; returns a new array.
    """
    coords = np.asarray(coords, np.float32)
    out = coords.copy()
    if len(coords) == 0 or (words == 1.0 and letters == 1.0):
        return out
    upright = deslant(coords)
    low, high = stroke_extents(upright)
    groups = x_overlap_groups(upright)
    gaps = np.array([low[b, 0].min() - high[a, 0].max() for a, b in zip(groups, groups[1:])])
    widest = set(np.argsort(-gaps)[:text.count(" ")].tolist())
    shift, moves = 0.0, np.zeros(len(low), np.float32)
    for k, group in enumerate(groups):
        if k > 0:
            factor = words if k - 1 in widest else letters
            shift += (factor - 1.0) * max(float(gaps[k - 1]), 0.0)
        moves[group] = shift
    out[:, 0] += np.repeat(moves, stroke_counts(coords))
    return out


def join_pieces(pieces: Sequence[np.ndarray], texts: Sequence[str], level_sizes: bool = False) -> np.ndarray:
    """One line of ``[N, 3]`` coords from pieces written apart (:func:`split_pieces`).

    Each piece is levelled, its central band of ink (the x-height band, :data:`~handwriting.strokes.X_HEIGHT_BAND`:
    ascenders and descenders move it little, unlike the low points a baseline is found from)
    put at the height of the first piece's, and placed one word gap after the previous piece's
    ink. The gap is the median of the pieces' own word gaps (:func:`word_gaps`), so a
    wide hand stays wide; :data:`PIECE_GAP_X_HEIGHTS` x-heights when no piece has a space.
    Gaps are measured and kept on the line with its slant taken out (the pieces' median
    :func:`~handwriting.strokes.estimate_slant`), as the realism measures and
    :func:`scale_word_gaps` see words: on the slanted ink a leaning ascender at a piece's end
    and a descender at the next one's start overlap in x, and the space between them vanished.
    With ``level_sizes`` every piece is first scaled (about its start on the baseline) to the
    pieces' median x-height, by a factor of at most :data:`MAX_PIECE_RESIZE` either way (a piece
    of capitals or digits reads taller than it is: :func:`~handwriting.strokes.estimate_x_height`).
    """
    levelled = [align_baseline(p) for p in pieces]
    if level_sizes and len(levelled) > 1:
        heights = np.array([max(estimate_x_height(c), 1e-9) for c in levelled])
        factors = np.clip(np.median(heights) / heights, 1 / MAX_PIECE_RESIZE, MAX_PIECE_RESIZE)
        levelled = [np.c_[c[:, :2] * f, c[:, 2:]].astype(np.float32) for c, f in zip(levelled, factors)]
    middles = [float(np.mean(ink_quantiles(c, X_HEIGHT_BAND))) for c in levelled]
    raised = [np.c_[c[:, :1], c[:, 1:2] + middles[0] - middle, c[:, 2:]].astype(np.float32)
              for c, middle in zip(levelled, middles)]
    slant = float(np.median([estimate_slant(c) for c in raised]))
    upright = [shear(c, -slant) for c in raised]  # x - tan(slant) y: a horizontal move commutes with it
    gaps = [g for u, t in zip(upright, texts) for g in word_gaps(u, t.count(" "))]
    gap = float(np.median(gaps)) if gaps else PIECE_GAP_X_HEIGHTS * estimate_x_height(np.concatenate(levelled))
    placed, x = [], 0.0
    for c, u in zip(raised, upright):
        move = x - float(u[:, 0].min())
        placed.append(np.c_[c[:, :1] + move, c[:, 1:]].astype(np.float32))
        x = float(u[:, 0].max()) + move + gap
    return np.concatenate(placed)


def ink_height(coords: np.ndarray) -> float:
    """Vertical extent of a line's ink."""
    return float(np.ptp(coords[:, 1])) if len(coords) else 0.0


def place_lines(
    lines: Sequence[np.ndarray | None],
    *,
    line_height: float | None = None,
    align: Alignment = "left",
    page_width: float | None = None,
    margin: float = 0.0,
    level: bool = True,
) -> list[np.ndarray | None]:
    """Stack written lines on a page.

    Args:
        lines: per line, ``[N, 3]`` coords, or ``None`` for a blank line (paragraph break).
        line_height: baseline-to-baseline distance; default ``LINE_SPACING`` times the
            tallest line's ink height, the same for every line of the page.
        align: ``left``, ``center`` or ``right`` within ``page_width`` less the margins.
        page_width: the page's width; default the widest line plus both margins.
        margin: left and right margin, and the top margin above the first baseline's ink.
        level: rotate each line so its writing direction is horizontal and its baseline sits
            at y = 0 before placing it (generated lines drift).

    Returns:
        Per line, the placed ``[N, 3]`` coords (``None`` kept for blank lines).
    """
    if align not in ALIGNMENTS:
        raise ValueError(f"align must be one of {', '.join(ALIGNMENTS)}, not {align!r}")
    prepared: list[np.ndarray | None] = []
    for coords in lines:
        if coords is None or not len(coords):
            prepared.append(None)
            continue
        c = align_baseline(coords) if level else np.array(coords, np.float32, copy=True)
        c[:, 0] -= c[:, 0].min()
        prepared.append(c)
    written = [c for c in prepared if c is not None]
    if not written:
        return list(prepared)
    if line_height is None:
        line_height = LINE_SPACING * max(ink_height(c) for c in written)
    widths = [float(c[:, 0].max()) if c is not None else 0.0 for c in prepared]
    if page_width is None:
        page_width = max(widths) + 2 * margin
    room = page_width - 2 * margin
    top = max(float(c[:, 1].max()) for c in written[:1])  # ink above the first baseline
    placed: list[np.ndarray | None] = []
    for i, (c, width) in enumerate(zip(prepared, widths)):
        if c is None:
            placed.append(None)
            continue
        shift = {"left": 0.0, "center": (room - width) / 2, "right": room - width}[align]
        out = c.copy()
        out[:, 0] += margin + shift
        out[:, 1] += -i * line_height - top - margin
        placed.append(out)
    return placed
