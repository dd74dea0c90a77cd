"""A dataset job from what the user gave: the config, the corpus file, the checkpoint and style names."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..checkpoint import read_config, resolve
from ..errors import HandwritingError
from ..writing.hand import DEFAULT_CHECKPOINT, NO_STYLE, RANDOM_STYLE, Style, load, resolve_checkpoint
from .config import DatasetConfig
from .corpus import Corpus, read_corpus
from .manifest import fingerprint, identity
from .worker import Job, ModelFiles


@dataclass
class Prepared:
    """A job and what its manifest records besides the job's identity."""

    job: Job
    identity: dict
    corpus: dict
    model: dict


def resolve_styles(names: tuple[str, ...], checkpoint: Path) -> dict[str, Style | None]:
    """The styles named (default: every style of the checkpoint and the user's), by name.

    ``"none"`` is unprimed; ``"default"`` is the checkpoint's default style (unprimed if it has none).

    Raises:
        HandwritingError: an unknown style (the checkpoint's styles listed), or no style at all.
    """
    hand = load(checkpoint)
    chosen = list(names) or sorted(hand.styles)
    if not chosen:
        raise HandwritingError(f"{checkpoint} has no styles: name some with --styles (or 'none' for unprimed)")
    styles: dict[str, Style | None] = {}
    for name in chosen:
        if name == RANDOM_STYLE:
            raise HandwritingError(f"--styles {RANDOM_STYLE}: every line draws one of the styles named already")
        style = hand.style(name)  # raises for an unknown name
        styles[NO_STYLE if style is None else style.name] = style
    return styles


def prepare_job(config: DatasetConfig, texts: str | os.PathLike, *, checkpoint: str | os.PathLike | None = None,
                skip_bad_lines: bool = False) -> Prepared:
    """Check everything and build the :class:`~.worker.Job` (before any line is written).

    Raises:
        HandwritingError: a bad config, corpus, checkpoint or style name, in one line.
    """
    config.check()
    corpus: Corpus = read_corpus(texts, max_chars=config.max_chars, skip_bad_lines=skip_bad_lines)
    directory = resolve_checkpoint(checkpoint)
    styles = resolve_styles(config.styles, directory)
    model = ModelFiles.pack(directory)
    ident = identity(config, corpus.sha256, styles, model.fingerprint)
    job = Job(config=config, texts=corpus.texts, styles=styles, model=model, fingerprint=fingerprint(ident))
    corpus_record = {"file": str(texts), "lines": len(corpus.texts), "sha256": corpus.sha256,
                     "skipped": len(corpus.skipped), "skipped_lines": [n for n, _ in corpus.skipped]}
    name = str(checkpoint) if checkpoint else ("default" if directory == DEFAULT_CHECKPOINT else str(directory))
    model_record = {"checkpoint": name, "fingerprint": model.fingerprint,
                    "provenance": read_config(resolve(directory)).provenance}
    return Prepared(job=job, identity=ident, corpus=corpus_record, model=model_record)
