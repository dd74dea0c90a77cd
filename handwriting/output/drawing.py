"""What ``Hand.write`` returns: written text on one page or several, and how it is saved."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..fileio import output_format
from . import render
from .pages import Page
from .pdf import write_pdf

#: What :meth:`Drawing.save` (and ``handwriting write --format``) can write.
OUTPUT_FORMATS = ("svg", "png", "animated-svg", "pdf")


def numbered_paths(path: str | os.PathLike, count: int) -> list[Path]:
    """``path`` itself for one page; ``x-1.svg``, ``x-2.svg``, ... beside it for ``count`` pages."""
    path = Path(path)
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{k}{path.suffix}") for k in range(1, count + 1)]


@dataclass
class Drawing:
    """Written text, laid out on one page or several.

    Attributes:
        lines: per written line of every page in order, ``[N, 3]`` coords ``(x, y, pen_up)``
            in its page's unit (y up, the page spanning ``y in [-height, 0]``); ``None`` for
            a blank line.
        texts: the text of each line (``""`` for a blank line).
        page: the first page.
        hit_cap: per written line, whether the sampler's step cap ended it.
        pages: every page (:class:`~handwriting.output.pages.Page`): one for a drawing fitted to
            its ink, as many as the text needs on sheets of paper (``Hand.write(page="a4")``).
    """

    lines: list[np.ndarray | None]
    texts: list[str]
    page: Page
    hit_cap: list[bool] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.pages:
            self.pages = [self.page]

    @staticmethod
    def of_pages(pages: list[Page], hit_cap: list[bool]) -> "Drawing":
        """A drawing of several pages (their lines and texts concatenated in order)."""
        return Drawing(lines=[c for p in pages for c in p.lines], texts=[t for p in pages for t in p.texts],
                       page=pages[0], hit_cap=hit_cap, pages=list(pages))

    def svg(self) -> str:
        """The first page as an SVG document string."""
        return render.svg_text(self.page)

    def to_svg(self, path: str | os.PathLike) -> list[Path]:
        """Write plotter-friendly SVG (M/L paths, round caps, no fill), one file per page
        (:func:`numbered_paths`); return the files written."""
        paths = numbered_paths(path, len(self.pages))
        for page, each in zip(self.pages, paths):
            render.write_svg(page, each)
        return paths

    def to_png(self, path: str | os.PathLike, dpi: int = render.PNG_DPI) -> list[Path]:
        """Write a PNG image per page, the paper's ruling under the ink; return the files."""
        paths = numbered_paths(path, len(self.pages))
        for page, each in zip(self.pages, paths):
            render.write_png(page, each, dpi=dpi)
        return paths

    def to_animated_svg(self, path: str | os.PathLike, speed: float = 1.0) -> list[Path]:
        """Write an SVG per page that draws the strokes in writing order; ``speed`` 2 is twice as fast."""
        paths = numbered_paths(path, len(self.pages))
        for page, each in zip(self.pages, paths):
            render.write_animated_svg(page, each, speed=speed)
        return paths

    def to_pdf(self, path: str | os.PathLike) -> list[Path]:
        """Write every page into one PDF of vector strokes (the ruling under the ink)."""
        write_pdf(self.pages, path)
        return [Path(path)]

    def save(self, path: str | os.PathLike, format: str | None = None, speed: float = 1.0) -> list[Path]:
        """Write in ``format`` (one of :data:`OUTPUT_FORMATS`; default from the extension);
        return the files written."""
        fmt = output_format(path, OUTPUT_FORMATS, format)
        if fmt == "svg":
            return self.to_svg(path)
        if fmt == "png":
            return self.to_png(path)
        if fmt == "pdf":
            return self.to_pdf(path)
        return self.to_animated_svg(path, speed=speed)
