"""Styles from held-out human writers, named by how the hand looks.

A human corpus has no font names to call its hands by, and a style must never be named after
the person who wrote it. Each held-out writer's line is described on three axes read from its
ink, and the description is the style's name (``slanted-joined-narrow``, ``upright-print``):

- slant (:func:`strokes.estimate_slant`): ``backhand`` below :data:`BACKHAND_BELOW` radians,
  ``slanted`` above :data:`SLANTED_ABOVE`, else ``upright``;
- joins (pen lifts per character): ``joined`` below :data:`JOINED_BELOW`, ``print`` above
  :data:`PRINT_ABOVE`, else ``part-joined``;
- width (ink width per character in x-heights): ``narrow`` below :data:`NARROW_BELOW`, ``wide``
  above :data:`WIDE_ABOVE`, else nothing.

Each held-out writer offers a few of their lines as candidate primes; the release keeps each
writer's line that the OCR reads best (:func:`~handwriting.tools.release.select_styles`), then
the writers whose hands it reads best (:func:`rank_human_styles`). Two kept writers whose hands
get the same description are told apart by a number (``upright-print``, ``upright-print-2``),
in the order of their scores. Only writers of the checkpoint's validation split are used (from a
mix, only its first, human, part: :func:`handwriting.tools.realism.held_out_lines`), and a
writer's id never leaves this module: candidates are keyed ``writer-01``, ``writer-02``, ...
"""

from __future__ import annotations

import numpy as np

from .. import strokes
from ..writing.hand import Style

BACKHAND_BELOW = -0.05
SLANTED_ABOVE = 0.15
JOINED_BELOW = 0.35
PRINT_ABOVE = 0.8
NARROW_BELOW = 1.0
WIDE_ABOVE = 1.6
#: Prime lines of about this many characters, and at least the minimum: a prime and its text are
#: written as one sequence, and half of the human lines trained on have under 16 characters.
TARGET_CHARS = 20
MIN_CHARS = 12
#: A prime shows a hand best in running small letters: at least this share of its characters.
MIN_LOWERCASE_SHARE = 0.7


def describe_hand(coords: np.ndarray, text: str) -> str:
    """A name for the hand of one line (``[N, 3]`` coords, y up), e.g. ``slanted-joined-narrow``."""
    slant = strokes.estimate_slant(coords)
    lifts = float((coords[:, 2] > 0.5).sum()) / max(len(text.replace(" ", "")), 1)
    x_height = max(strokes.estimate_x_height(coords), 1e-9)
    width = float(np.ptp(coords[:, 0])) / x_height / max(len(text), 1)
    parts = ["backhand" if slant < BACKHAND_BELOW else "slanted" if slant > SLANTED_ABOVE else "upright",
             "joined" if lifts < JOINED_BELOW else "print" if lifts > PRINT_ABOVE else "part-joined"]
    if width < NARROW_BELOW:
        parts.append("narrow")
    elif width > WIDE_ABOVE:
        parts.append("wide")
    return "-".join(parts)


def _shows_a_hand(text: str) -> bool:
    """Running words, mostly small letters, long enough: not an alphabet, a code or a title."""
    letters = text.replace(" ", "")
    return (len(text) >= MIN_CHARS and " " in text.strip()
            and sum(c.islower() for c in letters) >= MIN_LOWERCASE_SHARE * len(letters))


def human_style_candidates(dataset, scale: float, validation_fraction: float, seed: int,
                           per_writer: int = 1) -> dict[str, list[Style]]:
    """Candidate styles of the held-out human writers: up to ``per_writer`` lines of each.

    A writer's lines are those that show a hand (running words of mostly small letters, at least
    :data:`MIN_CHARS`), nearest :data:`TARGET_CHARS` characters first; each candidate is named by
    :func:`describe_hand`. Writers are keyed ``writer-NN`` in a seeded random order.
    """
    from .realism import held_out_indices

    by_writer: dict[int, list[tuple[int, int]]] = {}  # writer -> [(distance from the target length, line)]
    for i in held_out_indices(dataset, validation_fraction, seed):
        if _shows_a_hand(dataset.texts[i]):
            by_writer.setdefault(int(dataset.writer_ids[i]), []).append((abs(len(dataset.texts[i]) - TARGET_CHARS), i))
    candidates: dict[str, list[Style]] = {}
    writers = np.random.default_rng(seed).permutation(sorted(by_writer)) if by_writer else []
    for number, writer in enumerate(writers, start=1):
        lines = [i for _, i in sorted(by_writer[int(writer)])[:per_writer]]
        candidates[f"writer-{number:02d}"] = [
            Style(name=describe_hand(strokes.offsets_to_coords(dataset.offsets[i]), dataset.texts[i]),
                  text=dataset.texts[i], offsets=strokes.normalise_offsets(dataset.offsets[i], scale))
            for i in lines]
    return candidates


def rank_human_styles(styles: list[Style], record: dict[str, dict] | None, keys: list[str],
                      count: int | None = None) -> tuple[list[Style], dict[str, dict] | None]:
    """The ``count`` best styles (all by default), renamed so that every name is its own.

    Args:
        styles: one chosen style per writer, in the order of ``keys`` (``writer-NN``).
        record: the selection record by writer key (each with its ``cer``), or ``None`` (no
            selection: the writers' order is kept).
        count: how many to keep, lowest CER first.

    Returns:
        ``(styles, record)`` with the kept styles under their final names (a repeated description
        gets ``-2``, ``-3``, ... in score order) and the record keyed by those names.
    """
    order = sorted(range(len(styles)), key=lambda k: record[keys[k]]["cer"]) if record else list(range(len(styles)))
    kept, renamed, seen = [], {}, {}
    for k in order[:count]:
        style = styles[k]
        seen[style.name] = seen.get(style.name, 0) + 1
        name = style.name if seen[style.name] == 1 else f"{style.name}-{seen[style.name]}"
        kept.append(Style(name=name, text=style.text, offsets=style.offsets))
        if record:
            renamed[name] = record[keys[k]]
    return kept, (renamed if record else None)
