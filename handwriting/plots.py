"""Figures drawn with matplotlib: dataset contact sheets.

matplotlib is imported inside each function with the non-interactive Agg backend, so that
importing this module is cheap and works without a display.
"""

from __future__ import annotations

import os
import textwrap

import numpy as np

from .datasets.format import StrokeDataset
from .fileio import atomic_path
from .strokes import bounding_box, offsets_to_coords, split_strokes

#: Width of one contact-sheet panel in inches; its height follows the ink's aspect ratio.
PANEL_WIDTH_INCHES = 10.0
PANEL_MIN_HEIGHT_INCHES = 0.9
CAPTION_WIDTH_CHARS = 110
SHEET_DPI = 110
#: Image formats the sheet can be written in, chosen by the output file's extension.
SHEET_FORMATS = ("png", "svg", "pdf")


def _figure_module():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def draw_strokes(ax, offsets: np.ndarray, *, color: str = "black", linewidth: float = 1.2) -> None:
    """Draw ``[N, 3]`` offsets on a matplotlib axis, one line per pen-down stroke (y up)."""
    for stroke in split_strokes(offsets_to_coords(offsets)):
        ax.plot(stroke[:, 0], stroke[:, 1], color=color, linewidth=linewidth,
                solid_capstyle="round", solid_joinstyle="round")
    ax.set_aspect("equal")
    ax.axis("off")


def contact_sheet(dataset: StrokeDataset, path: str | os.PathLike, *, samples: int = 12, seed: int = 0) -> None:
    """Draw ``samples`` random lines of ``dataset`` with their texts and writers to ``path``.

    The image format follows the file extension (PNG, SVG, PDF); the write is atomic.
    """
    plt = _figure_module()
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(len(dataset), size=min(samples, len(dataset)), replace=False))
    heights = []
    for i in picks:
        x0, y0, x1, y1 = bounding_box(offsets_to_coords(dataset.offsets[i]))
        heights.append(max(PANEL_WIDTH_INCHES * (y1 - y0) / max(x1 - x0, 1e-6), PANEL_MIN_HEIGHT_INCHES))
    heights = [min(h, 3.0) + 0.35 for h in heights]  # room for the caption above each line
    fig, axes = plt.subplots(len(picks), 1, figsize=(PANEL_WIDTH_INCHES, sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, i in zip(axes[:, 0], picks):
        draw_strokes(ax, dataset.offsets[i])
        writer = dataset.writers[int(dataset.writer_ids[i])]
        caption = textwrap.shorten(f"#{i} [{writer}] {dataset.texts[i]}", CAPTION_WIDTH_CHARS)
        ax.set_title(caption, fontsize=8, loc="left", color="#555555")
    fig.tight_layout()
    suffix = os.path.splitext(str(path))[1]
    with atomic_path(path, suffix=suffix) as tmp:
        fig.savefig(tmp, dpi=SHEET_DPI, format=suffix.lstrip(".") or "png")
    plt.close(fig)

