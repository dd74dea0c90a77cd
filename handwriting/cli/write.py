"""``handwriting write``, ``styles``, ``style add`` and ``plot``: writing with a model."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..errors import HandwritingError
from ..fileio import output_format, read_prompt_file
from .common import add_engine_argument, check_output_path

# ---------------------------------------------------------------- write / styles

from ..output.drawing import OUTPUT_FORMATS
from ..output.plotter import PLOTTER_FORMATS, PenTravel

#: Every format `write` writes: the drawing's own and the pen plotter's.
WRITE_FORMATS = OUTPUT_FORMATS + PLOTTER_FORMATS


def add_write(sub: argparse._SubParsersAction) -> None:
    from ..output.layout import ALIGNMENTS
    from ..output.pages import DEFAULT_MARGIN_MM, PAGE_SIZES
    from ..output.plotter import DEFAULT_PROFILES, plotter_profiles
    from ..output.paper import PAPERS, PLAIN
    from ..output.render import DEFAULT_COLOR, DEFAULT_MARGIN, DEFAULT_WIDTH
    from ..writing.hand import DEFAULT_BIAS, DEFAULT_SLANT, SLANT_MODEL, SLANT_STYLE

    write = sub.add_parser("write", help="write text in handwriting (SVG, PNG, animated SVG, PDF, or G-code, HPGL "
                                         "and SVG for pen plotters)",
                           description="Write TEXT (or a --file, or every line of --input) in handwriting.")
    write.add_argument("text", nargs="*", metavar="TEXT", help="the text to write (words are joined by spaces)")
    write.add_argument("-o", "--output", type=Path, help="file to write (.svg, .png, .pdf, or for a pen plotter "
                                                         ".gcode or .hpgl); several pages as .svg, .png or plotter "
                                                         "files go to NAME-1.svg, NAME-2.svg, ...")
    write.add_argument("--file", type=Path, help="write this text file (newlines and paragraphs kept) instead of TEXT")
    write.add_argument("--input", type=Path, help="batch mode: a text file, one prompt per line")
    write.add_argument("--output-dir", type=Path, help="batch mode: directory for 0001.svg, 0002.svg, ... "
                                                       "(made if missing)")
    write.add_argument("--checkpoint", type=Path, help="checkpoint directory (default: the shipped model)")
    group = write.add_mutually_exclusive_group()
    group.add_argument("--style", help="a style of the checkpoint (see `handwriting styles`), 'random', or 'none' "
                                       "to write unprimed (default: the checkpoint's default style)")
    group.add_argument("--prime", type=Path, help="a style file (.json, as `handwriting style add` writes)")
    write.add_argument("--bias", type=float,
                       help="legibility: 0 is the trained distribution, higher is neater (default: the model's, "
                            f"{DEFAULT_BIAS} unless its release chose another)")
    write.add_argument("--seed", type=int, help="random seed: the same seed gives the same drawing")
    write.add_argument("--slant", default=DEFAULT_SLANT,
                       help=f"'{SLANT_STYLE}': lean as the style's writer leans (the default); '{SLANT_MODEL}': as the "
                            f"network drew it; or degrees, positive leaning right (0: upright)")
    write.add_argument("--color", default=DEFAULT_COLOR, help=f"stroke colour, a CSS name or #hex (default: {DEFAULT_COLOR})")
    write.add_argument("--width", type=float, default=DEFAULT_WIDTH, help=f"stroke width in px (default: {DEFAULT_WIDTH})")
    write.add_argument("--page", help=f"write on sheets of paper: {', '.join(PAGE_SIZES)} or WxHmm (e.g. 148x105mm); "
                                      "as many pages as the text needs")
    write.add_argument("--paper", choices=PAPERS, default=PLAIN, help="with --page: the ruling shown in PNG and PDF "
                                                                     "(default: plain)")
    write.add_argument("--max-pages", type=int, help="with --page: fail if the text needs more pages")
    write.add_argument("--neat", action="store_true", help="with --page: no natural page variation (level, evenly "
                                                           "spaced lines at one size)")
    write.add_argument("--max-line-chars", type=int, help="wrap lines longer than this many characters")
    write.add_argument("--align", choices=ALIGNMENTS, default="left", help="line alignment (default: left)")
    write.add_argument("--line-height", type=float, help="baseline-to-baseline distance in px, in mm with --page "
                                                         "(default: from the hand's size)")
    write.add_argument("--page-width", type=float, help="page width in px (default: fits the ink)")
    write.add_argument("--margin", type=float, help=f"page margin in px (default: {DEFAULT_MARGIN}), in mm with --page "
                                                    f"(default: {DEFAULT_MARGIN_MM})")
    write.add_argument("--format", choices=WRITE_FORMATS,
                       help="output format (default: from the file extension); gcode, hpgl and plotter-svg are for "
                            "pen plotters (one polyline per stroke in mm, words ordered to cut pen-up travel; "
                            "needs the plot extra: pip install 'handwriting[plot]')")
    write.add_argument("--plotter-profile", metavar="NAME",
                       help="gcode/hpgl: the plotter's profile, one of " + ", ".join(plotter_profiles())
                            + f" (default: {', '.join(f'{p} for {f}' for f, p in DEFAULT_PROFILES.items())})")
    write.add_argument("--speed", type=float, default=1.0, help="animated-svg: drawing speed factor (default: 1)")
    add_engine_argument(write)
    write.add_argument("--no-normalise", dest="normalise_text", action="store_false",
                       help="do not map typographic characters and accents to the alphabet")
    write.set_defaults(run=_run_write)


def _single_text(args: argparse.Namespace) -> str:
    """The text of a single-drawing run: TEXT or --file."""
    if args.file is not None:
        if args.text:
            raise HandwritingError("give TEXT or --file, not both")
        try:
            return args.file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise HandwritingError(f"cannot read {args.file}: {exc.__class__.__name__}") from None
    return " ".join(args.text)


def _jobs(args: argparse.Namespace) -> tuple[list[str], list[Path], str]:
    """The texts to write, their output paths and the format; checked before the model loads."""
    if args.input is None:
        text = _single_text(args)
        if args.output is None:
            raise HandwritingError("give an output file with -o (or --input and --output-dir for batch mode)")
        if not text.strip():
            raise HandwritingError("empty text: there is nothing to write")
        fmt = output_format(args.output, WRITE_FORMATS, args.format)
        check_output_path(args.output)
        return [text], [args.output], fmt
    if args.text or args.output or args.file:
        raise HandwritingError("batch mode takes --input and --output-dir, not TEXT, --file or -o")
    if args.output_dir is None:
        raise HandwritingError("batch mode needs --output-dir")
    texts = read_prompt_file(args.input)
    fmt = args.format or "svg"
    if args.output_dir.exists() and not args.output_dir.is_dir():
        raise HandwritingError(f"cannot write to {args.output_dir}: it is not a directory")
    extension = fmt if fmt in ("png", "pdf", "gcode", "hpgl") else "svg"
    return texts, [args.output_dir / f"{i:04d}.{extension}" for i in range(1, len(texts) + 1)], fmt


def _check_options(args: argparse.Namespace) -> None:
    from ..output import render

    render.check_color(args.color)
    if not args.width > 0:
        raise HandwritingError(f"--width must be positive, not {args.width}")
    if not args.speed > 0:
        raise HandwritingError(f"--speed must be positive, not {args.speed}")
    if args.max_line_chars is not None and args.max_line_chars < 1:
        raise HandwritingError("--max-line-chars must be at least 1")
    if args.page is None:
        given = [flag for flag, on in (("--paper", args.paper != "plain"), ("--max-pages", args.max_pages is not None),
                                       ("--neat", args.neat)) if on]
        if given:
            raise HandwritingError(f"{', '.join(given)} need(s) --page")
        return
    from ..output.pages import DEFAULT_MARGIN_MM, Sheet

    for flag, value in (("--max-line-chars", args.max_line_chars), ("--page-width", args.page_width)):
        if value is not None:
            raise HandwritingError(f"{flag} does not go with --page (the page sets the width)")
    if args.align != "left":
        raise HandwritingError("--align does not go with --page (lines start at the margin)")
    if args.max_pages is not None and args.max_pages < 1:
        raise HandwritingError(f"--max-pages must be at least 1, not {args.max_pages}")
    Sheet.make(args.page, DEFAULT_MARGIN_MM if args.margin is None else args.margin, args.paper)


def _run_write(args: argparse.Namespace) -> int:
    from ..output.render import DEFAULT_MARGIN
    from ..writing.hand import DEFAULT_STYLE, Style, load, resolve_checkpoint, slant_radians, text_lines

    texts, paths, fmt = _jobs(args)
    _check_plotter(fmt, args.plotter_profile)
    _check_options(args)
    slant_radians(args.slant)
    for number, text in enumerate(texts, 1):  # fail on bad text before the model loads
        text_lines(text, normalise_text=args.normalise_text, max_line_chars=args.max_line_chars, number=number)
    hand = load(resolve_checkpoint(args.checkpoint), engine=args.engine)
    style = Style.load(args.prime) if args.prime else (args.style or DEFAULT_STYLE)
    if isinstance(style, str):
        hand.style(style, args.seed)  # an unknown style fails before any writing
    common = dict(style=style, bias=args.bias, seed=args.seed, slant=args.slant, color=args.color, width=args.width,
                  line_height=args.line_height, normalise_text=args.normalise_text)
    if args.page is None:
        drawings = hand.write_many(texts, max_line_chars=args.max_line_chars, align=args.align,
                                   page_width=args.page_width,
                                   margin=DEFAULT_MARGIN if args.margin is None else args.margin, **common)
    else:
        from ..datasets.unipen import terminal_progress

        drawings = [hand.write(text, page=args.page, paper=args.paper, max_pages=args.max_pages, neat=args.neat,
                               margin=args.margin, progress=terminal_progress(sys.stderr, "lines written"), **common)
                    for text in texts]
    if args.input is not None:
        args.output_dir.mkdir(parents=True, exist_ok=True)
    written, travels = [], []
    for drawing, path in zip(drawings, paths):
        if fmt in PLOTTER_FORMATS:
            files, travel = _save_plotter(drawing, path, fmt, args.plotter_profile)
            written += files
            travels.append(travel)
        else:
            written += drawing.save(path, format=fmt, speed=args.speed)
    capped = sum(sum(drawing.hit_cap) for drawing in drawings)
    if args.input is not None:
        print(f"wrote {len(written)} files in {args.output_dir}")
    elif len(written) > 1:
        print(f"wrote {len(written)} pages: {', '.join(str(f) for f in written)}")
    else:
        pages = len(drawings[0].pages)
        print(f"wrote {written[0]}" + (f" ({pages} pages)" if pages > 1 else ""))
    if travels:
        writing, plotted = sum(t.writing_mm for t in travels), sum(t.plotted_mm for t in travels)
        print(f"pen-up travel: {plotted:.0f} mm, {writing:.0f} mm in writing order "
              f"({1 - plotted / writing if writing else 0:.0%} less)")
    if capped:
        print(f"warning: {capped} line(s) reached the sampler's step cap and may be incomplete", file=sys.stderr)
    return 0


def _check_plotter(fmt: str, profile: str | None) -> None:
    """Fail before the model loads on a bad profile, or when vpype is missing for plotter output."""
    if fmt in PLOTTER_FORMATS:
        from ..output.plotter import plotter_profile, require_vpype

        plotter_profile(fmt, profile)
        require_vpype()
    elif profile is not None:
        raise HandwritingError("--plotter-profile is for pen-plotter output: --format gcode or hpgl")


def _save_plotter(drawing, path: Path, fmt: str, profile: str | None) -> tuple[list[Path], PenTravel]:
    """Write a drawing's pages for a pen plotter (one file per page); the files and the pen-up travel."""
    from ..output.plotter import write_plotter
    from ..output.plotter_page import drawing_pages

    return write_plotter(drawing_pages(drawing), path, fmt, profile)


def add_styles(sub: argparse._SubParsersAction) -> None:
    styles = sub.add_parser("styles", help="list the styles of a checkpoint and your own")
    styles.add_argument("--checkpoint", type=Path, help="checkpoint directory (default: the shipped model)")
    styles.set_defaults(run=_run_styles)


def _run_styles(args: argparse.Namespace) -> int:
    from ..writing.hand import load_styles, resolve_checkpoint
    from ..writing.styles import load_user_styles, user_styles_dir

    shipped = load_styles(resolve_checkpoint(args.checkpoint))
    yours = {name: style for name, style in load_user_styles().items() if name not in shipped}
    if not shipped and not yours:
        print("this checkpoint has no styles")
    for name, style in sorted(shipped.items()):
        print(f"{name:16s} {style.text}")
    for name, style in sorted(yours.items()):
        learnt = ", adapted" if style.personal_model is not None else ""
        print(f"{name:16s} {style.text}  (yours{learnt}, {user_styles_dir()})")
    return 0


def add_style(sub: argparse._SubParsersAction) -> None:
    from ..training.adapt import AdaptConfig

    style = sub.add_parser("style", help="manage your own styles")
    actions = style.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="make a style from your own handwriting",
                             description="Make a style from a handwriting sample: stroke JSON (a list of strokes, "
                                         "each a list of [x, y] points), InkML, or SVG path data. It is saved in "
                                         "your data folder ($HANDWRITING_USER_DIR, else the platform's), never "
                                         "in the model's folder.")
    add.add_argument("name", metavar="NAME", help="the new style's name")
    add.add_argument("--from", dest="ink", type=Path, required=True, nargs="+", metavar="FILE",
                     help="the handwriting (.json, .inkml or .svg); with --adapt, 3 to 20 lines in one or more files")
    add.add_argument("--text", action="append", help="what the sample says; with --adapt, once per ink line in "
                                                     "order (else each FILE's side file FILE.txt, one line of text "
                                                     "per ink line, or the text inline in JSON or InkML)")
    add.add_argument("--ink-format", choices=("json", "inkml", "svg"), help="the sample's format (default: from the extension)")
    add.add_argument("--checkpoint", type=Path, help="the model whose styles' size and pace the sample is "
                                                     "brought to (default: the shipped model)")
    add.add_argument("--force", action="store_true", help="replace your style of the same name")
    adapt = add.add_argument_group("adaptation (your own hand: the network learns it from a few lines)")
    adapt.add_argument("--adapt", action="store_true", help="fine-tune the network to these lines and save the "
                                                           "result with the style (docs/adaptation.md)")
    adapt.add_argument("--minutes", type=float, help=f"the training budget in minutes (default {AdaptConfig.minutes:g}; training also "
                                                         "ends after --steps)")
    adapt.add_argument("--steps", type=int, help=f"optimizer steps at most (default {AdaptConfig.steps}, docs/adaptation.md)")
    adapt.add_argument("--min-fit", type=float, help="the least nats per character a line's ink must gain from its "
                                                     "text to be used (default: calibrated for the shipped model)")
    adapt.add_argument("--strength", type=float, help="how far towards your hand, from 0 (the shipped network) to 1 "
                                                      f"(default {AdaptConfig.strength:g}): less writes more legibly "
                                                      "and less like you (docs/adaptation.md)")
    add.set_defaults(run=_run_style_add)
    remove = actions.add_parser("remove", help="remove one of your styles (and the network it learnt, if any)",
                                description="Remove a style of yours from your data folder: its sample and "
                                            "its personal model. Shipped styles are part of the model and stay.")
    remove.add_argument("name", metavar="NAME", help="the style to remove (handwriting styles lists yours)")
    remove.set_defaults(run=_run_style_remove)


def _run_style_add(args: argparse.Namespace) -> int:
    from ..writing.hand import resolve_checkpoint
    from ..writing.styles import add_style

    checkpoint = resolve_checkpoint(args.checkpoint)
    if args.adapt:
        return _run_adapt(args, checkpoint)
    if len(args.ink) != 1 or not args.text or len(args.text) != 1:
        raise HandwritingError("a style without --adapt is made from one file and one --text")
    path = add_style(checkpoint, args.name, args.ink[0], args.text[0], force=args.force,
                     ink_format=args.ink_format)
    print(f"wrote {path}; write with it: handwriting write \"...\" --style {args.name}")
    return 0


def _run_style_remove(args: argparse.Namespace) -> int:
    from ..writing.styles import remove_user_style

    removed = remove_user_style(args.name)
    print(f"removed style {args.name!r}: {', '.join(str(p) for p in removed)}")
    return 0


def _run_adapt(args: argparse.Namespace, checkpoint: Path) -> int:
    from dataclasses import replace

    from ..tools.adaptation import adapt_style, gather_samples
    from ..training.adapt import AdaptConfig

    config = AdaptConfig()
    chosen = {"minutes": args.minutes, "steps": args.steps, "min_fit": args.min_fit, "strength": args.strength}
    config = replace(config, **{k: v for k, v in chosen.items() if v is not None})
    config.validate()
    samples = gather_samples(args.ink, args.text, args.ink_format)

    def checked(result) -> None:
        for refusal in result.refused:
            print(f"left out {refusal.source} ({refusal.text!r}): {refusal.reason}", file=sys.stderr)
        print(f"adapting to {len(result.kept)} lines (at most {config.steps} steps, {config.minutes:g} min)",
              file=sys.stderr)

    done = adapt_style(checkpoint, args.name, samples, config=config, force=args.force,
                       progress=progress_bar("adapting", sys.stderr), on_checked=checked)
    if sys.stderr.isatty() and done.stopped != "steps":
        print(file=sys.stderr)  # the bar stopped short of its end
    print(f"wrote {done.path} ({done.steps} steps, {done.seconds:.0f} s); write with it: "
          f"handwriting write \"...\" --style {args.name}")
    return 0


def progress_bar(label: str, stream, width: int = 30):
    """A ``progress(step, steps, loss)`` callback drawing a bar on a terminal; ``None`` otherwise."""
    if not stream.isatty():
        return None
    start = time.perf_counter()

    def show(step: int, steps: int, loss: float) -> None:
        filled = round(width * step / steps)
        left = (time.perf_counter() - start) / step * (steps - step)
        end = "\n" if step == steps else ""
        print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {step}/{steps} nll {loss:.3f} "
              f"~{left:.0f} s left ", end=end, file=stream, flush=True)

    return show


def add_plot(sub: argparse._SubParsersAction) -> None:
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
    from ..fileio import write_bytes_atomic
    from ..tools.plots import (
        SHEET_FORMATS,
        attention_figure,
        figure_bytes,
        mixture_density_figure,
    )
    from ..writing.hand import load, resolve_checkpoint, text_lines

    fmt = output_format(args.output, SHEET_FORMATS)
    check_output_path(args.output)
    text = " ".join(args.text)
    lines = text_lines(text)
    if len(lines) != 1:
        raise HandwritingError("plot takes one line of text")
    hand = load(resolve_checkpoint(args.checkpoint))
    trace = hand.inspect(lines[0], style=args.style, bias=args.bias, seed=args.seed)
    if args.kind == "attention":
        fig = attention_figure(trace["offsets"], trace["phi"], trace["text"])
    else:
        fig = mixture_density_figure(trace["offsets"], trace["mixture"], trace["text"])
    write_bytes_atomic(args.output, figure_bytes(fig, format=fmt))
    print(f"wrote {args.output}")
    return 0
