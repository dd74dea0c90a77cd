"""The dataset file: one versioned ``.npz`` holding every sample of a corpus.

Arrays in the file (format version ``DATASET_VERSION``):

- ``version``: int, the format version.
- ``points``: ``[P, 3]`` float32, every sample's offsets ``(dx, dy, pen_up)`` concatenated,
  in source units after preprocessing (not divided by the scale).
- ``lengths``: ``[S]`` int64, points per sample; ``sum(lengths) == P``.
- ``texts``: ``[S]`` unicode, each sample's text.
- ``writer_ids``: ``[S]`` int32, index into ``writers``.
- ``writers``: ``[W]`` unicode, writer (or synthetic writer / style) names.
- ``scale``: float64, the standard deviation of the steps (see ``strokes.estimate_scale``);
  training divides offsets by it and writing multiplies it back.
- ``metadata``: a JSON string: provenance (source, command, seed, ...) and the alphabet.

Writes are atomic and every load is validated: a bad file raises :class:`DatasetError`
with one clear line.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import alphabet
from ..errors import DatasetError
from ..fileio import atomic_path

DATASET_VERSION = 1
_REQUIRED = ("version", "points", "lengths", "texts", "writer_ids", "writers", "scale", "metadata")


@dataclass
class StrokeDataset:
    """A corpus of handwritten lines in memory.

    Attributes:
        offsets: per sample, ``[N_i, 3]`` float32 offsets in source units.
        texts: per sample, its text (characters of the alphabet only).
        writer_ids: ``[S]`` int32, index into ``writers`` for each sample.
        writers: writer names; one synthetic writer per simulated hand for font corpora.
        scale: the dataset scale (std of steps); offsets / scale is what the model sees.
        metadata: provenance and anything else worth keeping, JSON-serialisable.
    """

    offsets: list[np.ndarray]
    texts: list[str]
    writer_ids: np.ndarray
    writers: list[str]
    scale: float
    metadata: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def validate(self) -> None:
        """Raise :class:`DatasetError` naming the first inconsistency found."""
        n = len(self.texts)
        if n == 0:
            raise DatasetError("dataset has no samples")
        if len(self.offsets) != n or len(self.writer_ids) != n:
            raise DatasetError(
                f"mismatched arrays: {len(self.offsets)} stroke arrays, {n} texts, "
                f"{len(self.writer_ids)} writer ids"
            )
        for i, o in enumerate(self.offsets):
            if o.ndim != 2 or o.shape[1] != 3 or len(o) == 0:
                raise DatasetError(f"sample {i}: strokes must be a non-empty [N, 3] array, got {o.shape}")
            if not np.isfinite(o).all():
                raise DatasetError(f"sample {i}: strokes contain NaN or infinite values")
        for i, text in enumerate(self.texts):
            if not text.strip():
                raise DatasetError(f"sample {i}: empty text")
            unknown = alphabet.unknown_characters(text)
            if unknown:
                raise DatasetError(
                    f"sample {i}: characters outside the alphabet: {alphabet.describe_unknown(unknown)}"
                )
        ids = np.asarray(self.writer_ids)
        if ids.min() < 0 or ids.max() >= len(self.writers):
            raise DatasetError(f"writer ids must lie in 0..{len(self.writers) - 1}")
        if not np.isfinite(self.scale) or self.scale <= 0:
            raise DatasetError(f"invalid scale {self.scale}")

    def subset(self, indices: Sequence[int]) -> "StrokeDataset":
        """A new dataset with the samples at ``indices`` (same writers list, scale, metadata)."""
        idx = np.asarray(indices, dtype=np.int64)
        return StrokeDataset(
            offsets=[self.offsets[i] for i in idx],
            texts=[self.texts[i] for i in idx],
            writer_ids=np.asarray(self.writer_ids)[idx].astype(np.int32),
            writers=list(self.writers),
            scale=self.scale,
            metadata=dict(self.metadata),
        )


def save_dataset(dataset: StrokeDataset, path: str | os.PathLike) -> None:
    """Validate and write ``dataset`` to ``path`` atomically (temporary file, then rename)."""
    dataset.validate()
    lengths = np.array([len(o) for o in dataset.offsets], dtype=np.int64)
    metadata = dict(dataset.metadata)
    metadata.setdefault("alphabet", alphabet.alphabet_config())
    arrays = dict(
        version=np.int64(DATASET_VERSION),
        points=np.concatenate(dataset.offsets).astype(np.float32),
        lengths=lengths,
        texts=np.array(dataset.texts, dtype=np.str_),
        writer_ids=np.asarray(dataset.writer_ids, dtype=np.int32),
        writers=np.array(dataset.writers, dtype=np.str_),
        scale=np.float64(dataset.scale),
        metadata=np.array(json.dumps(metadata, sort_keys=True)),
    )
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


def load_dataset(path: str | os.PathLike) -> StrokeDataset:
    """Read and validate a dataset file.

    Raises:
        DatasetError: missing or truncated file, unknown version, ragged or mismatched
            arrays, NaN/inf strokes, characters outside the alphabet.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"dataset file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in _REQUIRED if k not in npz.files]
            if missing:
                raise DatasetError(f"{path}: not a handwriting dataset (missing {', '.join(missing)})")
            version = int(npz["version"])
            if version != DATASET_VERSION:
                raise DatasetError(
                    f"{path}: dataset format version {version} is not supported (this package reads {DATASET_VERSION})"
                )
            data = {k: npz[k] for k in _REQUIRED}
    except DatasetError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise DatasetError(f"{path}: unreadable or truncated dataset file ({exc.__class__.__name__}: {exc})") from None

    points, lengths = data["points"], data["lengths"].astype(np.int64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise DatasetError(f"{path}: points must be [P, 3], got {points.shape}")
    if (lengths <= 0).any() or lengths.sum() != len(points):
        raise DatasetError(f"{path}: ragged arrays: lengths sum to {lengths.sum()} but there are {len(points)} points")
    if not (len(lengths) == len(data["texts"]) == len(data["writer_ids"])):
        raise DatasetError(
            f"{path}: mismatched arrays: {len(lengths)} lengths, {len(data['texts'])} texts, "
            f"{len(data['writer_ids'])} writer ids"
        )
    try:
        metadata = json.loads(str(data["metadata"]))
    except json.JSONDecodeError:
        raise DatasetError(f"{path}: metadata is not valid JSON") from None
    if "alphabet" in metadata and metadata["alphabet"] != alphabet.alphabet_config():
        raise DatasetError(f"{path}: made with alphabet version {metadata['alphabet'].get('version')}, "
                           f"this package uses version {alphabet.ALPHABET_VERSION}")
    dataset = StrokeDataset(
        offsets=np.split(points.astype(np.float32), np.cumsum(lengths)[:-1]),
        texts=[str(t) for t in data["texts"]],
        writer_ids=data["writer_ids"].astype(np.int32),
        writers=[str(w) for w in data["writers"]],
        scale=float(data["scale"]),
        metadata=metadata,
    )
    try:
        dataset.validate()
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from None
    return dataset


def split_by_writer(
    dataset: StrokeDataset, validation_fraction: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into train and validation so no writer appears in both.

    Writers are shuffled with ``seed`` and assigned to validation until it holds at least
    ``validation_fraction`` of the samples. With a single writer everything is training data.

    Returns:
        ``(train_indices, validation_indices)``, each sorted int64.
    """
    if not 0 <= validation_fraction < 1:
        raise ValueError("validation_fraction must be in [0, 1)")
    ids = np.asarray(dataset.writer_ids)
    writers = np.unique(ids)
    rng = np.random.default_rng(seed)
    rng.shuffle(writers)
    counts = {w: int((ids == w).sum()) for w in writers}
    target = validation_fraction * len(ids)
    chosen, taken = [], 0
    for w in writers[:-1]:  # always leave at least one writer for training
        if taken >= target:
            break
        chosen.append(w)
        taken += counts[w]
    val_mask = np.isin(ids, chosen)
    return np.flatnonzero(~val_mask), np.flatnonzero(val_mask)


def dataset_summary(dataset: StrokeDataset) -> dict:
    """Figures ``handwriting info`` prints: samples, writers, points and characters per sample."""
    points = np.array([len(o) for o in dataset.offsets])
    chars = np.array([len(t) for t in dataset.texts])
    return {
        "samples": len(dataset),
        "writers": len(np.unique(dataset.writer_ids)),
        "points_mean": float(points.mean()),
        "points_max": int(points.max()),
        "chars_mean": float(chars.mean()),
        "chars_max": int(chars.max()),
        "points_per_char": float(points.sum() / max(chars.sum(), 1)),
        "scale": dataset.scale,
        "metadata": dataset.metadata,
    }
