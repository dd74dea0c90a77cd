"""Dataset file -> padded, masked batches bucketed by length (pure numpy).

The pipeline is numpy only, so it is backend-agnostic and exactly resumable: the batches of an
epoch are a pure function of ``(seed, epoch)``, and the data position is ``(epoch, batch index)``.
Augmentation draws from a generator seeded with ``(seed, epoch, batch index)``.

Bucketing: each epoch the training lines are shuffled, cut into groups of
``bucket_batches * batch_size`` lines, each group is sorted by length and cut into batches, and
the batches are shuffled. Lines of a batch then have similar lengths, so little is padding
(:meth:`BatchStream.padded_fraction` reports how much), while every epoch still mixes lines
differently. Lengths are rounded up to ``pad_multiple`` so a compiled train step sees few shapes.

A batch (:class:`Batch`) holds, for the offsets with their steps divided by the dataset scale (the
pen column stays 0 or 1):

* ``x`` ``[B, T, 3]``: inputs, ``x_0 = 0`` (start token) and ``x_t = offsets[t-1]``;
* ``target`` ``[B, T, 3]``: ``offsets[t]``;
* ``point_mask`` ``[B, T]``, ``chars`` ``[B, U]`` int32 ids (0 = padding), ``char_mask`` ``[B, U]``.

Rows of a validation batch beyond the number of lines are empty (all masks 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from .. import alphabet
from ..config import TrainConfig
from ..datasets.format import StrokeDataset, split_by_writer
from ..errors import HandwritingError
from ..strokes import normalise_offsets

@dataclass
class Batch:
    """One padded batch; see the module docstring for the fields."""

    x: np.ndarray
    target: np.ndarray
    point_mask: np.ndarray
    chars: np.ndarray
    char_mask: np.ndarray
    indices: np.ndarray  # [B] line indices into the stream's lines, -1 for empty rows

    @property
    def points(self) -> int:
        """Real (unpadded) points in the batch."""
        return int(self.point_mask.sum())

    def model_inputs(self) -> dict:
        return {"x": self.x, "chars": self.chars, "char_mask": self.char_mask}


def _round_up(n: int, multiple: int) -> int:
    return max(multiple, -(-n // multiple) * multiple)


def make_batch(
    offsets: Sequence[np.ndarray], chars: Sequence[np.ndarray], indices: np.ndarray, rows: int,
    pad_multiple: int, augment_rng: np.random.Generator | None = None, augment_scale: float = 0.0,
    augment_shear: float = 0.0, char_pad_multiple: int = 1,
) -> Batch:
    """Pad the lines at ``indices`` into a :class:`Batch` of ``rows`` rows (scaled offsets in): points
    to a multiple of ``pad_multiple``, characters to a multiple of ``char_pad_multiple``."""
    lengths = [len(offsets[i]) for i in indices]
    n_chars = [len(chars[i]) for i in indices]
    t = _round_up(max(lengths), pad_multiple)
    u = _round_up(max(n_chars), char_pad_multiple)
    x = np.zeros((rows, t, 3), np.float32)
    target = np.zeros((rows, t, 3), np.float32)
    point_mask = np.zeros((rows, t), np.float32)
    char_ids = np.zeros((rows, u), np.int32)
    char_mask = np.zeros((rows, u), np.float32)
    for row, i in enumerate(indices):
        o = offsets[i]
        if augment_rng is not None:
            sx, sy = np.exp(augment_rng.normal(0.0, augment_scale, 2))
            shear = augment_rng.normal(0.0, augment_shear)
            o = o.copy()
            o[:, 0] = sx * (o[:, 0] + shear * o[:, 1])
            o[:, 1] = sy * o[:, 1]
        n = len(o)
        target[row, :n] = o
        x[row, 1:n] = o[:-1]
        point_mask[row, :n] = 1.0
        char_ids[row, : len(chars[i])] = chars[i]
        char_mask[row, : len(chars[i])] = 1.0
    full = np.full(rows, -1, np.int64)
    full[: len(indices)] = indices
    return Batch(x, target, point_mask, char_ids, char_mask, full)


class BatchStream:
    """Shuffled, length-bucketed training batches; position ``(epoch, batch_index)``.

    Args:
        offsets: per line ``[N_i, 3]`` float32, already divided by the dataset scale.
        chars: per line ``[U_i]`` int32 character ids.
        config: batch size, bucketing, padding and augmentation settings.
    """

    def __init__(self, offsets: Sequence[np.ndarray], chars: Sequence[np.ndarray], config: TrainConfig):
        if len(offsets) < config.batch_size:
            raise HandwritingError(
                f"only {len(offsets)} training lines for a batch of {config.batch_size}: "
                "use a smaller train.batch_size or more data")
        self.offsets, self.chars, self.config = list(offsets), list(chars), config
        self.lengths = np.array([len(o) for o in offsets])
        self.batches_per_epoch = len(offsets) // config.batch_size

    def epoch_plan(self, epoch: int) -> list[np.ndarray]:
        """The batches (arrays of line indices) of ``epoch``, in order: a function of (seed, epoch)."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, epoch])
        order = rng.permutation(len(self.offsets))[: self.batches_per_epoch * cfg.batch_size]
        group = cfg.bucket_batches * cfg.batch_size
        batches = []
        for start in range(0, len(order), group):
            chunk = order[start: start + group]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches.extend(chunk[i: i + cfg.batch_size] for i in range(0, len(chunk), cfg.batch_size))
        return [batches[i] for i in rng.permutation(len(batches))]

    def batch(self, epoch: int, index: int, plan: list[np.ndarray] | None = None) -> Batch:
        """Batch ``index`` of ``epoch`` (augmented if configured)."""
        cfg = self.config
        plan = plan if plan is not None else self.epoch_plan(epoch)
        rng = np.random.default_rng([cfg.seed, epoch, index]) if cfg.augment else None
        return make_batch(self.offsets, self.chars, plan[index], cfg.batch_size, cfg.pad_multiple,
                          rng, cfg.augment_scale, cfg.augment_shear, cfg.char_pad_multiple)

    def iterate(self, epoch: int = 0, index: int = 0) -> Iterator[tuple[int, int, Batch]]:
        """Yield ``(epoch, index, batch)`` forever, starting at the given position."""
        while True:
            plan = self.epoch_plan(epoch)
            for i in range(index, len(plan)):
                yield epoch, i, self.batch(epoch, i, plan)
            epoch, index = epoch + 1, 0

    def padded_fraction(self, epoch: int = 0) -> float:
        """Fraction of the point slots of ``epoch``'s batches that are padding."""
        real = total = 0
        for idx in self.epoch_plan(epoch):
            t = _round_up(int(self.lengths[idx].max()), self.config.pad_multiple)
            real += int(self.lengths[idx].sum())
            total += t * self.config.batch_size
        return 1.0 - real / total


def validation_batches(offsets, chars, config: TrainConfig, limit: int = 0) -> list[Batch]:
    """Fixed validation batches of ``config.batch_size`` lines, padded as training batches are, the
    lines sorted by length (little padding); the last batch padded with empty rows."""
    order = np.argsort([len(o) for o in offsets], kind="stable")
    size = config.batch_size
    batches = [make_batch(offsets, chars, order[i: i + size], size, config.pad_multiple,
                          char_pad_multiple=config.char_pad_multiple)
               for i in range(0, len(order), size)]
    if limit and len(batches) > limit:
        pick = np.linspace(0, len(batches) - 1, limit).round().astype(int)
        batches = [batches[i] for i in pick]
    return batches


@dataclass
class PreparedData:
    """Training stream, validation batches and figures worth reporting."""

    train: BatchStream
    validation: list[Batch]
    scale: float
    train_lines: int
    validation_lines: int
    dropped_long: int


def prepare(dataset: StrokeDataset, config: TrainConfig) -> PreparedData:
    """Split by writer, drop over-long training lines, divide the steps (not the pen) by the scale,
    encode the texts."""
    train_idx, val_idx = split_by_writer(dataset, config.validation_fraction, config.seed)

    def scaled(indices):
        return [normalise_offsets(dataset.offsets[i], dataset.scale) for i in indices]

    def encoded(indices):
        return [alphabet.encode(dataset.texts[i], normalise_text=False) for i in indices]

    dropped = 0
    if config.max_points:
        keep = np.array([len(dataset.offsets[i]) <= config.max_points for i in train_idx], bool)
        dropped = int((~keep).sum())
        train_idx = train_idx[keep]
    stream = BatchStream(scaled(train_idx), encoded(train_idx), config)
    val = []
    if len(val_idx):
        val = validation_batches(scaled(val_idx), encoded(val_idx), config, config.validation_batches)
    return PreparedData(stream, val, float(dataset.scale), len(train_idx), len(val_idx), dropped)
