"""``evaluate --human``'s realism figures: every style and bias against held-out human lines.

What it runs, per bias:

- with two or more named styles, all of them at once against the human lines, the folds grouped
  by writer and by style (:func:`.realism_grouped.evaluate_styles_realism`; the figure issue 26
  asks for); with one named style, or unprimed writing, that one against the human lines with
  the folds grouped by text (:func:`.realism.evaluate_realism`);
- each held-out line against the model's writing of it primed with the same writer's hand
  (writer-matched, :func:`.realism.evaluate_matched_realism`);

and once: one real writer against the others (:func:`.realism.one_writer_reference`), and people
against people with the folds grouped by writer (:func:`.realism_grouped.human_reference`).
Every score carries the medians of :data:`.realism_measures.MEASURES`, human against generated.
"""

from __future__ import annotations

from typing import Callable, Sequence

from .. import strokes
from .realism import (evaluate_matched_realism, evaluate_realism, features_of, held_out_sample, matched_pairs,
                      one_writer_reference)
from .realism_grouped import evaluate_styles_realism, human_reference
from .realism_measures import format_measures_row, measures_header

#: The row label of people against people.
PEOPLE = "people against people (grouped by writer)"


def realism_report(hand, dataset, *, validation_fraction: float, split_seed: int, styles: Sequence[str | None],
                   biases: Sequence[float], lines: int, seed: int = 0,
                   progress: Callable[[str], None] | None = None) -> dict:
    """The realism figures of ``styles`` (``None``: unprimed) at each bias against up to ``lines``
    held-out human lines of ``dataset`` (the writer split ``validation_fraction``, ``split_seed``).

    Returns:
        ``{"coords", "texts"}`` (the human lines, ``[N, 3]`` coords), ``"realism"`` (one dict per
        figure, for the JSON result) and ``"table"`` (Markdown tables: AUCs, then measures).
    """
    chosen = held_out_sample(dataset, validation_fraction, split_seed, lines)
    coords = [strokes.offsets_to_coords(dataset.offsets[i]) for i in chosen]
    texts = [dataset.texts[i] for i in chosen]
    writers = [int(dataset.writer_ids[i]) for i in chosen]
    human = features_of(coords, texts)
    named = [s for s in styles if s is not None]
    alone = [s for s in styles if s is None] + (named if len(named) == 1 else [])
    realism = []
    for bias in biases:
        for name in alone:
            score = evaluate_realism(hand, coords, texts, style=name, bias=bias, seed=seed)
            realism.append({"style": name or "unprimed", "bias": bias, **score.to_dict()})
        if len(named) > 1:
            score, by_style = evaluate_styles_realism(hand, human, texts, writers, styles=named, bias=bias,
                                                      seed=seed, progress=progress)
            realism.append({"style": f"all {len(named)} styles", "styles": named, "bias": bias, **score.to_dict(),
                            "by_style": by_style})
    pairs = matched_pairs(dataset, validation_fraction, split_seed, lines)
    for bias in biases:
        score = evaluate_matched_realism(hand, dataset, pairs, bias=bias, seed=seed)
        realism.append({"style": "writer-matched", "bias": bias, **score.to_dict()})
    realism.append({"style": "one real writer against the others",
                    **one_writer_reference(dataset, validation_fraction, split_seed)})
    realism.append({"style": PEOPLE, "grouping": "writer", **human_reference(human, writers, seed=seed)})
    return {"coords": coords, "texts": texts, "realism": realism, "table": format_realism(realism)}


def format_realism(realism: Sequence[dict]) -> str:
    """Two Markdown tables of :func:`realism_report`'s figures: the AUCs, then the measures."""
    rows = ["| style | bias | folds grouped by | realism AUC (0.5 = indistinguishable) | human lines (groups) "
            "| generated lines (groups) |", "|---|---|---|---|---|---|"]
    header, rule = measures_header()
    measures = [f"| style | bias | {header} |", f"|---|---|{rule}|"]
    for r in realism:
        if "auc" in r:
            rows.append(f"| {r['style']} | {r['bias']:g} | {r['grouping']} | {r['auc']:.3f} +- {r['auc_std']:.3f} "
                        f"({r['folds']} folds) | {r['human_lines']} ({r['human_groups']}) | "
                        f"{r['generated_lines']} ({r['generated_groups']}) |")
            measures.append(f"| {r['style']} | {r['bias']:g} | {format_measures_row(r['measures'])} |")
        elif r.get("median") is not None:
            spread = f"median {r['median']:.3f} ({r['min']:.3f}-{r['max']:.3f})"
            if r["style"] == PEOPLE:
                rows.append(f"| {r['style']}, {r['repeats']} splits of the writers | - | writer | {spread} | "
                            f"{r['lines']} ({r['writers']}) | - |")
            else:
                rows.append(f"| {r['style']} ({r['writers']} writers) | - | - | {spread} | - | - |")
    return "\n".join(rows) + "\n\nmedians, human vs generated (ok: within issue 26's tolerance):\n" + "\n".join(measures)

