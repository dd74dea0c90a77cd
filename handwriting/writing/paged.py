"""Text flowed onto sheets of paper by a hand: ``Hand.write(text, page="a4")``.

The hand first writes a few lines (:data:`CALIBRATION_LINES`) to measure its width per character;
each paragraph is wrapped at the number of characters that fit the room a line has (the text
width less what the page variation may take); every written line is then measured, and a line that
would cross the right margin (at the largest size and tilt the page variation can draw, after
its margin drift) gives up its last word to the next line, and the rest of its paragraph is
wrapped again (at a limit its measured width per character allows) and written again. Words are never split; a word wider than the text fails. The lines, levelled, go
onto sheets in order (:func:`~handwriting.output.pages.paginate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..errors import HandwritingError
from ..output.layout import wrap_text
from ..output.pages import PX_PER_MM, Flow, Sheet, paginate
from ..output.variation import CLIP_SDS, UNIPEN_FIGURES, PageVariation
from ..strokes import align_baseline

#: The line pitch in x-heights: the median baseline-to-baseline distance of the multi-line UNIPEN
#: pages (``scripts/measure_page_variation.py``, docs/pages.md).
LINE_PITCH_X_HEIGHTS = UNIPEN_FIGURES["pitch"][0]
#: Width per character in x-heights, a first guess for unprimed writing (a style's own sample gives
#: a better one); the hand's real width is measured on :data:`CALIBRATION_LINES` lines before the wrap.
CHAR_WIDTH_X_HEIGHTS = 1.2
#: Rewrites of over-long lines at most; each pass shortens every line that crossed the margin.
MAX_REFLOW_PASSES = 20
#: Lines written first to measure the hand's width per character, before the text is wrapped.
CALIBRATION_LINES = 4

#: ``(texts) -> per text [N, 3] coords in px (y up), hit-cap flags``: a hand's ``write_lines``.
LineWriter = Callable[[list[str]], tuple[list[np.ndarray], list[bool]]]


@dataclass
class _Line:
    text: str
    coords: np.ndarray | None = None  # levelled, in mm
    capped: bool = False


def _wrap_words(words: Sequence[str], first: int, limit: int) -> list[str]:
    """Greedy wrap: the first line at most ``first`` characters, the others ``limit`` (a word
    longer than its line is a line of its own)."""
    lines: list[str] = []
    for word in words:
        width = first if len(lines) == 1 else limit
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _allowed_width(coords: np.ndarray, flow: Flow, sheet: Sheet) -> float:
    """The widest a levelled line of this ink height may be and stay inside the margins at the
    page variation's extremes (largest size and tilt, after its margin drift)."""
    lines = flow.lines_per_page(sheet)
    scale = flow.variation.max_scale(lines)
    tilt = np.radians(CLIP_SDS * flow.variation.tilt_sd)
    spread = flow.variation.width_allowance(lines) * flow.x_height
    height = float(np.ptp(coords[:, 1]))
    return ((sheet.text_width - spread) / scale - height * np.sin(tilt)) / np.cos(tilt)


def _reflow(paragraph: list[_Line], flow: Flow, sheet: Sheet, limit: int) -> int:
    """Shorten the first line of ``paragraph`` that is too wide and rewrap the rest at a limit no
    longer than that line's measured characters per width allow; return the limit (0: all fit)."""
    for j, line in enumerate(paragraph):
        if line.coords is None:
            continue
        width, allowed = float(np.ptp(line.coords[:, 0])), _allowed_width(line.coords, flow, sheet)
        if width <= allowed:
            continue
        words = " ".join(l.text for l in paragraph[j:]).split()
        if len(line.text.split()) == 1:
            raise HandwritingError(f"the word {words[0]!r} is wider than the page's text ({sheet.text_width:g} mm)")
        shorter = len(line.text) - len(line.text.split()[-1]) - 1
        limit = max(min(limit, int(len(line.text) * allowed / width)), 1)
        paragraph[j:] = [_Line(t) for t in _wrap_words(words, min(shorter, limit), limit)]
        return limit
    return 0


def _measured_char_width(write: LineWriter, text: str, limit: int) -> float:
    """The hand's width per character (mm), from writing the first lines of ``text`` wrapped at ``limit``."""
    sample = _wrap_words(text.split(), limit, limit)[:CALIBRATION_LINES]
    coords, _ = write(sample)
    width = sum(float(np.ptp(c[:, 0])) for c in coords) / PX_PER_MM
    return width / max(sum(len(t) for t in sample), 1)


def flow_lines(write: LineWriter, text: str, sheet: Sheet, flow: Flow, char_width: float,
               progress: Callable[[int, int], None] | None = None) -> list[_Line | None]:
    """The text's lines written and levelled, each fitting ``sheet``; ``None`` for a paragraph break.

    ``char_width``: a first guess of the hand's width per character in mm (measured before the wrap).
    ``progress``: called after each pass with ``(lines that fit, lines)``.
    """
    room = flow.room(sheet)
    char_width = _measured_char_width(write, text, max(int(room / char_width), 1))
    first = max(int(room / char_width), 1)
    paragraphs: list[list[_Line] | None] = []
    for source in wrap_text(text):
        paragraphs.append([_Line(t) for t in _wrap_words(source.split(), first, first)] if source else None)
    limits = [first] * len(paragraphs)  # per paragraph, lowered as its lines are measured
    for _ in range(MAX_REFLOW_PASSES):
        todo = [line for p in paragraphs if p for line in p if line.coords is None]
        if todo:
            coords, caps = write([line.text for line in todo])
            for line, c, capped in zip(todo, coords, caps):
                line.coords = align_baseline(c) / np.array([PX_PER_MM, PX_PER_MM, 1.0], np.float32)
                line.capped = capped
        limits = [_reflow(p, flow, sheet, limit) if p else 0 for p, limit in zip(paragraphs, limits)]
        if progress is not None:
            lines = [line for p in paragraphs if p for line in p]
            progress(sum(line.coords is not None for line in lines), len(lines))
        if not any(limits):
            break
        limits = [limit or first for limit in limits]
    else:
        raise HandwritingError("could not fit the lines into the page's width; try a wider page or smaller margins")
    return [line for p in paragraphs for line in (p if p else [None])]


def write_on_sheets(write: LineWriter, text: str, sheet: Sheet, *, x_height: float, char_width: float, seed: int,
                    line_height: float | None = None, variation: PageVariation | None = None,
                    max_pages: int | None = None, color: str = "black", width: float = 0.4,
                    progress: Callable[[int, int], None] | None = None):
    """Write ``text`` onto as many ``sheet``\\ s as it needs.

    Args:
        write: the hand's line writer (:data:`LineWriter`).
        x_height, char_width: the hand's x-height and width per character, in mm.
        seed: the page variation's seed (the hand's own seed).
        line_height: baseline to baseline in mm (default :data:`LINE_PITCH_X_HEIGHTS` x-heights).
        variation: the page's natural variation (default :class:`PageVariation`'s measured one;
            ``PageVariation.neat()`` for none).
        color, width: ink colour and pen width (mm).
        progress: called after each pass of writing with ``(lines that fit, lines)``.

    Returns:
        ``(pages, hit_cap)``: the :class:`~handwriting.output.pages.Page` of each sheet (in mm)
        and, per written line, whether the sampler's step cap ended it.
    """
    line_height = LINE_PITCH_X_HEIGHTS * x_height if line_height is None else line_height
    if not np.isfinite(line_height) or line_height <= 0:
        raise HandwritingError(f"line height must be a positive number of mm, not {line_height}")
    flow = Flow(line_height=line_height, x_height=x_height, variation=variation or PageVariation(), seed=seed)
    lines = flow_lines(write, text, sheet, flow, char_width, progress)
    pages = paginate([None if l is None else l.coords for l in lines], [("" if l is None else l.text) for l in lines],
                     sheet, flow, color=color, width=width, max_pages=max_pages)
    return pages, [l.capped for l in lines if l is not None]
