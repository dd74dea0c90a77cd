#!/usr/bin/env python
"""Convert a checkpoint trained before the pen-column fix (commit 6f2f91f) to the fixed convention.

Before the fix, training divided the pen column of the offsets by the dataset scale along with
the steps, so the network saw pen-up inputs and targets of ``1 / scale`` instead of 1. This
writes the equivalent network for inputs and targets of 0/1:

* every LSTM layer reads ``x_t`` (Graves eqs 52-53: the input feeds all layers), so the row of
  each kernel that multiplies the pen input is divided by the scale: the pre-activations are
  unchanged for the new inputs;
* ``log(scale)`` is added to the output bias of ``e_hat`` (eq 18's pen logit): the old network
  predicted ``e ~= p / scale`` for a true lift probability ``p``; the shift is exact for small
  ``p``, and a short fine-tune (``--init-from``) takes the rest.

    python scripts/convert_pen_convention.py runs/old/best runs/old-converted
    handwriting train --init-from runs/old-converted ...

The shipped model was made this way from the stage 2 weights (docs/training.md).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path

#: The index of the pen column in ``x_t = (dx, dy, pen_up)``.
PEN_INPUT = 2
#: ``config.json`` key that marks a converted checkpoint (a second conversion is refused).
MARK = "pen_convention_converted"


def convert(model, scale: float) -> None:
    """Rescale ``model``'s weights in place (see the module docstring)."""
    import numpy as np

    for lstm in model.lstms:
        kernel = np.array(lstm.cell.kernel.numpy())  # [3 + ..., 4H], x_t first
        kernel[PEN_INPUT] /= scale
        lstm.cell.kernel.assign(kernel)
    bias = np.array(model.output_layer.bias.numpy())  # [1 + 6M], e_hat first
    bias[0] += math.log(scale)
    model.output_layer.bias.assign(bias)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="checkpoint directory trained before the fix")
    parser.add_argument("output", type=Path, help="new checkpoint directory (must not exist)")
    args = parser.parse_args(argv)

    from handwriting import checkpoint as ckpt
    from handwriting.errors import HandwritingError

    try:
        source = ckpt.resolve(args.source)
        config = ckpt.read_config(source)
        if config.get(MARK):
            raise HandwritingError(f"{source} is already converted")
        if args.output.exists():
            raise HandwritingError(f"{args.output} exists; give a new directory")
        model, _, scale = ckpt.load_model(source)
    except HandwritingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    convert(model, scale)
    staging = args.output.with_name(args.output.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if (source / "styles").is_dir():
        shutil.copytree(source / "styles", staging / "styles")
    model.save_weights(str(staging / ckpt.WEIGHTS_FILE))
    (staging / "config.json").write_text(json.dumps({**config, MARK: True}, indent=2, sort_keys=True) + "\n")
    staging.rename(args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
