"""Measuring adaptation on held-out UNIPEN writers, who stand in for users (docs/adaptation.md).

Each chosen writer (:func:`choose_writers`: the held-out writers of the checkpoint's split with
the most lines) gives a pool of :data:`POOL_LINES` lines to adapt on and :data:`TARGET_LINES`
other lines whose texts are written and compared with their real lines:

* :func:`study`: the method's choices (layers, rank, penalty, learning rate) by the NLL per point
  of the writer's *held-out* target lines after 25, 50, 100, ... steps, and the time taken;
* :func:`evaluate`: priming alone against adaptation on the first 5 and 10 pool lines, all primed
  with the same line; per writer the writer-matched realism AUC (:func:`.realism.realism_auc`
  of their real target lines against ours, folds grouped by text), the OCR's CER and the
  adaptation's seconds; then the means and the AUC of all writers' lines pooled.

Lines are the dataset's, divided by the checkpoint's scale (as the model trained on them).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .. import strokes

#: Lines of each writer adapted on (the first 5 and all 10 are the two conditions) ...
POOL_LINES = 10
ADAPT_COUNTS = (5, 10)
#: ... and lines whose texts are written and compared with the real ones.
TARGET_LINES = 10
#: A writer takes part with at least this many held-out lines whose median text has at least
#: :data:`MIN_MEDIAN_CHARS` characters (single words are not lines of handwriting).
MIN_MEDIAN_CHARS = 10
WRITERS = 10
STUDY_STEPS = (10, 25, 50, 100)


@dataclasses.dataclass
class WriterLines:
    """One writer's pool and target lines: normalised offsets and texts."""

    name: str
    pool: list[np.ndarray]
    pool_texts: list[str]
    targets: list[np.ndarray]
    target_texts: list[str]
    target_coords: list[np.ndarray]  # the real target lines as coords (dataset units)


def choose_writers(dataset, validation_fraction: float, scale: float, seed: int = 0,
                   count: int = WRITERS) -> list[WriterLines]:
    """The ``count`` held-out writers with the most lines (at least pool + targets, median text
    of :data:`MIN_MEDIAN_CHARS` characters or more), each line set in a seeded order."""
    from .realism import held_out_indices

    by_writer: dict[int, list[int]] = {}
    for i in held_out_indices(dataset, validation_fraction, seed):
        by_writer.setdefault(int(dataset.writer_ids[i]), []).append(i)
    eligible = [w for w, lines in by_writer.items() if len(lines) >= POOL_LINES + TARGET_LINES
                and np.median([len(dataset.texts[i]) for i in lines]) >= MIN_MEDIAN_CHARS]
    eligible.sort(key=lambda w: (-len(by_writer[w]), w))
    rng = np.random.default_rng(seed)
    chosen = []
    for w in eligible[:count]:
        lines = [int(i) for i in rng.permutation(by_writer[w])]
        pool, targets = lines[:POOL_LINES], lines[POOL_LINES: POOL_LINES + TARGET_LINES]
        norm = lambda ids: [strokes.normalise_offsets(dataset.offsets[i], scale) for i in ids]  # noqa: E731
        chosen.append(WriterLines(dataset.writers[w], norm(pool), [dataset.texts[i] for i in pool], norm(targets),
                                  [dataset.texts[i] for i in targets],
                                  [strokes.offsets_to_coords(dataset.offsets[i]) for i in targets]))
    return chosen


def study(model, writers: Sequence[WriterLines], variants: dict[str, dict], lines: int = POOL_LINES,
          steps: Sequence[int] = STUDY_STEPS, say: Callable[[str], None] = print) -> list[dict]:
    """For each variant (:class:`~handwriting.training.adapt.AdaptConfig` fields) and writer: the
    target lines' NLL per point before and after ``steps`` steps of adapting on ``lines`` pool lines."""
    from ..training.adapt import AdaptConfig, adapt, nll_per_point

    rows = []
    for w in writers:
        base = nll_per_point(model, w.targets, w.target_texts)
        for name, fields in variants.items():
            config = AdaptConfig(**{**fields, "steps": max(steps), "minutes": 60.0})
            row = {"writer": w.name, "variant": name, "base": base, "nll": {}, "seconds": {}}
            t0 = time.perf_counter()

            def snap(step: int, deltas: dict) -> None:
                row["seconds"][step] = time.perf_counter() - t0
                row["nll"][step] = nll_per_point(model, w.targets, w.target_texts, deltas)

            adapt(model, w.pool[:lines], w.pool_texts[:lines], config, snapshot=snap, snapshot_steps=steps)
            say(f"{w.name:24s} {name:16s} base {base:.3f} " +
                " ".join(f"{k}:{v:.3f}({row['seconds'][k]:.0f}s)" for k, v in row["nll"].items()))
            rows.append(row)
    return rows


def evaluate(hand, model, writers: Sequence[WriterLines], config, *, bias: float, seed: int = 0,
             counts: Sequence[int] = ADAPT_COUNTS, say: Callable[[str], None] = print) -> dict:
    """Priming alone against adaptation on ``counts`` lines, per writer and in the mean (module docstring)."""
    from ..checkpoint import resolve
    from ..training.adapt import adapt, line_fit
    from ..writing.hand import Style
    from ..writing.personal import base_weights_hash, save_personal_model
    from .adaptation import prime_line
    from .evaluate import OcrReader, score_lines
    from .realism import realism_auc

    reader = OcrReader()
    base_hash = base_weights_hash(resolve(hand.checkpoint))
    conditions = ["priming"] + [f"adapt-{n}" for n in counts]
    per_writer, pooled = [], {c: [] for c in conditions}
    with tempfile.TemporaryDirectory() as folder:
        for w in writers:
            prime = prime_line([Style("p", t, o) for o, t in zip(w.pool[: min(counts)], w.pool_texts)])
            row = {"writer": w.name, "prime": prime.text,
                   "fit": [round(float(f), 2) for f in line_fit(model, w.pool, w.pool_texts)]}
            for condition in conditions:
                style = Style(w.name, prime.text, prime.offsets)
                if condition != "priming":
                    n = int(condition.split("-")[1])
                    result = adapt(model, w.pool[:n], w.pool_texts[:n], config)
                    path = Path(folder) / f"{w.name.replace('/', '_')}-{n}.adapt.npz"
                    save_personal_model(path, result.deltas, base_hash)
                    style = dataclasses.replace(style, personal_model=path)
                    row[f"{condition} seconds"] = round(result.seconds, 1)
                    row[f"{condition} steps"] = result.steps
                written, _ = hand.write_lines(w.target_texts, style=style, bias=bias, seed=seed)
                scores = score_lines(condition, w.target_texts, written, reader)
                row[f"{condition} cer"] = float(np.mean([s.cer for s in scores]))
                row[f"{condition} auc"] = realism_auc(w.target_coords, written, w.target_texts, seed=seed).auc
                pooled[condition].append(written)
            say(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
            per_writer.append(row)
    human = [c for w in writers for c in w.target_coords]
    texts = [t for w in writers for t in w.target_texts]
    summary = {}
    for c in conditions:
        summary[c] = {"auc": float(np.mean([r[f"{c} auc"] for r in per_writer])),
                      "cer": float(np.mean([r[f"{c} cer"] for r in per_writer])),
                      "pooled auc": realism_auc(human, [x for lines in pooled[c] for x in lines], texts, seed=seed).auc}
        if c != "priming":
            summary[c]["seconds max"] = float(max(r[f"{c} seconds"] for r in per_writer))
    return {"writers": per_writer, "mean": summary, "bias": bias, "seed": seed}


def fit_calibration(model, dataset, validation_fraction: float, scale: float, lines: int = 200,
                    seed: int = 0) -> dict:
    """:func:`~handwriting.training.adapt.line_fit` of held-out lines with their own texts and with
    another held-out line's text (the next one, in a seeded order): percentiles of both, for
    :data:`~handwriting.training.adapt.MIN_FIT_NATS_PER_CHAR`."""
    from ..training.adapt import line_fit
    from .realism import held_out_indices

    chosen = np.random.default_rng(seed).permutation(held_out_indices(dataset, validation_fraction, seed))[:lines]
    offsets = [strokes.normalise_offsets(dataset.offsets[i], scale) for i in chosen]
    texts = [dataset.texts[i] for i in chosen]
    own = np.concatenate([line_fit(model, offsets[k: k + 20], texts[k: k + 20]) for k in range(0, len(texts), 20)])
    wrong_texts = texts[1:] + texts[:1]
    wrong = np.concatenate([line_fit(model, offsets[k: k + 20], wrong_texts[k: k + 20])
                            for k in range(0, len(texts), 20)])
    percentiles = (0, 1, 5, 50, 95, 99, 100)
    return {"lines": len(texts),
            "own": {p: float(np.percentile(own, p)) for p in percentiles},
            "another text": {p: float(np.percentile(wrong, p)) for p in percentiles}}
