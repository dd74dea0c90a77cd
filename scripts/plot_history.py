#!/usr/bin/env python
"""Draw runs' validation NLL against CPU hours (their history.jsonl) as one figure.

    python scripts/plot_history.py "3 x 128=/work/runs/cap128" "3 x 256=/work/runs/fluent" \
        "3 x 400=/work/runs/cap400" --reference -765.0 --reference-label "start (shipped model)" \
        -o docs/capacity-curves.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="LABEL=RUN_DIR", help="a label and a run directory")
    parser.add_argument("--reference", type=float, help="a horizontal line at this NLL")
    parser.add_argument("--reference-label", default="")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the figure (.png, .svg or .pdf)")
    args = parser.parse_args(argv)

    from handwriting.fileio import write_bytes_atomic
    from handwriting.tools.plots import figure_bytes, history_figure
    from handwriting.training.trainer import read_history

    histories = {}
    for item in args.runs:
        label, _, run = item.rpartition("=")
        if not label or not Path(run, "history.jsonl").is_file():
            print(f"plot_history: {item!r}: give LABEL=RUN_DIR of a run with a history.jsonl", file=sys.stderr)
            return 2
        histories[label] = read_history(run)
    figure = history_figure(histories, args.reference, args.reference_label)
    write_bytes_atomic(args.output, figure_bytes(figure, format=args.output.suffix.lstrip(".") or "png"))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
