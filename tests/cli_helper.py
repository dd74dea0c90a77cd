"""One way for tests to run the ``handwriting`` command: in this process, output captured.

In-process runs skip a Python start and a framework import per call; a test that needs a fresh
process (what gets imported, caches between runs) starts one itself.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass

from handwriting.cli import main


@dataclass
class CliResult:
    """What a command run returned and printed (the fields of ``subprocess.CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args, cwd: str | os.PathLike | None = None) -> CliResult:
    """Run ``handwriting ARGS...`` (each argument turned into a string) and capture its output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd or os.getcwd()), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse: --help, --version, usage errors
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return CliResult(code, out.getvalue(), err.getvalue())
