"""Join one writer's isolated words into lines (``handwriting prepare word-lines``).

UNIPEN's categories 6 and 7 hold about 150,000 words by 445 writers, written one at a time; its
lines (category 8) are fewer and short. A network trained on isolated words learns to write
isolated words. This step lays each writer's words side by side into lines of ``min_chars`` to
``max_chars`` characters, in the order the writer wrote them:

* **Baselines aligned.** Each word arrives levelled and scaled to a common x-height by the
  reader (:mod:`handwriting.datasets.unipen`), which measured that x-height as the central band
  of the ink (:func:`handwriting.strokes.estimate_x_height`). Its baseline is the lower edge of
  an x-height centred on that band, put on y = 0. (The reader's levelling rule, a low quantile
  of the strokes' lowest points, is robust over a line of many strokes; a word of two strokes,
  one with a descender, would sit half a descender too high by it.)
* **The writer's own word spacing.** The gap between two words (from one word's rightmost ink
  to the next word's leftmost) is drawn from that writer's word gaps as measured in their
  written lines (the ``n - 1`` widest gaps of a line of ``n`` words, the rule of
  :mod:`handwriting.datasets.clean`, kept only where the line's gaps are clear); a writer with
  fewer than ``min_writer_gaps`` of them gets gaps drawn from every writer's. Gaps wider than
  ``max_gap`` x-heights are layout (a form's columns), not spacing, and are not measured.
* **Pen moves** between words are a pen-up jump, as between the words of a written line.

Lines never exceed ``max_points`` points; a word longer than that on its own is dropped. The
result has the words' writers and scale, and its metadata says how it was made.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import strokes
from ..errors import HandwritingError
from .clean import DEFAULT_X_HEIGHT_UNITS, CleanConfig, word_of_strokes
from .format import StrokeDataset

#: The word gap (x-heights) when no written line gives one.
DEFAULT_GAP = 1.0


@dataclass
class WordLinesConfig:
    """Options of ``handwriting prepare word-lines`` (mirrored as flags)."""

    min_chars: int = field(default=20, metadata={"help": "a line's length is drawn uniformly from min_chars.."})
    max_chars: int = field(default=60, metadata={"help": "..max_chars characters"})
    max_points: int = field(default=896, metadata={"help": "no line has more points than this (train --max-points)"})
    max_gap: float = field(default=4.0, metadata={"help": "measured gaps wider than this (x-heights) are left out"})
    min_writer_gaps: int = field(
        default=5, metadata={"help": "a writer with fewer measured word gaps gets gaps drawn from every writer's"})
    seed: int = field(default=0, metadata={"help": "the line lengths and the gaps drawn"})

    def __post_init__(self) -> None:
        if not 1 <= self.min_chars <= self.max_chars:
            raise HandwritingError(f"need 1 <= min_chars <= max_chars, got {self.min_chars} and {self.max_chars}")
        if self.max_points < 2 or self.min_writer_gaps < 1 or not self.max_gap > 0:
            raise HandwritingError("max_points must be at least 2, min_writer_gaps at least 1 and max_gap positive")


def line_word_gaps(offsets: np.ndarray, text: str, x_height: float) -> np.ndarray:
    """``[n - 1]`` word gaps of one written line of ``n`` words, in x-heights (empty when unclear).

    The gaps are the ``n - 1`` widest between runs of ink, trusted by the rule of
    :func:`handwriting.datasets.clean.word_of_strokes` (wide enough, and wider than any letter gap).
    """
    words = text.split(" ")
    pieces = strokes.split_strokes(strokes.offsets_to_coords(offsets))
    word = word_of_strokes(pieces, len(words), CleanConfig(), x_height) if len(words) > 1 else None
    if word is None:
        return np.zeros(0)
    starts = np.array([p[:, 0].min() for p in pieces])
    ends = np.array([p[:, 0].max() for p in pieces])
    gaps = [starts[word == k + 1].min() - ends[word == k].max() for k in range(len(words) - 1)]
    return np.array(gaps) / x_height


def writer_gaps(lines: StrokeDataset, max_gap: float = np.inf) -> dict[str, np.ndarray]:
    """Each writer's measured word gaps (x-heights, at most ``max_gap``) over their lines, by name."""
    x_height = float(lines.metadata.get("x_height_units", DEFAULT_X_HEIGHT_UNITS))
    found: dict[str, list[np.ndarray]] = defaultdict(list)
    for offsets, text, w in zip(lines.offsets, lines.texts, lines.writer_ids):
        found[lines.writers[w]].append(line_word_gaps(offsets, text, x_height))
    measured = {name: np.concatenate(gaps) for name, gaps in found.items()}
    return {name: gaps[gaps <= max_gap] for name, gaps in measured.items()}


def spacing_by_writer(lines: StrokeDataset | None, max_gap: float,
                      min_writer_gaps: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The word gaps (x-heights) each writer of ``lines`` draws from, by name: their own where they
    have at least ``min_writer_gaps`` measured gaps of at most ``max_gap``; and everyone's pooled
    gaps, which every other writer draws from (:data:`DEFAULT_GAP` alone when none was measured)."""
    gaps = writer_gaps(lines, max_gap) if lines is not None else {}
    pooled = np.concatenate(list(gaps.values())) if gaps else np.zeros(0)
    pooled = pooled if len(pooled) else np.array([DEFAULT_GAP])
    return {name: own for name, own in gaps.items() if len(own) >= min_writer_gaps}, pooled


def band_baseline(coords: np.ndarray) -> float:
    """The baseline of a short levelled text: the lower edge of an x-height centred on the
    central band of its ink (the band :func:`handwriting.strokes.estimate_x_height` measures)."""
    low, high = strokes.ink_quantiles(coords, strokes.X_HEIGHT_BAND)
    return float((low + high) / 2 - (high - low) * strokes.X_HEIGHT_PER_BAND / 2)


def place_word(offsets: np.ndarray, left: float) -> np.ndarray:
    """A word's ``[N, 3]`` offsets -> absolute coords with its leftmost ink at x = ``left`` and its
    baseline (:func:`band_baseline`) on y = 0."""
    coords = strokes.offsets_to_coords(offsets).astype(np.float64)
    coords[:, 0] += left - coords[:, 0].min()
    coords[:, 1] -= band_baseline(coords)
    return coords


def join_line(words: list[np.ndarray], gaps: np.ndarray) -> np.ndarray:
    """Words' ``[N_i, 3]`` offsets and ``[n - 1]`` gaps (dataset units) -> one line's offsets,
    starting at the origin with ``offsets[0] = (0, 0, pen_up)``."""
    return join_placed([place_word(word, 0.0) for word in words], gaps)


def join_placed(pieces: list[np.ndarray], gaps: np.ndarray) -> np.ndarray:
    """Pieces' ``[N_i, 3]`` coords, each placed with its leftmost ink at x = 0 and its own height,
    side by side with ``[n - 1]`` gaps (dataset units) from one's rightmost ink to the next's
    leftmost -> one line's ``[N, 3]`` offsets from the origin."""
    placed, right = [], 0.0
    for k, coords in enumerate(pieces):
        shifted = np.array(coords, np.float64)
        shifted[:, 0] += right + (gaps[k - 1] if k else 0.0)
        right = float(shifted[:, 0].max())
        placed.append(shifted)
    line = np.concatenate(placed)
    line[:, :2] -= line[0, :2]
    return strokes.coords_to_offsets(line.astype(np.float32))


def word_lines(words: StrokeDataset, lines: StrokeDataset | None = None,
               config: WordLinesConfig | None = None) -> StrokeDataset:
    """Lines of each writer's words (see the module docstring).

    Args:
        words: isolated words, one writer per word, in writing order.
        lines: written lines whose writers' gaps give the spacing (their writer names match the
            words'); with ``None`` every gap is :data:`DEFAULT_GAP` x-heights.
        config: line lengths, point limit, seed.

    Returns:
        The joined lines; writers, scale and ``x_height_units`` as ``words``.
    """
    config = config or WordLinesConfig()
    x_height = float(words.metadata.get("x_height_units", DEFAULT_X_HEIGHT_UNITS))
    own_gaps, pooled = spacing_by_writer(lines, config.max_gap, config.min_writer_gaps)
    rng = np.random.default_rng(config.seed)
    by_writer: dict[int, list[int]] = defaultdict(list)
    for i, w in enumerate(words.writer_ids):
        if len(words.offsets[i]) <= config.max_points:
            by_writer[int(w)].append(i)
    offsets, texts, writer_ids = [], [], []
    own_spacing = 0
    for w in sorted(by_writer):
        source = own_gaps.get(words.writers[w], pooled)
        own_spacing += words.writers[w] in own_gaps
        indices = by_writer[w]
        for chosen in pack_in_lines([len(words.texts[i]) for i in indices], [len(words.offsets[i]) for i in indices],
                                    config.min_chars, config.max_chars, config.max_points, rng):
            chosen = [indices[k] for k in chosen]
            drawn = rng.choice(source, size=len(chosen) - 1) * x_height
            offsets.append(join_line([words.offsets[i] for i in chosen], drawn))
            texts.append(" ".join(words.texts[i] for i in chosen))
            writer_ids.append(w)
    if not texts:
        raise HandwritingError(f"no word has at most {config.max_points} points")
    metadata = {**words.metadata, "word_lines": {**asdict(config), "writers_with_own_spacing": own_spacing,
                                                 "pooled_gap_median": float(np.median(pooled))}}
    result = StrokeDataset(offsets, texts, np.array(writer_ids, np.int32), list(words.writers), words.scale, metadata)
    result.validate()
    return result


def pack_in_lines(lengths: list[int], points: list[int], min_chars: int, max_chars: int, max_points: int,
                  rng: np.random.Generator) -> list[list[int]]:
    """Items (words, runs of characters) of ``lengths`` characters and ``points`` points, in order,
    packed into lines of a length drawn from ``min_chars..max_chars`` (an item and a space each),
    never more than ``max_points`` points; an item longer than that on its own is left out.

    Returns:
        Each line's item positions (indices into ``lengths``).
    """
    packed, current, chars, total = [], [], 0, 0
    target = rng.integers(min_chars, max_chars + 1)
    for i, (length, count) in enumerate(zip(lengths, points)):
        if count > max_points:
            continue
        if current and (chars + 1 + length > target or total + count > max_points):
            packed.append(current)
            current, chars, total = [], 0, 0
            target = rng.integers(min_chars, max_chars + 1)
        chars += length + (1 if current else 0)
        total += count
        current.append(i)
    if current:
        packed.append(current)
    return packed
