#!/usr/bin/env python
"""Measure adaptation on held-out UNIPEN writers (docs/adaptation.md); write JSON.

    python scripts/adaptation_eval.py study --writers 3 -o runs/adapt-study.json
    python scripts/adaptation_eval.py evaluate -o runs/adapt-eval.json
    python scripts/adaptation_eval.py fit -o runs/adapt-fit.json      # the line check's threshold

The data is the checkpoint's training mix (its ``dataset``), split as it was trained
(``--validation-fraction``, default the checkpoint's); see handwriting/tools/adaptation_eval.py.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

#: The method study's variants: AdaptConfig fields (docs/adaptation.md).
VARIANTS = {
    "output lr1e-3": {"layers": ("mixture_output",)},
    "lstm3+out lr1e-3": {"layers": ("lstm3", "mixture_output")},
    "lstm23+out lr1e-3": {"layers": ("lstm2", "lstm3", "mixture_output")},
    "output lr1e-4": {"layers": ("mixture_output",), "learning_rate": 1e-4},
    "lstm23+out lr1e-4": {"layers": ("lstm2", "lstm3", "mixture_output"), "learning_rate": 1e-4},
    "lstm23+out lr3e-5": {"layers": ("lstm2", "lstm3", "mixture_output"), "learning_rate": 3e-5},
    "all lr1e-4": {"layers": ("lstm1", "lstm2", "lstm3", "window_params", "mixture_output"), "learning_rate": 1e-4},
    "all lr3e-5": {"layers": ("lstm1", "lstm2", "lstm3", "window_params", "mixture_output"), "learning_rate": 3e-5},
    "all rank4 lr1e-3": {"layers": ("lstm1", "lstm2", "lstm3", "window_params", "mixture_output"), "rank": 4},
    "lstm23+out lr1e-4 l2=1": {"layers": ("lstm2", "lstm3", "mixture_output"), "learning_rate": 1e-4,
                               "l2_to_base": 1.0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("study", "evaluate", "fit"))
    parser.add_argument("--checkpoint", default="checkpoints/default")
    parser.add_argument("--data", help="the checkpoint's training mix (default: its config's dataset)")
    parser.add_argument("--validation-fraction", type=float, help="its writer split (default: the checkpoint's)")
    parser.add_argument("--writers", type=int, default=10)
    parser.add_argument("--variants", nargs="+", help=f"study only these of {', '.join(VARIANTS)}")
    parser.add_argument("--lines", type=int, default=10, help="study: pool lines adapted on")
    parser.add_argument("--bias", type=float, help="evaluate: the writing's bias (default: the checkpoint's default)")
    parser.add_argument("--seed", type=int, default=0, help="evaluate: the writing's and the classifier's seed")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="evaluate: AdaptConfig fields")
    parser.add_argument("--conditions", nargs="+", help="evaluate: these conditions only (priming, adapt-N, "
                                                          "'adapt-N primed', 'adapt-N prime-held-out primed')")
    parser.add_argument("--whole-lines", action="store_true", help="evaluate: write lines whole, not in the "
                                                                   "checkpoint's pieces (piece_chars)")
    parser.add_argument("--level-piece-sizes", action="store_true", help="evaluate: scale a line's pieces to one "
                        "x-height when joining them")
    parser.add_argument("--picture", type=Path, help="evaluate: the first writer's lines as a PNG")
    parser.add_argument("--lines-out", type=Path, metavar="LINES.npz",
                        help="evaluate: every real and written line (texts/K, real/K/J, CONDITION/K/J)")
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args()

    from handwriting.backend import import_backend

    import_backend()
    import handwriting
    from handwriting.checkpoint import read_config, resolve
    from handwriting.datasets import load_dataset
    from handwriting.nn.model import load_model
    from handwriting.tools import adaptation_eval
    from handwriting.training.adapt import AdaptConfig

    config = read_config(resolve(args.checkpoint))
    data = load_dataset(args.data or config.dataset)
    fraction = args.validation_fraction or config.train.validation_fraction
    hand = handwriting.load(args.checkpoint)
    if args.whole_lines:
        hand.piece_chars = None
    if args.level_piece_sizes:
        hand.level_piece_sizes = True
    model, _, _ = load_model(args.checkpoint)
    writers = adaptation_eval.choose_writers(data, fraction, hand.scale, count=args.writers)
    print("writers:", ", ".join(w.name for w in writers), flush=True)
    say = lambda line: print(line, flush=True)  # noqa: E731
    if args.mode == "fit":
        result = adaptation_eval.fit_calibration(model, data, fraction, hand.scale)
        print(json.dumps(result, indent=1))
    elif args.mode == "study":
        variants = {k: VARIANTS[k] for k in (args.variants or VARIANTS)}
        result = {"rows": adaptation_eval.study(model, writers, variants, lines=args.lines, say=say)}
    else:
        fields = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
        adapt_config = AdaptConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
        bias = hand.default_bias if args.bias is None else args.bias
        result = adaptation_eval.evaluate(hand, model, writers, adapt_config, bias=bias, seed=args.seed, say=say,
                                          picture=args.picture, conditions=args.conditions,
                                          lines_out=args.lines_out)
        result["config"] = asdict(adapt_config)
        print(json.dumps(result["mean"], indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
