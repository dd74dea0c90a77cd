"""Measuring adaptation on held-out UNIPEN writers, who stand in for users (docs/adaptation.md).

Each chosen writer (:func:`choose_writers`: the held-out writers of the checkpoint's split with
the most lines) gives a pool of :data:`POOL_LINES` lines to adapt on and :data:`TARGET_LINES`
other lines whose texts are written and compared with their real lines:

* :func:`study`: the method's choices (layers, rank, penalty, learning rate) by the NLL per point
  of the writer's *held-out* target lines after 25, 50, 100, ... steps, and the time taken;
* :func:`evaluate`: priming alone against adaptation on the first 5 and 10 pool lines (the
  adapted styles written as ``Hand`` writes them, unprimed, and the 10-line one primed on top as
  well, all with the same line's slant); per writer
  the writer-matched realism AUC of their real target lines against ours (:func:`writer_matched_aucs`),
  the OCR's CER and the adaptation's seconds; then the means, the AUC over all writers' lines and
  the line features that most tell each condition from its writers (:func:`writer_feature_gaps`).

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
#: The condition written by the adapted network primed on top ("priming on top" measured; an
#: adapted style itself writes unprimed: writing.hand.prime_of).
PRIMED = "primed"
#: A condition adapted on the lines other than the prime (then primed with it on top).
HELD_OUT_PRIME = "prime-held-out"
#: A condition's token scaling its deltas before writing ("adapt-10 strength=0.5": the network
#: halfway between the base and the adapted one, as in WiSE-FT, Wortsman et al. 2022); the
#: adaptation itself is shared with the other conditions of the same key.
STRENGTH = "strength="
#: The condition reading the writer's real target lines: the OCR's CER of the people themselves
#: (no AUC: they are the lines every condition is compared with).
REAL = "real"
#: Lines of each kind in :func:`evaluate`'s picture.
PICTURE_LINES = 2
#: Inches per x-height in that picture.
PICTURE_INCHES_PER_X_HEIGHT = 0.25


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
             counts: Sequence[int] = ADAPT_COUNTS, say: Callable[[str], None] = print,
             picture: Path | None = None, picture_lines: int = PICTURE_LINES,
             conditions: Sequence[str] | None = None, lines_out: Path | None = None) -> dict:
    """Priming alone against adaptation on ``counts`` lines, per writer and in the mean (module
    docstring); ``picture``: the first writer's real lines, primed and adapted, saved as an image;
    ``lines_out``: every real and written line, for a closer look (:func:`save_lines`)."""
    from ..checkpoint import resolve
    from ..training.adapt import adapt, line_fit
    from ..writing.hand import Style
    from ..writing.personal import base_weights_hash, save_personal_model, scale_deltas
    from .adaptation import prime_line, rehearsal_set
    from .evaluate import OcrReader, score_lines
    reader = OcrReader()
    base_hash = base_weights_hash(resolve(hand.checkpoint))
    conditions = list(conditions or ["priming"] + [f"adapt-{n}" for n in counts] + [f"adapt-{max(counts)} {PRIMED}"])
    per_writer, pooled = [], {c: [] for c in conditions}
    with tempfile.TemporaryDirectory() as folder:
        for w in writers:
            prime = prime_line([Style("p", t, o) for o, t in zip(w.pool[: min(counts)], w.pool_texts)])
            rehearsal = (rehearsal_set(hand.sampler, prime, config.rehearsal_lines, seed, config.rehearsal_bias)
                         if config.rehearsal_lines else None)
            adapted: dict[str, dict] = {}  # key -> the deltas adapted
            fit = line_fit(model, w.pool, w.pool_texts)
            row = {"writer": w.name, "prime": prime.text, "fit": [round(float(f), 2) for f in fit]}
            for condition in conditions:
                style = Style(w.name, prime.text, prime.offsets)
                key = condition.split()[0] + (" " + HELD_OUT_PRIME if HELD_OUT_PRIME in condition else "")
                if key.startswith("adapt"):
                    if key not in adapted:
                        n = int(key.split()[0].split("-")[1])
                        usable = [i for i in range(n) if fit[i] >= config.min_fit  # as style add --adapt checks
                                  and not (HELD_OUT_PRIME in key and w.pool_texts[i] == prime.text)]
                        result = adapt(model, [w.pool[i] for i in usable], [w.pool_texts[i] for i in usable], config,
                                       rehearsal=rehearsal)
                        row[f"{key} lines"] = len(usable)
                        adapted[key] = result.deltas
                        row[f"{key} seconds"], row[f"{key} steps"] = round(result.seconds, 1), result.steps
                    path = Path(folder) / f"{len(per_writer)}-{conditions.index(condition)}.adapt.npz"
                    deltas = scale_deltas(adapted[key], condition_strength(condition, config.strength))
                    style = dataclasses.replace(style, personal_model=save_personal_model(path, deltas, base_hash))
                if condition == REAL:
                    written = list(w.target_coords)
                else:
                    written = write_texts(hand, style, w.target_texts, bias, seed, primed=condition.endswith(PRIMED))
                scores = score_lines(condition, w.target_texts, written, reader)
                row[f"{condition} cer"] = float(np.mean([s.cer for s in scores]))
                pooled[condition].append(written)
            if picture is not None and w is writers[0]:
                rows = [(f"real ({w.name})", c) for c in w.target_coords[:picture_lines]]
                for condition in conditions:
                    rows += [(condition, c) for c in pooled[condition][0][:picture_lines]]
                comparison_figure(rows, picture)
            say(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
            per_writer.append(row)
    human = [c for w in writers for c in w.target_coords]
    texts = [t for w in writers for t in w.target_texts]
    if lines_out is not None:
        save_lines(lines_out, writers, pooled)
    owner = [k for k, w in enumerate(writers) for _ in w.target_texts]
    real = _line_features(human, texts)
    summary = {}
    for c in conditions:
        if c == REAL:
            summary[c] = {"cer": float(np.mean([r[f"{c} cer"] for r in per_writer]))}
            continue
        ours = _line_features([x for lines in pooled[c] for x in lines], texts)
        pooled_auc, aucs = _matched_aucs(real, ours, texts, owner, seed)
        for row, auc in zip(per_writer, aucs):
            row[f"{c} auc"] = auc
        summary[c] = {"auc": float(np.mean(aucs)), "cer": float(np.mean([r[f"{c} cer"] for r in per_writer])),
                      "pooled auc": pooled_auc,
                      "feature gaps": _feature_gaps(real, ours, owner)}
        if c.startswith("adapt") and not c.endswith(PRIMED) and STRENGTH not in c:
            summary[c]["seconds max"] = float(max(r[f"{c} seconds"] for r in per_writer))
    return {"writers": per_writer, "mean": summary, "bias": bias, "seed": seed}


def save_lines(path: Path, writers: Sequence[WriterLines], written: dict[str, list[list[np.ndarray]]]) -> None:
    """An ``.npz`` of each writer's target texts (``texts/K``, ``K`` the writer's place), real lines
    (``real/K/J``) and lines written in each condition (``CONDITION/K/J``): ``[N, 3]`` coords."""
    from ..fileio import atomic_path

    arrays = {}
    for k, w in enumerate(writers):
        arrays[f"texts/{k}"] = np.array(w.target_texts)
        arrays.update({f"real/{k}/{j}": c for j, c in enumerate(w.target_coords)})
        for condition, lines in written.items():
            arrays.update({f"{condition}/{k}/{j}": c for j, c in enumerate(lines[k])})
    with atomic_path(path, ".npz") as tmp:
        np.savez_compressed(tmp, **arrays)


def condition_strength(condition: str, default: float = 1.0) -> float:
    """The ``strength=X`` of a condition's tokens; ``default`` (the adaptation's own
    ``AdaptConfig.strength``, as ``style add --adapt --strength`` saves it) when it has none."""
    tokens = [t for t in condition.split() if t.startswith(STRENGTH)]
    return float(tokens[0][len(STRENGTH):]) if tokens else default


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


def writer_matched_aucs(human: Sequence[np.ndarray], generated: Sequence[np.ndarray], texts: Sequence[str],
                        owner: Sequence[int], seed: int = 0) -> tuple[float, list[float]]:
    """``(AUC over all lines, AUC per writer)`` of the realism classifier telling each writer's real
    lines from ours of the same texts.

    Ten lines of one writer are too few to train the classifier on (its trees need 20 lines a
    leaf), so it is trained on every writer's lines (:func:`.realism.line_features`, folds grouped
    by text as in :func:`.realism.realism_auc`) and each line's out-of-fold score is kept; a writer's
    AUC is then that of their own real and generated lines.
    """
    return _matched_aucs(_line_features(human, texts), _line_features(generated, texts), texts, owner, seed)


def _matched_aucs(real: np.ndarray, ours: np.ndarray, texts: Sequence[str], owner: Sequence[int],
                  seed: int) -> tuple[float, list[float]]:
    """:func:`writer_matched_aucs` of the lines' ``[N, F]`` features."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold, cross_val_predict

    from .realism import DEFAULT_FOLDS, make_classifier

    features = np.concatenate([real, ours])
    labels = np.r_[np.zeros(len(real)), np.ones(len(ours))]
    names = {t: k for k, t in enumerate(dict.fromkeys(texts))}  # a text written by two writers is one group
    groups = np.array([names[t] for t in [*texts, *texts]])
    scores = cross_val_predict(make_classifier(seed), features, labels, groups=groups, method="predict_proba",
                               cv=GroupKFold(n_splits=min(DEFAULT_FOLDS, len(names))))[:, 1]
    owner = np.r_[owner, owner]
    per_writer = [float(roc_auc_score(labels[owner == k], scores[owner == k])) for k in np.unique(owner)]
    return float(roc_auc_score(labels, scores)), per_writer


def writer_feature_gaps(human: Sequence[np.ndarray], generated: Sequence[np.ndarray], texts: Sequence[str],
                        owner: Sequence[int], top: int = 5) -> dict[str, dict[str, float]]:
    """What gives a condition away: for each :data:`.realism.FEATURE_NAMES` feature, how far a
    writer's real lines and ours of the same texts lie apart (the difference of their medians, in
    units of the real lines' spread over all writers), over writers: ``gap`` the mean distance,
    ``ours - real`` the mean signed difference. The ``top`` largest gaps, largest first. A gap of
    0 is a copy; 1 is as far apart as one typical writer from another."""
    return _feature_gaps(_line_features(human, texts), _line_features(generated, texts), owner, top)


def _feature_gaps(real: np.ndarray, ours: np.ndarray, owner: Sequence[int], top: int = 5) -> dict[str, dict[str, float]]:
    """:func:`writer_feature_gaps` of the lines' ``[N, F]`` features."""
    from .realism import FEATURE_NAMES

    owner = np.asarray(owner)
    spread = np.maximum(real.std(axis=0), 1e-9)
    differences = np.array([np.median(ours[owner == k], axis=0) - np.median(real[owner == k], axis=0)
                            for k in np.unique(owner)]) / spread
    gaps = np.abs(differences).mean(axis=0)
    return {FEATURE_NAMES[i]: {"gap": round(float(gaps[i]), 3), "ours - real": round(float(differences[:, i].mean()), 3)}
            for i in np.argsort(-gaps)[:top]}


def _line_features(lines: Sequence[np.ndarray], texts: Sequence[str]) -> np.ndarray:
    """``[N, F]`` :func:`.realism.line_features` of each line, NaN as 0."""
    from .realism import line_features

    return np.nan_to_num(np.array([line_features(c, t) for c, t in zip(lines, texts)]))


def write_texts(hand, style, texts: Sequence[str], bias: float, seed: int, primed: bool = False) -> list[np.ndarray]:
    """``[N, 3]`` coords of each text written in ``style`` as ``Hand.write_lines`` writes it, or
    ``primed`` with the style's line on top of its personal network (sheared to its slant too)."""
    if not primed:
        return hand.write_lines(list(texts), style=style, bias=bias, seed=seed)[0]
    batch = hand.sampler_for(style).sample(list(texts), bias=bias, seed=seed, prime=(style.offsets, style.text),
                                           line_ids=list(range(len(texts))))
    return [strokes.set_slant(strokes.offsets_to_coords(o), style.slant) for o in batch.offsets]


def comparison_figure(rows: Sequence[tuple[str, np.ndarray]], path: Path) -> None:
    """Lines (``[N, 3]`` coords, y up, any units) one under another, each at the same x-height,
    with its caption; written atomically as PNG."""
    from ..fileio import atomic_path
    from .plots import _figure_module, draw_strokes

    plt = _figure_module()
    scaled = []
    for caption, coords in rows:
        c = np.asarray(coords, np.float64).copy()
        c[:, :2] /= max(strokes.estimate_x_height(c), 1e-6)
        scaled.append((caption, c))
    width = max(np.ptp(c[:, 0]) for _, c in scaled) * PICTURE_INCHES_PER_X_HEIGHT
    heights = [max(np.ptp(c[:, 1]), 1.0) * PICTURE_INCHES_PER_X_HEIGHT + 0.3 for _, c in scaled]
    fig, axes = plt.subplots(len(rows), 1, figsize=(width, sum(heights)), gridspec_kw={"height_ratios": heights},
                             squeeze=False)
    for ax, (caption, c) in zip(axes[:, 0], scaled):
        draw_strokes(ax, strokes.coords_to_offsets(c))
        ax.set_anchor("W")
        ax.set_title(caption, fontsize=8, loc="left", color="#555555")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
