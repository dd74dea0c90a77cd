"""Legible lines only: the OCR of ``evaluate`` reads every line of a corpus, and the training writers'
lines it cannot read are left out (``handwriting prepare legible``).

Half of the people's lines in the fluent mix read at CER > 0.12, worse than the network's own
writing at bias 2.5; 600 steps on the lines read at CER <= 0.1 wrote 11% more legibly at bias 0.75
than the same steps on every line, and the held-out writers stayed as likely (docs/training.md,
"Legible lines only"). Two rules keep such a subset a fair training set:

- the held-out writers (the writer split that ``train`` makes) keep every line, so validation
  and the realism test still judge unseen hands as they come, sloppy ones too;
- every writer keeps at least its best-read line, so the writers, and with them the split's
  shuffle, are unchanged; :func:`legible_subset` returns the validation fraction that holds out
  the same writers in the smaller file.

Reading is the slow part (about 0.15 s a line on one core): :func:`read_dataset_lines` keeps its
readings in a cache file that an interrupted run resumes from and that other thresholds reuse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from ..datasets.format import StrokeDataset, split_by_writer
from ..errors import HandwritingError
from ..fileio import atomic_path
from ..strokes import offsets_to_coords
from .evaluate import character_error_rate, line_image
from .human_styles import lifts_per_char

READINGS_VERSION = 1


class LineReader(Protocol):
    """What reads a line image: :class:`handwriting.tools.evaluate.OcrReader`, or a test's stand-in."""

    def read(self, image: np.ndarray) -> str: ...


@dataclass
class LegibleConfig:
    """Options of ``handwriting prepare legible`` (mirrored as flags)."""

    max_cer: float = field(default=0.1, metadata={
        "help": "a training writer's line is kept when the OCR reads it at a character error rate <= this"})
    exempt_parts: tuple[str, ...] = field(default=("fonts",), metadata={
        "help": "mix parts whose lines are all kept (PART in a writer named PART:name)"})
    max_lifts_per_char: float | None = field(default=None, metadata={
        "help": "also keep a judged line only where the pen lifts at most this often per character other than a "
                "space: joined and part-joined hands (0.8, as release names a hand; default: any hand)"})

    def __post_init__(self) -> None:
        if not self.max_cer >= 0:
            raise HandwritingError(f"max_cer must be at least 0, got {self.max_cer}")
        if self.max_lifts_per_char is not None and not self.max_lifts_per_char > 0:
            raise HandwritingError(f"max_lifts_per_char must be above 0, got {self.max_lifts_per_char}")
        self.exempt_parts = tuple(self.exempt_parts)


def dataset_fingerprint(dataset: StrokeDataset) -> str:
    """A hash of every line's ink and text, so readings are never applied to another file's lines."""
    digest = hashlib.sha256()
    for offsets, text in zip(dataset.offsets, dataset.texts):
        digest.update(np.ascontiguousarray(offsets, np.float32).tobytes())
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()


@dataclass
class LineReadings:
    """What the OCR read in each line of a dataset of ``S`` lines.

    Attributes:
        readings: ``[S]`` the text read ("" where not read yet).
        cer: ``[S]`` float64 character error rate against the line's text; NaN where not read yet
            or where the text has no letters or digits to score.
        done: ``[S]`` bool, the lines read so far.
        fingerprint: :func:`dataset_fingerprint` of the dataset read.
    """

    readings: list[str]
    cer: np.ndarray
    done: np.ndarray
    fingerprint: str

    @classmethod
    def empty(cls, dataset: StrokeDataset) -> "LineReadings":
        n = len(dataset)
        return cls([""] * n, np.full(n, np.nan), np.zeros(n, bool), dataset_fingerprint(dataset))

    def save(self, path: Path) -> None:
        """Write atomically: an interrupted save leaves the previous file."""
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, version=READINGS_VERSION, readings=np.array(self.readings, dtype=str), cer=self.cer,
                     done=self.done, fingerprint=self.fingerprint)

    @classmethod
    def load(cls, path: Path, dataset: StrokeDataset) -> "LineReadings":
        """The readings in ``path``; raises :class:`HandwritingError` when they are of other lines."""
        try:
            with np.load(path) as f:
                version, fingerprint = int(f["version"]), str(f["fingerprint"])
                readings = cls([str(r) for r in f["readings"]], f["cer"].astype(np.float64),
                               f["done"].astype(bool), fingerprint)
        except (OSError, ValueError, KeyError) as exc:
            raise HandwritingError(f"{path}: not a readings file ({exc})") from None
        if version != READINGS_VERSION:
            raise HandwritingError(f"{path}: readings format {version}, this version reads {READINGS_VERSION}")
        if fingerprint != dataset_fingerprint(dataset):
            raise HandwritingError(f"{path}: the readings are of another dataset's lines (give a new --readings)")
        return readings


def read_line(reader: LineReader, offsets: np.ndarray, text: str) -> tuple[str, float]:
    """What ``reader`` reads in one line's ``[N, 3]`` offsets, as ``evaluate`` reads written lines,
    and its CER against ``text`` (NaN when ``text`` has no letters or digits)."""
    reading = reader.read(line_image(offsets_to_coords(offsets)))
    try:
        return reading, character_error_rate(text, reading)
    except HandwritingError:
        return reading, float("nan")


def read_dataset_lines(dataset: StrokeDataset, reader: LineReader, cache: Path | None = None,
                       progress: Callable[[int, int], None] | None = None,
                       save_every: int = 500) -> LineReadings:
    """Read every line of ``dataset``, resuming from and saving to ``cache`` (every ``save_every``
    lines and when stopped) when it is given."""
    readings = LineReadings.load(cache, dataset) if cache is not None and cache.exists() else None
    readings = readings or LineReadings.empty(dataset)
    todo = np.flatnonzero(~readings.done)
    total, done = len(dataset), int(readings.done.sum())
    try:
        for k, i in enumerate(todo, 1):
            readings.readings[i], readings.cer[i] = read_line(reader, dataset.offsets[i], dataset.texts[i])
            readings.done[i] = True
            if progress is not None:
                progress(done + k, total)
            if cache is not None and k % save_every == 0:
                readings.save(cache)
    finally:
        if cache is not None and len(todo):
            readings.save(cache)
    return readings


@dataclass
class LegibleSelection:
    """Which lines :func:`select_legible` keeps, and the split that holds out the same writers."""

    keep: np.ndarray  # [S] bool
    held_out: np.ndarray  # the held-out writers' line indices in the source, as split_by_writer gives them
    validation_fraction: float  # train --validation-fraction for the kept lines
    counts: dict[str, int]  # lines per group: judged, judged_kept, exempt, held_out, rescued

    def summary(self) -> str:
        c = self.counts
        return (f"kept {c['judged_kept']} of the training writers' {c['judged']} judged lines "
                f"({c['rescued']} only as their writer's best-read line), all {c['exempt']} exempt lines "
                f"and all {c['held_out']} held-out lines")


def select_legible(dataset: StrokeDataset, cer: np.ndarray, config: LegibleConfig, validation_fraction: float,
                   seed: int = 0) -> LegibleSelection:
    """The lines to keep: the training writers' lines read at CER <= ``config.max_cer`` (lines with
    nothing to score kept) and, with ``config.max_lifts_per_char``, lifting the pen at most that often
    per character; every line of an exempt part and of a held-out writer
    (``split_by_writer(dataset, validation_fraction, seed)``); and each writer's best-read line (of
    the hand asked for, where it has one)."""
    if len(cer) != len(dataset):
        raise HandwritingError(f"{len(cer)} readings for {len(dataset)} lines")
    ids = np.asarray(dataset.writer_ids)
    train, held_out = split_by_writer(dataset, validation_fraction, seed)
    exempt_writer = np.array([w.partition(":")[0] in config.exempt_parts and ":" in w for w in dataset.writers])
    exempt = exempt_writer[ids]
    keep = np.zeros(len(dataset), bool)
    keep[held_out] = True
    keep[exempt] = True
    judged = np.zeros(len(dataset), bool)
    judged[train] = ~exempt[train]
    hand_ok = np.ones(len(dataset), bool) if config.max_lifts_per_char is None else \
        pen_lifts_per_char(dataset) <= config.max_lifts_per_char
    keep |= judged & hand_ok & ~(np.nan_to_num(cer, nan=0.0) > config.max_cer)
    judged_kept = int((keep & judged).sum())
    lost = np.flatnonzero((np.bincount(ids, minlength=len(dataset.writers)) > 0)
                          & (np.bincount(ids, weights=keep, minlength=len(dataset.writers)) == 0))
    for w in lost:  # a writer with no line left would reshuffle the split; the hand asked for comes first
        rows = np.flatnonzero(ids == w)
        keep[rows[np.lexsort((np.nan_to_num(cer[rows], nan=0.0), ~hand_ok[rows]))[0]]] = True
    fraction = same_split_fraction(len(held_out), int(keep.sum()))
    counts = {"judged": int(judged.sum()), "judged_kept": judged_kept + len(lost), "exempt": int(exempt.sum()),
              "held_out": len(held_out), "rescued": len(lost)}
    return LegibleSelection(keep, held_out, fraction, counts)


def pen_lifts_per_char(dataset: StrokeDataset) -> np.ndarray:
    """``[lines]`` each line's pen lifts per character other than a space (:func:`human_styles.lifts_per_char`)."""
    return np.array([lifts_per_char(offsets, text) for offsets, text in zip(dataset.offsets, dataset.texts)])


def same_split_fraction(held_out_lines: int, lines: int) -> float:
    """The ``validation_fraction`` under which ``split_by_writer`` on a subset that kept every writer
    and every held-out line holds out the same writers.

    The split takes shuffled writers until it has ``fraction * lines`` lines; the shuffle is the
    same (the same writers, the same seed), so a target just under ``held_out_lines`` stops after
    the same writer.
    """
    return (held_out_lines - 0.5) / lines if held_out_lines else 0.0


def legible_subset(dataset: StrokeDataset, readings: LineReadings, config: LegibleConfig,
                   validation_fraction: float, seed: int = 0) -> tuple[StrokeDataset, LegibleSelection]:
    """The lines :func:`select_legible` keeps, as a dataset that remembers how it was chosen.

    Raises :class:`HandwritingError` when lines are unread or the smaller file's split would hold
    out other writers (which the rules above prevent).
    """
    if len(readings.done) != len(dataset) or not readings.done.all():
        raise HandwritingError(f"{int((~readings.done).sum())} of {len(dataset)} lines are not read yet")
    selection = select_legible(dataset, readings.cer, config, validation_fraction, seed)
    kept_rows = np.flatnonzero(selection.keep)
    subset = dataset.subset(kept_rows)
    _, held_out_after = split_by_writer(subset, selection.validation_fraction, seed)
    if not np.array_equal(kept_rows[held_out_after], selection.held_out):
        raise HandwritingError("the legible subset's writer split holds out other writers")
    subset.metadata = dict(dataset.metadata, legible_subset={
        "max_cer": config.max_cer, "exempt_parts": list(config.exempt_parts),
        "max_lifts_per_char": config.max_lifts_per_char, "split_seed": seed,
        "validation_fraction_of_source": validation_fraction,
        "validation_fraction": selection.validation_fraction, "lines_of_source": len(dataset)})
    return subset, selection
