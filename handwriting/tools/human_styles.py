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

Writers whose lines get the same name are candidates for that one style (the release picks the
best by the OCR, :func:`~handwriting.tools.release.select_styles`), so the styles shipped all
look different from each other. Only writers of the checkpoint's validation split are used
(from a mix, only its first, human, part: :func:`handwriting.tools.realism.held_out_lines`).
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
#: Prime lines of about this many characters, and at least the minimum.
TARGET_CHARS = 30
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
                           per_name: int = 1) -> dict[str, list[Style]]:
    """Candidate styles of the held-out human writers, grouped by :func:`describe_hand`.

    One line per writer (the one nearest :data:`TARGET_CHARS` characters, at least
    :data:`MIN_CHARS`, running words of mostly small letters); within a name, writers in a seeded random order,
    at most ``per_name``.
    """
    from .realism import held_out_indices

    by_writer: dict[int, tuple[int, int]] = {}  # writer -> (distance from the target length, line)
    for i in held_out_indices(dataset, validation_fraction, seed):
        text = dataset.texts[i]
        if not _shows_a_hand(text):
            continue
        writer, distance = int(dataset.writer_ids[i]), abs(len(text) - TARGET_CHARS)
        if writer not in by_writer or distance < by_writer[writer][0]:
            by_writer[writer] = (distance, i)
    groups: dict[str, list[Style]] = {}
    for writer in np.random.default_rng(seed).permutation(sorted(by_writer)):
        i = by_writer[int(writer)][1]
        name = describe_hand(strokes.offsets_to_coords(dataset.offsets[i]), dataset.texts[i])
        if len(groups.setdefault(name, [])) < per_name:
            groups[name].append(Style(name=name, text=dataset.texts[i],
                                      offsets=strokes.normalise_offsets(dataset.offsets[i], scale)))
    return dict(sorted(groups.items()))
