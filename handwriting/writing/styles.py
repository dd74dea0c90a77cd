"""Styles from a user's own handwriting.

A style is a prime sample (Graves section 5.5): strokes plus the text they say, stored in a
checkpoint's ``styles/NAME.json`` in the model's normalised units. A user's ink comes in
arbitrary units and at an arbitrary sampling rate, so it is brought to the shape of the
checkpoint's own samples first: levelled, scaled so that its ink width per character matches
theirs, and resampled by arc length so that it has as many points per character.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from . import alphabet
from .errors import HandwritingError
from .fileio import write_text_atomic
from .hand import Style, load_styles
from .strokes import (
    align_baseline,
    bounding_box,
    coords_to_offsets,
    offsets_to_coords,
    remove_duplicate_points,
    resample,
    split_strokes,
)

STYLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


def reference_shape(styles: dict[str, Style]) -> tuple[float, float]:
    """Median ink width per character and points per character of a checkpoint's styles."""
    if not styles:
        raise HandwritingError("the checkpoint has no styles to take the size of handwriting from")
    widths, points = [], []
    for style in styles.values():
        coords = offsets_to_coords(style.offsets)
        x0, _, x1, _ = bounding_box(coords)
        widths.append((x1 - x0) / len(style.text))
        points.append(len(style.offsets) / len(style.text))
    return float(np.median(widths)), float(np.median(points))


def style_from_ink(coords: np.ndarray, text: str, name: str, reference: tuple[float, float]) -> Style:
    """Turn a user's ``[N, 3]`` coords (y up, any units) of ``text`` into a :class:`Style`.

    Args:
        coords: the handwriting, as :func:`handwriting.inkio.read_ink` gives it.
        text: what it says (normalised and checked against the alphabet).
        name: the style's name.
        reference: ``(ink width per character, points per character)`` in normalised units,
            from :func:`reference_shape`.
    """
    text = alphabet.validate(text)
    width_per_char, points_per_char = reference
    c = align_baseline(remove_duplicate_points(coords))
    x0, _, x1, _ = bounding_box(c)
    if x1 - x0 <= 0:
        raise HandwritingError("the handwriting has no width")
    c[:, :2] *= width_per_char * len(text) / (x1 - x0)
    ink_length = sum(np.linalg.norm(np.diff(s, axis=0), axis=1).sum() for s in split_strokes(c))
    spacing = ink_length / max(points_per_char * len(text), 1)
    c = resample(c, max(spacing, 1e-6))
    c[:, :2] -= c[0, :2]
    return Style(name=name, text=text, offsets=coords_to_offsets(c))


def add_style(checkpoint: Path, name: str, ink_path: Path, text: str, *, force: bool = False,
              ink_format: str | None = None) -> Path:
    """Make a style from an ink file and save it as ``checkpoint/styles/NAME.json``.

    Raises:
        HandwritingError: a bad name, an existing style (unless ``force``), an unreadable ink
            file, or text outside the alphabet.
    """
    from .inkio import read_ink

    if not STYLE_NAME.match(name):
        raise HandwritingError(f"style name {name!r} must be 1-40 letters, digits, '_', '-' or '.'")
    if name == "random":
        raise HandwritingError("'random' is reserved: it picks one of the styles")
    styles = load_styles(checkpoint)
    path = checkpoint / "styles" / f"{name}.json"
    if path.exists() and not force:
        raise HandwritingError(f"style {name!r} exists already (use --force to replace it)")
    style = style_from_ink(read_ink(ink_path, ink_format), text, name, reference_shape(styles))
    path.parent.mkdir(exist_ok=True)
    write_text_atomic(path, style.to_json())
    return path
