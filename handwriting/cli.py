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

from . import __version__
from .errors import HandwritingError

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
    from .plots import SHEET_FORMATS, contact_sheet

    _check_output_path(args.output)
    if args.output.suffix.lower().lstrip(".") not in SHEET_FORMATS:
        raise HandwritingError(f"cannot write {args.output}: use one of the extensions {', '.join(SHEET_FORMATS)}")
    if args.samples < 1:
        raise HandwritingError("--samples must be at least 1")
    dataset = load_dataset(args.dataset)
    contact_sheet(dataset, args.output, samples=args.samples, seed=args.seed)
    print(f"wrote {args.output}")
    return 0


# ---------------------------------------------------------------- main

COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_prepare, _add_info, _add_preview]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``handwriting`` command."""
    parser = argparse.ArgumentParser(
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
    except HandwritingError as exc:
        print(f"handwriting: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("handwriting: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
