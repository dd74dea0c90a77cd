"""``handwriting prepare`` (iam, fonts, unipen, clean, mix, keep-writers, word-lines, char-lines, legible), ``info``
and ``preview``: dataset files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import HandwritingError
from .common import check_output_path

# ---------------------------------------------------------------- prepare


def add_prepare(sub: argparse._SubParsersAction) -> None:
    from ..dataclass_args import add_dataclass_arguments
    from ..datasets.fonts import FontCorpusConfig
    from ..datasets.iam import IamConfig

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

    mix = sources.add_parser("mix", help="mix dataset files: all lines of some, a random sample of others")
    mix.add_argument("parts", nargs="+", metavar="NAME=DATA.npz[:LINES[+CHARS]]",
                     help="a dataset and the name its writers get; ':LINES' takes a random sample of that many, "
                          "'+CHARS' also every other line holding one of CHARS (e.g. :4000+0123456789)")
    mix.add_argument("-o", "--output", type=Path, required=True, help="dataset file to write (.npz)")
    mix.add_argument("--seed", type=int, default=0, help="which lines are sampled (default: 0)")
    mix.set_defaults(run=_run_prepare_mix)

    keep = sources.add_parser("keep-writers", help="keep the lines of a mix's training writers (its writer split)")
    keep.add_argument("input", type=Path, metavar="IN.npz", help="the dataset file to filter")
    keep.add_argument("--split-of", type=Path, required=True, metavar="MIX.npz", help="the mix whose split decides")
    keep.add_argument("--part", required=True, help="the name this dataset's writers have in the mix (e.g. unipen)")
    keep.add_argument("--validation-fraction", type=float, required=True,
                      help="the mix's split, as handwriting train --validation-fraction")
    keep.add_argument("--split-seed", type=int, default=0, help="the split's seed, as train --seed (default: 0)")
    keep.add_argument("-o", "--output", type=Path, required=True, help="dataset file to write (.npz)")
    keep.set_defaults(run=_run_prepare_keep_writers)
    _add_prepare_word_lines(sources)
    _add_prepare_char_lines(sources)
    _add_prepare_legible(sources)


def _run_prepare_iam(args: argparse.Namespace) -> int:
    from ..dataclass_args import dataclass_from_arguments
    from ..datasets.iam import IamConfig, read_iam

    check_output_path(args.output)
    dataset, report = read_iam(args.root, dataclass_from_arguments(IamConfig, args))
    return _write_dataset(dataset, args.output, report.summary())


def _write_dataset(dataset, output: Path, summary: str) -> int:
    """Save a prepared dataset, print the reader's summary and what was written."""
    from ..datasets import save_dataset

    save_dataset(dataset, output)
    print(summary)
    print(f"wrote {len(dataset)} lines to {output}")
    return 0


def _run_prepare_fonts(args: argparse.Namespace) -> int:
    import time

    from ..dataclass_args import dataclass_from_arguments
    from ..datasets import save_dataset
    from ..datasets.fonts import FontCorpusConfig, build_corpus

    check_output_path(args.output)
    config = dataclass_from_arguments(FontCorpusConfig, args)
    start = time.perf_counter()
    dataset = build_corpus(config)
    save_dataset(dataset, args.output)
    print(f"wrote {len(dataset)} lines to {args.output} in {time.perf_counter() - start:.1f} s")
    return 0


def _run_prepare_mix(args: argparse.Namespace) -> int:
    from ..datasets import load_dataset, save_dataset
    from ..datasets.mix import MixPart, mix_datasets, parse_part

    check_output_path(args.output)
    parts = []
    for text in args.parts:
        name, sep, rest = text.partition("=")
        if not sep or not name:
            raise HandwritingError(f"{text!r}: give each dataset as NAME=DATA.npz[:LINES[+CHARS]]")
        path, lines, also_with = parse_part(rest)
        parts.append(MixPart(name, load_dataset(path), lines, also_with))
    dataset = mix_datasets(parts, seed=args.seed)
    save_dataset(dataset, args.output)
    for source in dataset.metadata["data_source"]:
        print(f"{source['part']} ({source['name']}): {source['lines']} of {source['of']} lines")
    print(f"wrote {len(dataset)} lines by {len(dataset.writers)} writers to {args.output}")
    return 0


def _run_prepare_keep_writers(args: argparse.Namespace) -> int:
    from ..datasets import load_dataset, save_dataset
    from ..datasets.mix import keep_training_writers

    check_output_path(args.output)
    if not 0 <= args.validation_fraction < 1:
        raise HandwritingError("--validation-fraction must be in [0, 1)")
    dataset = load_dataset(args.input)
    kept = keep_training_writers(dataset, load_dataset(args.split_of), args.part, args.validation_fraction,
                                 args.split_seed)
    save_dataset(kept, args.output)
    print(f"wrote {len(kept)} of {len(dataset)} lines ({len(kept.writers)} of {len(dataset.writers)} writers) "
          f"to {args.output}")
    return 0


def _add_joiner(sources: argparse._SubParsersAction, name: str, help: str, items: tuple[str, str], spacing: str,
                config_class: type, run) -> None:
    """A ``prepare`` step that joins one writer's isolated pieces (``items``: metavar and help) into
    lines, spaced by the word gaps of ``--spacing-from``'s lines, with ``config_class``'s flags."""
    from ..dataclass_args import add_dataclass_arguments

    joined = sources.add_parser(name, help=help)
    joined.add_argument("input", type=Path, metavar=items[0], help=items[1])
    joined.add_argument("--spacing-from", type=Path, metavar="LINES.npz", help=spacing)
    joined.add_argument("-o", "--output", type=Path, required=True, help="dataset file to write (.npz)")
    add_dataclass_arguments(joined, config_class)
    joined.set_defaults(run=run)


def _join(args: argparse.Namespace, config_class: type, join) -> tuple:
    """Load a joiner's input and spacing lines, join them with ``config_class`` from the flags, save:
    ``(input, joined)``."""
    from ..dataclass_args import dataclass_from_arguments
    from ..datasets import load_dataset, save_dataset

    check_output_path(args.output)
    pieces = load_dataset(args.input)
    lines = load_dataset(args.spacing_from) if args.spacing_from is not None else None
    joined = join(pieces, lines, dataclass_from_arguments(config_class, args))
    save_dataset(joined, args.output)
    return pieces, joined


def _add_prepare_word_lines(sources: argparse._SubParsersAction) -> None:
    from ..datasets.word_lines import WordLinesConfig

    _add_joiner(sources, "word-lines", "join each writer's isolated words into lines, with the writer's own word "
                "spacing (e.g. UNIPEN categories 6 and 7)", ("WORDS.npz", "the words (one writer per word)"),
                "written lines by the same writers, whose word gaps give the spacing", WordLinesConfig,
                _run_prepare_word_lines)


def _run_prepare_word_lines(args: argparse.Namespace) -> int:
    from ..datasets.word_lines import WordLinesConfig, word_lines

    words, joined = _join(args, WordLinesConfig, word_lines)
    info = joined.metadata["word_lines"]
    print(f"wrote {len(joined)} lines of {len(words)} words ({len(joined.writers)} writers, "
          f"{info['writers_with_own_spacing']} with their own word spacing) to {args.output}")
    return 0


def _add_prepare_char_lines(sources: argparse._SubParsersAction) -> None:
    from ..datasets.char_lines import CharLinesConfig

    _add_joiner(sources, "char-lines", "join each writer's isolated characters into lines of short runs, sized by "
                "the fonts (e.g. UNIPEN categories 1a 1b 1d)",
                ("CHARS.npz", "the characters (one a sample, with writers)"),
                "written lines by the same writers, whose word gaps space the runs", CharLinesConfig,
                _run_prepare_char_lines)


def _run_prepare_char_lines(args: argparse.Namespace) -> int:
    from ..datasets.char_lines import CharLinesConfig, char_lines

    characters, joined = _join(args, CharLinesConfig, char_lines)
    print(f"wrote {len(joined)} lines of {len(characters)} characters ({len(joined.writers)} writers) to {args.output}")
    return 0


def _add_prepare_legible(sources: argparse._SubParsersAction) -> None:
    from ..dataclass_args import add_dataclass_arguments
    from ..tools.legible import LegibleConfig

    legible = sources.add_parser("legible", help="keep the training writers' lines that the OCR of evaluate reads; "
                                                 "held-out writers keep every line (needs the [eval] extra)")
    legible.add_argument("input", type=Path, metavar="IN.npz", help="the dataset file to filter (e.g. a mix)")
    legible.add_argument("--validation-fraction", type=float, required=True,
                         help="the split training uses on IN.npz, as handwriting train --validation-fraction")
    legible.add_argument("--split-seed", type=int, default=0, help="the split's seed, as train --seed (default: 0)")
    legible.add_argument("--readings", type=Path, metavar="READINGS.npz",
                         help="the OCR's readings of IN.npz, kept so that an interrupted run resumes and other "
                              "thresholds reuse them (default: IN.readings.npz beside the output)")
    legible.add_argument("-o", "--output", type=Path, required=True, help="dataset file to write (.npz)")
    add_dataclass_arguments(legible, LegibleConfig)
    legible.set_defaults(run=_run_prepare_legible)


def _run_prepare_legible(args: argparse.Namespace) -> int:
    from ..dataclass_args import dataclass_from_arguments
    from ..datasets import load_dataset, save_dataset
    from ..datasets.unipen import terminal_progress
    from ..tools.evaluate import OcrReader
    from ..tools.legible import LegibleConfig, legible_subset, read_dataset_lines

    check_output_path(args.output)
    if not 0 <= args.validation_fraction < 1:
        raise HandwritingError("--validation-fraction must be in [0, 1)")
    config = dataclass_from_arguments(LegibleConfig, args)
    dataset = load_dataset(args.input)
    cache = args.readings or args.output.parent / f"{args.input.stem}.readings.npz"
    check_output_path(cache)
    readings = read_dataset_lines(dataset, OcrReader(), cache, progress=terminal_progress(sys.stderr, "lines read"))
    subset, selection = legible_subset(dataset, readings, config, args.validation_fraction, args.split_seed)
    save_dataset(subset, args.output)
    print(selection.summary())
    print(f"wrote {len(subset)} of {len(dataset)} lines to {args.output} (readings in {cache}); train on it with "
          f"--validation-fraction {selection.validation_fraction!r} to hold out the same writers")
    return 0


def _add_prepare_unipen(sources: argparse._SubParsersAction) -> None:
    from ..dataclass_args import add_dataclass_arguments
    from ..datasets.clean import CleanConfig
    from ..datasets.unipen import UnipenConfig

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
    from ..dataclass_args import dataclass_from_arguments
    from ..datasets.unipen import UnipenConfig, read_unipen, terminal_progress

    check_output_path(args.output)
    config = dataclass_from_arguments(UnipenConfig, args)
    dataset, report = read_unipen(args.root, config, progress=terminal_progress(sys.stderr))
    return _write_dataset(dataset, args.output, report.summary())


def _run_prepare_clean(args: argparse.Namespace) -> int:
    from ..dataclass_args import dataclass_from_arguments
    from ..datasets import load_dataset
    from ..datasets.clean import CleanConfig, clean_dataset

    check_output_path(args.output)
    dataset, report = clean_dataset(load_dataset(args.input), dataclass_from_arguments(CleanConfig, args))
    return _write_dataset(dataset, args.output, report.summary())


# ---------------------------------------------------------------- info / preview


def add_info(sub: argparse._SubParsersAction) -> None:
    info = sub.add_parser("info", help="describe a dataset file")
    info.add_argument("dataset", type=Path, metavar="DATA.npz")
    info.add_argument("--texts", action="store_true", help="print every text, one per line, in order")
    info.set_defaults(run=_run_info)


def _run_info(args: argparse.Namespace) -> int:
    import json

    from ..datasets import dataset_summary, load_dataset

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


def add_preview(sub: argparse._SubParsersAction) -> None:
    preview = sub.add_parser("preview", help="draw a contact sheet of random samples with their texts")
    preview.add_argument("dataset", type=Path, metavar="DATA.npz")
    preview.add_argument("-o", "--output", type=Path, required=True, help="image to write (.png, .svg, .pdf)")
    preview.add_argument("-n", "--samples", type=int, default=12, help="number of samples (default: 12)")
    preview.add_argument("--seed", type=int, default=0, help="which random samples (default: 0)")
    preview.set_defaults(run=_run_preview)


def _run_preview(args: argparse.Namespace) -> int:
    from ..datasets import load_dataset
    from ..fileio import output_format
    from ..tools.plots import SHEET_FORMATS, contact_sheet

    check_output_path(args.output)
    output_format(args.output, SHEET_FORMATS)
    if args.samples < 1:
        raise HandwritingError("--samples must be at least 1")
    dataset = load_dataset(args.dataset)
    contact_sheet(dataset, args.output, samples=args.samples, seed=args.seed)
    print(f"wrote {args.output}")
    return 0
