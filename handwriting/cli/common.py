"""What the subcommands share: exit statuses and the early check of an output path."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import HandwritingError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def check_output_path(path: Path) -> None:
    """Fail early, before any work, when the output cannot be written."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise HandwritingError(f"cannot write {path}: directory {parent} does not exist")
    if path.is_dir():
        raise HandwritingError(f"cannot write {path}: it is a directory")


def add_engine_argument(parser: argparse.ArgumentParser) -> None:
    """``--engine numpy|tensorflow``: which sampler writes (see ``handwriting.writing.hand.load``)."""
    parser.add_argument("--engine", choices=("numpy", "tensorflow"), default="numpy",
                        help="sampler: numpy (starts at once; the default) or tensorflow (the compiled loop, "
                             "for large batches on a GPU)")
