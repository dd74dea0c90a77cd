"""Strokes -> images: plotter-friendly SVG, PNG, and an animated SVG drawn in writing order.

Input is a page: per line ``[N, 3]`` coords ``(x, y, pen_up)`` in page units with y up (as
``layout.place_lines`` gives them), ``None`` for a blank line. SVG's y points down, so y is
negated on the way out. Every write is atomic.
"""

from __future__ import annotations

import io
import os

import numpy as np

from ..errors import HandwritingError
from ..fileio import write_bytes_atomic
from ..strokes import split_strokes
from .pages import DEFAULT_COLOR, DEFAULT_MARGIN, DEFAULT_WIDTH, MM_PER_INCH, Page, check_color
from .paper import MARGIN_RULE_COLOR, RULE_COLOR

#: Decimal places kept in SVG path coordinates.
COORD_DECIMALS = 2
#: Pen pace of the animation at speed 1: points of the stroke arrays drawn per second.
ANIMATION_POINTS_PER_SECOND = 120.0
#: Time the pen spends in the air between strokes at speed 1.
ANIMATION_PEN_UP_SECONDS = 0.08
PNG_DPI = 96
#: Typographic points per inch (matplotlib's line widths are in points).
POINTS_PER_INCH = 72.0


def _svg_xy(points: np.ndarray) -> np.ndarray:
    """``[n, 2]`` page points (y up) -> SVG points (y down), rounded."""
    return np.round(np.stack([points[:, 0], -points[:, 1]], 1).astype(np.float64), COORD_DECIMALS) + 0.0


def _fmt(v: float) -> str:
    text = f"{v:.{COORD_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def stroke_path_data(stroke: np.ndarray) -> str:
    """SVG path data of one ``[n, 2]`` stroke: ``M x y L x y x y ...`` (a dot for one point)."""
    xy = _svg_xy(stroke)
    if len(xy) == 1:
        xy = np.vstack([xy, xy])  # zero-length segment: drawn as a dot by round caps
    head = f"M{_fmt(xy[0, 0])} {_fmt(xy[0, 1])}"
    tail = " ".join(f"{_fmt(x)} {_fmt(y)}" for x, y in xy[1:])
    return f"{head} L{tail}"


def _drawing(page: Page):
    import svgwrite

    size = (f"{_fmt(page.width)}{page.unit}", f"{_fmt(page.height)}{page.unit}")
    drawing = svgwrite.Drawing(size=size, profile="full", debug=False)
    drawing.viewbox(0, 0, float(_fmt(page.width)), float(_fmt(page.height)))
    return drawing


def _line_group(drawing, color: str, width: float):
    return drawing.g(stroke=color, stroke_width=_fmt(width), fill="none",
                     stroke_linecap="round", stroke_linejoin="round")


def svg_text(page: Page) -> str:
    """The page as an SVG document: one group per line, one M/L path per line, no fill."""
    drawing = _drawing(page)
    for i, coords in enumerate(page.lines):
        if coords is None:
            continue
        group = _line_group(drawing, page.colors[i], page.widths[i])
        d = " ".join(stroke_path_data(s) for s in split_strokes(coords))
        group.add(drawing.path(d=d))
        drawing.add(group)
    return drawing.tostring()


def animated_svg_text(page: Page, speed: float = 1.0) -> str:
    """An SVG that draws the strokes in writing order (SMIL ``animate`` on dash offsets).

    Each stroke is revealed along its length in ``points / (ANIMATION_POINTS_PER_SECOND *
    speed)`` seconds, with ``ANIMATION_PEN_UP_SECONDS / speed`` in the air between strokes;
    the drawing stays once finished. Browsers play it; a static renderer shows the empty page.
    """
    if not np.isfinite(speed) or speed <= 0:
        raise HandwritingError(f"animation speed must be a positive number, not {speed}")
    drawing = _drawing(page)
    clock = 0.0
    for i, coords in enumerate(page.lines):
        if coords is None:
            continue
        group = _line_group(drawing, page.colors[i], page.widths[i])
        for stroke in split_strokes(coords):
            xy = _svg_xy(stroke)
            length = max(float(np.linalg.norm(np.diff(xy, axis=0), axis=1).sum()), 0.01)
            duration = max(len(stroke), 1) / (ANIMATION_POINTS_PER_SECOND * speed)
            dash = _fmt(length + 1)  # a little longer than the stroke: no gap can show
            path = drawing.path(d=stroke_path_data(stroke), stroke_dasharray=f"{dash} {dash}",
                                stroke_dashoffset=dash)
            path.add(drawing.animate(attributeName="stroke-dashoffset", attributeType="CSS", values=f"{dash};0",
                                     begin=f"{clock:.3f}s", dur=f"{duration:.3f}s", fill="freeze"))
            group.add(path)
            clock += duration + ANIMATION_PEN_UP_SECONDS / speed
        drawing.add(group)
    return drawing.tostring()


def write_svg(page: Page, path: str | os.PathLike) -> None:
    """Write the page as plotter-friendly SVG."""
    write_bytes_atomic(path, svg_text(page).encode("utf-8"))


def write_animated_svg(page: Page, path: str | os.PathLike, speed: float = 1.0) -> None:
    """Write the page as an SVG that draws itself (see :func:`animated_svg_text`)."""
    write_bytes_atomic(path, animated_svg_text(page, speed).encode("utf-8"))


def inches(page: Page) -> tuple[float, float]:
    """The page's size in inches."""
    mm = page.in_mm()
    return mm.width / MM_PER_INCH, mm.height / MM_PER_INCH


def _draw_ruling(ax, page: Page) -> None:
    """The paper's ruling under the ink (a preview's; never in SVG or plotter output)."""
    ruling = page.ruling
    if ruling is None:
        return
    points_per_unit = POINTS_PER_INCH * inches(page)[0] / page.width
    for (x0, y0), (x1, y1) in ruling.segments(page.width, page.height):
        ax.plot([x0, x1], [y0, y1], color=RULE_COLOR, linewidth=ruling.width * points_per_unit)
    margin = ruling.margin_segment(page.height)
    if margin is not None:
        ax.plot(margin[:, 0], margin[:, 1], color=MARGIN_RULE_COLOR, linewidth=ruling.width * points_per_unit)
    dots = ruling.dots(page.width, page.height)
    if len(dots):
        ax.scatter(dots[:, 0], dots[:, 1], s=(ruling.dot_size * points_per_unit) ** 2, color=RULE_COLOR,
                   linewidths=0)


def png_bytes(page: Page, dpi: int = PNG_DPI, background: str = "white") -> bytes:
    """Render the page to PNG with matplotlib, ruling and all (a px page: 1 unit = 1 px at ``PNG_DPI``)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=inches(page), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, page.width)
    ax.set_ylim(-page.height, 0)
    ax.axis("off")
    fig.patch.set_facecolor(background)
    _draw_ruling(ax, page)
    points_per_unit = POINTS_PER_INCH * inches(page)[0] / page.width
    for i, stroke in page.strokes():
        if len(stroke) == 1:
            stroke = np.vstack([stroke, stroke])
        ax.plot(stroke[:, 0], stroke[:, 1], color=page.colors[i], linewidth=page.widths[i] * points_per_unit,
                solid_capstyle="round", solid_joinstyle="round")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor=background)
    plt.close(fig)
    return buffer.getvalue()


def write_png(page: Page, path: str | os.PathLike, dpi: int = PNG_DPI) -> None:
    """Write the page as a PNG image."""
    write_bytes_atomic(path, png_bytes(page, dpi=dpi))


__all__ = [
    "DEFAULT_COLOR",
    "DEFAULT_MARGIN",
    "DEFAULT_WIDTH",
    "Page",
    "animated_svg_text",
    "check_color",
    "png_bytes",
    "stroke_path_data",
    "svg_text",
    "write_animated_svg",
    "write_png",
    "write_svg",
]
