#!/usr/bin/env python
"""Try changes to the drawn line (smoothing, word spacing) for realism and legibility; write JSON.

    python scripts/drawn_line_trial.py --human data/human-mix-h6.npz --lines 600 \\
        --variants none savgol:7:3 word-gaps:0.8 savgol:7:3+word-gaps:0.8 -o runs/drawn-line-trial.json

The held-out human lines are the checkpoint's split of --human (as `handwriting evaluate --human`
takes them); every shipped style writes them, the default style writes the public prompts once per
seed, and each variant is applied to those same lines (handwriting/tools/drawn_line_trial.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default"))
    parser.add_argument("--human", type=Path, required=True, metavar="DATA.npz", help="human lines (the checkpoint's mix)")
    parser.add_argument("--lines", type=int, default=600, help="held-out human lines (default: 600)")
    parser.add_argument("--human-split", metavar="CHECKPOINT",
                        help="take the held-out lines from this checkpoint's writer split of --human (default: the "
                             "judged checkpoint's), so that two models are judged on the same lines")
    parser.add_argument("--prompts", type=Path, default=ROOT / "data" / "prompts" / "public.txt")
    parser.add_argument("--bias", type=float, default=None,
                        help="default: the checkpoint's default bias, as write uses")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["none", "savgol:7:3"])
    parser.add_argument("--piece-chars", type=int, metavar="N",
                        help="write lines longer than N characters in pieces (0: whole; default: the checkpoint's)")
    parser.add_argument("--level-piece-sizes", choices=("on", "off"),
                        help="scale a long line's pieces to one x-height when joining them (default: the package's)")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)

    from handwriting.checkpoint import read_config
    from handwriting.datasets import load_dataset
    from handwriting.errors import HandwritingError
    from handwriting.fileio import read_writable_lines, write_text_atomic
    from handwriting.tools.drawn_line_trial import format_trial, parse_variant, run_trial
    from handwriting.writing.hand import default_style_name, load, load_styles, resolve_checkpoint

    try:
        for spec in args.variants:
            parse_variant(spec)
        checkpoint = resolve_checkpoint(args.checkpoint)
        train = read_config(resolve_checkpoint(args.human_split) if args.human_split else checkpoint).train
        hand = load(checkpoint)
        if args.piece_chars is not None:
            hand.piece_chars = args.piece_chars or None
        if args.level_piece_sizes is not None:
            hand.level_piece_sizes = args.level_piece_sizes == "on"
        result = run_trial(hand, load_dataset(args.human), read_writable_lines(args.prompts), variants=args.variants,
                           validation_fraction=train.validation_fraction, split_seed=train.seed,
                           styles=sorted(load_styles(checkpoint)), default_style=default_style_name(checkpoint),
                           bias=hand.default_bias if args.bias is None else args.bias, lines=args.lines,
                           seeds=args.seeds,
                           progress=lambda message: print(message, file=sys.stderr))
    except HandwritingError as error:
        print(f"drawn_line_trial: {error}", file=sys.stderr)
        return 2
    result["checkpoint"] = str(checkpoint)
    result["level_piece_sizes"] = hand.level_piece_sizes
    result["piece_chars"] = hand.piece_chars
    print(format_trial(result))
    write_text_atomic(args.output, json.dumps(result, indent=1))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
