"""Pages -> one PDF, every stroke a vector path (fpdf2).

fpdf2 is pure Python (one small wheel, beside Pillow which the package has already), released
every few months, and takes page sizes and coordinates in millimetres; reportlab does the same
job at six times the download, and cairo needs a system library. Each page keeps its own size;
a page in px is converted to mm (:meth:`~.pages.Page.in_mm`). The ruling of a ruled page is
drawn first, in its light colours; the ink is one path per stroke, round caps and joins, no fill.
PDF's y points down from the top of the page, so y is negated on the way out, as for SVG.
"""

from __future__ import annotations

import os
from typing import Sequence

from matplotlib.colors import to_rgb

from ..errors import HandwritingError
from ..fileio import write_bytes_atomic
from .pages import MM, Page
from .paper import MARGIN_RULE_COLOR, RULE_COLOR

#: Colour channels of fpdf2's setters run 0-255.
CHANNEL_MAX = 255


def _rgb(color: str) -> tuple[int, int, int]:
    r, g, b = to_rgb(color)
    return round(r * CHANNEL_MAX), round(g * CHANNEL_MAX), round(b * CHANNEL_MAX)


def _ruling(pdf, page: Page) -> None:
    ruling = page.ruling
    if ruling is None:
        return
    pdf.set_line_width(ruling.width)
    pdf.set_draw_color(*_rgb(RULE_COLOR))
    for (x0, y0), (x1, y1) in ruling.segments(page.width, page.height):
        pdf.line(x0, -y0, x1, -y1)
    margin = ruling.margin_segment(page.height)
    if margin is not None:
        pdf.set_draw_color(*_rgb(MARGIN_RULE_COLOR))
        pdf.line(margin[0, 0], -margin[0, 1], margin[1, 0], -margin[1, 1])
    pdf.set_fill_color(*_rgb(RULE_COLOR))
    for x, y in ruling.dots(page.width, page.height):
        pdf.circle(x=float(x), y=float(-y), radius=ruling.dot_size / 2, style="F")


def _ink(pdf, page: Page) -> None:
    for i, stroke in page.strokes():
        with pdf.new_path() as path:
            path.style.stroke_width = page.widths[i]
            path.style.stroke_color = "#%02x%02x%02x" % _rgb(page.colors[i])
            path.style.fill_color = None
            path.style.stroke_cap_style = "round"
            path.style.stroke_join_style = "round"
            path.move_to(float(stroke[0, 0]), float(-stroke[0, 1]))
            for x, y in stroke[1:] if len(stroke) > 1 else stroke:  # one point: a dot by its round cap
                path.line_to(float(x), float(-y))


def pdf_bytes(pages: Sequence[Page]) -> bytes:
    """Every page, in order, as one PDF document."""
    from fpdf import FPDF

    if not pages:
        raise HandwritingError("nothing to write: no pages")
    pdf = FPDF(unit=MM)
    pdf.set_auto_page_break(False)
    for page in pages:
        page = page.in_mm()
        pdf.add_page(format=(page.width, page.height))
        _ruling(pdf, page)
        _ink(pdf, page)
    return bytes(pdf.output())


def write_pdf(pages: Sequence[Page], path: str | os.PathLike) -> None:
    """Write the pages as one PDF, atomically."""
    write_bytes_atomic(path, pdf_bytes(pages))
