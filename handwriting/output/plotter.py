"""Pen-plotter output: G-code, HPGL and plotter SVG of plotter pages, through vpype.

vpype (the pen-plotter toolkit) holds each page as a ``vpype.Document`` (CSS pixels, y down)
with one layer per pen colour and one polyline per stroke. Its SVG writer writes plotter SVG
(the page size in physical units, no fill, no background, a layer per colour); its HPGL writer
writes HPGL for a device of its configuration; the vpype-gcode plugin's ``gwrite`` writes
G-code from a profile's templates. The profiles ship in ``plotter_profiles.toml`` (a vpype
configuration file). Words are put in the order that cuts pen-up travel (:mod:`.stroke_order`).
vpype is optional (the ``plot`` extra) and imported only here, when plotter output is asked for.
"""

from __future__ import annotations

import functools
import math
import os
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..errors import HandwritingError
from ..fileio import atomic_path
from .plotter_page import PlotterPage
from .stroke_order import order_words, word_travel

if TYPE_CHECKING:
    import vpype

PLOTTER_FORMATS = ("gcode", "hpgl", "plotter-svg")
#: The profile each format uses when none is named.
DEFAULT_PROFILES = {"gcode": "grbl-servo", "hpgl": "hpgl"}
PROFILES_FILE = Path(__file__).with_name("plotter_profiles.toml")
INSTALL_HINT = "pen-plotter output needs vpype and vpype-gcode: pip install 'handwriting[plot]'"
#: How far (mm) a page may be from a plotter's paper size and still be that paper.
PAPER_TOLERANCE_MM = 1.0


@dataclass(frozen=True)
class PlotterProfile:
    """A named plotter set-up (a ``[profiles.NAME]`` table of ``plotter_profiles.toml``).

    Attributes:
        name, format: the profile's name and what it writes (``gcode`` or ``hpgl``).
        description: one line for ``--help`` and errors.
        device: HPGL: the vpype device (its plotter units, papers and origin).
        velocity: HPGL: the pen speed (``VS``), or ``None`` for the plotter's own.
        pen_up, pen_down: G-code: the commands that lift and lower the pen.
    """

    name: str
    format: str
    description: str
    device: str | None = None
    velocity: int | None = None
    pen_up: str | None = None
    pen_down: str | None = None


@dataclass(frozen=True)
class PenTravel:
    """Pen-up travel over the written pages, in mm: in writing order and in the plotted order."""

    writing_mm: float
    plotted_mm: float

    @property
    def cut(self) -> float:
        """The fraction of writing order's pen-up travel the plotted order saves."""
        return 1.0 - self.plotted_mm / self.writing_mm if self.writing_mm > 0 else 0.0


@functools.cache
def _profile_file() -> dict:
    return tomllib.loads(PROFILES_FILE.read_text())


def plotter_profiles() -> dict[str, PlotterProfile]:
    """Every shipped profile by name."""
    config = _profile_file()
    profiles = {}
    for name, table in config["profiles"].items():
        pens = config.get("gwrite", {}).get(name, {}).get("default_values", {})
        profiles[name] = PlotterProfile(name=name, format=table["format"], description=table["description"],
                                        device=table.get("device"), velocity=table.get("velocity"),
                                        pen_up=pens.get("pen_up"), pen_down=pens.get("pen_down"))
    return profiles


def plotter_profile(fmt: str, name: str | None = None) -> PlotterProfile | None:
    """The profile that writes ``fmt`` (one of :data:`PLOTTER_FORMATS`): ``name``, or the
    format's default; ``None`` for plotter SVG, which needs none. Raises :class:`HandwritingError`
    for an unknown profile or one of another format."""
    if fmt not in PLOTTER_FORMATS:
        raise HandwritingError(f"unknown plotter format {fmt!r}: use {', '.join(PLOTTER_FORMATS)}")
    profiles = plotter_profiles()
    if name is not None and name not in profiles:
        raise HandwritingError(f"unknown plotter profile {name!r}: use {', '.join(profiles)}")
    if fmt not in DEFAULT_PROFILES:
        return None
    profile = profiles[name or DEFAULT_PROFILES[fmt]]
    if profile.format != fmt:
        same = ", ".join(p.name for p in profiles.values() if p.format == fmt)
        raise HandwritingError(f"plotter profile {profile.name!r} writes {profile.format}, not {fmt}: use {same}")
    return profile


def require_vpype() -> None:
    """Raise a :class:`HandwritingError` that says how to install vpype when it is missing."""
    try:
        import vpype  # noqa: F401
        import vpype_cli  # noqa: F401
        import vpype_gcode  # noqa: F401
    except ImportError as error:
        raise HandwritingError(f"{INSTALL_HINT} ({error})") from None


@functools.cache
def _vpype():
    """vpype, with the shipped profiles in its configuration."""
    require_vpype()
    import vpype as vp

    vp.config_manager.load_config_file(str(PROFILES_FILE))
    return vp


def ordered_page(page: PlotterPage) -> tuple[list[tuple[int, list[np.ndarray]]], PenTravel]:
    """A page's strokes in plotting order: per pen colour (in order of first use), its words in
    the order of :func:`~.stroke_order.order_words`.

    Returns:
        Per colour ``(line index of its first line, strokes)``, each stroke ``[n, 2]`` mm; and the
        pen-up travel within colours in writing order and in this order.
    """
    colors = list(dict.fromkeys(line.color for line in page.lines))
    layers, writing, plotted = [], 0.0, 0.0
    for color in colors:
        words = [word for line in page.lines if line.color == color for word in line.words]
        order = order_words(words)
        writing += word_travel(words)
        plotted += word_travel(words, order)
        first_line = next(i for i, line in enumerate(page.lines) if line.color == color)
        layers.append((first_line, [stroke for k in order for stroke in words[k]]))
    return layers, PenTravel(writing, plotted)


def page_document(page: PlotterPage) -> tuple["vpype.Document", PenTravel]:
    """A ``vpype.Document`` of ``page`` in plotting order (:func:`ordered_page`), and its travel.

    Layer ``k`` (from 1) holds the ``k``-th colour, named after it, with its colour and pen
    width. A one-point stroke (a dot) becomes a zero-length segment, which a plotter draws as
    a dot and every vpype writer keeps.
    """
    vp = _vpype()
    px_per_mm = vp.convert_length("mm")
    document = vp.Document(page_size=(page.width_mm * px_per_mm, page.height_mm * px_per_mm))
    layers, travel = ordered_page(page)
    for layer_id, (first_line, strokes) in enumerate(layers, 1):
        line = page.lines[first_line]
        collection = vp.LineCollection()
        for stroke in strokes:
            points = (stroke[:, 0] + 1j * stroke[:, 1]) * px_per_mm
            collection.append(np.repeat(points, 2) if len(points) == 1 else points)
        document.add(collection, layer_id)
        layer = document.layers[layer_id]
        layer.set_property(vp.METADATA_FIELD_COLOR, vp.Color(line.color))
        layer.set_property(vp.METADATA_FIELD_NAME, line.color)
        layer.set_property(vp.METADATA_FIELD_PEN_WIDTH, line.pen_width_mm * px_per_mm)
    return document, travel


def page_paths(path: str | os.PathLike, count: int) -> list[Path]:
    """``path`` for one page; ``name-1.ext``, ``name-2.ext``, ... for more."""
    path = Path(path)
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, count + 1)]


def write_plotter(pages: Sequence[PlotterPage], path: str | os.PathLike, fmt: str,
                  profile: str | None = None) -> tuple[list[Path], PenTravel]:
    """Write ``pages`` for a pen plotter: one file per page (:func:`page_paths`), each atomically.

    Args:
        pages: the pages to plot.
        path: the file to write (``.gcode``, ``.hpgl`` or ``.svg``).
        fmt: one of :data:`PLOTTER_FORMATS`.
        profile: a shipped profile's name (:func:`plotter_profiles`); default the format's own.

    Returns:
        The files written, and the pen-up travel over all pages.
    """
    chosen = plotter_profile(fmt, profile)
    if not pages:
        raise HandwritingError("nothing to plot: there are no pages")
    for number, page in enumerate(pages, 1):  # every page is checked before any file is written
        if not any(line.words for line in page.lines):
            raise HandwritingError(f"nothing to plot on page {number}: it has no strokes")
        if chosen is not None and chosen.format == "hpgl":
            _paper(chosen, page)
    documents = [page_document(page) for page in pages]
    paths = page_paths(path, len(pages))
    for page, target, (document, _) in zip(pages, paths, documents):
        with atomic_path(target) as tmp:
            _write_document(document, page, tmp, fmt, chosen)
    travel = PenTravel(sum(t.writing_mm for _, t in documents), sum(t.plotted_mm for _, t in documents))
    return paths, travel


def _write_document(document: "vpype.Document", page: PlotterPage, path: Path, fmt: str,
                    profile: PlotterProfile | None) -> None:
    vp = _vpype()
    if fmt == "gcode":
        import vpype_cli

        vpype_cli.execute(f"gwrite --profile {shlex.quote(profile.name)} {shlex.quote(str(path))}", document)
        return
    with open(path, "w") as out:
        if fmt == "plotter-svg":
            vp.write_svg(out, document, page_size=document.page_size, source_string="handwriting", set_date=False)
        else:
            vp.write_hpgl(out, document, page_size=_paper(profile, page), landscape=page.width_mm > page.height_mm,
                          center=False, device=profile.device, velocity=profile.velocity, absolute=True, quiet=True)


def _paper(profile: PlotterProfile, page: PlotterPage) -> str:
    """The name of the paper of ``profile``'s HPGL device that ``page`` is (either way round)."""
    vp = _vpype()
    device = vp.config_manager.get_plotter_config(profile.device)
    mm = vp.convert_length("mm")
    sizes = []
    for paper in device.paper_configs:
        if paper.paper_size is None:  # a flex paper: any page
            return paper.name
        width, height = (v / mm for v in paper.paper_size)
        sizes.append(f"{paper.name} ({width:.0f} x {height:.0f} mm)")
        for w, h in ((width, height), (height, width)):
            if math.isclose(w, page.width_mm, abs_tol=PAPER_TOLERANCE_MM) and math.isclose(
                    h, page.height_mm, abs_tol=PAPER_TOLERANCE_MM):
                return paper.name
    raise HandwritingError(f"plotter profile {profile.name!r} plots on {', '.join(sizes)}, not on a "
                           f"{page.width_mm:.0f} x {page.height_mm:.0f} mm page: give one of its paper "
                           f"sizes, or use --plotter-profile hpgl")
