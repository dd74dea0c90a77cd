#!/usr/bin/env python
"""How a checkpoint's pen travels between strokes, by bias, beside the held-out people's; print a table.

    python scripts/pen_up_jumps.py --checkpoint checkpoints/default --bias 0 0.75 2.5

Adapted hands and primed ones are told from their writers first by their pen-up jumps
(docs/adaptation.md): people dot their i's and cross their t's after the word, so their pen
often travels back. For each kind of line this prints the median jumps per character, the mean
and 90th percentile of a jump's length, and the share of jumps that go back more than
``BACK_X_HEIGHTS`` (all in x-heights). The network writes the held-out people's own texts, in
pieces as it writes any line, ``--lines`` of them spread over the first ``--styles`` styles.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: A jump that moves left by more than this many x-heights counts as going back.
BACK_X_HEIGHTS = 0.3


def jump_summary(lines, texts) -> dict[str, float]:
    """Jumps per character (median over lines), mean and 90th-percentile length, share going back."""
    from handwriting import strokes

    per_char, lengths, back = [], [], []
    for coords, text in zip(lines, texts):
        coords = np.asarray(coords, np.float64)
        xy = coords[:, :2] / max(strokes.estimate_x_height(coords), 1e-6)
        ends = np.nonzero(coords[:-1, 2] > 0.5)[0]
        jumps = xy[ends + 1] - xy[ends]
        per_char.append(len(ends) / max(len(text), 1))
        lengths.extend(np.linalg.norm(jumps, axis=1))
        back.extend(jumps[:, 0] < -BACK_X_HEIGHTS)
    lengths = np.asarray(lengths) if lengths else np.zeros(1)
    return {"jumps per character": float(np.median(per_char)), "mean length": float(lengths.mean()),
            "90th percentile": float(np.percentile(lengths, 90)), "share going back": float(np.mean(back or [0]))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default"))
    parser.add_argument("--human", default=str(ROOT / "data" / "human-mix-h6.npz"), help="the people's lines")
    parser.add_argument("--human-split", default=str(ROOT / "checkpoints" / "default"),
                        help="the run whose validation split says which writers are held out")
    parser.add_argument("--bias", type=float, nargs="+", default=[2.5])
    parser.add_argument("--lines", type=int, default=120)
    parser.add_argument("--styles", type=int, default=6)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from handwriting.checkpoint import read_config
    from handwriting.datasets import load_dataset
    from handwriting.tools.realism import held_out_lines
    from handwriting.writing.hand import load

    split = read_config(args.human_split).train
    human, texts = held_out_lines(load_dataset(args.human), split.validation_fraction, split.seed, args.lines)
    rows = [("the people", jump_summary(human, texts))]
    hand = load(args.checkpoint)
    styles = sorted(hand.styles)[: max(args.styles, 1)] or [None]
    share = -(-len(texts) // len(styles))
    for bias in args.bias:
        lines = []
        for k, style in enumerate(styles):
            lines += hand.write_lines(texts[k * share:(k + 1) * share], style=style, bias=bias, seed=k)[0]
        rows.append((f"bias {bias:g}", jump_summary(lines, texts)))
    names = list(rows[0][1])
    print("| lines | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for label, summary in rows:
        print(f"| {label} | " + " | ".join(f"{summary[n]:.3f}" for n in names) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
