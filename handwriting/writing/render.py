"""Strokes -> images: plotter-friendly SVG, PNG, and an animated SVG drawn in writing order.

Input is a page: per line ``[N, 3]`` coords ``(x, y, pen_up)`` in page units with y up (as
``layout.place_lines`` gives them), ``None`` for a blank line. SVG's y points down, so y is
negated on the way out. Every write is atomic.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import HandwritingError
from ..fileio import write_bytes_atomic
from ..strokes import split_strokes

DEFAULT_COLOR = "black"
DEFAULT_WIDTH = 1.5
#: Margin (page units) around the ink when the page size is not given.
DEFAULT_MARGIN = 10.0
#: Decimal places kept in SVG path coordinates.
COORD_DECIMALS = 2
#: Pen pace of the animation at speed 1: points of the stroke arrays drawn per second.
ANIMATION_POINTS_PER_SECOND = 120.0
#: Time the pen spends in the air between strokes at speed 1.
ANIMATION_PEN_UP_SECONDS = 0.08
PNG_DPI = 96


@dataclass(frozen=True)
class Page:
    """A written page ready to render.

    Attributes:
        lines: per line ``[N, 3]`` coords (page units, y up; the page spans ``x in [0, width]``,
            ``y in [-height, 0]``), or ``None`` for a blank line.
        width, height: the page size in page units (1 unit = 1 SVG user unit = 1 px).
        colors: per line stroke colour (any CSS colour).
        widths: per line stroke width in page units.
    """

    lines: Sequence[np.ndarray | None]
    width: float
    height: float
    colors: Sequence[str]
    widths: Sequence[float]

    @staticmethod
    def fit(
        lines: Sequence[np.ndarray | None],
        *,
        color: str | Sequence[str] = DEFAULT_COLOR,
        width: float | Sequence[float] = DEFAULT_WIDTH,
        margin: float = DEFAULT_MARGIN,
        page_width: float | None = None,
    ) -> "Page":
        """A page just big enough for ``lines`` plus ``margin``; the ink is moved to fit.

        ``page_width`` keeps a given width (for aligned layouts whose x is already final);
        otherwise the ink is shifted to start at the left margin.
        """
        written = [c for c in lines if c is not None and len(c)]
        if not written:
            raise HandwritingError("nothing to render: every line is empty")
        allxy = np.vstack([c[:, :2] for c in written])
        x_min, y_min = allxy.min(axis=0)
        x_max, y_max = allxy.max(axis=0)
        dx = 0.0 if page_width is not None else margin - x_min
        dy = -margin - y_max
        moved = []
        for c in lines:
            if c is None or not len(c):
                moved.append(None)
                continue
            m = np.array(c, np.float32, copy=True)
            m[:, 0] += dx
            m[:, 1] += dy
            moved.append(m)
        w = page_width if page_width is not None else float(x_max - x_min + 2 * margin)
        h = float(y_max - y_min + 2 * margin)
        n = len(lines)
        colors = [color] * n if isinstance(color, str) else list(color)
        widths = [float(width)] * n if np.isscalar(width) else [float(v) for v in width]
        if len(colors) != n or len(widths) != n:
            raise HandwritingError(f"need one colour and one width per line ({n} lines)")
        for c in colors:
            check_color(c)
        for v in widths:
            if not np.isfinite(v) or v <= 0:
                raise HandwritingError(f"stroke width must be a positive number, not {v}")
        return Page(lines=moved, width=w, height=h, colors=colors, widths=widths)


def check_color(color: str) -> None:
    """Raise :class:`HandwritingError` unless ``color`` is a CSS colour name or hex code."""
    from matplotlib.colors import is_color_like

    if not isinstance(color, str) or not is_color_like(color) or color.lower() in ("none", "c0"):
        raise HandwritingError(f"unknown colour {color!r}: use a CSS name like 'navy' or a hex code like '#1a2b3c'")


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

    drawing = svgwrite.Drawing(size=(f"{_fmt(page.width)}px", f"{_fmt(page.height)}px"), profile="full", debug=False)
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


def png_bytes(page: Page, dpi: int = PNG_DPI, background: str = "white") -> bytes:
    """Render the page to PNG with matplotlib (1 page unit = 1 px at ``PNG_DPI``)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(page.width / PNG_DPI, page.height / PNG_DPI), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, page.width)
    ax.set_ylim(-page.height, 0)
    ax.axis("off")
    fig.patch.set_facecolor(background)
    points_per_unit = 72.0 / PNG_DPI
    for i, coords in enumerate(page.lines):
        if coords is None:
            continue
        for stroke in split_strokes(coords):
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
