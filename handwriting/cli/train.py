"""``handwriting train``, ``evaluate`` and ``release``: making and judging a model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import HandwritingError
from .common import add_engine_argument, check_output_path

# ---------------------------------------------------------------- train


def add_train(sub: argparse._SubParsersAction) -> None:
    from ..training.options import add_train_arguments

    train = sub.add_parser("train", help="train the synthesis network (or --resume a run)")
    add_train_arguments(train)
    train.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    # TensorFlow and Keras are imported inside, when the run starts.
    from ..training.options import run_from_arguments

    return run_from_arguments(args)


# ---------------------------------------------------------------- evaluate

#: The public prompt set of a checkout (``data/prompts/public.txt``).
def _default_prompts() -> Path:
    from ..resources import prompts_dir

    return prompts_dir() / "public.txt"


def add_evaluate(sub: argparse._SubParsersAction) -> None:
    from ..writing.hand import DEFAULT_BIAS

    ev = sub.add_parser("evaluate", help="score legibility: write prompts, read them back with OCR",
                        description="Write every prompt with each seed, read the lines back with an offline OCR "
                                    "model (pip install 'handwriting[eval]') and report the character error rate, "
                                    "the failure rate (CER > 0.5), lines that hit the step cap and seconds per line.")
    ev.add_argument("--checkpoint", type=Path, help="checkpoint directory (default: the shipped model)")
    ev.add_argument("--prompts", type=Path, default=_default_prompts(), help="prompt file, one line each "
                    "(default: data/prompts/public.txt)")
    ev.add_argument("--style", action="append", dest="styles", metavar="NAME",
                    help="style to evaluate (repeatable); 'none' writes unprimed, 'all' every style and none, "
                         "'shipped' every style of the checkpoint (default: the checkpoint's default style, else "
                         "none); with --human, two or more styles are judged together, the folds grouped by "
                         "writer and by style")
    ev.add_argument("--bias", type=float, nargs="+",
                    help="sampling bias; several give a row per style and bias (default: the model's, "
                         f"{DEFAULT_BIAS} unless its release chose another)")
    ev.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds, one pass each (default: 0 1 2)")
    ev.add_argument("--limit", type=int, help="evaluate only the first N prompts")
    ev.add_argument("--data", type=Path, help="also report the NLL on this dataset file's validation lines")
    ev.add_argument("--ceiling", action="store_true", help="also score the prompts rendered plainly by each corpus font")
    ev.add_argument("--human", type=Path, metavar="DATA.npz",
                    help="the dataset the checkpoint was trained on: its held-out human lines give the OCR's human "
                         "ceiling and, written again with the same texts, each style's realism AUC (needs [eval])")
    ev.add_argument("--human-lines", type=int, default=200, help="held-out human lines to use (default: 200)")
    ev.add_argument("--realism-only", action="store_true",
                    help="with --human: only the realism figures (no prompts written, no OCR)")
    ev.add_argument("--human-split", type=Path, metavar="CHECKPOINT",
                    help="take the held-out lines from this checkpoint's writer split (default: the evaluated "
                         "checkpoint's), so that two models are judged on the same lines")
    ev.add_argument("--piece-chars", type=int, metavar="N",
                    help="write lines longer than N characters in pieces (0: every line whole; default: the "
                         "checkpoint's piece_chars), to measure how long a line the network writes well")
    add_engine_argument(ev)
    ev.add_argument("--json", type=Path, dest="json_out", help="write every line's score to this JSON file")
    ev.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    import json

    from ..fileio import read_writable_lines, write_text_atomic
    from ..tools import evaluate
    from ..writing.hand import load, resolve_checkpoint

    prompts = read_writable_lines(args.prompts)
    if args.limit is not None:
        if args.limit < 1:
            raise HandwritingError("--limit must be at least 1")
        prompts = prompts[: args.limit]
    if args.json_out is not None:
        check_output_path(args.json_out)
    checkpoint = resolve_checkpoint(args.checkpoint)
    names = _evaluated_styles(checkpoint, args.styles)
    if args.realism_only and args.human is None:
        raise HandwritingError("--realism-only needs --human DATA.npz")
    reader = None if args.realism_only else evaluate.OcrReader()
    hand = load(checkpoint, engine=args.engine)
    args.bias = args.bias or [hand.default_bias]
    if args.piece_chars is not None:
        if args.piece_chars < 0:
            raise HandwritingError("--piece-chars must be 0 (whole lines) or more")
        hand.piece_chars = args.piece_chars or None
    reports = []
    for bias in args.bias if reader is not None else []:
        for name in names:
            report = evaluate.evaluate_hand(hand, prompts, style=name, bias=bias, seeds=args.seeds, reader=reader,
                                            progress=lambda m: print(m, file=sys.stderr))
            report.name += f" @ {bias:g}" if len(args.bias) > 1 else ""
            reports.append(report)
    ceiling = evaluate.font_ceiling(prompts, reader=reader) if args.ceiling and reader is not None else []
    human = _human_evaluation(args, hand, checkpoint, names, reader) if args.human is not None else {}
    biases = ", ".join(f"{b:g}" for b in args.bias)
    if reader is not None:
        print(f"checkpoint {checkpoint}, {len(prompts)} prompts x {len(args.seeds)} seeds, bias {biases}")
        print(evaluate.format_table(reports + ceiling + human.get("ceiling", [])))
        print("error rate by character class:")
        print(evaluate.format_class_error_rates(reports + human.get("ceiling", [])))
        print(f"hardest characters (error rate, seen at least {evaluate.HARDEST_MIN_COUNT} times):")
        print(evaluate.format_hardest_characters(reports))
    else:
        print(f"checkpoint {checkpoint}, realism only, bias {biases}")
    result = {"checkpoint": str(checkpoint), "prompts": str(args.prompts), "bias": args.bias, "seeds": args.seeds,
              "piece_chars": hand.piece_chars,
              "reports": [r.to_dict() for r in reports], "ceiling": [r.summary() for r in ceiling]}
    if human:
        print(human["table"])
        result["human"] = {"ceiling": [r.to_dict() for r in human["ceiling"]], "realism": human["realism"]}
    if args.data is not None:
        nll = evaluate.validation_nll(checkpoint, args.data)
        print(f"validation NLL on {args.data}: {nll['nll_per_line']:.1f} nats/line, "
              f"{nll['nll_per_point']:.3f} nats/point ({nll['lines']} lines)")
        result["validation"] = nll
    if args.json_out is not None:
        write_text_atomic(args.json_out, json.dumps(result, indent=1))
        print(f"wrote {args.json_out}")
    return 0


def _evaluated_styles(checkpoint: Path, requested: list[str] | None) -> list[str | None]:
    """The styles ``--style`` names (``None`` for unprimed), checked against the checkpoint's."""
    from ..writing.hand import default_style_name, load_styles

    known = load_styles(checkpoint)
    names: list[str | None] = []
    for name in requested or [default_style_name(checkpoint) or "none"]:
        if name in ("all", "shipped"):
            names += ([None] if name == "all" else []) + sorted(known)
        elif name == "none":
            names.append(None)
        elif name not in known:
            raise HandwritingError(f"unknown style {name!r}; this checkpoint has: {', '.join(sorted(known)) or 'none'}")
        else:
            names.append(name)
    return list(dict.fromkeys(names))


def _human_evaluation(args: argparse.Namespace, hand, checkpoint: Path, names: list[str | None], reader) -> dict:
    """The OCR's reading of held-out human lines (unless ``reader`` is ``None``) and the realism
    figures of every style and bias (:func:`handwriting.tools.realism_report.realism_report`)."""
    from ..checkpoint import read_config
    from ..datasets import load_dataset
    from ..tools import evaluate
    from ..tools.realism_report import realism_report
    from ..writing.hand import resolve_checkpoint

    if args.human_lines < 1:
        raise HandwritingError("--human-lines must be at least 1")
    train = read_config(resolve_checkpoint(args.human_split) if args.human_split else checkpoint).train
    report = realism_report(hand, load_dataset(args.human), validation_fraction=train.validation_fraction,
                            split_seed=train.seed, styles=names, biases=args.bias, lines=args.human_lines,
                            progress=(lambda m: print(m, file=sys.stderr)) if sys.stderr.isatty() else None)
    ceiling = [] if reader is None else [evaluate.Report("human (held out)", evaluate.score_lines(
        "human (held out)", report["texts"], report["coords"], reader))]
    return {"ceiling": ceiling, "realism": report["realism"], "table": report["table"]}


# ---------------------------------------------------------------- release


def add_release(sub: argparse._SubParsersAction) -> None:
    from ..tools.human_styles import STYLE_WRITERS
    from ..tools.release import DEFAULT_FINALISTS, DEFAULT_SELECTION_SEEDS, STYLE_SOURCES

    rel = sub.add_parser("release", help="make a shippable checkpoint (config, weights, styles) from a run",
                         description="Copy a run's best (else newest) checkpoint without its training state, and "
                                     "add styles from the training data's validation lines: one per corpus font, or one per "
                                     "held-out human writer (--style-source human), named by the look of the hand.")
    rel.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a training run directory")
    rel.add_argument("-o", "--output", type=Path, required=True, help="checkpoint directory to write (replaced)")
    rel.add_argument("--data", type=Path, help="the dataset the run trained on (for styles)")
    rel.add_argument("--style-source", choices=STYLE_SOURCES, default="fonts",
                     help="styles from the corpus fonts (one per font) or from held-out human writers (one per "
                          "writer, named by slant, joins and width; default: fonts)")
    rel.add_argument("--style-writers", choices=STYLE_WRITERS, default="held-out",
                     help="human styles from the writers the run never saw or from those it trained on "
                          "(default: held-out)")
    rel.add_argument("--default-style", help="the style `write` uses when none is given (default: unprimed); "
                                             "'auto': the style that scored best in the selection")
    rel.add_argument("--default-bias", type=float, metavar="B",
                     help="the bias `write` uses when none is given (default: the run's, else the package's; "
                          "choose the lowest at which the default style meets its legibility targets)")
    rel.add_argument("--note", default="", help="a line recorded in config.json's release record")
    rel.add_argument("--styles-from", type=Path, metavar="CHECKPOINT",
                     help="keep this release's styles and default style (new weights, the same primes) instead of "
                          "choosing styles; --data then gives only the provenance")
    rel.add_argument("--style-candidates", type=int, default=1, metavar="N",
                     help="try N lines per font (different writers), or per human writer, as its style and keep the "
                          "one the OCR reads best in --selection-prompts (needs the [eval] extra; default: 1, no selection of "
                          "lines; human writers are still ranked where --selection-prompts is given)")
    rel.add_argument("--piece-chars", type=int, metavar="N",
                     help="write lines longer than N characters in pieces joined on the page, for a model trained on "
                          "short lines (recorded in config.json; default: whole lines)")
    rel.add_argument("--style-count", type=int, metavar="N",
                     help="human styles: keep the N writers the OCR reads best (default: all)")
    rel.add_argument("--selection-prompts", type=Path, metavar="FILE",
                     help="prompts written with each candidate style (keep them apart from the evaluation's)")
    rel.add_argument("--selection-bias", type=float, help="sampling bias for the selection (default: the write default)")
    rel.add_argument("--selection-finalists", type=int, default=DEFAULT_FINALISTS, metavar="K",
                     help="write the K best candidates of each font again with more seeds, against a lucky "
                          f"single pass (default: {DEFAULT_FINALISTS}; 0: one pass decides)")
    rel.add_argument("--selection-seeds", type=int, default=DEFAULT_SELECTION_SEEDS, metavar="N",
                     help=f"passes (seeds) each finalist is scored over (default: {DEFAULT_SELECTION_SEEDS})")
    rel.set_defaults(run=_run_release)


def _run_release(args: argparse.Namespace) -> int:
    from ..checkpoint import read_config
    from ..tools.release import release

    prompts, styles, default_style, styles_from = None, None, args.default_style, None
    if args.selection_prompts is not None:
        from ..fileio import read_writable_lines

        prompts = read_writable_lines(args.selection_prompts)
    if args.styles_from is not None:
        from ..checkpoint import resolve
        from ..writing.hand import load_styles

        kept = resolve(args.styles_from)
        styles, kept_config = list(load_styles(kept).values()), read_config(kept)
        default_style = default_style or kept_config.default_style
        styles_from = {"checkpoint": str(args.styles_from), "release": kept_config.release}
    out = release(args.run_dir, args.output, data=args.data, default_style=default_style, note=args.note, styles=styles,
                  style_candidates_per_font=args.style_candidates, selection_prompts=prompts,
                  selection_bias=args.selection_bias, finalists=args.selection_finalists,
                  selection_seeds=args.selection_seeds, style_source=args.style_source,
                  style_count=args.style_count, piece_chars=args.piece_chars, styles_from=styles_from,
                  default_bias=args.default_bias, style_writers=args.style_writers)

    selection = (read_config(out).release or {}).get("style_selection")
    if selection:
        for name, chosen in selection["styles"].items():
            others = ", ".join(f"{c:.3f}" for c in chosen["candidate_cers"])
            finalists = zip(chosen.get("finalists", []), chosen.get("finalist_cers", []))
            final = ", ".join(f"#{i} {c:.3f}" for i, c in finalists)
            final = f"; finalists over {selection['seeds']} seeds [{final}]" if final else ""
            look = (f"; likeness {chosen['likeness']:.2f}, {'joined' if chosen['joined'] else 'print'}"
                    if "likeness" in chosen else "")
            print(f"style {name}: CER {chosen['cer']:.3f} of [{others}]{final}{look} -> {chosen['text']!r}")
    print(f"wrote {out}")
    return 0
