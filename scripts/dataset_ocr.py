"""Do a synthetic dataset's labels match its images? The OCR of `handwriting evaluate` reads the rows,
and `evaluate` writes the same texts in the same style and bias for comparison.

    handwriting dataset --texts data/prompts/public.txt --lines 141 --shard-lines 47 -o /tmp/dso \\
        --styles upright-print --bias-min 2.5 --bias-max 2.5 --slant-jitter 0 --seed 1
    python scripts/dataset_ocr.py /tmp/dso --style upright-print --bias 2.5 --seeds 0 1 2

Prints each mean CER with its standard error, and their difference in standard errors.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from PIL import Image

import handwriting
from handwriting.tools.evaluate import OcrReader, character_error_rate, evaluate_hand


def mean_and_se(values: np.ndarray) -> tuple[float, float]:
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="a folder `handwriting dataset` wrote")
    parser.add_argument("--style", required=True)
    parser.add_argument("--bias", type=float, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    reader = OcrReader()
    rows = sorted(pq.read_table(args.dataset / "data", columns=["id", "text", "image"]).to_pylist(), key=lambda r: r["id"])
    ours = np.array([character_error_rate(r["text"], reader.read(np.asarray(Image.open(io.BytesIO(r["image"]["bytes"])))))
                     for r in rows])
    texts = list(dict.fromkeys(r["text"] for r in rows))  # in the corpus' order, as evaluate writes a prompt file
    report = evaluate_hand(handwriting.load(), texts, style=args.style, bias=args.bias, seeds=args.seeds, reader=reader)
    theirs = np.array([s.cer for s in report.lines])
    (a, sa), (b, sb) = mean_and_se(ours), mean_and_se(theirs)
    print(f"dataset rows: CER {a:.3f} (SE {sa:.3f}, {len(ours)} rows)")
    print(f"evaluate:     CER {b:.3f} (SE {sb:.3f}, {len(theirs)} lines)")
    print(f"difference {a - b:+.3f} = {(a - b) / np.hypot(sa, sb):+.2f} standard errors")


if __name__ == "__main__":
    main()
