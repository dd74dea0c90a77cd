"""Join one writer's isolated characters into lines (``handwriting prepare char-lines``).

At a low bias the network writes capitals, digits and punctuation two to four times worse than
lowercase letters, and the lines and words it learns from hold few of them (in the fluent mix,
capitals are 6.7% of the characters, digits 2.7%, punctuation 3%). UNIPEN's categories 1a, 1b and
1d hold about 55,000 digits, capitals and symbols written one at a time by 300 writers. This step
lays each writer's characters side by side into short lines of runs, such as ``KQB 47 (?``:

* **Size and height from the fonts.** The reader scales every segment by its own estimated
  x-height, which means nothing for a lone capital or comma. Each character is scaled so that its
  extent (the larger of its height and width) is the same character's extent in the single-stroke
  fonts (the median over :data:`glyphs.ALL_FONTS`, in x-heights), times one size factor per writer
  (drawn once: a writer's characters are all a little larger or smaller), and placed so that its
  vertical centre is the fonts' (a comma hangs below the baseline, an apostrophe sits high).
* **Runs and spacing.** The characters, in writing order, form runs of 1 to ``max_run``
  characters (an acronym, a number, a few symbols) with letter gaps of ``letter_gap`` x-heights
  (drawn uniformly) between them, and runs are a word gap apart: the writer's own word gaps where
  their written lines give them (:func:`word_lines.spacing_by_writer`), else everyone's.
* **Resampled** after scaling as the reader resamples a line (:func:`unipen.resample_ink`), so
  that the points per x-height are the corpus'.

Lines never exceed ``max_points`` points. The result has the characters' writers and scale, and
its metadata says how it was made.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import strokes
from ..errors import HandwritingError
from .clean import DEFAULT_X_HEIGHT_UNITS
from .fonts import X_HEIGHT_UNITS
from .format import StrokeDataset
from .glyphs import ALL_FONTS, load_font
from .unipen import UnipenConfig, resample_ink
from .word_lines import join_placed, pack_in_lines, spacing_by_writer


@dataclass
class CharLinesConfig:
    """Options of ``handwriting prepare char-lines`` (mirrored as flags)."""

    min_chars: int = field(default=8, metadata={"help": "a line's length is drawn uniformly from min_chars.."})
    max_chars: int = field(default=30, metadata={"help": "..max_chars characters (spaces included)"})
    max_run: int = field(default=5, metadata={"help": "characters between two spaces: 1..max_run, drawn"})
    letter_gap: tuple[float, float] = field(
        default=(0.15, 0.5), metadata={"help": "the gap between two characters of a run (x-heights), drawn from"})
    size_spread: float = field(
        default=0.08, metadata={"help": "standard deviation of a writer's log size factor"})
    max_points: int = field(default=896, metadata={"help": "no line has more points than this (train --max-points)"})
    max_gap: float = field(
        default=4.0, metadata={"help": "measured word gaps wider than this (x-heights) are left out"})
    min_writer_gaps: int = field(
        default=5, metadata={"help": "a writer with fewer measured word gaps gets gaps drawn from every writer's"})
    seed: int = field(default=0, metadata={"help": "the runs, line lengths, gaps and size factors drawn"})

    def __post_init__(self) -> None:
        self.letter_gap = tuple(float(g) for g in self.letter_gap)
        if not 1 <= self.min_chars <= self.max_chars or self.max_run < 1:
            raise HandwritingError(f"need 1 <= min_chars <= max_chars and max_run >= 1, got {self.min_chars}, "
                                   f"{self.max_chars} and {self.max_run}")
        if len(self.letter_gap) != 2 or not 0 <= self.letter_gap[0] <= self.letter_gap[1]:
            raise HandwritingError(
                f"letter_gap must be two x-heights LOW HIGH with 0 <= LOW <= HIGH, got {self.letter_gap}")
        if self.size_spread < 0 or self.max_points < 2 or self.min_writer_gaps < 1 or not self.max_gap > 0:
            raise HandwritingError("size_spread must be >= 0, max_points >= 2, min_writer_gaps >= 1, max_gap > 0")


@dataclass(frozen=True)
class CharacterShape:
    """Where a character sits in the fonts, in x-heights: its extent (the larger of height and
    width) and the height of its vertical centre above the baseline."""

    extent: float
    centre: float


@functools.cache
def font_shapes(fonts: tuple[str, ...] = ALL_FONTS) -> dict[str, CharacterShape]:
    """Each character's :class:`CharacterShape`, the median over ``fonts`` (those that write it)."""
    measured: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for name in fonts:
        font = load_font(name)
        for character, glyph in font.glyphs.items():
            if character == " " or not glyph.strokes:
                continue
            points = np.concatenate(glyph.strokes) / font.x_height
            low, high = points.min(axis=0), points.max(axis=0)
            measured[character].append((float(max(high - low)), float((low[1] + high[1]) / 2)))
    return {ch: CharacterShape(*np.median(np.array(v), axis=0)) for ch, v in measured.items()}


def shape_character(offsets: np.ndarray, shape: CharacterShape, size: float, points_per_x_height: float,
                    x_height: float) -> np.ndarray:
    """One isolated character's ``[N, 3]`` offsets (any scale) -> ``[M, 3]`` coords in dataset units.

    Scaled so that its extent is ``size * shape.extent`` x-heights, its vertical centre at
    ``size * shape.centre`` above y = 0, its leftmost ink at x = 0, and resampled at
    ``points_per_x_height``; ``x_height`` is the dataset units per x-height.
    """
    coords = _fit_box(strokes.offsets_to_coords(offsets).astype(np.float64), shape, size)
    # resampled at the corpus' density, then fitted again: resampling may cut a sharp corner's tip
    resampled = strokes.offsets_to_coords(resample_ink(coords, points_per_x_height)).astype(np.float64)
    placed = _fit_box(resampled, shape, size)
    placed[:, :2] *= x_height
    return placed


def _fit_box(coords: np.ndarray, shape: CharacterShape, size: float) -> np.ndarray:
    """``coords`` (any units) scaled to an extent of ``size * shape.extent`` and moved to a vertical
    centre of ``size * shape.centre`` and a leftmost x of 0 (x-heights)."""
    low, high = coords[:, :2].min(axis=0), coords[:, :2].max(axis=0)
    factor = size * shape.extent / max(float(max(high - low)), 1e-9)
    fitted = coords.copy()
    fitted[:, 0] = (coords[:, 0] - low[0]) * factor
    fitted[:, 1] = (coords[:, 1] - (low[1] + high[1]) / 2) * factor + size * shape.centre
    return fitted


def char_lines(characters: StrokeDataset, lines: StrokeDataset | None = None,
               config: CharLinesConfig | None = None) -> StrokeDataset:
    """Lines of each writer's isolated characters (see the module docstring).

    Args:
        characters: one character a sample (``texts`` of length 1), in writing order, with writers.
        lines: written lines by the same writers (names match), whose word gaps give the spacing
            between runs; with ``None`` every such gap is :data:`word_lines.DEFAULT_GAP` x-heights.
        config: runs, line lengths, gaps, sizes, point limit, seed.

    Returns:
        The lines; writers, scale and ``x_height_units`` as ``characters``.

    Raises:
        HandwritingError: a sample holds more than one character, or one the fonts do not write.
    """
    config = config or CharLinesConfig()
    x_height = float(characters.metadata.get("x_height_units", DEFAULT_X_HEIGHT_UNITS))
    density = float(characters.metadata.get("config", {}).get("points_per_x_height", UnipenConfig.points_per_x_height))
    shapes = font_shapes()
    odd = sorted({t for t in characters.texts if len(t) != 1 or t not in shapes})
    if odd:
        raise HandwritingError(f"{len(odd)} samples are not one character the fonts write, e.g. {odd[0]!r}")
    own_gaps, pooled = spacing_by_writer(lines, config.max_gap, config.min_writer_gaps)
    rng = np.random.default_rng(config.seed)
    by_writer: dict[int, list[int]] = defaultdict(list)
    for i, w in enumerate(characters.writer_ids):
        by_writer[int(w)].append(i)
    offsets, texts, writer_ids = [], [], []
    for w in sorted(by_writer):
        word_gaps = own_gaps.get(characters.writers[w], pooled)
        size = float(np.exp(rng.normal(0.0, config.size_spread)))
        shaped = [shape_character(characters.offsets[i], shapes[characters.texts[i]], size, density, x_height)
                  for i in by_writer[w]]
        runs = _runs(len(shaped), config.max_run, rng)
        run_points = [sum(len(shaped[i]) for i in run) for run in runs]
        for chosen in pack_in_lines([len(r) for r in runs], run_points, config.min_chars, config.max_chars,
                                    config.max_points, rng):
            members = [i for r in chosen for i in runs[r]]
            starts = np.cumsum([len(runs[r]) for r in chosen])[:-1]
            spacing = rng.uniform(*config.letter_gap, size=len(members) - 1)
            spacing[starts - 1] = rng.choice(word_gaps, size=len(starts))
            offsets.append(join_placed([shaped[i] for i in members], spacing * x_height))
            texts.append(" ".join("".join(characters.texts[by_writer[w][i]] for i in runs[r]) for r in chosen))
            writer_ids.append(w)
    metadata = {**characters.metadata, "char_lines": {**asdict(config), "pooled_gap_median": float(np.median(pooled))}}
    result = StrokeDataset(offsets, texts, np.array(writer_ids, np.int32), list(characters.writers),
                           characters.scale, metadata)
    result.validate()
    return result


def _runs(count: int, max_run: int, rng: np.random.Generator) -> list[list[int]]:
    """``0..count-1`` in order, cut into runs of 1..max_run (drawn)."""
    runs, start = [], 0
    while start < count:
        length = int(rng.integers(1, max_run + 1))
        runs.append(list(range(start, min(start + length, count))))
        start += length
    return runs
