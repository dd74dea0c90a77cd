"""The texts a dataset is written from: a UTF-8 file, one line of text per line.

Each line is normalised and checked against the alphabet (:func:`~handwriting.alphabet.validate`).
A line that cannot be written (characters outside the alphabet, longer than ``max_chars``) is an
error naming the file, its line number and the problem, or, when asked, skipped and counted.
Blank lines are ignored.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import alphabet
from ..errors import HandwritingError, UnknownCharacterError
from ..fileio import read_text_lines


@dataclass
class Corpus:
    """A checked corpus.

    Attributes:
        texts: the lines to write, normalised, in file order.
        skipped: ``(line number, reason)`` of every line skipped.
    """

    texts: list[str]
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        """A digest of the texts (newline-joined), part of the dataset's identity."""
        return hashlib.sha256("\n".join(self.texts).encode("utf-8")).hexdigest()


def read_corpus(path: str | os.PathLike, *, max_chars: int, skip_bad_lines: bool = False) -> Corpus:
    """Read and check a corpus file.

    Raises:
        HandwritingError: the file is missing or not UTF-8; a line cannot be written (named with
            its line number) unless ``skip_bad_lines``; or no line is left.
    """
    path = Path(path)
    raw = read_text_lines(path, "corpus file")
    corpus = Corpus(texts=[])
    for number, line in enumerate(raw, 1):
        line = line.strip()
        if not line:
            continue
        problem = None
        try:
            text = alphabet.validate(line)
        except UnknownCharacterError as exc:
            problem = str(exc)
        else:
            if len(text) > max_chars:
                problem = f"{len(text)} characters, more than --max-chars {max_chars}"
        if problem is None:
            corpus.texts.append(text)
        elif skip_bad_lines:
            corpus.skipped.append((number, problem))
        else:
            raise HandwritingError(f"{path}: line {number}: {problem} (--skip-bad-lines skips such lines)")
    if not corpus.texts:
        raise HandwritingError(f"{path} holds no line to write" + (f" ({len(corpus.skipped)} skipped)"
                                                                    if corpus.skipped else ""))
    return corpus
