"""Atomic file writes (a failed or interrupted write never leaves a half-written file) and prompt files."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Sequence


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file lives in the same directory so the final ``os.replace`` is atomic.
    ``suffix`` ends the temporary name, for writers that insist on an extension (``np.savez``
    adds ``.npz``, Keras wants ``.weights.h5``).
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        from .errors import HandwritingError

        raise HandwritingError(f"cannot write {path}: directory {directory} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + suffix, dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it what a plain open() would have.
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; if the block succeeds it becomes ``path``.

    An existing ``path`` is renamed aside first and removed afterwards, so at every moment
    either the old or the new directory is whole. Temporary names start with a dot.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, default_file_mode(directory=True))
        yield tmp
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def default_file_mode(directory: bool = False) -> int:
    """Permissions a plain ``open`` (or ``mkdir``) would give under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def output_format(path: str | os.PathLike, formats: Sequence[str], requested: str | None = None) -> str:
    """The format to write ``path`` in: ``requested`` when given, else the file's extension.

    Either must be one of ``formats`` (an extension names a format whose name it is, so
    ``animated-svg`` is only ever requested); anything else is a :class:`HandwritingError`.
    """
    from .errors import HandwritingError

    if requested is not None:
        if requested not in formats:
            raise HandwritingError(f"unknown output format {requested!r}: use {', '.join(formats)}")
        return requested
    extension = Path(path).suffix.lower().lstrip(".")
    if extension not in formats:
        raise HandwritingError(f"cannot tell the format of {path} from its extension: use "
                               f"{', '.join('.' + f for f in formats if '-' not in f)}")
    return extension


def read_text_lines(path: str | os.PathLike, what: str = "input file") -> list[str]:
    """Every line of a UTF-8 text file, as written (``what`` names the file in errors).

    Raises:
        HandwritingError: the file is missing, unreadable or not UTF-8.
    """
    from .errors import HandwritingError

    path = Path(path)
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise HandwritingError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HandwritingError(f"cannot read {what} {path}: {exc.__class__.__name__}") from None


def read_prompt_file(path: str | os.PathLike) -> list[str]:
    """The non-blank lines of a UTF-8 text file, stripped: one prompt each.

    Raises:
        HandwritingError: the file is missing, unreadable, not UTF-8, or has no prompt.
    """
    from .errors import HandwritingError

    lines = read_text_lines(path)
    prompts = [line.strip() for line in lines if line.strip()]
    if not prompts:
        raise HandwritingError(f"{path} holds no prompts")
    return prompts


def read_writable_lines(path: str | os.PathLike) -> list[str]:
    """:func:`read_prompt_file`'s lines, each normalised and checked against the alphabet
    (:func:`~handwriting.alphabet.validate`): prompt files, and the texts of a font corpus.

    Raises:
        HandwritingError: as :func:`read_prompt_file`, or naming the file and line of the first
            line with a character outside the alphabet.
    """
    from . import alphabet
    from .errors import HandwritingError, UnknownCharacterError

    lines = []
    for number, line in enumerate(read_prompt_file(path), 1):
        try:
            lines.append(alphabet.validate(line))
        except UnknownCharacterError as exc:
            raise HandwritingError(f"{path}: line {number} has {exc}") from None
    return lines
