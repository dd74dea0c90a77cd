#!/usr/bin/env python
"""Train the handwriting synthesis network: a thin wrapper of ``handwriting train``.

    python scripts/train.py --data data/fonts.npz --config tiny --steps 200 --out runs/t
"""

import sys

from handwriting.train import main

if __name__ == "__main__":
    sys.exit(main())
