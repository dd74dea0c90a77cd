"""Read UNIPEN (train_r01_v07) text lines into a :class:`StrokeDataset`.

UNIPEN train_r01_v07 (International Unipen Foundation, December 1999; DOI
10.5281/zenodo.1195803, CC BY 4.0) is laid out under ``ROOT`` as::

    data/<category>/<contributor>/.../<file>.dat   label files: .INCLUDE ink, then .SEGMENT labels
    include/<contributor>/...                       ink and documentation files (.doc, .lex, .dat)

The format is defined in ``unipen.def`` (UnipenTools). The rules this reader follows:

- A file is a sequence of keywords: a ``.KEYWORD`` at the start of a line, its arguments up to
  the next keyword. ``.INCLUDE NAME`` inserts ``include/NAME`` in place (paths are relative to
  ``include/``; a file may include others, as some contributors' ink files do, up to
  :data:`MAX_INCLUDE_DEPTH` deep).
- ``.COORD`` names the columns of the pen data (``X Y``, ``X Y T P``, ...); ``.PEN_DOWN`` and
  ``.PEN_UP`` components hold rows of those columns. Components are numbered from 0 in order of
  appearance, pen-up and pen-down alike, and an empty pen stream is *not* counted. The counter
  restarts with each label file and at each ``.START_SET``. ``.DT`` (elided time) holds no points
  and is not a component.
- ``.SEGMENT TYPE DELINEATION QUALITY "LABEL"``: the delineation lists components and point
  ranges, ``A-B,C`` or ``A:M-B:N`` (component A from point M to component B's point N, both
  0-based and inclusive; ``A:M`` alone is component A from point M on). Points of ``.PEN_UP``
  components inside a segment are pen travel, not ink: they are left out, and each pen-down
  piece is one stroke. Labels unescape ``\\"``, ``\\\\``, ``\\t`` and ``\\n`` (tabs and new-lines
  count as spaces). Quality ``BAD`` is dropped; ``OK``, ``GOOD`` and ``?`` are kept
  (``UnipenConfig.qualities`` may be stricter).
- Units: ``.X_POINTS_PER_INCH`` / ``.Y_POINTS_PER_INCH`` (or ``_PER_MM``) convert x and y to
  inches separately (some tablets are not square); without them x and y are taken as equal units.
- y points up in UNIPEN (origin at the lower left). Contributors whose data break that rule are
  listed in :data:`Y_DOWN_CONTRIBUTORS` (found by looking at every contributor's lines) and are
  flipped.
- Writers are ``<contributor>/<.WRITER_ID>``, or ``<contributor>/<label file>`` without one.

Labels in some contributions are tokenised (``"year , I almost"``, ``"wasn ' t"``);
:func:`detokenise` joins them back into natural text with the rules in its docstring.
Text is then normalised (:func:`alphabet.normalise`) and a line with characters outside the
alphabet is dropped and counted.

Each kept line is normalised like the font corpus (:mod:`handwriting.datasets.fonts`), so a
model trained on fonts can be fine-tuned on it: y up; repeated points dropped; the line levelled
(:func:`strokes.align_baseline`); its x-height estimated (:func:`strokes.estimate_x_height`) and
the line scaled to x-height units; digitiser glitches (pen-down jumps over ``max_step``
x-heights) dropped and the line levelled and measured again; then resampled as the font corpus
is, densely by arc length and then at equal steps of the pen-speed model's time
(:func:`pen_motion.time_progress`) with ``points_per_x_height`` points per x-height at full speed;
finally scaled to :data:`fonts.X_HEIGHT_UNITS` per x-height and turned into offsets from the
line's first point.

A missing or broken file is reported with one warning line naming it, counted, and skipped;
everything else goes on. A pen component whose numbers do not fill whole rows of ``.COORD``
keeps its number, and only the segments that cover it are skipped (``broken component``). Label files are visited in sorted order, so the same ROOT and config
give the same dataset.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from .. import alphabet, strokes
from ..errors import HandwritingError
from .fonts import X_HEIGHT_UNITS
from .format import StrokeDataset
from .pen_motion import DENSE_STEP, time_progress
from .unipen_format import (
    INCLUDE_DIR,
    BrokenFile,
    LabelReader,
    Segment,
    SkippedSegment,
    count_segments,
)

#: Directory names under ROOT.
DATA_DIR = "data"
#: Where the data came from, as recorded in the dataset's metadata.
SOURCE = {
    "name": "UNIPEN train_r01_v07",
    "publisher": "International Unipen Foundation (1999)",
    "doi": "10.5281/zenodo.1195803",
    "license": "CC BY 4.0",
    "attribution": "Unipen data set of on-line (vectorial) handwriting - train_r01_v07 (December 1999), "
                   "International Unipen Foundation; Zenodo, https://doi.org/10.5281/zenodo.1195803, CC BY 4.0",
    "terms": "The 1999 CD-ROM's notice restricted use to research; the data set was later released free of "
             "charge and is published on Zenodo under CC BY 4.0, the terms this model relies on.",
}
#: Categories of train_r01_v07 that hold words and lines (6, 7: words; 8: text lines).
CATEGORIES = ("1a", "1b", "1c", "1d", "2", "3", "4", "5", "6", "7", "8")
#: Quality levels of ``.SEGMENT``.
QUALITY_LEVELS = ("GOOD", "OK", "?", "BAD")
#: Contributors whose y axis points down, against the format's rule (found by inspection).
Y_DOWN_CONTRIBUTORS: tuple[str, ...] = ()
#: Examples kept per reason in the report.
MAX_EXAMPLES = 3
#: Ink wider or taller than this many of its own x-heights is flat (a rule, a dash): unusable.
MAX_EXTENT_X_HEIGHTS = 1000.0
#: A line must keep at least this many points after preprocessing.
MIN_POINTS = 2

# Reasons for skipping a segment (as counted in the report).
QUALITY = "quality"
NO_INK = "no ink"
EMPTY_LABEL = "empty label"
UNKNOWN_CHARACTERS = "unknown characters"



@dataclass
class UnipenConfig:
    """Which UNIPEN segments are read and how lines are normalised (``prepare unipen`` flags)."""

    categories: tuple[str, ...] = field(
        default=("8",), metadata={"help": "categories to read (directories under data/): 8 is text lines"})
    qualities: tuple[str, ...] = field(
        default=("GOOD", "OK", "?"),
        metadata={"help": "segment quality levels to keep (GOOD, OK, ?, BAD); BAD is illegible"})
    points_per_x_height: float = field(
        default=2.5, metadata={"help": "pen points per x-height at full speed, as the font corpus's option"})
    max_step: float = field(
        default=3.0, metadata={"help": "drop pen-down points that jump further than this many x-heights "
                                       "from both neighbours (digitiser glitches); 0 turns it off"})
    y_down: tuple[str, ...] = field(
        default=Y_DOWN_CONTRIBUTORS,
        metadata={"help": "contributors (include dirs) whose y axis points down, to be flipped"})
    detokenise: bool = field(
        default=True, metadata={"help": "join tokenised labels ('year , I' -> 'year, I'; 'wasn ' t' -> \"wasn't\")"})
    normalise_text: bool = field(
        default=True, metadata={"help": "map typographic characters and accented letters to the alphabet"})

    def __post_init__(self) -> None:
        self.categories = tuple(self.categories)
        self.qualities = tuple(q.upper() for q in self.qualities)
        self.y_down = tuple(self.y_down)
        unknown = [c for c in self.categories if c not in CATEGORIES]
        if not self.categories or unknown:
            raise HandwritingError(f"categories must be among {', '.join(CATEGORIES)}, got {', '.join(self.categories)}")
        bad = [q for q in self.qualities if q not in QUALITY_LEVELS]
        if not self.qualities or bad:
            raise HandwritingError(f"qualities must be among {', '.join(QUALITY_LEVELS)}, got {', '.join(self.qualities)}")
        if not self.points_per_x_height > 0:
            raise HandwritingError(f"points_per_x_height must be positive, got {self.points_per_x_height}")
        if self.max_step < 0:
            raise HandwritingError(f"max_step must be 0 (off) or positive, got {self.max_step}")


@dataclass
class UnipenReport:
    """What an import read and skipped, by reason, category and contributor.

    Every ``.SEGMENT`` of the chosen categories is either imported or counted once in
    ``skipped``, so ``segments == imported + sum(skipped.values())``.
    """

    root: str = ""
    files: int = 0
    segments: int = 0
    imported: int = 0
    writers: int = 0
    points: int = 0
    characters: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    by_category: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    by_contributor: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def skip(self, reason: str, example: str, category: str, contributor: str, count: int = 1) -> None:
        """Count ``count`` skipped segments for ``reason`` and keep ``example`` if there is room."""
        self.skipped[reason] += count
        self.by_category[category][reason] += count
        self.by_contributor[contributor][reason] += count
        kept = self.examples.setdefault(reason, [])
        if len(kept) < MAX_EXAMPLES:
            kept.append(example)

    def keep(self, category: str, contributor: str) -> None:
        """Count one imported segment."""
        self.imported += 1
        self.by_category[category]["kept"] += 1
        self.by_contributor[contributor]["kept"] += 1

    def to_dict(self) -> dict:
        """The report as JSON-friendly data (saved in the dataset's metadata)."""
        return {
            "files": self.files, "segments": self.segments, "imported": self.imported, "writers": self.writers,
            "points": self.points, "characters": self.characters,
            "skipped": dict(sorted(self.skipped.items())),
            "by_category": {k: dict(sorted(v.items())) for k, v in sorted(self.by_category.items())},
            "by_contributor": {k: dict(sorted(v.items())) for k, v in sorted(self.by_contributor.items())},
            "warnings": len(self.warnings),
        }

    def summary(self) -> str:
        """A readable multi-line account, with examples of skipped segments and a contributor table."""
        out = [
            f"UNIPEN import from {self.root}",
            f"  label files:    {self.files}",
            f"  segments:       {self.segments}",
            f"  lines imported: {self.imported}",
            f"  writers:        {self.writers}",
            f"  points:         {self.points} ({self.points / max(self.characters, 1):.1f} per character)",
            f"  segments skipped: {sum(self.skipped.values())}",
        ]
        for reason, count in sorted(self.skipped.items()):
            out.append(f"    {reason}: {count}")
            out += [f"      e.g. {example}" for example in self.examples.get(reason, [])]
        reasons = sorted(self.skipped)
        out.append("  per contributor: " + " | ".join(["kept"] + reasons))
        for name, counts in sorted(self.by_contributor.items()):
            out.append(f"    {name:6s} " + " ".join(f"{counts.get(r, 0):6d}" for r in ["kept"] + reasons))
        return "\n".join(out)


# ---------------------------------------------------------------- labels and text


#: Punctuation that attaches to the word before it: ``"year , I"`` -> ``"year, I"``.
CLOSING_PUNCTUATION = ",.;:!?)]}%"
#: Punctuation that attaches to the word after it: ``"( 4"`` -> ``"(4"``.
OPENING_PUNCTUATION = "([{$#"
#: Endings written after an apostrophe in English contractions and possessives.
CONTRACTIONS = ("s", "t", "re", "ve", "ll", "d", "m")

_SPACES = re.compile(r"\s+")
_BEFORE_CLOSING = re.compile(r" ([" + re.escape(CLOSING_PUNCTUATION) + r"])(?= |$)")
_AFTER_OPENING = re.compile(r"(?:^|(?<= ))([" + re.escape(OPENING_PUNCTUATION) + r"]) ")
_CONTRACTION = re.compile(r"(\w) ?' ?(" + "|".join(CONTRACTIONS) + r")\b", re.IGNORECASE)


def detokenise(text: str) -> str:
    """Join a tokenised label back into natural text.

    The rules, in order (text that is not tokenised passes unchanged):

    1. Runs of white space become one space; the ends are stripped.
    2. A contraction or possessive split around its apostrophe is joined:
       ``"wasn ' t"`` -> ``"wasn't"``, ``"John ' s"`` -> ``"John's"`` (endings :data:`CONTRACTIONS`).
    3. A free-standing closing mark (:data:`CLOSING_PUNCTUATION`, a token of its own) attaches
       to the word before it: ``"year , I"`` -> ``"year, I"``, ``"physics ."`` -> ``"physics."``.
    4. A free-standing opening mark (:data:`OPENING_PUNCTUATION`) attaches to the word after it.
    5. Free-standing double quotes alternate: the first of a pair attaches to the word after it,
       the second to the word before it: ``'he said " yes " .'`` -> ``'he said "yes".'``.
    """
    text = _SPACES.sub(" ", text).strip()
    text = _CONTRACTION.sub(lambda m: f"{m.group(1)}'{m.group(2)}", text)
    text = _BEFORE_CLOSING.sub(r"\1", text)
    # A mark closing what another one closed: "wraps . )" -> "wraps.)": apply until stable.
    previous = None
    while previous != text:
        previous, text = text, _BEFORE_CLOSING.sub(r"\1", text)
    text = _AFTER_OPENING.sub(r"\1", text)
    return _join_quotes(text)


def _join_quotes(text: str) -> str:
    tokens = text.split(" ")
    quotes = 0
    out: list[str] = []
    attach_next = False
    for token in tokens:
        if token == '"':
            opening = quotes % 2 == 0
            quotes += 1
            if opening:
                out.append('"')
                attach_next = True
            elif out:
                out[-1] += '"'
            else:
                out.append('"')
            continue
        quotes += token.count('"')
        if attach_next and out:
            out[-1] += token
        else:
            out.append(token)
        attach_next = False
    return " ".join(out)


def prepare_text(label: str, config: UnipenConfig) -> str:
    """A label's text for the dataset: detokenised, normalised, checked against the alphabet.

    Raises:
        SkippedSegment: ``EMPTY_LABEL`` or ``UNKNOWN_CHARACTERS`` (naming them).
    """
    text = detokenise(label) if config.detokenise else _SPACES.sub(" ", label).strip()
    if config.normalise_text:
        text = alphabet.normalise(text)
    if not text.strip():
        raise SkippedSegment(EMPTY_LABEL, "blank label")
    unknown = alphabet.unknown_characters(text)
    if unknown:
        raise SkippedSegment(UNKNOWN_CHARACTERS, f"{text!r}: {alphabet.describe_unknown(unknown)}")
    return text


# ---------------------------------------------------------------- preprocessing


def normalise_line(ink: list[np.ndarray], config: UnipenConfig) -> np.ndarray:
    """One line's pen-down strokes (``[n, 2]`` each, y up) -> ``[N, 3]`` float32 offsets.

    The steps are listed in the module docstring; the result is in dataset units
    (:data:`fonts.X_HEIGHT_UNITS` per x-height) with ``offsets[0] = (0, 0, pen_up)``.

    Raises:
        SkippedSegment: ``NO_INK`` when nothing drawable is left.
    """
    coords = strokes.remove_duplicate_points(strokes.join_strokes(ink))
    if len(coords) < MIN_POINTS:
        raise SkippedSegment(NO_INK, f"{len(coords)} points")
    coords = _to_x_heights(coords)
    if config.max_step > 0:
        coords = strokes.drop_outlier_steps(coords, config.max_step)
        if len(coords) < MIN_POINTS:
            raise SkippedSegment(NO_INK, "only glitches")
        coords = _to_x_heights(coords)
    return resample_ink(coords, config.points_per_x_height)


def resample_ink(coords: np.ndarray, points_per_x_height: float) -> np.ndarray:
    """``[N, 3]`` coords in x-heights (pen column: 1 ends a stroke) -> ``[M, 3]`` float32 offsets in
    dataset units, resampled as the font corpus is: densely by arc length, then at equal steps of the
    pen-speed model's time with ``points_per_x_height`` points per x-height at full speed."""
    points, counts = coords[:, :2].astype(np.float64), strokes.stroke_counts(coords)
    points, counts = strokes.resample_strokes(points, counts, strokes.arc_progress(points, counts), DENSE_STEP)
    step = 1.0 / points_per_x_height
    points, counts = strokes.resample_strokes(points, counts, time_progress(points, counts), step)
    out = np.zeros((len(points), 3), np.float32)
    out[:, :2] = (points - points[0]) * X_HEIGHT_UNITS
    out[np.cumsum(counts) - 1, 2] = 1.0
    return strokes.coords_to_offsets(out)


def _to_x_heights(coords: np.ndarray) -> np.ndarray:
    """Level ``coords`` and divide them by their estimated x-height."""
    coords = strokes.align_baseline(coords)
    x_height = strokes.estimate_x_height(coords)
    x_min, y_min, x_max, y_max = strokes.bounding_box(coords)
    if not x_height > 0 or max(x_max - x_min, y_max - y_min) > MAX_EXTENT_X_HEIGHTS * x_height:
        raise SkippedSegment(NO_INK, f"flat ink (x-height {x_height:.3g} for an extent of {x_max - x_min:.3g} x {y_max - y_min:.3g})")
    coords = coords.copy()
    coords[:, :2] /= x_height
    return coords


# ---------------------------------------------------------------- entry point


def label_files(root: Path, categories: tuple[str, ...]) -> list[tuple[str, str, Path]]:
    """``(category, contributor, path)`` of every label file of ``categories``, sorted."""
    out = []
    for category in categories:
        base = root / DATA_DIR / category
        if not base.is_dir():
            continue
        paths = [Path(d) / name for d, _, names in os.walk(base, followlinks=True) for name in names]
        for path in sorted(paths):
            if path.is_file():
                out.append((category, path.relative_to(base).parts[0], path))
    return out


def _usable_line(segment: Segment, config: UnipenConfig) -> tuple[str, np.ndarray]:
    """A segment's text and ``[N, 3]`` offsets, or :class:`SkippedSegment` saying why not."""
    if segment.skip is not None:
        raise segment.skip
    if segment.quality not in config.qualities:
        raise SkippedSegment(QUALITY, f"quality {segment.quality}")
    return prepare_text(segment.label, config), normalise_line(segment.strokes, config)


def _check_root(root: Path) -> None:
    for directory in (DATA_DIR, INCLUDE_DIR):
        if not (root / directory).is_dir():
            raise HandwritingError(f"{root} holds no {directory}/ directory: is it the UNIPEN release root?")


def read_unipen(root: Path, config: UnipenConfig | None = None, *,
                warn: TextIO | None = None,
                progress: Callable[[int, int], None] | None = None) -> tuple[StrokeDataset, UnipenReport]:
    """Read the UNIPEN text lines under ``root`` into a dataset.

    Args:
        root: the release directory, holding ``data/`` and ``include/``.
        config: what to read and how to normalise it.
        warn: where the one-line warnings about missing or broken files go (default stderr).
        progress: called with ``(files done, files)`` after each label file.

    Returns:
        The dataset (offsets in dataset units, writers ``<contributor>/<writer id>`` sorted,
        ``scale`` from :func:`strokes.estimate_scale`, the source and the report in
        ``metadata``) and the report.

    Raises:
        HandwritingError: ``root`` lacks ``data/`` or ``include/``, or no line was imported.
    """
    config = config or UnipenConfig()
    warn = sys.stderr if warn is None else warn
    root = Path(root)
    _check_root(root)
    reader = LabelReader(root / INCLUDE_DIR)
    report = UnipenReport(root=str(root))
    offsets: list[np.ndarray] = []
    texts: list[str] = []
    writer_names: list[str] = []
    files = label_files(root, config.categories)
    for done, (category, contributor, path) in enumerate(files, 1):
        report.files += 1
        where = str(path.relative_to(root))
        try:
            state = reader.read(path, flip_y=contributor in config.y_down)
        except BrokenFile as exc:
            lost = count_segments(path)
            report.segments += lost
            print(f"warning: skipping {where}: {exc.detail} ({lost} segments)", file=warn)
            report.warnings.append(f"{where}: {exc.detail}")
            report.skip(exc.reason, f"{where}: {exc.detail}", category, contributor, lost)
            continue
        for number, segment in enumerate(state.segments):
            report.segments += 1
            try:
                text, line = _usable_line(segment, config)
            except SkippedSegment as skip:
                report.skip(skip.reason, f"{where} #{number}: {skip.detail}", category, contributor)
                continue
            offsets.append(line)
            texts.append(text)
            writer_names.append(f"{contributor}/{segment.writer or path.stem}")
            report.keep(category, contributor)
        if progress is not None:
            progress(done, len(files))

    if not texts:
        raise HandwritingError(f"no line could be imported from {root} ({report.segments} segments in "
                               f"{report.files} label files; skipped: {dict(report.skipped) or 'nothing'})")
    writers = sorted(set(writer_names))
    index = {name: i for i, name in enumerate(writers)}
    report.writers = len(writers)
    report.points = sum(len(o) for o in offsets)
    report.characters = sum(len(t) for t in texts)
    dataset = StrokeDataset(
        offsets=offsets,
        texts=texts,
        writer_ids=np.array([index[w] for w in writer_names], np.int32),
        writers=writers,
        scale=strokes.estimate_scale(offsets),
        metadata={
            "source": "unipen",
            "data_source": SOURCE,
            "root": str(root),
            "config": asdict(config),
            "writer_names": "<contributor>/<writer id>; the contributor is the include/ directory",
            "x_height_units": X_HEIGHT_UNITS,
            "import": report.to_dict(),
        },
    )
    return dataset, report


def terminal_progress(stream: TextIO = sys.stderr, label: str = "label files") -> Callable[[int, int], None] | None:
    """A progress callback that rewrites one line on a terminal, or None when ``stream`` is not one."""
    if not stream.isatty():
        return None
    step = 1

    def show(done: int, total: int) -> None:
        nonlocal step
        step = max(total // 200, 1)
        if done % step == 0 or done == total:
            end = "\n" if done == total else ""
            print(f"\r{label}: {done}/{total}", end=end, file=stream, flush=True)

    return show
