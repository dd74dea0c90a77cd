"""A written line as a grayscale image of fixed height: pen strokes on paper, lightly blurred and noisy.

The ink's bounding box is scaled to fill the height less a margin (:data:`MARGIN_FRACTION` above
and below, as much before and after), but never by more than makes :data:`MIN_SPAN_X_HEIGHTS`
x-heights fill it, so a line without ascenders or descenders ("ocean") keeps letters of the
size of a full line's. Strokes are drawn with Pillow at :data:`SUPERSAMPLE` times the size and
reduced (a box filter), which gives anti-aliased edges; the paper is laid under the ink's
coverage, then blurred, then noise is added.

Image coordinates: x right, y down, in px of the final image, pixel ``[row, col]`` centred on
``(x, y) = (col, row)``; the strokes stored with the row are in them, so they lie on the image.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from ..strokes import baseline_height, split_strokes
from ..writing.hand import X_HEIGHT_PX
from .config import PAPER_GRAIN, PAPER_RULED, WHITE
from .variety import LineSpec

#: Margin above and below the ink, as a fraction of the height (and the same in px before and after).
MARGIN_FRACTION = 0.1
#: The ink fills the height when it spans at least this many x-heights (a line with ascenders and
#: descenders spans about 2.8 at the shipped model's scale); a flatter line is drawn no larger.
MIN_SPAN_X_HEIGHTS = 2.5
#: Strokes are drawn this many times larger, then reduced: anti-aliased edges.
SUPERSAMPLE = 4
#: Paper grain: a random field on cells of this many px, smoothly interpolated ...
GRAIN_CELL_PX = 6
#: ... with this standard deviation in grey levels.
GRAIN_LEVELS = 6.0
#: A ruled line: this much darker than the paper (a light blue or grey rule), this many px wide,
#: this many px below the writing's baseline.
RULE_DARKNESS = 45
RULE_WIDTH_PX = 1
RULE_BELOW_BASELINE_PX = 1.0


@dataclass(frozen=True)
class RenderedLine:
    """A line's image and its strokes in the image.

    Attributes:
        png: the grayscale PNG's bytes, ``height`` px high, ``width`` wide.
        strokes: ``[N, 3]`` float32 ``(x, y, pen_up)`` in image px, y down.
    """

    png: bytes
    strokes: np.ndarray
    width: int
    height: int


def image_strokes(coords: np.ndarray, height: int) -> tuple[np.ndarray, int]:
    """Map ``[N, 3]`` page coords (px, y up) into an image ``height`` px high; return them and its width."""
    xy = np.asarray(coords, np.float64)[:, :2]
    lo, hi = xy.min(0), xy.max(0)
    margin = MARGIN_FRACTION * height
    inner = height - 2 * margin
    factor = inner / max(hi[1] - lo[1], MIN_SPAN_X_HEIGHTS * X_HEIGHT_PX)
    top = margin + (inner - (hi[1] - lo[1]) * factor) / 2
    out = np.array(coords, np.float32, copy=True)
    out[:, 0] = (xy[:, 0] - lo[0]) * factor + margin
    out[:, 1] = top + (hi[1] - xy[:, 1]) * factor
    width = int(np.ceil((hi[0] - lo[0]) * factor + 2 * margin))
    return out, width


def ink_coverage(strokes: np.ndarray, width: int, height: int, ink_width: float) -> np.ndarray:
    """``[height, width]`` float32 in [0, 1]: how much of each pixel the pen covers (round caps and joins)."""
    from PIL import Image, ImageDraw

    mask = Image.new("L", (width * SUPERSAMPLE, height * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(mask)
    pen = max(1, int(round(ink_width * SUPERSAMPLE)))
    radius = pen / 2
    centre = (SUPERSAMPLE - 1) / 2  # image pixel k covers supersampled pixels k*S .. k*S + S - 1
    for stroke in split_strokes(strokes):
        points = [(float(x) * SUPERSAMPLE + centre, float(y) * SUPERSAMPLE + centre) for x, y in stroke[:, :2]]
        if len(points) > 1:
            draw.line(points, fill=WHITE, width=pen, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=WHITE)
    return np.asarray(mask.reduce(SUPERSAMPLE), np.float32) / WHITE


def paper(spec: LineSpec, width: int, height: int, baseline_y: float, rng: np.random.Generator) -> np.ndarray:
    """``[height, width]`` float32 grey levels of the line's paper."""
    from PIL import Image

    page = np.full((height, width), float(spec.paper_level), np.float32)
    if spec.paper == PAPER_GRAIN:
        cells = rng.normal(0.0, GRAIN_LEVELS, (height // GRAIN_CELL_PX + 2, width // GRAIN_CELL_PX + 2))
        page += np.asarray(Image.fromarray(cells.astype(np.float32), "F").resize((width, height), Image.BILINEAR))
    elif spec.paper == PAPER_RULED:
        row = int(round(baseline_y + RULE_BELOW_BASELINE_PX))
        if 0 <= row < height:
            page[row:row + RULE_WIDTH_PX] -= RULE_DARKNESS
    return page


def render_line(coords: np.ndarray, spec: LineSpec, height: int) -> RenderedLine:
    """Draw one written line (``[N, 3]`` page coords, px, y up) as ``spec`` says, ``height`` px high."""
    from PIL import Image, ImageColor, ImageFilter

    strokes, width = image_strokes(coords, height)
    rng = np.random.default_rng(spec.render_seed)
    flipped = strokes.copy()
    flipped[:, 1] = -flipped[:, 1]  # baseline_height reads y up
    background = paper(spec, width, height, -baseline_height(flipped), rng)
    coverage = ink_coverage(strokes, width, height, spec.ink_width)
    ink = float(ImageColor.getcolor(spec.ink, "L"))
    image = background * (1.0 - coverage) + ink * coverage
    picture = Image.fromarray(np.clip(np.round(image), 0, WHITE).astype(np.uint8), "L")
    if spec.blur > 0:
        picture = picture.filter(ImageFilter.GaussianBlur(spec.blur))
    pixels = np.asarray(picture, np.float32) + rng.normal(0.0, spec.noise, (height, width)).astype(np.float32)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.round(pixels), 0, WHITE).astype(np.uint8), "L").save(buffer, format="PNG")
    return RenderedLine(png=buffer.getvalue(), strokes=strokes, width=width, height=height)
