"""Your own hand: a style adapted to a person's handwriting from a few lines (``style add --adapt``).

The steps, each its own function:

1. :func:`gather_samples`: the person's lines, each with its text: inline (JSON or InkML, see
   :func:`handwriting.inkio.read_ink_lines`), from a side file ``FILE.txt`` beside ``FILE``
   (one line of text per ink line), or given in order (``--text``). Every text is checked
   against the alphabet before anything else runs.
2. :func:`check_lines`: each line is brought to the model's shape (as a style is) and the base
   network judges whether its ink says its text (:func:`handwriting.training.adapt.line_fit`);
   a line that does not is named and left out with the reason. Fewer than :data:`MIN_LINES`
   usable lines is an error.
3. :func:`adapt_style`: the deltas are trained (:func:`handwriting.training.adapt.adapt`) and
   saved as the style's personal model beside its JSON (:mod:`handwriting.writing.personal`);
   the style primes with one of the lines as well. Nothing is written until training has ended,
   so Ctrl-C keeps the old style; a re-run (``force``) replaces it atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .. import alphabet
from ..errors import HandwritingError
from ..fileio import write_text_atomic
from ..writing.hand import Style, load_styles
from ..writing.personal import base_weights_hash, new_model_path, remove_stale, save_personal_model, scale_deltas
from ..writing.styles import check_style_name, reference_shape, style_from_ink, user_styles_dir

#: The fewest usable lines an adaptation accepts, and the most it reads.
MIN_LINES = 3
MAX_LINES = 20
#: The style primes with the kept line nearest this many characters (as tools/realism's matched pairs).
PRIME_CHARS = 30
SIDE_TEXT_SUFFIX = ".txt"


@dataclass
class Sample:
    """One line of a person's ink: ``coords`` ``[N, 3]`` (y up, any units), its text, where it came from."""

    source: str
    coords: np.ndarray
    text: str


@dataclass
class Refusal:
    """A line left out of the adaptation and why."""

    source: str
    text: str
    reason: str


@dataclass
class Checked:
    """Lines ready for adaptation (as styles, in the model's units) and the refused ones."""

    kept: list[Style]
    sources: list[str]
    refused: list[Refusal] = field(default_factory=list)


@dataclass
class Adapted:
    """What :func:`adapt_style` made: the style file, the style, the lines left out, the training."""

    path: Path
    style: Style
    refused: list[Refusal]
    steps: int
    seconds: float
    stopped: str


def gather_samples(paths: Sequence[Path], texts: Sequence[str] | None = None,
                   ink_format: str | None = None) -> list[Sample]:
    """Every ink line of ``paths`` with its text: ``texts`` (one per ink line, in order) when
    given, else a side file ``FILE.txt``'s lines, else the file's own (inline) text.

    Raises:
        HandwritingError: an unreadable file, a line without text, counts that do not match,
            or characters outside the alphabet (naming the line).
    """
    from ..inkio import read_ink_lines

    samples: list[tuple[str, np.ndarray, str | None]] = []
    for path in paths:
        lines = read_ink_lines(path, ink_format)
        side = Path(path).with_suffix(SIDE_TEXT_SUFFIX)
        if texts is None and side.is_file():
            said = [t for t in side.read_text(encoding="utf-8").splitlines() if t.strip()]
            if len(said) != len(lines):
                raise HandwritingError(f"{side} has {len(said)} lines of text for {len(lines)} lines of ink")
            lines = [(coords, t) for (coords, _), t in zip(lines, said)]
        many = len(lines) > 1
        samples += [(f"{path} line {i}" if many else str(path), c, t) for i, (c, t) in enumerate(lines, 1)]
    if texts is not None:
        if len(texts) != len(samples):
            raise HandwritingError(f"{len(texts)} texts given for {len(samples)} lines of ink")
        samples = [(source, coords, t) for (source, coords, _), t in zip(samples, texts)]
    return [Sample(source, coords, checked_text(source, said)) for source, coords, said in samples]


def checked_text(source: str, text: str | None) -> str:
    """``text`` normalised and checked against the alphabet; errors name ``source``."""
    if text is None:
        raise HandwritingError(f"{source}: no text: give --text, a side file{SIDE_TEXT_SUFFIX}, or the text inline")
    try:
        return alphabet.validate(text)
    except HandwritingError as exc:
        raise HandwritingError(f"{source}: {exc}") from None


def check_lines(model, checkpoint: Path, samples: Sequence[Sample], min_fit: float) -> Checked:
    """Bring each sample to the checkpoint's shape and keep those whose ink says their text
    (:func:`~handwriting.training.adapt.line_fit` at least ``min_fit``).

    Raises:
        HandwritingError: more than :data:`MAX_LINES` lines, or fewer than :data:`MIN_LINES` usable
            ones (the refused lines named, with their reasons).
    """
    from ..training.adapt import line_fit

    if len(samples) > MAX_LINES:
        raise HandwritingError(f"{len(samples)} lines given; adaptation reads at most {MAX_LINES}")
    reference = reference_shape(load_styles(checkpoint))
    styles, sources, refused = [], [], []
    for s in samples:
        try:
            styles.append(style_from_ink(s.coords, s.text, "line", reference))
            sources.append(s.source)
        except HandwritingError as exc:
            refused.append(Refusal(s.source, s.text, str(exc)))
    fits = line_fit(model, [s.offsets for s in styles], [s.text for s in styles]) if styles else []
    kept, kept_sources = [], []
    for style, source, fit in zip(styles, sources, fits):
        if fit < min_fit:
            refused.append(Refusal(source, style.text, f"the ink does not match its text (it gains {fit:.1f} nats "
                                                       f"per character from it, at least {min_fit:g} needed)"))
        else:
            kept.append(style)
            kept_sources.append(source)
    if len(kept) < MIN_LINES:
        named = "; ".join(f"{r.source} ({r.reason})" for r in refused)
        raise HandwritingError(f"only {len(kept)} usable lines, at least {MIN_LINES} needed"
                               + (f"; left out: {named}" if named else ""))
    return Checked(kept, kept_sources, refused)


def prime_line(styles: Sequence[Style]) -> Style:
    """The line a style primes with: the one nearest :data:`PRIME_CHARS` characters."""
    return min(styles, key=lambda s: abs(len(s.text) - PRIME_CHARS))


#: Rehearsal lines are at most this many characters long.
REHEARSAL_CHARS = 20


def rehearsal_set(sampler, prime: Style, count: int, seed: int = 0,
                  bias: float = 0.0) -> tuple[list[np.ndarray], list[str]]:
    """``count`` lines the base network writes at ``bias`` primed with ``prime`` (the person's hand
    as priming carries it), of the shipped own-hand sentences in pieces of at most
    :data:`REHEARSAL_CHARS` characters, for :func:`~handwriting.training.adapt.adapt`'s rehearsal.
    Returns their normalised offsets (``[N_i, 3]``) and texts; a line that ran to the step cap is
    left out."""
    from ..output.layout import split_pieces
    from ..resources import own_hand_sentences

    pieces = [p for sentence in own_hand_sentences() for p in split_pieces(sentence, REHEARSAL_CHARS)]
    texts = [pieces[k % len(pieces)] for k in range(count)]
    if not texts:
        return [], []
    batch = sampler.sample(texts, bias=bias, seed=seed, prime=(prime.offsets, prime.text),
                           line_ids=list(range(len(texts))))
    kept = [k for k, capped in enumerate(batch.hit_cap) if not capped]
    return [np.asarray(batch.offsets[k], np.float32) for k in kept], [texts[k] for k in kept]


def adapt_style(checkpoint: Path, name: str, samples: Sequence[Sample], *, config=None, force: bool = False,
                progress: Callable[[int, int, float], None] | None = None,
                on_checked: Callable[[Checked], None] | None = None) -> Adapted:
    """Check the lines, adapt the network to them and save the style ``name`` with its personal model.

    ``config``: an :class:`~handwriting.training.adapt.AdaptConfig` (default: its defaults).
    ``on_checked`` is told which lines were kept before training starts. Raises what
    :func:`check_lines` and :func:`~handwriting.styles.check_style_name` raise; ``KeyboardInterrupt``
    leaves the user's styles as they were.
    """
    from ..backend import import_backend

    import_backend()
    from ..checkpoint import resolve
    from ..nn.model import load_model
    from ..training.adapt import AdaptConfig, adapt

    path = check_style_name(name, load_styles(checkpoint), force=force)
    model, _, _ = load_model(checkpoint)
    config = config or AdaptConfig()
    checked = check_lines(model, checkpoint, samples, config.min_fit)
    if on_checked is not None:
        on_checked(checked)
    prime = prime_line(checked.kept)
    rehearsal = None
    if config.rehearsal_lines:
        from ..writing.hand import load

        rehearsal = rehearsal_set(load(checkpoint).sampler, prime, config.rehearsal_lines, config.seed,
                                  config.rehearsal_bias)
    result = adapt(model, [s.offsets for s in checked.kept], [s.text for s in checked.kept], config, progress,
                   rehearsal=rehearsal)
    info = {"lines": [s.text for s in checked.kept], "steps": result.steps, "seconds": round(result.seconds, 1),
            "layers": list(config.layers), "rank": config.rank, "rehearsal_lines": len(rehearsal[0]) if rehearsal else 0,
            "strength": config.strength}
    folder = user_styles_dir()
    folder.mkdir(parents=True, exist_ok=True)
    model_path = new_model_path(folder, name)
    style = Style(name=name, text=prime.text, offsets=prime.offsets, personal_model=model_path)
    try:
        save_personal_model(model_path, scale_deltas(result.deltas, config.strength),
                            base_weights_hash(resolve(checkpoint)), info)
        write_text_atomic(path, style.to_json())
    except BaseException:
        model_path.unlink(missing_ok=True)
        raise
    remove_stale(folder, name, keep=model_path)
    return Adapted(path, style, checked.refused, result.steps, result.seconds, result.stopped)
