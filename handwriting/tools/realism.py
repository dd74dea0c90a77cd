"""Realism: how well a classifier tells generated lines from human lines with the same texts.

Each line becomes a vector of statistics of its shape as it is seen, not of how its points were
sampled: lengths are divided by the line's x-height (:func:`strokes.estimate_x_height`) and
every stroke is resampled at :data:`RESAMPLE_SPACING` x-heights before measuring, so that the
pen's sampling rate and the corpus' point spacing (invisible once a line is drawn) tell nothing.
The statistics: ink length and pen lifts per character, the mean and spread of the turning angle
and the share of cusps, jerk, stroke lengths, letter width, height, the wander of the baseline,
the slant and the pen-up jumps, and the measures a reader sees (:mod:`.realism_measures`: gaps
between letters and ink width per character, fine-scale turning). A gradient-boosted classifier (scikit-learn) is
cross-validated on human against generated lines, with the folds grouped by text so that a
text's two lines are always on the same side; the figure is the mean ROC AUC over the folds:
0.5 means the classifier cannot tell them apart, 1.0 that it always can. Several styles at once,
with the folds grouped by writer and by style, are judged by :mod:`.realism_grouped`.

Two figures put a style's score in context:

- :func:`one_writer_reference`: the same test between *real* lines, one held-out writer's
  against the other held-out writers'. A style is one hand, and one real hand is told apart
  from a crowd of others too: this is the score a perfect imitation of one writer would get.
- :func:`evaluate_matched_realism`: each held-out line against the model's writing of its text
  primed with another line of the same writer, so that hand is compared with the same hand.

Shapes: a line is ``[N, 3]`` offsets ``(dx, dy, pen_up)`` (y up) or ``[N, 3]`` coords; F
features per line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .. import strokes
from ..errors import HandwritingError
from .realism_measures import MEASURE_NAMES, compare_measures, line_measures

#: Strokes are resampled at this arc length (x-heights) before their shape is measured.
RESAMPLE_SPACING = 0.1
#: A turn sharper than this (radians) counts as a cusp.
CUSP_ANGLE = np.pi / 2
#: Folds of the cross-validation (fewer when there are fewer texts).
DEFAULT_FOLDS = 5
#: The fewest lines of each kind a realism figure is computed from.
MIN_LINES = 10
SHAPE_FEATURE_NAMES = (
    "ink_per_char", "lifts_per_char", "turn_mean", "turn_std", "cusp_fraction", "jerk_mean",
    "stroke_length_mean", "stroke_length_cv", "width_per_char", "height_ratio", "baseline_wander", "slant",
    "jump_mean",
)
#: The measures not among the shape statistics already (the slant is).
EXTRA_MEASURES = tuple(name for name in MEASURE_NAMES if name not in SHAPE_FEATURE_NAMES)
FEATURE_NAMES = SHAPE_FEATURE_NAMES + EXTRA_MEASURES
#: Columns of :func:`line_features` that hold :data:`~.realism_measures.MEASURES`, in their order.
MEASURE_COLUMNS = [FEATURE_NAMES.index(name) for name in MEASURE_NAMES]


def line_features(coords: np.ndarray, text: str) -> np.ndarray:
    """``[F]`` size-free shape statistics of one line (``[N, 3]`` absolute coords, y up)."""
    coords = np.asarray(coords, np.float64)
    chars = max(len(text), 1)
    x_height = max(strokes.estimate_x_height(coords), 1e-6)
    scaled = coords.copy()
    scaled[:, :2] /= x_height
    scaled = np.asarray(strokes.resample(scaled, RESAMPLE_SPACING), np.float64)
    xy, pen_up = scaled[:, :2], scaled[:, 2] > 0.5
    steps = np.diff(xy, axis=0)
    inside = ~pen_up[:-1]  # a step that stays on the paper
    lengths = np.linalg.norm(steps, axis=1)
    jumps = lengths[~inside] if (~inside).any() else np.zeros(1)
    heading = np.arctan2(steps[:, 1], steps[:, 0])
    turns = np.abs(np.angle(np.exp(1j * np.diff(heading))))
    turns = turns[inside[:-1] & inside[1:]] if len(turns) else np.zeros(1)
    turns = turns if len(turns) else np.zeros(1)
    jerk = np.linalg.norm(np.diff(steps, n=2, axis=0), axis=1) if len(steps) > 2 else np.zeros(1)
    stroke_lengths = np.array([np.linalg.norm(np.diff(s, axis=0), axis=1).sum() if len(s) > 1 else 0.0
                               for s in strokes.split_strokes(scaled)])
    width = float(np.ptp(xy[:, 0])) if len(xy) else 0.0
    measures = dict(zip(MEASURE_NAMES, line_measures(coords, text, x_height)))
    return np.array([
        lengths[inside].sum() / chars, pen_up.sum() / chars, turns.mean(), turns.std(),
        float(np.mean(turns > CUSP_ANGLE)), jerk.mean(), stroke_lengths.mean(),
        stroke_lengths.std() / max(stroke_lengths.mean(), 1e-9), width / chars, float(np.ptp(xy[:, 1])),
        _baseline_wander(xy), measures["slant"], jumps.mean(),
        *(measures[name] for name in EXTRA_MEASURES),
    ])


def _baseline_wander(xy: np.ndarray) -> float:
    """Spread of the lowest ink across the line: residual std of a line through the low points."""
    if len(xy) < 4:
        return 0.0
    bins = np.linspace(xy[:, 0].min(), xy[:, 0].max() + 1e-9, 9)
    which = np.digitize(xy[:, 0], bins)
    lows = np.array([[xy[which == b, 0].mean(), xy[which == b, 1].min()] for b in np.unique(which)])
    if len(lows) < 3:
        return 0.0
    fit = np.polyfit(lows[:, 0], lows[:, 1], 1)
    return float(np.std(lows[:, 1] - np.polyval(fit, lows[:, 0])))


@dataclass
class RealismScore:
    """The cross-validated ROC AUC (mean and standard deviation over folds), the line counts, what
    the folds were grouped by (``text``, or ``writer and style``: then ``human_groups`` writers
    and ``generated_groups`` styles), and the medians of the reported measures
    (:func:`~.realism_measures.compare_measures`)."""

    auc: float
    auc_std: float
    human_lines: int
    generated_lines: int
    folds: int
    grouping: str = "text"
    human_groups: int = 0
    generated_groups: int = 0
    measures: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"auc": self.auc, "auc_std": self.auc_std, "human_lines": self.human_lines,
                "generated_lines": self.generated_lines, "folds": self.folds, "grouping": self.grouping,
                "human_groups": self.human_groups, "generated_groups": self.generated_groups,
                "measures": self.measures}


def features_of(lines: Sequence[np.ndarray], texts: Sequence[str]) -> np.ndarray:
    """``[L, F]`` :func:`line_features` of ``[N, 3]`` coords lines (NaN as 0)."""
    return np.nan_to_num(np.array([line_features(c, t) for c, t in zip(lines, texts)]).reshape(len(texts), -1))


def measures_of(features: np.ndarray) -> np.ndarray:
    """``[L, len(MEASURES)]``: the :data:`~.realism_measures.MEASURES` columns of ``[L, F]`` features."""
    return features[:, MEASURE_COLUMNS]


def make_classifier(seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=60, learning_rate=0.1, random_state=seed)


def realism_auc(human: Sequence[np.ndarray], generated: Sequence[np.ndarray], texts: Sequence[str],
                folds: int = DEFAULT_FOLDS, seed: int = 0) -> RealismScore:
    """How well human and generated coords of the same ``texts`` are told apart (ROC AUC).

    ``human[i]`` and ``generated[i]`` are two writings of ``texts[i]``, each ``[N, 3]`` coords.
    """
    from sklearn.model_selection import GroupKFold, cross_val_score

    if not (len(human) == len(generated) == len(texts)):
        raise HandwritingError("realism needs one human and one generated line per text")
    if len(texts) < MIN_LINES:
        raise HandwritingError(f"realism needs at least {MIN_LINES} lines, got {len(texts)}")
    features = features_of([*human, *generated], [*texts, *texts])
    labels = np.r_[np.zeros(len(human)), np.ones(len(generated))]
    groups = np.r_[np.arange(len(texts)), np.arange(len(texts))]
    folds = min(folds, len(texts))
    scores = cross_val_score(make_classifier(seed), features, labels, groups=groups,
                             cv=GroupKFold(n_splits=folds), scoring="roc_auc")
    measures = compare_measures(measures_of(features[labels == 0]), measures_of(features[labels == 1]))
    return RealismScore(float(scores.mean()), float(scores.std()), len(human), len(generated), folds,
                        human_groups=len(texts), generated_groups=len(texts), measures=measures)


#: Writers with at least this many held-out lines take part in :func:`one_writer_reference`.
REFERENCE_MIN_LINES = 40


def one_writer_reference(dataset, validation_fraction: float, seed: int = 0,
                         min_lines: int = REFERENCE_MIN_LINES) -> dict:
    """How well one real held-out writer's lines are told from the other held-out writers' (AUC).

    For each writer with at least ``min_lines`` lines: their lines against as many lines of the
    others (seeded), the classifier of :func:`realism_auc` cross-validated over
    :data:`DEFAULT_FOLDS` stratified folds (the texts differ, so no grouping by text). Returns
    ``{"median", "min", "max", "writers"}`` over those writers (``None`` and 0 when none had enough).
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    held_out = held_out_indices(dataset, validation_fraction, seed)
    features = features_of([strokes.offsets_to_coords(dataset.offsets[i]) for i in held_out],
                           [dataset.texts[i] for i in held_out])
    writer = np.array([dataset.writer_ids[i] for i in held_out])
    rng = np.random.default_rng(seed)
    aucs = []
    for w in np.unique(writer):
        mine = np.flatnonzero(writer == w)
        if len(mine) < min_lines:
            continue
        others = rng.permutation(np.flatnonzero(writer != w))[: len(mine)]
        folds = StratifiedKFold(DEFAULT_FOLDS, shuffle=True, random_state=seed)
        labels = np.r_[np.ones(len(mine)), np.zeros(len(others))]
        aucs.append(cross_val_score(make_classifier(seed), features[np.r_[mine, others]], labels, cv=folds,
                                    scoring="roc_auc").mean())
    if not aucs:
        return {"median": None, "min": None, "max": None, "writers": 0}
    return {"median": float(np.median(aucs)), "min": float(np.min(aucs)), "max": float(np.max(aucs)),
            "writers": len(aucs)}


#: A writer's prime for :func:`matched_pairs`: of their first lines (seeded order), this many are
#: looked at, and the one nearest :data:`MATCHED_PRIME_CHARS` characters is taken.
MATCHED_PRIME_CHOICES = 5
MATCHED_PRIME_CHARS = 30


def matched_pairs(dataset, validation_fraction: float, seed: int, limit: int) -> list[tuple[int, int]]:
    """Up to ``limit`` ``(prime line, target line)`` pairs of held-out lines by the same writer.

    Each writer's prime is the line of their first :data:`MATCHED_PRIME_CHOICES` (seeded order)
    nearest :data:`MATCHED_PRIME_CHARS` characters; every other line of theirs is a target. Pairs in a seeded random order.
    """
    held_out = held_out_indices(dataset, validation_fraction, seed)
    rng = np.random.default_rng(seed)
    by_writer: dict[int, list[int]] = {}
    for i in held_out:
        by_writer.setdefault(int(dataset.writer_ids[i]), []).append(i)
    pairs = []
    for lines in by_writer.values():
        lines = [int(i) for i in rng.permutation(lines)]
        prime = min(lines[:MATCHED_PRIME_CHOICES], key=lambda i: abs(len(dataset.texts[i]) - MATCHED_PRIME_CHARS))
        pairs += [(prime, i) for i in lines if i != prime]
    return [pairs[k] for k in rng.permutation(len(pairs))[:limit]]


def evaluate_matched_realism(hand, dataset, pairs: Sequence[tuple[int, int]], *, bias: float,
                             seed: int = 0) -> RealismScore:
    """Realism with the writer matched: each target line of ``pairs`` against the model's writing
    of its text primed with the same writer's prime line (:func:`matched_pairs`)."""
    from ..writing.hand import Style

    targets: dict[int, list[int]] = {}
    for prime, target in pairs:
        targets.setdefault(prime, []).append(target)
    human, generated, texts = [], [], []
    for prime, lines in targets.items():
        style = Style(name="matched", text=dataset.texts[prime],
                      offsets=strokes.normalise_offsets(dataset.offsets[prime], hand.scale))
        written, _ = hand.write_lines([dataset.texts[i] for i in lines], style=style, bias=bias, seed=seed)
        generated += written
        human += [strokes.offsets_to_coords(dataset.offsets[i]) for i in lines]
        texts += [dataset.texts[i] for i in lines]
    return realism_auc(human, generated, texts, seed=seed)


def held_out_indices(dataset, validation_fraction: float, seed: int) -> list[int]:
    """Lines of the writers a checkpoint never trained on (its writer split of the dataset it was
    trained on); from a mix (:mod:`handwriting.datasets.mix`), only its first part's."""
    from ..datasets import split_by_writer

    _, held_out = split_by_writer(dataset, validation_fraction, seed)
    if dataset.metadata.get("source") == "mix":  # a mix's first part is its human one
        prefix = dataset.metadata["data_source"][0]["part"] + ":"
        held_out = [i for i in held_out if dataset.writers[dataset.writer_ids[i]].startswith(prefix)]
    if not len(held_out):
        raise HandwritingError("the dataset has no held-out human lines for this checkpoint's writer split")
    return [int(i) for i in held_out]


def training_line_indices(dataset, validation_fraction: float, seed: int) -> list[int]:
    """Lines of the writers a checkpoint trained on (its writer split's other side); from a mix,
    only its first part's lines, so a line is a writer's own and not one joined from words."""
    from ..datasets import split_by_writer

    trained, _ = split_by_writer(dataset, validation_fraction, seed)
    if dataset.metadata.get("source") == "mix":
        trained = trained[trained < dataset.metadata["data_source"][0]["lines"]]
    if not len(trained):
        raise HandwritingError("the dataset has no training human lines for this checkpoint's writer split")
    return [int(i) for i in trained]


def held_out_sample(dataset, validation_fraction: float, seed: int, limit: int) -> list[int]:
    """Up to ``limit`` :func:`held_out_indices` in a seeded random order."""
    held_out = held_out_indices(dataset, validation_fraction, seed)
    return [int(i) for i in np.random.default_rng(seed).permutation(np.asarray(held_out))[:limit]]


def held_out_lines(dataset, validation_fraction: float, seed: int, limit: int) -> tuple[list[np.ndarray], list[str]]:
    """The lines of :func:`held_out_sample`: ``[N, 3]`` coords (dataset units, y up) and their texts."""
    chosen = held_out_sample(dataset, validation_fraction, seed, limit)
    return ([strokes.offsets_to_coords(dataset.offsets[i]) for i in chosen], [dataset.texts[i] for i in chosen])


def evaluate_realism(hand, human: Sequence[np.ndarray], texts: Sequence[str], *, style: str | None, bias: float,
                     seed: int = 0) -> RealismScore:
    """Write ``texts`` with ``hand`` (one line each) and score them against the ``human`` lines."""
    generated, _ = hand.write_lines(list(texts), style=style, bias=bias, seed=seed)
    return realism_auc(human, generated, texts, seed=seed)
