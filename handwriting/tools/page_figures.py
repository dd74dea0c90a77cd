"""How real pages vary line by line: the figures of :mod:`handwriting.output.variation`,
measured on the multi-line pages of UNIPEN (``scripts/measure_page_variation.py``).

UNIPEN's category 8 label files hold text lines as ``.SEGMENT``s in writing order, in the
tablet's coordinates. Most contributors captured one line per file, or many lines each in the
same place of the tablet; some wrote many lines one under another on one sheet, not always
labelled in order. A file's lines are grouped into sheets (a line written where one of the
sheet already lies starts the next), each sheet's lines sorted top to bottom, and a page here
is a run of at least :data:`MIN_PAGE_LINES` of them, each a plausible line pitch
(:data:`PITCH_RANGE` x-heights) below the last and in its column (:data:`MAX_START_JUMP`).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..datasets.unipen import DATA_DIR, Y_DOWN_CONTRIBUTORS, label_files
from ..datasets.unipen_format import INCLUDE_DIR, BrokenFile, LabelReader
from ..errors import HandwritingError
from ..output.pages import MM_PER_INCH
from ..output.variation import LineGeometry, PageVariation, line_geometry, page_figures
from ..strokes import join_strokes, remove_duplicate_points

#: A line has at least this many words (a single word's baseline angle is mostly noise).
MIN_WORDS = 2
#: A page has at least this many lines.
MIN_PAGE_LINES = 4
#: A next line's baseline lies this many x-heights (min, max) below the last one's.
PITCH_RANGE = (1.2, 6.0)
#: A next line starts at most this many x-heights left or right of the last one.
MAX_START_JUMP = 12.0
#: Figures reported per page: the x-height (mm), the line pitch, and :class:`PageVariation`'s fields.
FIGURES = ("x_height_mm", "pitch") + tuple(f.name for f in fields(PageVariation))
#: The percentiles that give a figure's range over the pages.
RANGE_PERCENTILES = (10, 90)


def _sheets(lines: list[np.ndarray]) -> Iterator[list[tuple[LineGeometry, np.ndarray]]]:
    """Group one file's lines (in file order) into sheets: a line whose baseline lies within an
    x-height of one already on the current sheet starts a new sheet (the same place written again)."""
    sheet: list[tuple[LineGeometry, np.ndarray]] = []
    for coords in lines:
        g = line_geometry(coords)
        if g.x_height <= 0:
            continue
        if any(abs(g.baseline - other.baseline) < other.x_height for other, _ in sheet):
            yield sheet
            sheet = []
        sheet.append((g, coords))
    yield sheet


def _runs(lines: list[np.ndarray]) -> Iterator[list[np.ndarray]]:
    """Runs of a file's lines written one under another: each sheet's lines top to bottom,
    split where a line is not a plausible pitch below the last or not in its column."""
    for sheet in _sheets(lines):
        run: list[np.ndarray] = []
        last = None
        for g, coords in sorted(sheet, key=lambda item: -item[0].baseline):
            if last is not None:
                step = (last.baseline - g.baseline) / last.x_height
                jump = abs(g.start - last.start) / last.x_height
                if not (PITCH_RANGE[0] <= step <= PITCH_RANGE[1] and jump <= MAX_START_JUMP):
                    yield run
                    run = []
            run.append(coords)
            last = g
        yield run


def unipen_pages(root: Path, progress: Callable[[int, int], None] | None = None) -> list[tuple[str, list[np.ndarray]]]:
    """Every page (``(label file, [per line [N, 3] coords in inches, y up])``) of category 8."""
    root = Path(root)
    if not (root / DATA_DIR).is_dir():
        raise HandwritingError(f"{root} holds no {DATA_DIR}/ directory: is it the UNIPEN release root?")
    reader = LabelReader(root / INCLUDE_DIR)
    pages = []
    files = label_files(root, ("8",))
    for done, (_category, contributor, path) in enumerate(files, 1):
        try:
            segments = reader.read(path, flip_y=contributor in Y_DOWN_CONTRIBUTORS).segments
        except BrokenFile:
            continue
        lines = [remove_duplicate_points(join_strokes(seg.strokes)) for seg in segments
                 if seg.skip is None and seg.strokes and seg.quality != "BAD" and len(seg.label.split()) >= MIN_WORDS]
        lines = [c for c in lines if len(c) > 2]
        if len(lines) >= MIN_PAGE_LINES:
            pages += [(str(path.relative_to(root)), run) for run in _runs(lines) if len(run) >= MIN_PAGE_LINES]
        if progress is not None:
            progress(done, len(files))
    return pages


def _figures(lines: list[np.ndarray]) -> dict[str, float]:
    """A page's figures, with its median x-height in mm (UNIPEN ink is in inches)."""
    x_height = float(np.median([line_geometry(c).x_height for c in lines])) * MM_PER_INCH
    return {"x_height_mm": x_height, **page_figures(lines)}


def measure(pages: list[tuple[str, list[np.ndarray]]]) -> dict:
    """Per figure: the median over the pages and its :data:`RANGE_PERCENTILES` range."""
    table = np.array([[_figures(lines)[name] for name in FIGURES] for _, lines in pages])
    low, high = np.percentile(table, RANGE_PERCENTILES, axis=0)
    contributors = sorted({name.split("/")[2] for name, _ in pages})
    return {"pages": len(pages), "lines": sum(len(lines) for _, lines in pages), "contributors": contributors,
            "figures": {name: {"median": float(np.median(table[:, i])), "low": float(low[i]), "high": float(high[i])}
                        for i, name in enumerate(FIGURES)}}
