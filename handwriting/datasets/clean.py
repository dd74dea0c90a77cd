"""Clean a dataset of human lines: split long lines at word gaps, drop ink that does not match its text.

A step of its own after a reader (``handwriting prepare clean IN -o OUT``), so that the reader's
rules stay testable on their own. It expects levelled lines in x-height units as
:mod:`handwriting.datasets.unipen` writes them (``metadata["x_height_units"]`` dataset units per
x-height; :data:`DEFAULT_X_HEIGHT_UNITS` if absent).

1. **Split.** A line with more than ``max_chars`` characters or ``max_points`` points is cut at
   word gaps. The ink's horizontal projection is split into blocks (runs of x covered by some
   stroke); the gaps between blocks are candidate word gaps. A text of ``n`` words needs the
   ``n - 1`` widest gaps, and the cut is trusted only when each of them is at least
   ``min_word_gap`` x-heights and at least ``gap_ratio`` times the widest gap left over (a letter
   gap); otherwise the line is dropped (``no clear word gaps``). Each stroke goes to the word
   whose block holds it; consecutive words are packed greedily into pieces within both limits,
   each keeping its strokes in writing order and starting at the origin. A single word over the
   limits is dropped (``word too long``).
2. **Drop mismatched ink.** Two figures per line, ink width per character (x-heights) and points
   per character, are compared with the corpus' robust range: the median of their logarithm
   plus or minus ``max_deviation`` robust standard deviations (1.4826 x the median absolute
   deviation). A line outside either range is dropped: a label for ink that holds more or less
   writing than the text (several rows of writing under one label, a missing word, a label
   for a scribble) lands there. A recogniser-based check may come later.
3. Lines with fewer than ``min_points`` points are dropped.

The report counts every drop by reason with examples, and what was kept per contributor (the
writer name's prefix before ``/``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import strokes
from ..errors import HandwritingError
from .format import StrokeDataset

#: Dataset units per x-height when the dataset does not say (the font corpus' value).
DEFAULT_X_HEIGHT_UNITS = 20.0
#: Median absolute deviation -> standard deviation of a normal distribution.
MAD_TO_SD = 1.4826
#: Examples kept per reason in the report.
MAX_EXAMPLES = 3
#: Separator between the contributor and the writer id in writer names.
CONTRIBUTOR_SEPARATOR = "/"

# Reasons for dropping.
NO_CLEAR_GAPS = "no clear word gaps"
WORD_TOO_LONG = "word too long"
WIDTH_MISMATCH = "ink width per character out of range"
POINTS_MISMATCH = "points per character out of range"
TOO_FEW_POINTS = "too few points"


@dataclass
class CleanConfig:
    """Options of the clean step (``handwriting prepare clean`` mirrors them as flags)."""

    max_chars: int = field(default=80, metadata={"help": "split lines with more characters than this"})
    max_points: int = field(default=1200, metadata={"help": "split lines with more points than this"})
    min_points: int = field(default=20, metadata={"help": "drop lines with fewer points than this"})
    min_word_gap: float = field(
        default=0.25, metadata={"help": "narrowest gap (x-heights) taken for a word gap when splitting"})
    gap_ratio: float = field(
        default=1.25, metadata={"help": "a word gap must be this many times wider than any letter gap"})
    max_deviation: float = field(
        default=3.5, metadata={"help": "drop lines whose log ink width or points per character lie more than "
                                       "this many robust standard deviations from the corpus median; 0 turns it off"})

    def __post_init__(self) -> None:
        if self.max_chars < 1 or self.max_points < 1:
            raise HandwritingError("max_chars and max_points must be at least 1")
        if self.min_points < 1 or self.min_points > self.max_points:
            raise HandwritingError(f"min_points must lie in 1..max_points, got {self.min_points}")
        if self.min_word_gap < 0 or self.gap_ratio < 1:
            raise HandwritingError("min_word_gap must be >= 0 and gap_ratio >= 1")
        if self.max_deviation < 0:
            raise HandwritingError(f"max_deviation must be 0 (off) or positive, got {self.max_deviation}")


@dataclass
class CleanReport:
    """What the clean step kept, split and dropped, overall and per contributor."""

    lines_in: int = 0
    lines_split: int = 0
    lines_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    ranges: dict[str, list[float]] = field(default_factory=dict)
    by_contributor: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def drop(self, reason: str, contributor: str, example: str) -> None:
        """Count one dropped line (or piece) for ``reason``."""
        self.dropped[reason] += 1
        self.by_contributor[contributor][reason] += 1
        kept = self.examples.setdefault(reason, [])
        if len(kept) < MAX_EXAMPLES:
            kept.append(example)

    def to_dict(self) -> dict:
        """JSON-friendly figures (saved in the dataset's metadata)."""
        return {"lines_in": self.lines_in, "lines_split": self.lines_split, "lines_out": self.lines_out,
                "dropped": dict(sorted(self.dropped.items())), "ranges": self.ranges,
                "by_contributor": {k: dict(sorted(v.items())) for k, v in sorted(self.by_contributor.items())}}

    def summary(self) -> str:
        """A readable account: totals, drops with examples, a per-contributor table."""
        out = [f"clean: {self.lines_in} lines in, {self.lines_split} split, {self.lines_out} lines out",
               f"  dropped: {sum(self.dropped.values())}"]
        for reason, count in sorted(self.dropped.items()):
            out.append(f"    {reason}: {count}")
            out += [f"      e.g. {e}" for e in self.examples.get(reason, [])]
        for name, (low, high) in self.ranges.items():
            out.append(f"  kept range of {name}: {low:.3g} .. {high:.3g}")
        reasons = sorted(self.dropped)
        out.append("  per contributor: lines in | lines out | characters out | points out | " + " | ".join(reasons))
        for name, c in sorted(self.by_contributor.items()):
            cells = [c["in"], c["out"], c["chars"], c["points"]] + [c.get(r, 0) for r in reasons]
            out.append(f"    {name:6s} " + " ".join(f"{v:7d}" for v in cells))
        return "\n".join(out)


def contributor_of(writer: str) -> str:
    """The contributor part of a writer name ``<contributor>/<writer id>`` (the name if none)."""
    return writer.split(CONTRIBUTOR_SEPARATOR, 1)[0]


# ---------------------------------------------------------------- splitting


def ink_blocks(stroke_list: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Runs of x covered by ink.

    Args:
        stroke_list: ``[n, 2]`` strokes.

    Returns:
        ``[S]`` int, the block index of each stroke (blocks numbered left to right), and
        ``[B - 1]`` float, the widths of the gaps between consecutive blocks.
    """
    lows = np.array([s[:, 0].min() for s in stroke_list])
    highs = np.array([s[:, 0].max() for s in stroke_list])
    order = np.argsort(lows, kind="stable")
    block = np.zeros(len(stroke_list), np.int64)
    gaps, current, reach = [], 0, highs[order[0]]
    for i in order:
        if lows[i] > reach:
            gaps.append(lows[i] - reach)
            current += 1
        block[i] = current
        reach = max(reach, highs[i])
    return block, np.array(gaps, np.float64)


def word_of_strokes(stroke_list: list[np.ndarray], words: int, config: CleanConfig,
                    x_height: float) -> np.ndarray | None:
    """``[S]`` the word index of each stroke, or None when the word gaps are not clear.

    See the module docstring, step 1.
    """
    if words == 1:
        return np.zeros(len(stroke_list), np.int64)
    block, gaps = ink_blocks(stroke_list)
    if len(gaps) < words - 1:
        return None
    order = np.argsort(-gaps, kind="stable")
    chosen, rest = order[: words - 1], order[words - 1:]
    narrowest = gaps[chosen].min()
    if narrowest < config.min_word_gap * x_height:
        return None
    if len(rest) and narrowest < config.gap_ratio * gaps[rest].max():
        return None
    cut = np.zeros(len(gaps) + 1, np.int64)  # word index of each block
    is_cut = np.zeros(len(gaps), bool)
    is_cut[chosen] = True
    cut[1:] = np.cumsum(is_cut)
    return cut[block]


def split_line(offsets: np.ndarray, text: str, config: CleanConfig, x_height: float,
               ) -> tuple[list[tuple[np.ndarray, str]], list[tuple[str, str]]]:
    """Cut one line into pieces within ``max_chars`` and ``max_points``.

    Returns:
        ``[(offsets, text)]`` pieces (the line itself when it fits) and ``[(reason, detail)]``
        for what was dropped.
    """
    if len(text) <= config.max_chars and len(offsets) <= config.max_points:
        return [(offsets, text)], []
    coords = strokes.offsets_to_coords(offsets)
    ends = np.flatnonzero(coords[:, 2] > 0.5) + 1
    pieces = [p for p in np.split(coords, ends) if len(p)]
    words = text.split(" ")
    word = word_of_strokes([p[:, :2] for p in pieces], len(words), config, x_height)
    if word is None:
        return [], [(NO_CLEAR_GAPS, f"{len(words)} words")]
    points = np.bincount(word, weights=[len(p) for p in pieces], minlength=len(words)).astype(int)
    out, dropped = [], []
    start = 0
    while start < len(words):
        stop, chars, count = start, -1, 0
        while stop < len(words) and chars + 1 + len(words[stop]) <= config.max_chars \
                and count + points[stop] <= config.max_points:
            chars += 1 + len(words[stop])
            count += points[stop]
            stop += 1
        if stop == start:  # one word over the limits
            dropped.append((WORD_TOO_LONG, f"{words[start]!r}: {points[start]} points"))
            start += 1
            continue
        chosen = [p for p, w in zip(pieces, word) if start <= w < stop]
        if chosen:
            piece = np.concatenate(chosen)
            piece[:, :2] -= piece[0, :2]
            out.append((strokes.coords_to_offsets(piece), " ".join(words[start:stop])))
        start = stop
    return out, dropped


# ---------------------------------------------------------------- mismatch


def per_character(offsets: np.ndarray, text: str, x_height: float) -> tuple[float, float]:
    """``(ink width per character in x-heights, points per character)`` of one line."""
    coords = strokes.offsets_to_coords(offsets)
    width = float(coords[:, 0].max() - coords[:, 0].min()) / x_height
    return width / len(text), len(offsets) / len(text)


def robust_range(values: np.ndarray, max_deviation: float) -> tuple[float, float]:
    """``(low, high)``: exp of the median of ``log(values)`` -/+ ``max_deviation`` robust SDs."""
    logs = np.log(np.maximum(values, 1e-9))
    median = float(np.median(logs))
    spread = MAD_TO_SD * float(np.median(np.abs(logs - median)))
    return float(np.exp(median - max_deviation * spread)), float(np.exp(median + max_deviation * spread))


# ---------------------------------------------------------------- entry point


def clean_dataset(dataset: StrokeDataset, config: CleanConfig | None = None) -> tuple[StrokeDataset, CleanReport]:
    """Split long lines and drop mismatched ones (see the module docstring).

    Returns:
        The cleaned dataset (same writers; ``scale`` estimated again; the clean config and
        report added to ``metadata["clean"]``) and the report.

    Raises:
        HandwritingError: nothing is left.
    """
    config = config or CleanConfig()
    x_height = float(dataset.metadata.get("x_height_units", DEFAULT_X_HEIGHT_UNITS))
    report = CleanReport(lines_in=len(dataset))
    pieces: list[tuple[np.ndarray, str, int]] = []
    for offsets, text, writer in zip(dataset.offsets, dataset.texts, np.asarray(dataset.writer_ids)):
        contributor = contributor_of(dataset.writers[writer])
        report.by_contributor[contributor]["in"] += 1
        out, dropped = split_line(offsets, text, config, x_height)
        if len(out) > 1 or dropped:
            report.lines_split += 1
        for reason, detail in dropped:
            report.drop(reason, contributor, f"{text[:60]!r}: {detail}")
        pieces += [(o, t, int(writer)) for o, t in out]

    keep = np.ones(len(pieces), bool)
    for i, (offsets, text, writer) in enumerate(pieces):
        if len(offsets) < config.min_points:
            keep[i] = False
            report.drop(TOO_FEW_POINTS, contributor_of(dataset.writers[writer]), f"{text!r}: {len(offsets)} points")
    if config.max_deviation > 0 and keep.any():
        figures = np.array([per_character(o, t, x_height) for o, t, _ in pieces])
        for column, (name, reason) in enumerate([("ink width per character (x-heights)", WIDTH_MISMATCH),
                                                 ("points per character", POINTS_MISMATCH)]):
            low, high = robust_range(figures[keep, column], config.max_deviation)
            report.ranges[name] = [low, high]
            outside = keep & ((figures[:, column] < low) | (figures[:, column] > high))
            for i in np.flatnonzero(outside):
                _, text, writer = pieces[i]
                report.drop(reason, contributor_of(dataset.writers[writer]),
                            f"{text[:60]!r}: {figures[i, column]:.3g}")
            keep &= ~outside

    kept = [p for p, k in zip(pieces, keep) if k]
    if not kept:
        raise HandwritingError(f"clean left no line of {len(dataset)} (dropped: {dict(report.dropped)})")
    for offsets, text, writer in kept:
        c = report.by_contributor[contributor_of(dataset.writers[writer])]
        c["out"] += 1
        c["chars"] += len(text)
        c["points"] += len(offsets)
    report.lines_out = len(kept)
    offsets = [o for o, _, _ in kept]
    metadata = dict(dataset.metadata)
    metadata["clean"] = {"config": asdict(config), "report": report.to_dict()}
    cleaned = StrokeDataset(
        offsets=offsets,
        texts=[t for _, t, _ in kept],
        writer_ids=np.array([w for _, _, w in kept], np.int32),
        writers=list(dataset.writers),
        scale=strokes.estimate_scale(offsets),
        metadata=metadata,
    )
    return cleaned, report
