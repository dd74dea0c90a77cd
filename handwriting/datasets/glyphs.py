"""Single-stroke glyphs from the Hershey and EMS fonts, in one common form.

A :class:`Font` maps each character to a :class:`Glyph`: a tuple of pen-down polylines, each
``[n, 2]`` float32 ``(x, y)`` in em units, with the pen origin at ``x = 0``, the baseline at
``y = 0`` and y pointing up, plus the advance width (em units) to the next pen origin.

Sources:

- Hershey fonts ``cursive``, ``scripts`` and ``futural`` from the PyPI package ``Hershey-Fonts``
  (MIT). The Hershey fonts were originally created by Dr. A. V. Hershey while working at the
  U. S. National Bureau of Standards; the data format was originally created by James Hurt,
  Cognition, Inc.
- The EMS SVG single-stroke fonts (SIL OFL 1.1) committed under ``data/fonts/ems/``; their
  directory can be overridden with the ``HANDWRITING_FONTS_DIR`` environment variable or an
  explicit argument.
"""

from __future__ import annotations

import functools
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import alphabet
from ..errors import HandwritingError
from ..inkio import path_data_strokes
from ..resources import fonts_dir as shipped_fonts_dir

HERSHEY_FONTS = ("cursive", "scripts", "futural")
EMS_FONTS = ("EMSAllure", "EMSElfin", "EMSFelix", "EMSReadability", "EMSReadabilityItalic", "EMSTech")
ALL_FONTS = HERSHEY_FONTS + EMS_FONTS
#: Environment variable naming the directory of the EMS ``.svg`` fonts.
FONTS_DIR_ENV = "HANDWRITING_FONTS_DIR"

#: Hershey glyph units per em (the cap height is 21 units, about 0.7 em as in the EMS fonts).
HERSHEY_UNITS_PER_EM = 30.0
#: Default EMS units per em, when the font does not say.
EMS_DEFAULT_UNITS_PER_EM = 1000.0
#: Line segments that replace one cubic Bezier segment of an SVG path.
BEZIER_SEGMENTS = 8
#: Lowercase letters whose top is the x-height (no ascenders, dots or descenders).
X_HEIGHT_LETTERS = "xuvwzmn"
#: A stroke lying wholly more than this many em outside its glyph's advance box is a font
#: defect and is dropped (EMSElfin's ';' holds a stray dot 4 em to the right).
STRAY_STROKE_MARGIN_EM = 1.0

_SVG_NS = "{http://www.w3.org/2000/svg}"


@dataclass(frozen=True)
class Glyph:
    """One character: pen-down polylines ``[n, 2]`` (em units, baseline y = 0) and advance."""

    strokes: tuple[np.ndarray, ...]
    advance: float

    def __post_init__(self) -> None:
        for stroke in self.strokes:  # fonts are cached and shared: keep them immutable
            stroke.setflags(write=False)


@dataclass(frozen=True)
class Font:
    """A single-stroke font in em units.

    Attributes:
        name: the font's name (``cursive``, ``EMSAllure``, ...).
        glyphs: character -> :class:`Glyph`.
        x_height: the height of lowercase letters (em units), measured from the glyphs.
    """

    name: str
    glyphs: dict[str, Glyph]
    x_height: float

    def missing(self, characters: str = alphabet.CHARACTERS) -> str:
        """The characters of ``characters`` this font cannot write (space needs no strokes)."""
        return "".join(
            ch for ch in characters
            if ch not in self.glyphs or (ch != " " and not self.glyphs[ch].strokes)
        )


def default_fonts_dir() -> Path:
    """The EMS fonts directory: ``$HANDWRITING_FONTS_DIR``, else the shipped ``data/fonts/ems``."""
    env = os.environ.get(FONTS_DIR_ENV)
    if env:
        return Path(env)
    return shipped_fonts_dir() / "ems"


def measure_x_height(glyphs: dict[str, Glyph]) -> float:
    """Median top of the letters in :data:`X_HEIGHT_LETTERS` (em units)."""
    tops = [max(float(s[:, 1].max()) for s in glyphs[ch].strokes)
            for ch in X_HEIGHT_LETTERS if ch in glyphs and glyphs[ch].strokes]
    if not tops:
        raise HandwritingError("cannot measure the x-height of a font without lowercase letters")
    return float(np.median(tops))


# ---------------------------------------------------------------- Hershey


def load_hershey_font(name: str) -> Font:
    """Load a Hershey font bundled with the ``Hershey-Fonts`` package."""
    try:
        from HersheyFonts import HersheyFonts
    except ImportError as error:  # pragma: no cover - a declared dependency
        raise HandwritingError("the Hershey fonts need the package Hershey-Fonts (pip install Hershey-Fonts)") from error
    source = HersheyFonts()
    try:
        source.load_default_font(name)
    except ValueError as error:
        raise HandwritingError(f"unknown Hershey font {name!r}") from error
    base_line = float(source.render_options["base_line"])
    glyphs = {}
    for ch, g in source.all_glyphs.items():
        strokes = tuple(
            np.stack([(np.array([p[0] for p in s], np.float32) - g.left_offset) / HERSHEY_UNITS_PER_EM,
                      (base_line - np.array([p[1] for p in s], np.float32)) / HERSHEY_UNITS_PER_EM], 1)
            for s in g.strokes if len(s) >= 2
        )
        glyphs[ch] = Glyph(strokes, g.char_width / HERSHEY_UNITS_PER_EM)
    return Font(name, glyphs, measure_x_height(glyphs))


# ---------------------------------------------------------------- EMS SVG fonts


def parse_svg_path(d: str) -> list[np.ndarray]:
    """Polylines ``[n, 2]`` (float64, font units) of a glyph's SVG path data; curves are sampled
    at :data:`BEZIER_SEGMENTS` points (the parser is :func:`handwriting.inkio.path_data_strokes`).
    An empty path (a space) has none."""
    if not d.strip():
        return []
    return [s for s in path_data_strokes(d, curve_samples=BEZIER_SEGMENTS) if len(s) >= 2]


def _drop_stray_strokes(strokes: list[np.ndarray], advance: float) -> tuple[np.ndarray, ...]:
    """Keep the ``[n, 2]`` strokes that reach within :data:`STRAY_STROKE_MARGIN_EM` of the glyph box."""
    low, high = -STRAY_STROKE_MARGIN_EM, advance + STRAY_STROKE_MARGIN_EM
    return tuple(s for s in strokes if s[:, 0].max() >= low and s[:, 0].min() <= high)


def load_ems_font(name: str, fonts_dir: str | os.PathLike | None = None) -> Font:
    """Load ``<fonts_dir>/<name>.svg`` (an SVG ``<font>`` of single-stroke glyphs).

    Raises:
        HandwritingError: when the file is missing or is not an SVG font.
    """
    directory = Path(fonts_dir) if fonts_dir is not None else default_fonts_dir()
    path = directory / f"{name}.svg"
    if not path.is_file():
        raise HandwritingError(
            f"EMS font {name!r} not found at {path}; set {FONTS_DIR_ENV} to the directory of the EMS .svg fonts"
        )
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        raise HandwritingError(f"{path}: not a readable SVG file ({error})") from error
    font = root.find(f".//{_SVG_NS}font")
    if font is None:
        raise HandwritingError(f"{path}: no <font> element")
    face = font.find(f"{_SVG_NS}font-face")
    units = float(face.get("units-per-em", EMS_DEFAULT_UNITS_PER_EM)) if face is not None else EMS_DEFAULT_UNITS_PER_EM
    default_advance = float(font.get("horiz-adv-x", 0.0))
    glyphs = {}
    for element in font.iter(f"{_SVG_NS}glyph"):
        ch = element.get("unicode")
        if ch is None or len(ch) != 1:
            continue
        advance = float(element.get("horiz-adv-x", default_advance)) / units
        strokes = [(s / units).astype(np.float32) for s in parse_svg_path(element.get("d", ""))]
        glyphs[ch] = Glyph(_drop_stray_strokes(strokes, advance), advance)
    return Font(name, glyphs, measure_x_height(glyphs))


# ---------------------------------------------------------------- any font


@functools.lru_cache(maxsize=None)
def _load_font_cached(name: str, fonts_dir: str) -> Font:
    if name in HERSHEY_FONTS:
        return load_hershey_font(name)
    if name in EMS_FONTS:
        return load_ems_font(name, fonts_dir)
    raise HandwritingError(f"unknown font {name!r}; known fonts: {', '.join(ALL_FONTS)}")


def load_font(name: str, fonts_dir: str | os.PathLike | None = None) -> Font:
    """Load (once per process and directory) the font ``name``, one of :data:`ALL_FONTS`."""
    directory = "" if name in HERSHEY_FONTS else str(fonts_dir or default_fonts_dir())
    return _load_font_cached(name, directory)
