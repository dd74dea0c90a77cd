#!/usr/bin/env python
"""Measure how real handwritten pages vary line by line (UNIPEN), for the page variation's defaults.

    python scripts/measure_page_variation.py /path/to/unipen            # a table
    python scripts/measure_page_variation.py /path/to/unipen --json out.json

Prints, per figure of handwriting.output.variation.PageVariation (and the line pitch), its
median over the multi-line UNIPEN pages and its 10th-90th percentile range
(handwriting.tools.page_figures says what a page is).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("root", type=Path, help="the UNIPEN release root (holding data/ and include/)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    from handwriting.datasets.unipen import terminal_progress
    from handwriting.errors import HandwritingError
    from handwriting.tools.page_figures import measure, unipen_pages

    try:
        result = measure(unipen_pages(args.root, progress=terminal_progress()))
    except HandwritingError as exc:
        print(f"measure_page_variation: error: {exc}", file=sys.stderr)
        return 2
    print(f"{result['pages']} pages, {result['lines']} lines, contributors: {', '.join(result['contributors'])}")
    print(f"{'figure':14s} {'median':>8s} {'p10':>8s} {'p90':>8s}")
    for name, f in result["figures"].items():
        print(f"{name:14s} {f['median']:8.3f} {f['low']:8.3f} {f['high']:8.3f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
