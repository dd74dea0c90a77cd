"""The ``handwriting`` command.

Every subcommand reports bad input as one line on stderr and exits with status 2, never with a
traceback. Heavy imports (TensorFlow, matplotlib) happen inside the subcommand that needs them,
so ``handwriting info`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from .version import __version__
from .errors import HandwritingError
from .fileio import read_prompt_file
from .web.serve import add_serve_command

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _check_output_path(path: Path) -> None:
    """Fail early, before any work, when the output cannot be written."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise HandwritingError(f"cannot write {path}: directory {parent} does not exist")
    if path.is_dir():
        raise HandwritingError(f"cannot write {path}: it is a directory")


# ---------------------------------------------------------------- prepare


def _add_prepare(sub: argparse._SubParsersAction) -> None:
    from .dataclass_args import add_dataclass_arguments
    from .datasets.fonts import FontCorpusConfig
    from .datasets.iam import IamConfig

    prepare = sub.add_parser("prepare", help="build a dataset file from a data source")
    sources = prepare.add_subparsers(dest="source", required=True, metavar="SOURCE")

    iam = sources.add_parser("iam", help="read IAM-OnDB (lineStrokes/, ascii/, original/) from ROOT")
    iam.add_argument("root", type=Path, metavar="ROOT", help="the IAM-OnDB directory")
    iam.add_argument("-o", "--output", type=Path, required=True, help="dataset file to write (.npz)")
    add_dataclass_arguments(iam, IamConfig)
    iam.set_defaults(run=_run_prepare_iam)

    fonts = sources.add_parser("fonts", help="build the corpus written with single-stroke fonts")
    fonts.add_argument("-o", "--output", type=Path, required=True, help="dataset file to write (.npz)")
    add_dataclass_arguments(fonts, FontCorpusConfig)
    fonts.set_defaults(run=_run_prepare_fonts)
    _add_prepare_unipen(sources)


def _run_prepare_iam(args: argparse.Namespace) -> int:
    from .dataclass_args import dataclass_from_arguments
    from .datasets import save_dataset
    from .datasets.iam import IamConfig, read_iam

    _check_output_path(args.output)
    dataset, report = read_iam(args.root, dataclass_from_arguments(IamConfig, args))
    save_dataset(dataset, args.output)
    print(report.summary())
    print(f"wrote {len(dataset)} lines to {args.output}")
    return 0


def _run_prepare_fonts(args: argparse.Namespace) -> int:
    import time

    from .dataclass_args import dataclass_from_arguments
    from .datasets import save_dataset
    from .datasets.fonts import FontCorpusConfig, build_corpus

    _check_output_path(args.output)
    config = dataclass_from_arguments(FontCorpusConfig, args)
    start = time.perf_counter()
    dataset = build_corpus(config)
    save_dataset(dataset, args.output)
    print(f"wrote {len(dataset)} lines to {args.output} in {time.perf_counter() - start:.1f} s")
    return 0


def _add_prepare_unipen(sources: argparse._SubParsersAction) -> None:
    from .dataclass_args import add_dataclass_arguments
    from .datasets.clean import CleanConfig
    from .datasets.unipen import UnipenConfig

    unipen = sources.add_parser("unipen", help="read UNIPEN train_r01_v07 (data/, include/) from ROOT")
    unipen.add_argument("root", type=Path, metavar="ROOT", help="the release directory, holding data/ and include/")
    unipen.add_argument("-o", "--output", type=Path, required=True, help="dataset file to write (.npz)")
    add_dataclass_arguments(unipen, UnipenConfig)
    unipen.set_defaults(run=_run_prepare_unipen)

    clean = sources.add_parser("clean", help="split long lines at word gaps, drop lines whose ink does not match "
                                             "their text (e.g. after prepare unipen)")
    clean.add_argument("input", type=Path, metavar="IN.npz", help="the dataset file to clean")
    clean.add_argument("-o", "--output", type=Path, required=True, help="dataset file to write (.npz)")
    add_dataclass_arguments(clean, CleanConfig)
    clean.set_defaults(run=_run_prepare_clean)


def _run_prepare_unipen(args: argparse.Namespace) -> int:
    from .dataclass_args import dataclass_from_arguments
    from .datasets import save_dataset
    from .datasets.unipen import UnipenConfig, read_unipen, terminal_progress

    _check_output_path(args.output)
    config = dataclass_from_arguments(UnipenConfig, args)
    dataset, report = read_unipen(args.root, config, progress=terminal_progress(sys.stderr))
    save_dataset(dataset, args.output)
    print(report.summary())
    print(f"wrote {len(dataset)} lines to {args.output}")
    return 0


def _run_prepare_clean(args: argparse.Namespace) -> int:
    from .dataclass_args import dataclass_from_arguments
    from .datasets import load_dataset, save_dataset
    from .datasets.clean import CleanConfig, clean_dataset

    _check_output_path(args.output)
    dataset, report = clean_dataset(load_dataset(args.input), dataclass_from_arguments(CleanConfig, args))
    save_dataset(dataset, args.output)
    print(report.summary())
    print(f"wrote {len(dataset)} lines to {args.output}")
    return 0


# ---------------------------------------------------------------- info / preview


def _add_info(sub: argparse._SubParsersAction) -> None:
    info = sub.add_parser("info", help="describe a dataset file")
    info.add_argument("dataset", type=Path, metavar="DATA.npz")
    info.add_argument("--texts", action="store_true", help="print every text, one per line, in order")
    info.set_defaults(run=_run_info)


def _run_info(args: argparse.Namespace) -> int:
    import json

    from .datasets import dataset_summary, load_dataset

    dataset = load_dataset(args.dataset)
    if args.texts:
        for text in dataset.texts:
            print(text)
        return 0
    s = dataset_summary(dataset)
    print(f"file:              {args.dataset}")
    print(f"samples:           {s['samples']}")
    print(f"writers:           {s['writers']}")
    print(f"points per sample: mean {s['points_mean']:.1f}, max {s['points_max']}")
    print(f"chars per sample:  mean {s['chars_mean']:.1f}, max {s['chars_max']}")
    print(f"points per char:   {s['points_per_char']:.1f}")
    print(f"scale:             {s['scale']:.6g}")
    provenance = {k: v for k, v in s["metadata"].items() if k != "alphabet"}
    print(f"provenance:        {json.dumps(provenance, sort_keys=True)}")
    return 0


def _add_preview(sub: argparse._SubParsersAction) -> None:
    preview = sub.add_parser("preview", help="draw a contact sheet of random samples with their texts")
    preview.add_argument("dataset", type=Path, metavar="DATA.npz")
    preview.add_argument("-o", "--output", type=Path, required=True, help="image to write (.png, .svg, .pdf)")
    preview.add_argument("-n", "--samples", type=int, default=12, help="number of samples (default: 12)")
    preview.add_argument("--seed", type=int, default=0, help="which random samples (default: 0)")
    preview.set_defaults(run=_run_preview)


def _run_preview(args: argparse.Namespace) -> int:
    from .datasets import load_dataset
    from .tools.plots import SHEET_FORMATS, contact_sheet

    _check_output_path(args.output)
    if args.output.suffix.lower().lstrip(".") not in SHEET_FORMATS:
        raise HandwritingError(f"cannot write {args.output}: use one of the extensions {', '.join(SHEET_FORMATS)}")
    if args.samples < 1:
        raise HandwritingError("--samples must be at least 1")
    dataset = load_dataset(args.dataset)
    contact_sheet(dataset, args.output, samples=args.samples, seed=args.seed)
    print(f"wrote {args.output}")
    return 0


# ---------------------------------------------------------------- write / styles

OUTPUT_FORMATS = ("svg", "png", "animated-svg")


def _add_write(sub: argparse._SubParsersAction) -> None:
    from .writing.hand import DEFAULT_BIAS
    from .writing.layout import ALIGNMENTS
    from .writing.render import DEFAULT_COLOR, DEFAULT_MARGIN, DEFAULT_WIDTH

    write = sub.add_parser("write", help="write text in handwriting (SVG, PNG or animated SVG)",
                           description="Write TEXT (or every line of --input) in handwriting.")
    write.add_argument("text", nargs="*", metavar="TEXT", help="the text to write (words are joined by spaces)")
    write.add_argument("-o", "--output", type=Path, help="file to write (.svg or .png)")
    write.add_argument("--input", type=Path, help="batch mode: a text file, one prompt per line")
    write.add_argument("--output-dir", type=Path, help="batch mode: directory for 0001.svg, 0002.svg, ...")
    write.add_argument("--checkpoint", type=Path, help="checkpoint directory (default: the shipped model)")
    group = write.add_mutually_exclusive_group()
    group.add_argument("--style", help="a style of the checkpoint (see `handwriting styles`), 'random', or 'none' "
                                       "to write unprimed (default: the checkpoint's default style)")
    group.add_argument("--prime", type=Path, help="a style file (.json, as `handwriting style add` writes)")
    write.add_argument("--bias", type=float, default=DEFAULT_BIAS,
                       help=f"legibility: 0 is the trained distribution, higher is neater (default: {DEFAULT_BIAS})")
    write.add_argument("--seed", type=int, help="random seed: the same seed gives the same drawing")
    write.add_argument("--color", default=DEFAULT_COLOR, help=f"stroke colour, a CSS name or #hex (default: {DEFAULT_COLOR})")
    write.add_argument("--width", type=float, default=DEFAULT_WIDTH, help=f"stroke width in px (default: {DEFAULT_WIDTH})")
    write.add_argument("--max-line-chars", type=int, help="wrap lines longer than this many characters")
    write.add_argument("--align", choices=ALIGNMENTS, default="left", help="line alignment (default: left)")
    write.add_argument("--line-height", type=float, help="baseline-to-baseline distance in px (default: fits the ink)")
    write.add_argument("--page-width", type=float, help="page width in px (default: fits the ink)")
    write.add_argument("--margin", type=float, default=DEFAULT_MARGIN, help=f"page margin in px (default: {DEFAULT_MARGIN})")
    write.add_argument("--format", choices=OUTPUT_FORMATS, help="output format (default: from the file extension)")
    write.add_argument("--speed", type=float, default=1.0, help="animated-svg: drawing speed factor (default: 1)")
    write.add_argument("--no-normalise", dest="normalise_text", action="store_false",
                       help="do not map typographic characters and accents to the alphabet")
    write.set_defaults(run=_run_write)


def _output_format(path: Path, requested: str | None) -> str:
    if requested:
        return requested
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise HandwritingError(f"cannot tell the format of {path}: use .svg or .png, or give --format")
    return suffix.lstrip(".")


def _run_write(args: argparse.Namespace) -> int:
    from .writing import render

    if args.input is None:
        text = " ".join(args.text)
        if args.output is None:
            raise HandwritingError("give an output file with -o (or --input and --output-dir for batch mode)")
        if not text.strip():
            raise HandwritingError("empty text: there is nothing to write")
        fmt = _output_format(args.output, args.format)
        _check_output_path(args.output)
        texts, paths = [text], [args.output]
    else:
        if args.text or args.output:
            raise HandwritingError("batch mode takes --input and --output-dir, not TEXT or -o")
        if args.output_dir is None:
            raise HandwritingError("batch mode needs --output-dir")
        texts = read_prompt_file(args.input)
        fmt = args.format or "svg"
        if args.output_dir.exists() and not args.output_dir.is_dir():
            raise HandwritingError(f"cannot write to {args.output_dir}: it is not a directory")
        if not args.output_dir.exists():
            _check_output_path(args.output_dir)
        extension = "png" if fmt == "png" else "svg"
        paths = [args.output_dir / f"{i:04d}.{extension}" for i in range(1, len(texts) + 1)]
    render.check_color(args.color)
    if not args.width > 0:
        raise HandwritingError(f"--width must be positive, not {args.width}")
    if not args.speed > 0:
        raise HandwritingError(f"--speed must be positive, not {args.speed}")
    if args.max_line_chars is not None and args.max_line_chars < 1:
        raise HandwritingError("--max-line-chars must be at least 1")

    from .writing.hand import DEFAULT_STYLE, Style, load, resolve_checkpoint, text_lines

    for number, text in enumerate(texts, 1):  # fail on bad text before the model loads
        text_lines(text, normalise_text=args.normalise_text, max_line_chars=args.max_line_chars, number=number)
    checkpoint = resolve_checkpoint(args.checkpoint)
    hand = load(checkpoint)
    style = Style.load(args.prime) if args.prime else (args.style or DEFAULT_STYLE)
    if isinstance(style, str):
        hand.style(style, args.seed)  # an unknown style fails before any writing
    drawings = hand.write_many(
        texts, style=style, bias=args.bias, seed=args.seed, max_line_chars=args.max_line_chars, align=args.align,
        color=args.color, width=args.width, line_height=args.line_height, page_width=args.page_width,
        margin=args.margin, normalise_text=args.normalise_text)
    if args.input is not None:
        args.output_dir.mkdir(exist_ok=True)
    capped = 0
    for drawing, path in zip(drawings, paths):
        drawing.save(path, format=fmt, speed=args.speed)
        capped += sum(drawing.hit_cap)
    where = args.output if args.input is None else f"{len(paths)} files in {args.output_dir}"
    print(f"wrote {where}")
    if capped:
        print(f"warning: {capped} line(s) reached the sampler's step cap and may be incomplete", file=sys.stderr)
    return 0


def _add_styles(sub: argparse._SubParsersAction) -> None:
    styles = sub.add_parser("styles", help="list the styles of a checkpoint and your own")
    styles.add_argument("--checkpoint", type=Path, help="checkpoint directory (default: the shipped model)")
    styles.set_defaults(run=_run_styles)


def _run_styles(args: argparse.Namespace) -> int:
    from .writing.hand import load_styles, resolve_checkpoint
    from .writing.styles import load_user_styles, user_styles_dir

    shipped = load_styles(resolve_checkpoint(args.checkpoint))
    yours = {name: style for name, style in load_user_styles().items() if name not in shipped}
    if not shipped and not yours:
        print("this checkpoint has no styles")
    for name, style in sorted(shipped.items()):
        print(f"{name:16s} {style.text}")
    for name, style in sorted(yours.items()):
        print(f"{name:16s} {style.text}  (yours, {user_styles_dir()})")
    return 0


# ---------------------------------------------------------------- train


def _add_train(sub: argparse._SubParsersAction) -> None:
    from .training.options import add_train_arguments

    train = sub.add_parser("train", help="train the synthesis network (or --resume a run)")
    add_train_arguments(train)
    train.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    # TensorFlow and Keras are imported inside, when the run starts.
    from .training.options import run_from_arguments

    return run_from_arguments(args)


def _add_style(sub: argparse._SubParsersAction) -> None:
    style = sub.add_parser("style", help="manage your own styles")
    actions = style.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="make a style from your own handwriting",
                             description="Make a style from a handwriting sample: stroke JSON (a list of strokes, "
                                         "each a list of [x, y] points), InkML, or SVG path data. It is saved in "
                                         "your data folder ($HANDWRITING_USER_DIR, else the platform's), never "
                                         "in the model's folder.")
    add.add_argument("name", metavar="NAME", help="the new style's name")
    add.add_argument("--from", dest="ink", type=Path, required=True, metavar="FILE",
                     help="the handwriting sample (.json, .inkml or .svg)")
    add.add_argument("--text", required=True, help="what the sample says")
    add.add_argument("--ink-format", choices=("json", "inkml", "svg"), help="the sample's format (default: from the extension)")
    add.add_argument("--checkpoint", type=Path, help="the model whose styles' size and pace the sample is "
                                                     "brought to (default: the shipped model)")
    add.add_argument("--force", action="store_true", help="replace your style of the same name")
    add.set_defaults(run=_run_style_add)


def _run_style_add(args: argparse.Namespace) -> int:
    from .writing.hand import resolve_checkpoint
    from .writing.styles import add_style

    path = add_style(resolve_checkpoint(args.checkpoint), args.name, args.ink, args.text, force=args.force,
                     ink_format=args.ink_format)
    print(f"wrote {path}; write with it: handwriting write \"...\" --style {args.name}")
    return 0


def _add_plot(sub: argparse._SubParsersAction) -> None:
    plot = sub.add_parser("plot", help="plot what the network does while writing a line")
    plot.add_argument("kind", choices=("attention", "mixture"),
                      help="attention: window weights over characters vs time (Graves fig. 12); "
                           "mixture: the predicted density of every next point")
    plot.add_argument("text", nargs="+", metavar="TEXT", help="one line of text")
    plot.add_argument("-o", "--output", type=Path, required=True, help="image to write (.png, .svg, .pdf)")
    plot.add_argument("--checkpoint", type=Path, help="checkpoint directory (default: the shipped model)")
    plot.add_argument("--style", default="default", help="a style of the checkpoint, 'random' or 'none' (default: the checkpoint's default)")
    plot.add_argument("--bias", type=float, default=None, help="sampling bias (default: as for write)")
    plot.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    plot.set_defaults(run=_run_plot)


def _run_plot(args: argparse.Namespace) -> int:
    from .writing.hand import DEFAULT_BIAS, load, resolve_checkpoint, text_lines
    from .tools.plots import SHEET_FORMATS, attention_figure, figure_bytes, mixture_density_figure
    from .fileio import write_bytes_atomic

    fmt = args.output.suffix.lower().lstrip(".")
    if fmt not in SHEET_FORMATS:
        raise HandwritingError(f"cannot write {args.output}: use one of the extensions {', '.join(SHEET_FORMATS)}")
    _check_output_path(args.output)
    text = " ".join(args.text)
    lines = text_lines(text)
    if len(lines) != 1:
        raise HandwritingError("plot takes one line of text")
    hand = load(resolve_checkpoint(args.checkpoint))
    trace = hand.inspect(lines[0], style=args.style, bias=DEFAULT_BIAS if args.bias is None else args.bias,
                         seed=args.seed)
    if args.kind == "attention":
        fig = attention_figure(trace["offsets"], trace["phi"], trace["text"])
    else:
        fig = mixture_density_figure(trace["offsets"], trace["mixture"], trace["text"])
    write_bytes_atomic(args.output, figure_bytes(fig, format=fmt))
    print(f"wrote {args.output}")
    return 0


# ---------------------------------------------------------------- evaluate

#: The public prompt set of a checkout (``data/prompts/public.txt``).
def _default_prompts() -> Path:
    from .resources import prompts_dir

    return prompts_dir() / "public.txt"


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    from .writing.hand import DEFAULT_BIAS

    ev = sub.add_parser("evaluate", help="score legibility: write prompts, read them back with OCR",
                        description="Write every prompt with each seed, read the lines back with an offline OCR "
                                    "model (pip install 'handwriting[eval]') and report the character error rate, "
                                    "the failure rate (CER > 0.5), lines that hit the step cap and seconds per line.")
    ev.add_argument("--checkpoint", type=Path, help="checkpoint directory (default: the shipped model)")
    ev.add_argument("--prompts", type=Path, default=_default_prompts(), help="prompt file, one line each "
                    "(default: data/prompts/public.txt)")
    ev.add_argument("--style", action="append", dest="styles", metavar="NAME",
                    help="style to evaluate (repeatable); 'none' writes unprimed, 'all' every style and none "
                         "(default: the checkpoint's default style, else none)")
    ev.add_argument("--bias", type=float, default=DEFAULT_BIAS, help=f"sampling bias (default: {DEFAULT_BIAS})")
    ev.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds, one pass each (default: 0 1 2)")
    ev.add_argument("--limit", type=int, help="evaluate only the first N prompts")
    ev.add_argument("--data", type=Path, help="also report the NLL on this dataset file's validation lines")
    ev.add_argument("--ceiling", action="store_true", help="also score the prompts rendered plainly by each corpus font")
    ev.add_argument("--json", type=Path, dest="json_out", help="write every line's score to this JSON file")
    ev.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    import json

    from .tools import evaluate
    from .fileio import write_text_atomic
    from .writing.hand import default_style_name, load, load_styles, resolve_checkpoint

    prompts = evaluate.read_prompts(args.prompts)
    if args.limit is not None:
        if args.limit < 1:
            raise HandwritingError("--limit must be at least 1")
        prompts = prompts[: args.limit]
    if args.json_out is not None:
        _check_output_path(args.json_out)
    checkpoint = resolve_checkpoint(args.checkpoint)
    known = load_styles(checkpoint)
    requested = args.styles or [default_style_name(checkpoint) or "none"]
    names: list[str | None] = []
    for name in requested:
        if name == "all":
            names += [None] + sorted(known)
        elif name == "none":
            names.append(None)
        elif name not in known:
            raise HandwritingError(f"unknown style {name!r}; this checkpoint has: {', '.join(sorted(known)) or 'none'}")
        else:
            names.append(name)
    names = list(dict.fromkeys(names))
    reader = evaluate.OcrReader()
    hand = load(checkpoint)
    reports = []
    for name in names:
        reports.append(evaluate.evaluate_hand(hand, prompts, style=name, bias=args.bias, seeds=args.seeds,
                                              reader=reader, progress=lambda m: print(m, file=sys.stderr)))
    ceiling = evaluate.font_ceiling(prompts, reader=reader) if args.ceiling else []
    print(f"checkpoint {checkpoint}, {len(prompts)} prompts x {len(args.seeds)} seeds, bias {args.bias}")
    print(evaluate.format_table(reports + ceiling))
    print(f"hardest characters (error rate, seen at least {evaluate.HARDEST_MIN_COUNT} times):")
    print(evaluate.format_hardest_characters(reports))
    result = {"checkpoint": str(checkpoint), "prompts": str(args.prompts), "bias": args.bias, "seeds": args.seeds,
              "reports": [r.to_dict() for r in reports], "ceiling": [r.summary() for r in ceiling]}
    if args.data is not None:
        nll = evaluate.validation_nll(checkpoint, args.data)
        print(f"validation NLL on {args.data}: {nll['nll_per_line']:.1f} nats/line, "
              f"{nll['nll_per_point']:.3f} nats/point ({nll['lines']} lines)")
        result["validation"] = nll
    if args.json_out is not None:
        write_text_atomic(args.json_out, json.dumps(result, indent=1))
        print(f"wrote {args.json_out}")
    return 0


# ---------------------------------------------------------------- release


def _add_release(sub: argparse._SubParsersAction) -> None:
    from .tools.release import DEFAULT_FINALISTS, DEFAULT_SELECTION_SEEDS

    rel = sub.add_parser("release", help="make a shippable checkpoint (config, weights, styles) from a run",
                         description="Copy a run's best (else newest) checkpoint without its training state, and "
                                     "add one style per corpus font from the training data's validation lines.")
    rel.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a training run directory")
    rel.add_argument("-o", "--output", type=Path, required=True, help="checkpoint directory to write (replaced)")
    rel.add_argument("--data", type=Path, help="the font-corpus dataset the run trained on (for styles)")
    rel.add_argument("--default-style", help="the style `write` uses when none is given (default: unprimed); "
                                             "'auto': the style that scored best in the selection")
    rel.add_argument("--note", default="", help="a line recorded in config.json's release record")
    rel.add_argument("--style-candidates", type=int, default=1, metavar="N",
                     help="try N lines per font (different writers) as its style and keep the one the OCR reads "
                          "best in --selection-prompts (needs the [eval] extra; default: 1, no selection)")
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
    import json

    from .tools.release import release

    prompts = None
    if args.selection_prompts is not None:
        from .tools.evaluate import read_prompts

        prompts = read_prompts(args.selection_prompts)
    out = release(args.run_dir, args.output, data=args.data, default_style=args.default_style, note=args.note,
                  style_candidates_per_font=args.style_candidates, selection_prompts=prompts,
                  selection_bias=args.selection_bias, finalists=args.selection_finalists,
                  selection_seeds=args.selection_seeds)
    from .checkpoint import read_config

    selection = (read_config(out).release or {}).get("style_selection")
    if selection:
        for name, chosen in selection["styles"].items():
            others = ", ".join(f"{c:.3f}" for c in chosen["candidate_cers"])
            finalists = zip(chosen.get("finalists", []), chosen.get("finalist_cers", []))
            final = ", ".join(f"#{i} {c:.3f}" for i, c in finalists)
            final = f"; finalists over {selection['seeds']} seeds [{final}]" if final else ""
            print(f"style {name}: CER {chosen['cer']:.3f} of [{others}]{final} -> {chosen['text']!r}")
    print(f"wrote {out}")
    return 0


# ---------------------------------------------------------------- main

COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_prepare, _add_info, _add_preview, _add_write, _add_styles, _add_style, _add_train, _add_plot, _add_evaluate, _add_release,
    add_serve_command]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit status 2)."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``handwriting`` command."""
    parser = _Parser(
        prog="handwriting", description="Write any text in realistic handwriting (Graves 2013)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader went away (``handwriting info ... | head``)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except HandwritingError as exc:
        print(f"handwriting: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("handwriting: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
