"""The font corpus: English text lines written as pen strokes by simulated writers.

Each line is written with a single-stroke font (Hershey ``cursive``, ``scripts``, ``futural`` and
the EMS SVG fonts; see :mod:`handwriting.datasets.glyphs`) by a *synthetic writer*: a font plus a
:class:`Hand`, a sampled set of hand parameters (size, slant, width, spacing, baseline drift,
elastic deformation, tremor, pen speed). Each writer writes several lines (named like
``cursive#17``), so that a writer-disjoint train/validation split is meaningful.

How a line is written (all geometry in x-heights until the final scaling):

1. Glyphs are placed along the baseline with the hand's width, spacing and per-letter jitter.
   Within a word, a stroke that starts where the previous one ended (closer than the hand's
   join tolerance) continues it without lifting the pen, as cursive writers do. Delayed strokes
   (i and j dots, t and f bars, the second stroke of x) are written after the word's body
   (``delayed_strokes="word"``, as many people write) or right after their letter's body
   (``"letter"``: a short jump back, which a small model learns far more reliably).
2. Corners are rounded (Chaikin corner cutting) and the strokes are resampled densely.
3. The line is deformed: slant (shear), a smooth elastic displacement field, a wandering
   baseline and a small tilt.
4. Each stroke is resampled in time: the pen accelerates from rest at the start, slows for
   curves (the two-thirds power law: speed ~ curvature^(-1/3)) and decelerates to the end, and
   points are taken at equal time steps, so the spacing of points varies like digitiser data.
5. Tremor (smoothed Gaussian noise) is added and the line is scaled to dataset units
   (:data:`X_HEIGHT_UNITS` per x-height on average) and turned into offsets that start at the
   origin.

Everything is drawn from ``numpy.random.default_rng`` generators keyed by the seed and the line
or writer index, so a corpus is byte-identical for a seed whatever the number of workers.
Texts come from :mod:`handwriting.datasets.texts` (wordfreq; data CC BY-SA 4.0).
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Sequence

import numpy as np

from .. import strokes
from ..errors import HandwritingError
from ..fileio import read_writable_lines
from . import texts
from .format import StrokeDataset
from .glyphs import ALL_FONTS, Font, load_font
from .pen_motion import DENSE_STEP, round_corners, time_progress

#: Dataset units per x-height for the average hand.
X_HEIGHT_UNITS = 20.0
#: Font used for characters a chosen font lacks (every font is checked; see ``Font.missing``).
FALLBACK_FONT = "futural"

#: Glyphs a font draws unlike handwriting, taken from another font: Hershey ``scripts`` draws
#: its digits with double lines, so its writers use the ``cursive`` digits.
BORROWED_GLYPHS = {"scripts": ("0123456789", "cursive")}

# Delayed strokes (x-height units).
DOTTED_LETTERS = "ij"
CROSSED_LETTERS = "tfx"
#: Where delayed strokes are written: after the word's body, or after their own letter's.
DELAYED_STROKE_PLACES = ("word", "letter")
#: A dot is no larger than this ...
DOT_MAX_SIZE = 0.45
#: ... and its lowest point lies at least this high.
DOT_MIN_HEIGHT = 0.9
#: A t or f bar rises at most this much per unit run.
BAR_MAX_SLOPE = 0.5
#: Delayed dots are shrunk about their centre by this factor: a quick tap, not a drawn circle.
DOT_SHRINK = 0.4

# Deformation and tremor (x-height units).
#: Points of the smoothing kernel applied to tremor noise.
TREMOR_KERNEL = np.array([0.25, 0.5, 0.25])
#: Sine components of the elastic displacement field.
ELASTIC_COMPONENTS = 3
#: Each elastic component's wavelength is the hand's times a factor in this range.
ELASTIC_WAVELENGTH_FACTOR = (0.7, 1.4)
#: Wavelength range (x-heights) of the baseline's slow wander.
BASELINE_WAVELENGTH = (15.0, 50.0)

# Independent random streams: ``default_rng([seed, STREAM, index])``.
_TEXT_STREAM, _HAND_STREAM, _LINE_STREAM = 0, 1, 2
#: Below this many lines, worker processes cost more than they save.
MIN_LINES_FOR_WORKERS = 400
#: Lines handed to a worker at a time.
CHUNK_LINES = 100


@dataclass
class FontCorpusConfig:
    """Options of the font corpus (``handwriting prepare fonts`` mirrors them as flags)."""

    lines: int = field(default=20000, metadata={"help": "number of text lines to write"})
    seed: int = field(default=0, metadata={"help": "random seed; the same seed gives the same corpus"})
    min_words: int = field(default=1, metadata={"help": "fewest words in a line"})
    max_words: int = field(default=12, metadata={"help": "most words in a line"})
    lines_per_writer: int = field(default=20, metadata={"help": "lines written by each synthetic writer"})
    fonts: tuple[str, ...] = field(
        default=ALL_FONTS, metadata={"help": "fonts the writers use, in turn (repeat a font to give it more writers)"}
    )
    fonts_dir: str = field(
        default="", metadata={"help": "directory of the EMS .svg fonts (default: $HANDWRITING_FONTS_DIR or data/fonts/ems)"}
    )
    points_per_x_height: float = field(
        default=4.5, metadata={"help": "pen points per x-height of travel at full speed (sets points per character)"}
    )
    delayed_strokes: str = field(
        default="letter",
        metadata={"help": "write i/j dots, t/f bars and x's second stroke after their 'letter' or after the 'word'",
                  "choices": DELAYED_STROKE_PLACES},
    )
    workers: int = field(default=2, metadata={"help": "worker processes (the corpus does not depend on it)"})
    texts: str = field(
        default="", metadata={"help": "a text file, one line each: write its lines (the first --lines of them) "
                                      "instead of generated ones"})

    def validate(self) -> None:
        """Raise :class:`HandwritingError` naming the first bad option."""
        if self.lines < 1:
            raise HandwritingError(f"lines must be at least 1, got {self.lines}")
        if not 1 <= self.min_words <= self.max_words:
            raise HandwritingError(f"need 1 <= min_words <= max_words, got {self.min_words} and {self.max_words}")
        if self.lines_per_writer < 1:
            raise HandwritingError(f"lines_per_writer must be at least 1, got {self.lines_per_writer}")
        if not self.fonts:
            raise HandwritingError("no fonts given")
        unknown = [f for f in self.fonts if f not in ALL_FONTS]
        if unknown:
            raise HandwritingError(f"unknown fonts {', '.join(unknown)}; known fonts: {', '.join(ALL_FONTS)}")
        if not self.points_per_x_height > 0:
            raise HandwritingError(f"points_per_x_height must be positive, got {self.points_per_x_height}")
        if self.delayed_strokes not in DELAYED_STROKE_PLACES:
            raise HandwritingError(
                f"delayed_strokes must be one of {', '.join(DELAYED_STROKE_PLACES)}, got {self.delayed_strokes!r}")
        if self.workers < 1:
            raise HandwritingError(f"workers must be at least 1, got {self.workers}")


# ---------------------------------------------------------------- the simulated hand


@dataclass(frozen=True)
class Hand:
    """Parameters of one simulated writer's hand. Lengths are in x-heights unless stated."""

    font: str
    size: float  # dataset units per x-height
    slant: float  # radians added to the font's own slant, right-leaning > 0
    width: float  # horizontal scale of the letters
    letter_spacing: float  # extra gap after each letter
    word_gap: float  # gap between words
    join_tolerance: float  # strokes whose ends are closer are written without lifting the pen
    letter_jitter: float  # relative size variation between letters
    baseline_jitter: float  # vertical jitter of single letters
    baseline_drift: float  # amplitude of the slow baseline wander
    tilt: float  # standard deviation of a line's angle (radians)
    elastic_amplitude: float  # amplitude of the smooth displacement field
    elastic_wavelength: float  # wavelength of the smooth displacement field
    tremor: float  # standard deviation of the pen noise
    density: float  # points per x-height of travel at full speed
    corner_rounding: int  # Chaikin corner-cutting passes


#: Fonts whose letters join up; their writers space letters tighter and write narrower.
SCRIPT_FONTS = ("cursive", "scripts", "EMSAllure", "EMSFelix")
#: How writers differ: ``(low, high)`` of a uniform draw for these :class:`Hand` fields.
HAND_UNIFORM_RANGES = {
    "word_gap": (0.8, 1.5),
    "join_tolerance": (0.25, 0.5),
    "letter_jitter": (0.01, 0.06),
    "baseline_jitter": (0.0, 0.06),
    "baseline_drift": (0.0, 0.3),
    "tilt": (0.0, 0.02),
    "elastic_amplitude": (0.02, 0.08),
    "elastic_wavelength": (1.5, 4.0),
    "tremor": (0.002, 0.012),
}
#: Extra gap after each letter, ``(low, high)``, for script and for print fonts.
SCRIPT_LETTER_SPACING = (-0.05, 0.1)
PRINT_LETTER_SPACING = (0.0, 0.25)
#: Slant added to the font's: normal mean and standard deviation (radians).
SLANT_MEAN, SLANT_SPREAD = 0.05, 0.12
#: Log-normal spreads of size, width and pen density between writers.
SIZE_SPREAD, WIDTH_SPREAD, DENSITY_SPREAD = 0.15, 0.1, 0.15
#: Mean log-width of script writers (narrower than the fonts draw).
SCRIPT_LOG_WIDTH = -0.1
#: Chaikin passes: a writer rounds corners once or twice.
CORNER_ROUNDING = (1, 2)
#: Line-to-line variation of one writer: log-normal spreads of size and width, slant spread.
LINE_SIZE_SPREAD, LINE_WIDTH_SPREAD, LINE_SLANT_SPREAD = 0.04, 0.03, 0.02
#: Log-normal spread of single word gaps.
WORD_GAP_SPREAD = 0.15


def sample_hand(rng: np.random.Generator, font: str, density: float) -> Hand:
    """Draw a writer's hand for ``font``; ``density`` is the corpus' points per x-height."""
    script = font in SCRIPT_FONTS
    uniform = {name: float(rng.uniform(low, high)) for name, (low, high) in HAND_UNIFORM_RANGES.items()}
    return Hand(
        font=font,
        size=X_HEIGHT_UNITS * float(np.exp(rng.normal(0.0, SIZE_SPREAD))),
        slant=float(rng.normal(SLANT_MEAN, SLANT_SPREAD)),
        width=float(np.exp(rng.normal(SCRIPT_LOG_WIDTH if script else 0.0, WIDTH_SPREAD))),
        letter_spacing=float(rng.uniform(*(SCRIPT_LETTER_SPACING if script else PRINT_LETTER_SPACING))),
        density=density * float(np.exp(rng.normal(0.0, DENSITY_SPREAD))),
        corner_rounding=int(rng.integers(CORNER_ROUNDING[0], CORNER_ROUNDING[1] + 1)),
        **uniform,
    )


def plain_hand(font: str, density: float = FontCorpusConfig.points_per_x_height) -> Hand:
    """The font as drawn: no slant, jitter, drift, deformation or tremor (a legibility ceiling)."""
    script = font in SCRIPT_FONTS
    return Hand(font=font, size=X_HEIGHT_UNITS, slant=0.0, width=1.0, letter_spacing=0.0 if script else 0.1,
                word_gap=1.1, join_tolerance=0.3, letter_jitter=0.0, baseline_jitter=0.0, baseline_drift=0.0,
                tilt=0.0, elastic_amplitude=0.0, elastic_wavelength=2.0, tremor=0.0, density=density,
                corner_rounding=1)


def jitter_hand(hand: Hand, rng: np.random.Generator) -> Hand:
    """The same hand on another line: a slightly different size, slant and width."""
    return replace(
        hand,
        size=hand.size * float(np.exp(rng.normal(0.0, LINE_SIZE_SPREAD))),
        slant=hand.slant + float(rng.normal(0.0, LINE_SLANT_SPREAD)),
        width=hand.width * float(np.exp(rng.normal(0.0, LINE_WIDTH_SPREAD))),
    )


# ---------------------------------------------------------------- glyphs in x-heights


@dataclass(frozen=True)
class PreparedGlyph:
    """A glyph in x-height units, its strokes split into body and delayed strokes."""

    body: tuple[np.ndarray, ...]  # each [n, 2], written in order
    delayed: tuple[np.ndarray, ...]  # each [n, 2], written after the word
    advance: float


def _arc_length(stroke: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(stroke, axis=0), axis=1).sum())


def _is_dot(stroke: np.ndarray) -> bool:
    return float(np.ptp(stroke, axis=0).max()) <= DOT_MAX_SIZE and float(stroke[:, 1].min()) >= DOT_MIN_HEIGHT


def _is_bar(stroke: np.ndarray) -> bool:
    dx, dy = np.abs(stroke[-1] - stroke[0])
    return dy <= BAR_MAX_SLOPE * dx


def _shrink(stroke: np.ndarray, factor: float = DOT_SHRINK) -> np.ndarray:
    centre = 0.5 * (stroke.min(axis=0) + stroke.max(axis=0))
    return centre + factor * (stroke - centre)


def split_delayed(character: str, glyph_strokes: Sequence[np.ndarray]) -> tuple[list[int], list[int]]:
    """Indices of the body strokes and of the delayed strokes of a glyph (strokes in x-heights).

    Delayed strokes are the dots of i and j (small strokes above the x-height), the bars of t
    and f (flat strokes besides the longest one) and the second stroke of x: people write them
    after the rest of the word. Other characters keep every stroke in order.
    """
    indices = list(range(len(glyph_strokes)))
    if len(glyph_strokes) < 2 or character not in DOTTED_LETTERS + CROSSED_LETTERS:
        return indices, []
    main = int(np.argmax([_arc_length(s) for s in glyph_strokes]))
    delayed = []
    for k, s in enumerate(glyph_strokes):
        if k == main:
            continue
        if character in DOTTED_LETTERS and _is_dot(s):
            delayed.append(k)
        elif character == "x" or (character in CROSSED_LETTERS and _is_bar(s)):
            delayed.append(k)
    return [k for k in indices if k not in delayed], delayed


def prepare_font(font: Font) -> dict[str, PreparedGlyph]:
    """Every glyph of ``font`` scaled to x-height 1 and split by :func:`split_delayed`."""
    prepared = {}
    for ch, glyph in font.glyphs.items():
        scaled = [np.asarray(s, np.float64) / font.x_height for s in glyph.strokes]
        body, delayed = split_delayed(ch, scaled)
        delayed_strokes = tuple(_shrink(scaled[k]) if _is_dot(scaled[k]) else scaled[k] for k in delayed)
        prepared[ch] = PreparedGlyph(tuple(scaled[k] for k in body), delayed_strokes, glyph.advance / font.x_height)
    return prepared


@functools.lru_cache(maxsize=None)
def prepared_font(name: str, fonts_dir: str = "") -> dict[str, PreparedGlyph]:
    """:func:`prepare_font` of a named font, once per process."""
    return prepare_font(load_font(name, fonts_dir or None))


def glyph_for(character: str, font: str, fonts_dir: str = "") -> PreparedGlyph:
    """The glyph of ``character`` in ``font``, or in :data:`FALLBACK_FONT` when ``font`` lacks it.

    Characters listed in :data:`BORROWED_GLYPHS` for ``font`` are taken from the font named there.

    Raises:
        HandwritingError: when neither font can write the character.
    """
    borrowed = BORROWED_GLYPHS.get(font)
    if borrowed and character in borrowed[0]:
        font = borrowed[1]
    for name in (font, FALLBACK_FONT):
        glyph = prepared_font(name, fonts_dir).get(character)
        if glyph is not None and (glyph.body or glyph.delayed or character == " "):
            return glyph
    raise HandwritingError(f"no font can write {character!r}")


# ---------------------------------------------------------------- writing a line


def _join(strokes_in_order: list[np.ndarray], tolerance: float) -> list[np.ndarray]:
    """Merge each stroke into the previous one when it starts within ``tolerance`` of its end."""
    joined: list[np.ndarray] = []
    for s in strokes_in_order:
        if joined and np.hypot(*(s[0] - joined[-1][-1])) < tolerance:
            joined[-1] = np.concatenate([joined[-1], s])
        else:
            joined.append(s)
    return joined


def place_words(text: str, hand: Hand, rng: np.random.Generator, fonts_dir: str = "",
                delayed_strokes: str = FontCorpusConfig.delayed_strokes) -> list[np.ndarray]:
    """The pen-down strokes ``[n, 2]`` (x-heights) of ``text`` in writing order.

    ``delayed_strokes`` (one of :data:`DELAYED_STROKE_PLACES`) says whether a letter's delayed
    strokes follow the whole word's body or the letter's own body.
    """
    out: list[np.ndarray] = []
    cursor = 0.0
    for word in text.split(" "):
        if not word:
            cursor += hand.word_gap
            continue
        body: list[np.ndarray] = []
        delayed: list[np.ndarray] = []
        for ch in word:
            glyph = glyph_for(ch, hand.font, fonts_dir)
            scale = 1.0 + hand.letter_jitter * float(rng.standard_normal())
            shift = np.array([cursor, hand.baseline_jitter * float(rng.standard_normal())])
            factor = np.array([scale * hand.width, scale])
            body.extend(s * factor + shift for s in glyph.body)
            (body if delayed_strokes == "letter" else delayed).extend(s * factor + shift for s in glyph.delayed)
            cursor += glyph.advance * scale * hand.width + hand.letter_spacing
        out.extend(_join(body, hand.join_tolerance))
        out.extend(delayed)
        cursor += hand.word_gap * float(np.exp(WORD_GAP_SPREAD * rng.standard_normal()))
    return out


def deform(points: np.ndarray, hand: Hand, rng: np.random.Generator) -> np.ndarray:
    """Slant, elastic displacement, baseline wander and tilt of ``[P, 2]`` line points (x-heights)."""
    out = points.copy()
    for _ in range(ELASTIC_COMPONENTS):
        angle = rng.uniform(0.0, 2 * np.pi)
        direction = np.array([np.cos(angle), np.sin(angle)])
        wavelength = hand.elastic_wavelength * rng.uniform(*ELASTIC_WAVELENGTH_FACTOR)
        amplitude = rng.normal(0.0, hand.elastic_amplitude, 2)
        phase = 2 * np.pi * (points @ direction) / wavelength + rng.uniform(0.0, 2 * np.pi)
        out += np.sin(phase)[:, None] * amplitude
    wavelength = rng.uniform(*BASELINE_WAVELENGTH)
    out[:, 1] += hand.baseline_drift * np.sin(2 * np.pi * out[:, 0] / wavelength + rng.uniform(0.0, 2 * np.pi))
    out[:, 0] += np.tan(hand.slant) * out[:, 1]
    angle = rng.normal(0.0, hand.tilt)
    c, s = np.cos(angle), np.sin(angle)
    return out @ np.array([[c, s], [-s, c]])


def write_line(text: str, hand: Hand, rng: np.random.Generator, fonts_dir: str = "",
               delayed_strokes: str = FontCorpusConfig.delayed_strokes) -> np.ndarray:
    """``text`` written by ``hand``: ``[N, 3]`` float32 offsets starting at ``(0, 0, pen)``.

    ``delayed_strokes``: see :func:`place_words`.
    """
    placed = [round_corners(s, hand.corner_rounding)
              for s in place_words(text, hand, rng, fonts_dir, delayed_strokes)]
    counts = np.array([len(s) for s in placed], np.int64)
    points = np.concatenate(placed)
    points, counts = strokes.resample_strokes(points, counts, strokes.arc_progress(points, counts), DENSE_STEP)
    points = deform(points, hand, rng)
    points, counts = strokes.resample_strokes(points, counts, time_progress(points, counts), 1.0 / hand.density)
    noise = rng.normal(0.0, hand.tremor, points.shape)
    if len(points) >= len(TREMOR_KERNEL):
        noise = np.stack([np.convolve(noise[:, k], TREMOR_KERNEL, mode="same") for k in range(2)], 1)
    points = (points + noise - points[0]) * hand.size
    points[0] = 0.0
    coords = np.zeros((len(points), 3), np.float32)
    coords[:, :2] = points
    coords[np.cumsum(counts) - 1, 2] = 1.0
    return strokes.coords_to_offsets(coords)


# ---------------------------------------------------------------- the corpus


def writer_hands(config: FontCorpusConfig) -> list[Hand]:
    """One hand per synthetic writer; writer ``w`` uses font ``fonts[w % len(fonts)]``."""
    count = math.ceil(config.lines / config.lines_per_writer)
    return [
        sample_hand(np.random.default_rng([config.seed, _HAND_STREAM, w]), config.fonts[w % len(config.fonts)],
                    config.points_per_x_height)
        for w in range(count)
    ]


def _write_lines(job: tuple[FontCorpusConfig, list[Hand], list[str], int]) -> list[np.ndarray]:
    """Write lines ``start, start + 1, ...`` (a worker's chunk); each line has its own generator."""
    config, hands, line_texts, start = job
    out = []
    for i, text in enumerate(line_texts, start):
        rng = np.random.default_rng([config.seed, _LINE_STREAM, i])
        hand = jitter_hand(hands[i // config.lines_per_writer], rng)
        out.append(write_line(text, hand, rng, config.fonts_dir, config.delayed_strokes))
    return out


def check_fonts(names: Sequence[str], fonts_dir: str = "") -> dict[str, str]:
    """For each font, the alphabet characters it lacks (written with the fallback font instead).

    Raises:
        HandwritingError: when a font cannot be loaded, or the fallback font lacks characters.
    """
    missing = {name: load_font(name, fonts_dir or None).missing() for name in names}
    fallback_missing = load_font(FALLBACK_FONT).missing()
    if fallback_missing:
        raise HandwritingError(f"fallback font {FALLBACK_FONT} lacks {fallback_missing!r}")
    return {name: chars for name, chars in missing.items() if chars}


def _process_context() -> multiprocessing.context.BaseContext:
    """Fork where the platform has it (no re-import of ``__main__``), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def build_corpus(config: FontCorpusConfig) -> StrokeDataset:
    """Write ``config.lines`` text lines with synthetic writers.

    Returns a dataset whose offsets are in dataset units (about :data:`X_HEIGHT_UNITS` per
    x-height), with one writer name per synthetic writer (``<font>#<index>``), the scale from
    :func:`handwriting.strokes.estimate_scale` and provenance in ``metadata``.
    """
    config.validate()
    fallbacks = check_fonts(config.fonts, config.fonts_dir)
    if config.texts:
        line_texts = read_writable_lines(config.texts)[: config.lines]
        config = replace(config, lines=len(line_texts))
    else:
        line_texts = texts.sample_lines(
            config.lines, np.random.default_rng([config.seed, _TEXT_STREAM]),
            min_words=config.min_words, max_words=config.max_words,
        )
    hands = writer_hands(config)
    jobs = [(config, hands, line_texts[start:start + CHUNK_LINES], start)
            for start in range(0, config.lines, CHUNK_LINES)]
    workers = min(config.workers, os.cpu_count() or 1, len(jobs))
    if workers > 1 and config.lines >= MIN_LINES_FOR_WORKERS:
        with ProcessPoolExecutor(workers, mp_context=_process_context()) as pool:
            chunks = list(pool.map(_write_lines, jobs))
    else:
        chunks = [_write_lines(job) for job in jobs]
    offsets = [o for chunk in chunks for o in chunk]
    metadata = {
        "source": "fonts",
        "config": asdict(config),
        "fonts": list(config.fonts),
        "text_source": config.texts or texts.text_source(),
        "x_height_units": X_HEIGHT_UNITS,
    }
    if fallbacks:
        metadata["fallback"] = {"font": FALLBACK_FONT, "characters": fallbacks}
    return StrokeDataset(
        offsets=offsets,
        texts=line_texts,
        writer_ids=np.array([i // config.lines_per_writer for i in range(config.lines)], np.int32),
        writers=[f"{hand.font}#{w}" for w, hand in enumerate(hands)],
        scale=strokes.estimate_scale(offsets),
        metadata=metadata,
    )
