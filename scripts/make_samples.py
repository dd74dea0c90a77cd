#!/usr/bin/env python
"""Draw the README's sample sheet: one text in several styles and biases, from a checkpoint.

    python scripts/make_samples.py -o docs/samples.png
    python scripts/make_samples.py --checkpoint runs/mine/best --text "Hello" --rows cursive:0.75 none:0
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ROWS = ["print:2.5", "tech:2.5", "readable:2.5", "italic:2.5", "elfin:2.5", "cursive:2.5",
                "tech:0.75", "none:2.5", "none:0.0"]
LABEL_PX = 150


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "samples.png")
    parser.add_argument("--checkpoint", help="checkpoint directory (default: the shipped model)")
    parser.add_argument("--text", default="Quick zebras vex my jolly fox: 24 hops!")
    parser.add_argument("--rows", nargs="+", default=DEFAULT_ROWS, help="STYLE:BIAS per row")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)

    from PIL import Image, ImageDraw

    import handwriting
    from handwriting.writing import render

    hand = handwriting.load(args.checkpoint)
    images = []
    for row in args.rows:
        style, bias = row.rsplit(":", 1)
        if style not in hand.styles and style != "none":
            print(f"skipping unknown style {style}", file=sys.stderr)
            continue
        drawing = hand.write(args.text, style=style, bias=float(bias), seed=args.seed, width=2.0)
        image = Image.open(io.BytesIO(render.png_bytes(drawing.page))).convert("RGB")
        label = Image.new("RGB", (LABEL_PX, image.height), "white")
        ImageDraw.Draw(label).text((8, image.height // 2 - 12), f"{style}\nbias {bias}", fill=(90, 90, 90))
        canvas = Image.new("RGB", (LABEL_PX + image.width, image.height), "white")
        canvas.paste(label, (0, 0))
        canvas.paste(image, (LABEL_PX, 0))
        images.append(canvas)
    width = max(i.width for i in images)
    sheet = Image.new("RGB", (width, sum(i.height for i in images)), "white")
    y = 0
    for image in images:
        sheet.paste(image, (0, y))
        y += image.height
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    from handwriting.fileio import write_bytes_atomic

    write_bytes_atomic(args.output, buffer.getvalue())
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
