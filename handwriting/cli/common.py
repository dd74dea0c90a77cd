"""What the subcommands share: exit statuses and the early check of an output path."""

from __future__ import annotations

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
