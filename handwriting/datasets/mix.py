"""Mix dataset files into one training corpus (``handwriting prepare mix``).

The human corpus has few digits, capitals Q, X, Z and some punctuation; the font corpus has
them all. A mix takes every line of some datasets and a seeded random sample of lines from
others; a sampled part may also take every line holding one of some characters (the font
corpus' lines with digits, say), which gives the human corpus' rare characters more weight
without new writers. Writer names are prefixed with the part's name (``unipen:dar/isk``, ``fonts:cursive#3``)
so the writer-disjoint split stays disjoint. Two parts may share a name when their writers are
the same people: more lines by the same synthetic font writers (a corpus written with the same
seed and fonts from other texts, ``prepare fonts --texts``) join those writers, so the writer
split, which shuffles the writers, is unchanged. The parts must share the x-height units (they
are written at one size), and the mix's scale is estimated anew over all its lines. Where the
data came from is kept: ``metadata["data_source"]`` lists each part's source and line count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import strokes
from ..errors import HandwritingError
from .format import StrokeDataset


@dataclass(frozen=True)
class MixPart:
    """One dataset of a mix: all its lines (``lines=None``) or a random sample of ``lines``,
    plus, when sampled, every other line that holds one of the characters ``also_with``."""

    name: str
    dataset: StrokeDataset
    lines: int | None = None
    also_with: str = ""


def parse_part(text: str) -> tuple[str, int | None, str]:
    """``"PATH"``, ``"PATH:LINES"`` or ``"PATH:LINES+CHARS"`` -> ``(path, lines, also_with)``."""
    head, plus, also_with = text.partition("+")
    if plus and not also_with:
        raise HandwritingError(f"{text!r}: '+CHARS' needs characters after the '+' (e.g. +0123456789)")
    path, sep, count = head.rpartition(":")
    if not sep or not count.isdigit():
        if plus:
            raise HandwritingError(f"{text!r}: '+CHARS' goes with a sample, as in DATA.npz:LINES+CHARS")
        return text, None, ""
    if int(count) < 1:
        raise HandwritingError(f"{text!r}: the number of lines must be positive")
    return path, int(count), also_with


def source_of(dataset: StrokeDataset, name: str) -> dict:
    """The provenance a dataset records, or its source's name."""
    recorded = dataset.metadata.get("data_source")
    if isinstance(recorded, list):
        return {"name": name, "parts": recorded}
    return dict(recorded) if isinstance(recorded, dict) else {"name": dataset.metadata.get("source", name)}


def mix_datasets(parts: list[MixPart], seed: int = 0) -> StrokeDataset:
    """One dataset from ``parts``; sampled parts draw their lines with ``default_rng([seed, k])``."""
    if len(parts) < 2:
        raise HandwritingError("a mix needs at least two datasets")
    units = {p.dataset.metadata.get("x_height_units") for p in parts}
    if len(units) > 1:
        raise HandwritingError(f"the datasets are written at different sizes (x_height_units {sorted(map(str, units))})")
    offsets, texts, writer_names, sources = [], [], [], []
    for k, part in enumerate(parts):
        data = part.dataset
        chosen = np.arange(len(data))
        if part.lines is not None and part.lines < len(data):
            chosen = np.sort(np.random.default_rng([seed, k]).choice(len(data), part.lines, replace=False))
            if part.also_with:
                wanted = set(part.also_with)
                holding = [i for i, text in enumerate(data.texts) if wanted.intersection(text)]
                chosen = np.union1d(chosen, holding)
        offsets += [data.offsets[i] for i in chosen]
        texts += [data.texts[i] for i in chosen]
        writer_names += [f"{part.name}:{data.writers[data.writer_ids[i]]}" for i in chosen]
        sources.append({"part": part.name, **source_of(data, part.name), "lines": int(len(chosen)), "of": len(data)})
    writers = sorted(set(writer_names))
    index = {w: i for i, w in enumerate(writers)}
    mixed = StrokeDataset(offsets=offsets, texts=texts,
                          writer_ids=np.array([index[w] for w in writer_names], np.int32), writers=writers,
                          scale=strokes.estimate_scale(offsets),
                          metadata={"source": "mix", "data_source": sources, "seed": seed,
                                    "x_height_units": units.pop()})
    mixed.validate()
    return mixed


def keep_training_writers(dataset: StrokeDataset, mix: StrokeDataset, part: str, validation_fraction: float,
                          seed: int = 0) -> StrokeDataset:
    """The lines of ``dataset`` whose writers a mix's writer split trains on.

    More lines by a mix's own writers (a part named ``part``, so writer ``w`` is ``part:w`` there)
    may join that mix without changing its split only if none of them is a held-out writer's:
    the styles and the realism test stay on unseen hands. ``split_by_writer(mix,
    validation_fraction, seed)`` is the split; writers the mix does not have are dropped too (a
    new writer would reshuffle the split). The kept writers are renumbered in name order.
    """
    from .format import split_by_writer

    train_idx, _ = split_by_writer(mix, validation_fraction, seed)
    training = {mix.writers[w] for w in np.unique(np.asarray(mix.writer_ids)[train_idx])}
    keep = [i for i, w in enumerate(dataset.writer_ids) if f"{part}:{dataset.writers[w]}" in training]
    if not keep:
        raise HandwritingError(f"none of the writers is a training writer of the mix's '{part}' part")
    names = sorted({dataset.writers[dataset.writer_ids[i]] for i in keep})
    index = {name: k for k, name in enumerate(names)}
    kept = StrokeDataset([dataset.offsets[i] for i in keep], [dataset.texts[i] for i in keep],
                         np.array([index[dataset.writers[dataset.writer_ids[i]]] for i in keep], np.int32),
                         names, dataset.scale, dict(dataset.metadata))
    kept.validate()
    return kept
