"""Figures drawn with matplotlib: dataset contact sheets.

matplotlib is imported inside each function with the non-interactive Agg backend, so that
importing this module is cheap and works without a display.
"""

from __future__ import annotations

import os
import textwrap

import numpy as np

from ..datasets.format import StrokeDataset
from ..fileio import atomic_path
from ..strokes import bounding_box, offsets_to_coords, split_strokes

#: Width of one contact-sheet panel in inches; its height follows the ink's aspect ratio.
PANEL_WIDTH_INCHES = 10.0
PANEL_MIN_HEIGHT_INCHES = 0.5
CAPTION_INCHES = 0.3
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
    boxes = [bounding_box(offsets_to_coords(dataset.offsets[i])) for i in picks]
    # One scale for every panel, so that lines compare: the longest line fills the width.
    widest = max(x1 - x0 for x0, _, x1, _ in boxes) or 1.0
    inches_per_unit = PANEL_WIDTH_INCHES / widest
    heights = [max((y1 - y0) * inches_per_unit, PANEL_MIN_HEIGHT_INCHES) + CAPTION_INCHES for _, y0, _, y1 in boxes]
    fig, axes = plt.subplots(len(picks), 1, figsize=(PANEL_WIDTH_INCHES, sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, i, (x0, y0, x1, y1), h in zip(axes[:, 0], picks, boxes, heights):
        draw_strokes(ax, dataset.offsets[i], linewidth=0.8)
        ax.set_xlim(x0, x0 + widest)
        ax.set_ylim(y0, y0 + (h - CAPTION_INCHES) / inches_per_unit)
        ax.set_anchor("W")
        writer = dataset.writers[int(dataset.writer_ids[i])]
        caption = textwrap.shorten(f"#{i} [{writer}] {dataset.texts[i]}", CAPTION_WIDTH_CHARS)
        ax.set_title(caption, fontsize=8, loc="left", color="#555555")
    fig.tight_layout()
    suffix = os.path.splitext(str(path))[1]
    with atomic_path(path, suffix=suffix) as tmp:
        fig.savefig(tmp, dpi=SHEET_DPI, format=suffix.lstrip(".") or "png")
    plt.close(fig)



def figure_bytes(fig, format: str = "png", dpi: int = SHEET_DPI) -> bytes:
    """Render a matplotlib figure to bytes and close it."""
    import io

    plt = _figure_module()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=format, dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def attention_figure(offsets: np.ndarray, phi: np.ndarray, text: str):
    """Graves' figure 12: the written line above its window weights ``phi(t, u)``.

    Args:
        offsets: ``[T, 3]`` the written points.
        phi: ``[T, U]`` window weights at each point over the characters of ``text``.
        text: the characters, ``len(text) == U``.
    """
    plt = _figure_module()
    t, u = phi.shape
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6.0, t / 50), 2.0 + max(2.0, u / 6)),
                                      gridspec_kw={"height_ratios": [1, max(1.0, u / 12)]})
    draw_strokes(top, offsets)
    top.set_title(textwrap.shorten(text, CAPTION_WIDTH_CHARS), fontsize=9, loc="left")
    bottom.imshow(phi.T, aspect="auto", origin="lower", interpolation="nearest", cmap="Greys")
    bottom.set_yticks(range(u))
    bottom.set_yticklabels([repr(c)[1:-1] if c != " " else "␣" for c in text], fontsize=7)
    bottom.set_xlabel("point t")
    bottom.set_ylabel("character u")
    fig.tight_layout()
    return fig


#: Grid cells along the longer side of a mixture-density plot.
DENSITY_GRID = 500


def mixture_density_figure(offsets: np.ndarray, params: dict, text: str = ""):
    """The predicted density of every next point over the written line (Graves' figure 10 style).

    Args:
        offsets: ``[T, 3]`` the written points (normalised units).
        params: constrained mixture parameters per point, each ``[T, M]`` (``e`` ``[T]``), as
            :func:`handwriting.nn.mixture.mixture_params_numpy` gives them; row ``t`` predicts
            the offset from point ``t`` to point ``t + 1``.
    """
    from ..nn.mixture import bivariate_log_density  # eqs 24-25, the one density the loss uses too

    plt = _figure_module()
    coords = offsets_to_coords(offsets).astype(np.float64)
    x0, y0, x1, y1 = bounding_box(coords)
    pad = 2.0
    width, height = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    cell = max(width, height) / DENSITY_GRID
    gx = np.arange(x0 - pad, x1 + pad, cell)
    gy = np.arange(y0 - pad, y1 + pad, cell)
    density = np.zeros((len(gy), len(gx)))
    reach = 4.0  # standard deviations drawn around each component
    for t in range(len(coords) - 1):
        for j in np.flatnonzero(params["pi"][t] > 1e-3):
            mx, my = coords[t, 0] + params["mu1"][t, j], coords[t, 1] + params["mu2"][t, j]
            s1, s2, rho = params["sigma1"][t, j], params["sigma2"][t, j], params["rho"][t, j]
            ix = slice(*np.searchsorted(gx, [mx - reach * s1, mx + reach * s1]))
            iy = slice(*np.searchsorted(gy, [my - reach * s2, my + reach * s2]))
            log_density = bivariate_log_density(gx[ix][None, :], gy[iy][:, None], mx, my, np.log(s1), np.log(s2), rho)
            density[iy, ix] += params["pi"][t, j] * np.exp(np.asarray(log_density, np.float64))
    fig, ax = plt.subplots(figsize=(PANEL_WIDTH_INCHES, max(1.5, PANEL_WIDTH_INCHES * height / width)))
    ax.imshow(np.log1p(density), origin="lower", extent=(gx[0], gx[-1], gy[0], gy[-1]), cmap="magma_r",
              aspect="equal")
    for stroke in split_strokes(coords):
        ax.plot(stroke[:, 0], stroke[:, 1], color="#1f5fa8", linewidth=0.6, alpha=0.7)
    ax.axis("off")
    if text:
        ax.set_title(textwrap.shorten(text, CAPTION_WIDTH_CHARS), fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def history_figure(histories: dict[str, list[dict]], reference: float | None = None, reference_label: str = ""):
    """Validation NLL (nats per line) against CPU hours, one line per run: the capacity curves.

    ``histories``: per label, a run's ``history.jsonl`` records
    (:func:`handwriting.training.trainer.read_history`: ``cpu_hours``, ``nll_per_line``, ...);
    ``reference``: a horizontal line (the start's NLL, say) labelled ``reference_label``.
    """
    plt = _figure_module()
    fig, ax = plt.subplots(figsize=(7.0, 4.0))
    for label, records in histories.items():
        if records:
            ax.plot([r["cpu_hours"] for r in records], [r["nll_per_line"] for r in records], marker="o",
                    markersize=3, label=label)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle="--", linewidth=1, label=reference_label or None)
    ax.set_xlabel("CPU hours (all threads)")
    ax.set_ylabel("validation NLL (nats per line, lower is better)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
