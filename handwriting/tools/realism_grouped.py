"""Realism of several styles at once, the classifier's folds grouped by writer and by style.

Held-out human lines are classed against generated lines of the same texts: each text is written
once, by one of the styles (dealt out in a seeded order, so every style writes about as many
lines). The classifier of :mod:`.realism` is cross-validated with stratified folds grouped so
that no writer and no style is on both sides of a split: a score then says whether the model's
handwriting can be told from people's, not whether one hand can be recognised again (the text
grouping of :func:`.realism.realism_auc` lets one style be in both). With one style that is
impossible (its lines are all on one side), hence at least two styles.

:func:`human_reference` is the same test between people: the held-out writers dealt into two
made-up classes, grouped the same way. It scores about 0.5 (less with few groups: a grouped
split leaves each fold's test writers out of training, and the classifier learns the others).

Shapes: lines are ``[N, 3]`` coords (y up); F features per line (:func:`.realism.line_features`).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..errors import HandwritingError
from .realism import DEFAULT_FOLDS, MIN_LINES, RealismScore, make_classifier, features_of, measures_of
from .realism_measures import MEASURE_NAMES, compare_measures

#: The grouping recorded in a :class:`~.realism.RealismScore` of this module.
GROUPING = "writer and style"
#: Partitions of the writers that :func:`human_reference` scores.
REFERENCE_REPEATS = 5
#: Grouped cross-validations (each its own shuffle of the groups into folds) a score averages:
#: with a dozen styles a fold's test part holds two or three, and the five folds of one shuffle
#: had a standard deviation of 0.16-0.20 on the shipped model (150 lines).
CV_REPEATS = 5
#: Classes of the classifier's labels.
HUMAN, GENERATED = 0, 1
#: The fewest groups of each class a grouped figure is computed from.
MIN_GROUPS = 2


def grouped_splits(labels: np.ndarray, groups: np.ndarray, folds: int, seed: int = 0) -> list[tuple]:
    """``(train, test)`` index arrays of stratified folds that never split a group.

    Args:
        labels: ``[L]`` class of each line (0 human, 1 generated).
        groups: ``[L]`` group of each line (a writer or a style); no group is in both parts.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros(len(labels)), labels, groups))


def grouped_auc(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, folds: int = DEFAULT_FOLDS,
                seed: int = 0, repeats: int = CV_REPEATS) -> tuple[float, float, int]:
    """Mean and standard deviation of the ROC AUC over grouped folds, and the folds scored.

    ``features`` ``[L, F]``, ``labels`` and ``groups`` ``[L]``. The cross-validation is run
    ``repeats`` times (seeds ``seed``, ``seed + 1``, ...) and every fold of every run counts.
    Folds are at most the groups of the smaller class; a fold whose test part holds one class
    only is not scored.
    """
    from sklearn.metrics import roc_auc_score

    aucs = []
    for train, test in _repeated_folds(labels, groups, folds, seed, repeats):
        if len(np.unique(labels[test])) < 2:
            continue
        model = make_classifier(seed).fit(features[train], labels[train])
        aucs.append(roc_auc_score(labels[test], model.predict_proba(features[test])[:, 1]))
    if not aucs:
        raise HandwritingError("no grouped fold held both human and generated lines")
    return float(np.mean(aucs)), float(np.std(aucs)), len(aucs)


def style_scores(human: np.ndarray, writers: Sequence, generated: np.ndarray, styles: Sequence[str], *,
                 folds: int = DEFAULT_FOLDS, seed: int = 0, repeats: int = CV_REPEATS) -> dict[str, float]:
    """How readily the classifier tells each style's lines from people's, by style.

    The folds are grouped by writer and by style (as :func:`grouped_realism`'s), so each style's
    lines are scored by a classifier that never saw that style: what it learnt of generated lines
    from the other styles. A style's score is the mean out-of-fold probability that its lines are
    generated, over ``repeats`` shuffles of the groups: lower is likelier a person's. Arguments
    as :func:`grouped_realism`'s (``[H, F]`` and ``[G, F]`` features, ``[H]`` writers, ``[G]``
    styles); at least two groups of each kind.
    """
    features = np.concatenate([human, generated])
    labels = np.r_[np.full(len(human), HUMAN), np.full(len(generated), GENERATED)]
    totals, counts = np.zeros(len(generated)), np.zeros(len(generated))
    for train, test in _repeated_folds(labels, group_ids(writers, styles), folds, seed, repeats):
        scored = test[labels[test] == GENERATED]
        model = make_classifier(seed).fit(features[train], labels[train])
        totals[scored - len(human)] += model.predict_proba(features[scored])[:, 1]
        counts[scored - len(human)] += 1
    styles = np.asarray(styles)
    return {str(s): float(totals[styles == s].sum() / max(counts[styles == s].sum(), 1)) for s in np.unique(styles)}


def _repeated_folds(labels: np.ndarray, groups: np.ndarray, folds: int, seed: int, repeats: int):
    """The ``(train, test)`` folds of ``repeats`` grouped cross-validations (seeds ``seed``,
    ``seed + 1``, ...) whose training part holds both classes; folds are at most the groups of
    the smaller class, of which there must be two."""
    per_class = min(len(np.unique(groups[labels == c])) for c in (HUMAN, GENERATED))
    if per_class < MIN_GROUPS:
        raise HandwritingError("grouped realism needs at least two groups (writers, styles) of each kind")
    for run in range(repeats):
        for train, test in grouped_splits(labels, groups, min(folds, per_class), seed + run):
            if len(np.unique(labels[train])) == 2:
                yield train, test


def group_ids(human_groups: Sequence, generated_groups: Sequence) -> np.ndarray:
    """``[H + G]`` integer groups: each human writer and each style its own, never shared."""
    keys = [f"writer:{w}" for w in human_groups] + [f"style:{s}" for s in generated_groups]
    return np.unique(keys, return_inverse=True)[1]


def grouped_realism(human: np.ndarray, writers: Sequence, generated: np.ndarray, styles: Sequence[str], *,
                    folds: int = DEFAULT_FOLDS, seed: int = 0, repeats: int = CV_REPEATS) -> RealismScore:
    """Human against generated lines, folds grouped by writer and by style.

    Args:
        human: ``[H, F]`` features of the human lines (:func:`.realism.features_of`).
        writers: ``[H]`` each human line's writer.
        generated: ``[G, F]`` features of the generated lines.
        styles: ``[G]`` each generated line's style.
    """
    if min(len(human), len(generated)) < MIN_LINES:
        raise HandwritingError(f"realism needs at least {MIN_LINES} lines of each kind")
    features = np.concatenate([human, generated])
    labels = np.r_[np.full(len(human), HUMAN), np.full(len(generated), GENERATED)]
    auc, std, folds_used = grouped_auc(features, labels, group_ids(writers, styles), folds, seed, repeats)
    return RealismScore(auc, std, len(human), len(generated), folds_used, grouping=GROUPING,
                        human_groups=len(set(writers)), generated_groups=len(set(styles)),
                        measures=compare_measures(measures_of(human), measures_of(generated)))


def deal_styles(count: int, styles: int, seed: int = 0) -> np.ndarray:
    """``[count]`` style index of each text: dealt round in a seeded order (sizes differ by at most 1)."""
    which = np.empty(count, int)
    which[np.random.default_rng(seed).permutation(count)] = np.arange(count) % styles
    return which


def write_dealt(hand, texts: Sequence[str], styles: Sequence[str], *, bias: float, seed: int = 0,
                progress: Callable[[str], None] | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """Each of ``texts`` written once, by the style :func:`deal_styles` gives it.

    Returns:
        The lines (``[N, 3]`` coords, in the order of ``texts``) and ``[len(texts)]`` each line's
        index into ``styles``.
    """
    which = deal_styles(len(texts), len(styles), seed)
    generated: list = [None] * len(texts)
    for k, name in enumerate(styles):
        rows = np.flatnonzero(which == k)
        if progress is not None:
            progress(f"realism: style {name} ({k + 1}/{len(styles)}), {len(rows)} lines at bias {bias:g}")
        written, _ = hand.write_lines([texts[i] for i in rows], style=name, bias=bias, seed=seed)
        for i, line in zip(rows, written):
            generated[i] = line
    return generated, which


def evaluate_styles_realism(hand, human: np.ndarray, texts: Sequence[str], writers: Sequence, *,
                            styles: Sequence[str], bias: float, seed: int = 0,
                            progress: Callable[[str], None] | None = None) -> tuple[RealismScore, dict]:
    """Write each of ``texts`` once, in one of ``styles`` (:func:`deal_styles`), and score the lines
    against the human ones (``human`` ``[H, F]`` features, ``writers`` ``[H]``) with
    :func:`grouped_realism`.

    Returns:
        The score, and each style's medians of the measures: ``{style: {measure: median}}``.
    """
    if len(styles) < 2:
        raise HandwritingError("realism grouped by style needs at least two styles")
    generated, which = write_dealt(hand, texts, styles, bias=bias, seed=seed, progress=progress)
    features = features_of(generated, texts)
    names = [styles[k] for k in which]
    score = grouped_realism(human, writers, features, names, seed=seed)
    by_style = {name: dict(zip(MEASURE_NAMES, np.median(measures_of(features[which == k]), axis=0).tolist()))
                for k, name in enumerate(styles)}
    return score, by_style


def human_reference(features: np.ndarray, writers: Sequence, *, repeats: int = REFERENCE_REPEATS,
                    folds: int = DEFAULT_FOLDS, seed: int = 0) -> dict:
    """People against people, grouped the same way: the writers of ``features`` (``[H, F]``, one
    writer each in ``writers``) dealt into two classes of about as many lines, ``repeats`` times
    (each partition cross-validated once: the partitions already vary the folds).

    Returns:
        ``{"median", "min", "max", "repeats", "writers", "lines"}`` of the grouped AUCs (``None``
        with fewer than two writers a class).
    """
    writers = np.asarray(writers)
    names, counts = np.unique(writers, return_counts=True)
    if len(names) < 2 * MIN_GROUPS:
        return {"median": None, "min": None, "max": None, "repeats": 0, "writers": len(names), "lines": len(writers)}
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(repeats):
        side, lines = {}, [0, 0]
        for k in rng.permutation(len(names)):  # each writer to the class with fewer lines so far
            side[names[k]] = int(lines[1] < lines[0])
            lines[side[names[k]]] += counts[k]
        labels = np.array([side[w] for w in writers])
        aucs.append(grouped_auc(features, labels, np.unique(writers, return_inverse=True)[1], folds, seed, 1)[0])
    return {"median": float(np.median(aucs)), "min": float(np.min(aucs)), "max": float(np.max(aucs)),
            "repeats": repeats, "writers": len(names), "lines": len(writers)}
