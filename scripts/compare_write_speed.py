#!/usr/bin/env python
"""Writing speed of several checkpoints, measured in turns so that their ratios share the machine.

    python scripts/compare_write_speed.py checkpoints/default runs/widened-256 --rounds 7

Each round measures every checkpoint in turn, with the NumPy engine:

- **one line**: ``Hand.write`` of a 43-character line, unprimed and whole (points per second,
  after a warm-up), as the issue's "one line" figure;
- **cold write**: a whole ``handwriting write TEXT -o FILE --checkpoint C`` command in a fresh
  process (seconds, start to exit).

On a shared machine one measurement says little; the turns make the medians of the rounds
comparable, and each checkpoint's median is also given as a ratio of the first's. Nothing here
is asserted; docs/performance.md records the figures with this command.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LINE = "The quick brown fox jumps over the lazy dog"
COMMAND_TEXT = "Hello, world! This is my handwriting."


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help="checkpoint directories (the first is the reference)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    import handwriting

    hands = {c: handwriting.load(c) for c in args.checkpoints}
    for hand in hands.values():
        hand.piece_chars = None  # one line, whole
        hand.write("warm up", seed=0, style="none")
    rates: dict[str, list[float]] = {c: [] for c in hands}
    colds: dict[str, list[float]] = {c: [] for c in hands}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.rounds):
            for name, hand in hands.items():
                t0 = time.perf_counter()
                drawing = hand.write(LINE, seed=1, style="none", max_line_chars=None)
                rates[name].append(sum(len(line) for line in drawing.lines) / (time.perf_counter() - t0))
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "handwriting", "write", COMMAND_TEXT, "-o",
                                str(Path(folder) / "hello.svg"), "--checkpoint", name], check=True,
                               capture_output=True)
                colds[name].append(time.perf_counter() - t0)
    first = args.checkpoints[0]
    result = {}
    print("| checkpoint | one line, points/s (median, best) | vs the first | cold write, s (median, best) | vs the first |")
    print("|---|---|---|---|---|")
    for name in hands:
        rate, cold = statistics.median(rates[name]), statistics.median(colds[name])
        result[name] = {"one_line_points_per_s": rates[name], "cold_write_s": colds[name]}
        print(f"| {name} | {rate:,.0f} ({max(rates[name]):,.0f}) | {rate / statistics.median(rates[first]):.2f} | "
              f"{cold:.2f} ({min(colds[name]):.2f}) | {cold / statistics.median(colds[first]):.2f} |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
