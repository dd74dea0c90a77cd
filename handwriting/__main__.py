"""``python -m handwriting``: the same as the ``handwriting`` command."""

import sys

from .cli import main

sys.exit(main())
