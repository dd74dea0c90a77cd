#!/usr/bin/env python
"""How legibly a checkpoint writes the held-out writers' joined hands; write JSON.

    python scripts/joined_candidates.py --checkpoint runs/rel --human data/human-mix-h6.npz \\
        --human-split checkpoints/default -o runs/joined-candidates.json

Issue 26 wants a third of the shipped styles joined or part-joined, and every style legible. The
release's selection rule keeps a joined style only where the network writes it at a CER of at
most 0.12 (handwriting/tools/human_styles.py). This script follows that one number between releases.
It takes the candidate primes the release would take (``human_style_candidates``, 3 lines a
held-out writer) whose own ink is not print (pen lifts per character at most ``PRINT_ABOVE``).
Each one writes the selection prompts once, and the script reports the OCR's CER (and of the
person's own prime line, for scale) and how the written lines look: lifts and gaps between letters per character, and slant. ``--writers
training`` takes the primes from the writers the checkpoint trained on instead.

``--hands all`` takes print primes too, and ``--preview N`` then shows what a release by the
selection rule would ship from these candidates (each writer's best-read line, ranked by
``rank_human_styles`` against the held-out people's look, as ``release --style-source human``
does, with one seed and no finalists): the N styles' CERs, how many write joined, and their
medians of the measures issue 26 holds against the people's. A quick look at a side of the split
before a full release. Every candidate's lines are also scored by the realism classifier against
the held-out people's (``style_scores``, folds grouped by writer and by style), and a second
preview ranks by that score instead of likeness (``preview_by_realism``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default"))
    parser.add_argument("--human", type=Path, required=True, metavar="DATA.npz", help="human lines (the checkpoint's mix)")
    parser.add_argument("--human-split", metavar="CHECKPOINT",
                        help="the checkpoint whose writer split gives the held-out writers (default: the judged one)")
    parser.add_argument("--prompts", type=Path, default=ROOT / "data" / "prompts" / "selection.txt")
    parser.add_argument("--per-writer", type=int, default=3, help="candidate lines of each writer (default: 3)")
    parser.add_argument("--writers", choices=("held-out", "training"), default="held-out",
                        help="whose lines prime: the writers the checkpoint never saw, or those it trained on")
    parser.add_argument("--hands", choices=("joined", "all"), default="joined",
                        help="which primes: joined or part-joined hands only (default), or print hands too")
    parser.add_argument("--preview", type=int, metavar="N",
                        help="also show the N styles the selection rule would keep from these candidates")
    parser.add_argument("--bias", type=float, default=2.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)

    import numpy as np

    from handwriting import strokes
    from handwriting.checkpoint import read_config
    from handwriting.datasets import load_dataset
    from handwriting.errors import HandwritingError
    from handwriting.fileio import read_writable_lines, write_text_atomic
    from handwriting.tools.evaluate import OcrReader, score_lines
    from handwriting.tools.human_styles import MAX_CER, PRINT_ABOVE, hand_axes, human_style_candidates, written_look
    from handwriting.tools.realism import features_of
    from handwriting.writing.hand import load, resolve_checkpoint

    try:
        checkpoint = resolve_checkpoint(args.checkpoint)
        train = read_config(resolve_checkpoint(args.human_split) if args.human_split else checkpoint).train
        hand = load(checkpoint)
        dataset = load_dataset(args.human)
        prompts = read_writable_lines(args.prompts)
    except HandwritingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    candidates = human_style_candidates(dataset, dataset.scale, train.validation_fraction, train.seed,
                                        per_writer=args.per_writer, writers=args.writers)
    reader = OcrReader()
    rows, primes, features = [], {}, {}
    for key, styles in candidates.items():
        for style in styles:
            prime_lifts = hand_axes(strokes.offsets_to_coords(style.offsets), style.text)["lifts_per_char"]
            if prime_lifts > PRINT_ABOVE and args.hands == "joined":
                continue
            coords, _ = hand.write_lines(prompts, style=style, bias=args.bias, seed=args.seed)
            look = written_look(coords, prompts)
            prime_cer = score_lines(key, [style.text], [strokes.offsets_to_coords(style.offsets)], reader)[0].cer
            rows.append({"writer": key, "prime": style.text, "prime_lifts_per_char": prime_lifts, "prime_cer": prime_cer,
                         "cer": float(np.mean([s.cer for s in score_lines(key, prompts, coords, reader)])),
                         **{k: look[k] for k in ("lifts_per_char", "gap_per_char", "slant")}, "look": look})
            primes[(key, style.text)] = style
            if args.preview:
                features[(key, style.text)] = features_of(coords, prompts)
            if sys.stderr.isatty():
                print(f"{key} {style.text!r}: CER {rows[-1]['cer']:.3f}", file=sys.stderr)
    summary = summarise(rows, MAX_CER, PRINT_ABOVE)
    if args.preview:
        summary.update(previews(rows, primes, features, dataset, (train.validation_fraction, train.seed),
                                args.preview))
    write_text_atomic(args.output, json.dumps({"checkpoint": str(checkpoint), "bias": args.bias,
                                               "writers": args.writers, "hands": args.hands, **summary}, indent=1))
    for r in summary["rows"][:5]:
        print(f"{r['writer']} CER {r['cer']:.3f}  lifts/char {r['lifts_per_char']:.2f}  gaps/char "
              f"{r['gap_per_char']:.3f}  slant {r['slant']:+.2f}  ({r['prime']!r})")
    primes_named = "joined primes" if args.hands == "joined" else "primes"
    print(f"{summary['candidates']} {primes_named} of {summary['writers']} writers; {summary['writes_joined']} written "
          f"joined, {summary['legible_joined']} of them at CER <= {MAX_CER} (best {summary['best_joined_cer']}); "
          f"the OCR reads the people's own prime lines at a median CER of {summary['median_prime_cer']}")
    for name in ("preview", "preview_by_realism") if args.preview else ():
        preview = summary[name]
        print(f"{name}: the rule would keep {len(preview['styles'])} styles, {preview['joined']} joined, default "
              f"{preview['default_style']}: CER mean {preview['mean_cer']:.3f}, max {preview['max_cer']:.3f}; "
              f"realism score mean {preview['mean_realism']:.3f}; medians "
              + ", ".join(f"{k} {v:.3f} (people {preview['people'][k]:.3f})" for k, v in preview["medians"].items()))
    return 0


def summarise(rows: list[dict], max_cer: float, print_above: float) -> dict:
    """The rows, best read first, and the counts: how many were written joined (lifts per
    character at most ``print_above``, as the release names a hand), how many of those legibly."""
    rows = sorted(rows, key=lambda r: r["cer"])
    joined = [r for r in rows if r["lifts_per_char"] <= print_above]
    return {"candidates": len(rows), "writers": len({r["writer"] for r in rows}), "writes_joined": len(joined),
            "legible_joined": sum(r["cer"] <= max_cer for r in joined),
            "best_joined_cer": round(joined[0]["cer"], 3) if joined else None,
            "median_prime_cer": round(statistics.median(r["prime_cer"] for r in rows), 3) if rows else None,
            "rows": rows}


def previews(rows: list[dict], primes: dict, features: dict, dataset, split: tuple[float, int], count: int) -> dict:
    """Both previews of what the rule would keep: ranked by likeness (``preview``) and by the
    realism classifier's score (``preview_by_realism``). Every row (candidate) gets its
    ``realism`` score: :func:`~handwriting.tools.realism_grouped.style_scores` of its written
    lines (``features`` by ``(writer, prime)``) against the held-out people's lines of ``split``
    (``(validation_fraction, seed)`` of ``dataset``)."""
    import numpy as np

    from handwriting.tools.human_styles import written_look
    from handwriting.tools.realism import features_of, held_out_lines, held_out_sample
    from handwriting.tools.realism_grouped import style_scores
    from handwriting.tools.release import PEOPLE_LINES

    people_lines = held_out_lines(dataset, *split, PEOPLE_LINES)
    writers = [int(dataset.writer_ids[i]) for i in held_out_sample(dataset, *split, PEOPLE_LINES)]
    keys = [(r["writer"], r["prime"]) for r in rows]
    generated = np.concatenate([features[k] for k in keys])
    styles = np.repeat(np.arange(len(keys)), [len(features[k]) for k in keys]).astype(str)
    scores = style_scores(features_of(*people_lines), writers, generated, styles)
    for k, r in enumerate(rows):
        r["realism"] = scores[str(k)]
    people = written_look(*people_lines)
    return {"preview": rule_preview(rows, primes, people, count),
            "preview_by_realism": rule_preview(rows, primes, people, count, by_realism=True)}


def rule_preview(rows: list[dict], primes: dict, people: dict[str, float], count: int,
                 by_realism: bool = False) -> dict:
    """What the selection rule would keep of ``rows`` (each with ``writer``, ``prime``, ``cer`` and
    its written ``look``; ``primes``: their styles by ``(writer, prime)``): each writer's best-read
    row, ranked by :func:`~handwriting.tools.human_styles.rank_human_styles` against ``people``'s
    look, or ``by_realism``, by the rows' ``realism`` scores. Returns the kept styles (name,
    writer, CER, joined, likeness, realism score where the rows have one), their mean and largest
    CER, their mean realism score, how many write joined, the rule's default style, and the kept
    looks' medians of the measures the rule holds against the people's (beside ``people``'s own)."""
    from handwriting.tools.human_styles import LIKENESS_TOLERANCES, auto_default_style, rank_human_styles

    best = {}
    for r in sorted(rows, key=lambda r: r["cer"]):
        best.setdefault(r["writer"], r)
    keys = sorted(best)
    record = {k: {"cer": best[k]["cer"], "look": best[k]["look"], "writer": k,
                  **({"realism": best[k]["realism"]} if by_realism else {})} for k in keys}
    kept, record = rank_human_styles([primes[(k, best[k]["prime"])] for k in keys], record, keys, count, people)
    cers = [r["cer"] for r in record.values()]
    realism = [best[r["writer"]].get("realism") for r in record.values()]
    return {"styles": [{"name": s.name, **{f: record[s.name][f] for f in ("writer", "cer", "joined", "likeness")},
                        "realism": best[record[s.name]["writer"]].get("realism")} for s in kept],
            "mean_cer": float(statistics.mean(cers)), "max_cer": float(max(cers)),
            "mean_realism": float(statistics.mean(realism)) if None not in realism else None,
            "joined": sum(r["joined"] for r in record.values()), "default_style": auto_default_style(record),
            "medians": {m: float(statistics.median(r["look"][m] for r in record.values()))
                        for m in LIKENESS_TOLERANCES},
            "people": {m: people[m] for m in LIKENESS_TOLERANCES}}


if __name__ == "__main__":
    sys.exit(main())
