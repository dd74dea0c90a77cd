"""Styles from a user's own handwriting.

A style is a prime sample (Graves section 5.5): strokes plus the text they say, stored in a
checkpoint's ``styles/NAME.json`` in the model's normalised units. A user's ink comes in
arbitrary units and at an arbitrary sampling rate, so it is brought to the shape of the
checkpoint's own samples first: levelled, scaled so that its ink width per character matches
theirs, and resampled evenly in time (the pen's speed profile kept) so that it has as many points
per character.

User styles live in a per-user data folder (``platformdirs``; ``$HANDWRITING_USER_DIR``
overrides it), never in the model's own folder, which may be the installed package or the
tracked ``checkpoints/default``: they survive upgrades, and ``handwriting.load()`` offers them
beside the checkpoint's shipped styles.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import alphabet
from ..errors import HandwritingError
from ..fileio import write_text_atomic
from ..strokes import (
    align_baseline,
    bounding_box,
    coords_to_offsets,
    offsets_to_coords,
    remove_duplicate_points,
    resample_in_time,
    estimate_slant,
)

RANDOM_STYLE = "random"
#: Style name meaning "the checkpoint's default style" (``config.json``'s ``default_style``;
#: unprimed when it names none).
DEFAULT_STYLE = "default"
#: Style name meaning "no priming": the network writes in whatever hand it prefers.
NO_STYLE = "none"
#: ``handwriting evaluate --style all``: every style of the checkpoint, and none.
ALL_STYLES = "all"
#: Names with a meaning of their own wherever a style is named: no style may take one (in any case).
RESERVED_STYLE_NAMES = frozenset({DEFAULT_STYLE, NO_STYLE, RANDOM_STYLE, ALL_STYLES})
#: A style file's key naming its personal model (a file beside it), when it has one.
PERSONAL_MODEL_KEY = "personal_model"


@dataclass
class Style:
    """A prime sample: strokes with their text (Graves section 5.5).

    Attributes:
        name: the style's name.
        text: what the strokes say.
        offsets: ``[P, 3]`` offsets in normalised units (divided by the dataset scale).
        personal_model: the person's weight deltas (:mod:`.personal`) that the network writes
            this style with, or ``None`` (priming alone); the file lies beside the style's.
    """

    name: str
    text: str
    offsets: np.ndarray
    personal_model: Path | None = None

    @staticmethod
    def load(path: str | os.PathLike) -> "Style":
        """Read a style file (JSON: ``{"name", "text", "offsets": [[dx, dy, pen_up], ...]}``)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
            offsets = np.asarray(data["offsets"], np.float32).reshape(-1, 3)
            personal = data.get(PERSONAL_MODEL_KEY)
            style = Style(name=str(data.get("name", path.stem)), text=str(data["text"]), offsets=offsets,
                          personal_model=path.parent / Path(str(personal)).name if personal else None)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise HandwritingError(f"style file {path} is unreadable ({exc.__class__.__name__})") from None
        if not np.isfinite(style.offsets).all() or len(style.offsets) < 2:
            raise HandwritingError(f"style file {path} holds no usable strokes")
        alphabet.validate(style.text, normalise_text=False)
        return style

    @property
    def slant(self) -> float:
        """The writer's slant in radians, positive leaning right (:func:`~handwriting.strokes.estimate_slant`)."""
        return estimate_slant(offsets_to_coords(self.offsets))

    def to_json(self) -> str:
        """The style file's contents."""
        rows = [[round(float(v), 4) for v in row] for row in self.offsets]
        data = {"name": self.name, "text": self.text, "offsets": rows}
        if self.personal_model is not None:
            data[PERSONAL_MODEL_KEY] = Path(self.personal_model).name
        return json.dumps(data)


def load_styles(directory: Path) -> dict[str, Style]:
    """The styles shipped in a checkpoint's ``styles/`` directory, by name."""
    styles = {}
    for path in sorted((directory / "styles").glob("*.json")):
        style = Style.load(path)
        styles[style.name] = style
    return styles


class StyleExistsError(HandwritingError):
    """A user style of that name exists already (and replacing it was not asked for); the message
    names the CLI's ``--force``, and ``name`` lets another front end (the web API) name its own way."""

    def __init__(self, name: str):
        super().__init__(f"style {name!r} exists already (use --force to replace it)")
        self.name = name


STYLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
#: Environment variable naming the folder for user data (user styles go in its ``styles/``).
USER_DIR_ENV = "HANDWRITING_USER_DIR"
#: The application name ``platformdirs`` files user data under.
APP_NAME = "handwriting"


def user_data_dir() -> Path:
    """The per-user data folder: ``$HANDWRITING_USER_DIR``, else the platform's (for example
    ``~/.local/share/handwriting`` on Linux)."""
    configured = os.environ.get(USER_DIR_ENV)
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_styles_dir() -> Path:
    """Where user styles are saved (``NAME.json``), made by ``handwriting style add``."""
    return user_data_dir() / "styles"


def load_user_styles() -> dict[str, Style]:
    """The user's own styles by name; an unreadable file is skipped with a warning on stderr."""
    styles = {}
    for path in sorted(user_styles_dir().glob("*.json")):
        try:
            style = Style.load(path)
        except HandwritingError as exc:
            print(f"handwriting: warning: skipping user style {path.name}: {exc}", file=sys.stderr)
            continue
        styles[path.stem] = style
    return styles


def check_style_name(name: str, shipped: dict[str, Style], *, force: bool = False) -> Path:
    """Check a new user style's name; return the path its file will have.

    Raises:
        HandwritingError: a name that is not 1-40 safe characters, a reserved name
            (``RESERVED_STYLE_NAMES``), a shipped style's name, or an existing user style
            (unless ``force``).
    """
    if not isinstance(name, str) or not STYLE_NAME.match(name):
        raise HandwritingError(f"style name {str(name)[:60]!r} must be 1-40 letters, digits, '_', '-' or '.', "
                               "starting with a letter or digit")
    if name.lower() in RESERVED_STYLE_NAMES:
        reserved = ", ".join(sorted(RESERVED_STYLE_NAMES))
        raise HandwritingError(f"style name {name!r} is reserved (reserved names: {reserved})")
    if name in shipped:
        raise HandwritingError(f"style {name!r} is a shipped style of this model: choose another name")
    path = user_styles_dir() / f"{name}.json"
    if path.exists() and not force:
        raise StyleExistsError(name)
    return path


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
    # evenly in time, not in arc length: resampled at equal steps along the ink, the shipped styles'
    # own lines lost 1-9 nats per character of what the network gains from their text (docs/adaptation.md)
    c = resample_in_time(c, points_per_char * len(text))
    c[:, :2] -= c[0, :2]
    return Style(name=name, text=text, offsets=coords_to_offsets(c))


def add_style(checkpoint: Path, name: str, ink_path: Path, text: str, *, force: bool = False,
              ink_format: str | None = None) -> Path:
    """Make a style from an ink file and save it in the user's styles folder (``handwriting style add``).

    Raises:
        HandwritingError: a bad or taken name (see :func:`check_style_name`), an unreadable
            ink file, or text outside the alphabet.
    """
    from ..inkio import read_ink

    check_style_name(name, load_styles(checkpoint), force=force)
    path, _style = save_user_style(checkpoint, name, read_ink(ink_path, ink_format), text, force=force)
    return path


def save_user_style(checkpoint: Path, name: str, coords: np.ndarray, text: str, *,
                    force: bool = False) -> tuple[Path, Style]:
    """Bring a user's ``[N, 3]`` coords (y up) of ``text`` to the checkpoint's shape and save them
    as the user style ``name``; the checkpoint's folder is only read. Returns the file and style."""
    shipped = load_styles(checkpoint)
    path = check_style_name(name, shipped, force=force)
    style = style_from_ink(coords, text, name, reference_shape(shipped))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, style.to_json())
    return path, style


def remove_user_style(name: str) -> list[Path]:
    """Remove the user style ``name`` from the user's styles folder (``handwriting style remove``):
    its ``NAME.json`` first, so that a reader sees the style whole or not at all, then its personal
    models (:mod:`.personal`). Returns the files removed.

    Raises:
        HandwritingError: no user style of that name (the user's styles are named).
    """
    from .personal import remove_stale

    folder = user_styles_dir()
    path = folder / f"{name}.json"
    if not isinstance(name, str) or not STYLE_NAME.match(name) or not path.is_file():
        yours = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        listed = f"yours: {', '.join(yours)}" if yours else "you have none"
        raise HandwritingError(f"no style of yours is named {str(name)[:60]!r} ({listed}); "
                               "shipped styles cannot be removed")
    path.unlink()
    return [path] + remove_stale(folder, name, keep=None)
