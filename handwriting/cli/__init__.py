"""The ``handwriting`` command.

Every subcommand reports bad input as one line on stderr and exits with status 2, never with a
traceback. Heavy imports (TensorFlow, matplotlib) happen inside the subcommand that needs them,
so ``handwriting info`` answers at once. The subcommands live in :mod:`.data` (prepare, info,
preview), :mod:`.write` (write, styles, style, plot), :mod:`.train` (train, evaluate, release),
:mod:`.dataset` (dataset) and :mod:`handwriting.web.serve` (serve).
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from ..errors import HandwritingError
from ..version import __version__
from ..web.serve import add_serve_command
from .common import EXIT_INTERRUPTED, EXIT_USAGE
from .data import add_info, add_prepare, add_preview
from .dataset import add_dataset
from .train import add_evaluate, add_release, add_train
from .write import add_plot, add_style, add_styles, add_write

COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_prepare, add_info, add_preview, add_write, add_styles, add_style, add_train, add_plot, add_evaluate,
    add_release, add_dataset, add_serve_command]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit status 2), and which never
    reads a flag's prefix as the flag (``--page`` is not ``--page-width``), so a new flag cannot
    change what an old command line means."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``handwriting`` command."""
    parser = _Parser(
        prog="handwriting", description="Write any text in realistic handwriting (Graves 2013)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader went away (``handwriting info ... | head``)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except HandwritingError as exc:
        print(f"handwriting: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("handwriting: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
