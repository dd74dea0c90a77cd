#!/usr/bin/env python
"""Draw the README's sample sheet: one text in several styles and biases, from a checkpoint.

    python scripts/make_samples.py -o docs/samples.png
    python scripts/make_samples.py --checkpoint runs/mine/best --text "Hello" --rows cursive:0.75 none:0
    python scripts/make_samples.py --rows fonts:print:2.5 default:backhand-print:2.5   # two models

A row is ``STYLE:BIAS`` (the --checkpoint's style) or ``MODEL:STYLE:BIAS`` (a shipped model's name
or a checkpoint directory); without --rows, the model's default style and five more at bias 2.5,
the default style at bias 0.75, and unprimed writing.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OTHER_STYLES = 5
LABEL_PX = 150


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "samples.png")
    parser.add_argument("--checkpoint", help="checkpoint directory (default: the shipped model)")
    parser.add_argument("--text", default="Quick zebras vex my jolly fox: 24 hops!")
    parser.add_argument("--rows", nargs="+", help="[MODEL:]STYLE:BIAS per row (default: see above)")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)

    from PIL import Image, ImageDraw

    import handwriting
    from handwriting.output import render

    hands = {None: handwriting.load(args.checkpoint)}
    images = []
    for row in args.rows or default_rows(hands[None]):
        model, style, bias = [None] * (row.count(":") < 2) + row.rsplit(":", 2)
        if model not in hands:
            hands[model] = handwriting.load(model)
        hand = hands[model]
        if style not in hand.styles and style != "none":
            print(f"skipping unknown style {style}", file=sys.stderr)
            continue
        drawing = hand.write(args.text, style=style, bias=float(bias), seed=args.seed, width=2.0)
        image = Image.open(io.BytesIO(render.png_bytes(drawing.page))).convert("RGB")
        label = Image.new("RGB", (LABEL_PX, image.height), "white")
        ImageDraw.Draw(label).text((8, image.height // 2 - 12), (f"{model}\n" if model else "") + f"{style}\nbias {bias}",
                                   fill=(90, 90, 90))
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


def default_rows(hand) -> list[str]:
    """The default style and :data:`OTHER_STYLES` more at bias 2.5, the default at 0.75, unprimed."""
    first = hand.default_style or "none"
    others = [name for name in sorted(hand.styles) if name != first][:OTHER_STYLES]
    return [f"{first}:2.5"] + [f"{name}:2.5" for name in others] + [f"{first}:0.75", "none:2.5"]


if __name__ == "__main__":
    sys.exit(main())
