"""What a worker does: load its own copy of the model once, and write shards of rows.

A :class:`Job` holds everything a line depends on: the config, the corpus' texts, the styles
(their strokes, not only their names: a worker on another machine has no user styles) and the
model's files (bytes: a node needs no copy of the checkpoint). Each worker process unpacks the
model into a temporary folder, loads it with :func:`handwriting.load` (the NumPy engine) and keeps
the :class:`~handwriting.Hand` for every shard it writes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..checkpoint import CONFIG_FILE, WEIGHTS_FILE, resolve
from ..writing.hand import Hand, Style, load
from ..writing.weights import NUMPY_WEIGHTS_FILE
from .config import DatasetConfig
from .raster import render_line
from .shards import shard_bytes
from .variety import LineSpec, StyleChoice, draw_line


@dataclass(frozen=True)
class ModelFiles:
    """A checkpoint's files as bytes, by name, and their digest."""

    files: dict[str, bytes]
    fingerprint: str

    @staticmethod
    def pack(checkpoint: str | os.PathLike) -> "ModelFiles":
        """The files :func:`handwriting.load` reads from ``checkpoint`` (its config and weights)."""
        directory = resolve(checkpoint)
        names = [CONFIG_FILE, WEIGHTS_FILE] + ([NUMPY_WEIGHTS_FILE] if (directory / NUMPY_WEIGHTS_FILE).is_file() else [])
        files = {name: (directory / name).read_bytes() for name in names}
        digest = hashlib.sha256()
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
        return ModelFiles(files=files, fingerprint=digest.hexdigest())

    def load(self) -> Hand:
        """A :class:`Hand` of these files (NumPy engine), loaded from a temporary copy."""
        with tempfile.TemporaryDirectory(prefix="handwriting-model-") as folder:
            for name, data in self.files.items():
                (Path(folder) / name).write_bytes(data)
            return load(folder)


@dataclass(frozen=True)
class Job:
    """Everything a dataset's lines depend on (see the module docstring).

    Attributes:
        styles: by name, the style lines may take (``None`` for ``"none"``, unprimed).
        fingerprint: the dataset's identity (:func:`~.manifest.fingerprint`), stamped on every shard.
    """

    config: DatasetConfig
    texts: list[str]
    styles: dict[str, Style | None]
    model: ModelFiles
    fingerprint: str = ""
    choices: list[StyleChoice] = field(init=False, repr=False)

    def __post_init__(self):
        choices = [StyleChoice(name, None if style is None else float(np.degrees(style.slant)))
                   for name, style in sorted(self.styles.items())]
        object.__setattr__(self, "choices", choices)

    def spec(self, index: int) -> LineSpec:
        """Line ``index``'s variety (:func:`~.variety.draw_line`)."""
        return draw_line(self.config, index, self.texts, self.choices)


#: This process' hand: ``(model fingerprint, Hand)``.
_hand: tuple[str, Hand] | None = None


def worker_hand(model: ModelFiles) -> Hand:
    """This process' own :class:`Hand` of ``model``, loaded on first use."""
    global _hand
    if _hand is None or _hand[0] != model.fingerprint:
        _hand = (model.fingerprint, model.load())
    return _hand[1]


def write_row(hand: Hand, job: Job, index: int) -> dict:
    """Line ``index``: written alone with ``Hand.write_lines``, drawn, and labelled (a shard's row)."""
    spec = job.spec(index)
    (coords,), (hit_cap,) = hand.write_lines([spec.text], style=job.styles[spec.style], bias=spec.bias,
                                             seed=spec.seed, slant=spec.slant)
    line = render_line(coords, spec, job.config.height)
    row = spec.to_dict()
    row.update(id=row.pop("index"), image=line.png, width=line.width, height=line.height,
               strokes=line.strokes.tolist(), hit_cap=bool(hit_cap))
    return row


def write_shard(job: Job, shard: int, progress: Callable[[int], None] | None = None) -> bytes:
    """The Parquet bytes of ``shard``'s rows, written with this process' hand."""
    hand = worker_hand(job.model)
    rows = []
    for index in job.config.shard_range(shard):
        rows.append(write_row(hand, job, index))
        if progress is not None:
            progress(1)
    return shard_bytes(rows, job.fingerprint)
