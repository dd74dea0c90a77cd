"""Pages, paper, page variation and PDF, on a hand-made writer (no model): text flowed onto sheets
keeps its words, order and paragraphs inside the margins; ruled baselines sit on their rules;
the variation's figures fall in the ranges measured on UNIPEN pages and are zero when neat; the
PDF renders with poppler's pdftoppm."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from handwriting.errors import HandwritingError
from handwriting.output.drawing import Drawing
from handwriting.output.pages import PAGE_SIZES, PX_PER_MM, Margins, Page, Sheet, page_size
from handwriting.output.paper import DOTTED, GRID, LINED
from handwriting.output.pdf import write_pdf
from handwriting.output.render import png_bytes, svg_text
from handwriting.output.variation import UNIPEN_FIGURES, PageVariation, line_geometry, page_figures
from handwriting.writing.paged import write_on_sheets

LETTER = (Path(__file__).parent / "fixtures" / "pages" / "letter.txt").read_text()
#: The hand-made writer's x-height in px (as the shipped model writes: 16 px).
X_HEIGHT_PX = 16.0
TALL, DEEP = set("bdfhklt" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), set("gjpqy")


def fake_write(texts: list[str]) -> tuple[list[np.ndarray], list[bool]]:
    """Each character a zigzag stroke one x-height high (ascenders two, descenders below), one
    x-height wide; a space two-thirds of one. Coords in px, y up, a little tilted as real lines are."""
    lines = []
    for text in texts:
        strokes, x = [], 0.0
        for ch in text:
            if ch == " ":
                x += 0.66 * X_HEIGHT_PX
                continue
            top = 2.0 if ch in TALL else 1.0
            low = -1.0 if ch in DEEP else 0.0
            xs = x + X_HEIGHT_PX * np.array([0.0, 0.2, 0.45, 0.7, 0.9])
            ys = X_HEIGHT_PX * np.array([0.0, top, low, 1.0, 0.0])
            strokes.append(np.column_stack([xs, ys, [0, 0, 0, 0, 1]]))
            x += X_HEIGHT_PX
        coords = np.concatenate(strokes).astype(np.float32)
        coords[:, 1] += 0.02 * coords[:, 0]  # drawn a little uphill: the flow levels it
        lines.append(coords)
    return lines, [False] * len(texts)


def flow(text: str = LETTER, size: str = "a4", paper: str = "plain", seed: int = 1, **options) -> list[Page]:
    sheet = Sheet.make(size, options.pop("margin", 20.0), paper)
    pages, caps = write_on_sheets(fake_write, text, sheet, x_height=X_HEIGHT_PX / PX_PER_MM,
                                  char_width=X_HEIGHT_PX / PX_PER_MM, seed=seed, **options)
    assert not any(caps)
    return pages


def test_page_sizes_and_margins():
    assert page_size("a4") == (210.0, 297.0) and page_size("Letter") == PAGE_SIZES["letter"]
    assert page_size("148x105mm") == (148.0, 105.0) and page_size("100.5x50mm") == (100.5, 50.0)
    for bad in ("b9", "210x297", "5x5mm", "2000x100mm", "x"):
        with pytest.raises(HandwritingError, match="page size"):
            page_size(bad)
    with pytest.raises(HandwritingError, match="bigger than the 148x210 mm page"):
        Sheet.make("a5", 75)
    with pytest.raises(HandwritingError, match="unknown paper"):
        Sheet.make("a5", paper="squared")
    assert Sheet.make("a5", Margins(10, 20, 30, 40)).text_width == 148 - 60


def inside(page: Page, tolerance: float = 1e-3) -> bool:
    m = page.margins
    xy = np.concatenate([c[:, :2] for c in page.lines if c is not None])
    return bool(xy[:, 0].min() >= m.left - tolerance and xy[:, 0].max() <= page.width - m.right + tolerance
                and xy[:, 1].max() <= -m.top + tolerance and xy[:, 1].min() >= -(page.height - m.bottom) - tolerance)


@pytest.mark.parametrize("size,paper", [("a4", "plain"), ("a5", "lined"), ("letter", "grid"), ("120x90mm", "dotted")])
def test_text_flows_onto_pages_in_order_inside_the_margins(size, paper):
    pages = flow(size=size, paper=paper)
    assert len(pages) > 1 and all(inside(p) for p in pages)
    written = [t for p in pages for t in p.texts]
    assert " ".join(written).split() == LETTER.split()  # every word, whole, in order
    paragraph_of_word = [i for i, q in enumerate(LETTER.split("\n\n")) for _ in q.split()]
    k = 0
    for page in pages:  # a line holds one paragraph's words; a blank line parts two paragraphs
        previous, blank = None, False
        for text in page.texts:
            if not text:
                blank = True
                continue
            (paragraph,) = set(paragraph_of_word[k:k + len(text.split())])
            k += len(text.split())
            assert previous is None or (paragraph != previous) == blank
            previous, blank = paragraph, False
    for page in pages:
        assert page.unit == "mm" and (page.width, page.height) == page_size(size)
        assert len(page.lines) == len(page.texts) and page.texts[0]  # no blank line heads a page
        baselines = [line_geometry(c).baseline for c in page.lines if c is not None]
        assert np.all(np.diff(baselines) < 0)  # top to bottom


def test_the_same_seed_gives_the_same_pages():
    one, two, other = flow(seed=3), flow(seed=3), flow(seed=4)
    assert all(np.array_equal(a, b) for p, q in zip(one, two) for a, b in zip(p.lines, q.lines) if a is not None)
    assert not all(np.array_equal(a, b) for a, b in zip(one[0].lines, other[0].lines) if a is not None)


def test_too_long_for_max_pages_and_too_wide_words_fail():
    with pytest.raises(HandwritingError, match="more than 2 page"):
        flow(max_pages=2)
    with pytest.raises(HandwritingError, match="wider than the page's text"):
        flow("a " + "w" * 60, size="a5")
    with pytest.raises(HandwritingError, match="line height"):
        flow("ab", line_height=-1.0)


def test_lined_paper_baselines_lie_on_their_rules():
    x_height = X_HEIGHT_PX / PX_PER_MM
    for page in flow(paper=LINED):
        rules = page.ruling.rows(page.height)
        for c in page.lines:
            if c is not None:
                baseline = line_geometry(c).baseline
                assert np.min(np.abs(rules - baseline)) <= 0.1 * x_height


#: Figures a generated page is measured by, checked against the UNIPEN pages' 10th-90th percentiles.
VARIATION_FIGURES = ("tilt_sd", "pitch_sd", "margin_sd", "margin_drift", "size_sd", "tiring")


def median_figures(pages: list[Page]) -> dict[str, float]:
    per_page = [page_figures([c for c in p.lines if c is not None]) for p in pages if len(p.lines) >= 4]
    return {name: float(np.median([f[name] for f in per_page])) for name in VARIATION_FIGURES}


def test_page_variation_is_within_the_unipen_ranges_and_neat_is_zero():
    text = " ".join([LETTER] * 3)
    varied = median_figures(flow(text, seed=5))
    for name, value in varied.items():
        _, low, high = UNIPEN_FIGURES[name]
        assert low <= value <= high, (name, value, low, high)
    for name in ("tilt_sd", "pitch_sd", "margin_sd"):
        assert varied[name] > 0
    neat = median_figures(flow(text, seed=5, variation=PageVariation.neat()))
    assert all(abs(neat[name]) < 1e-3 for name in ("tilt_sd", "pitch_sd", "margin_sd", "margin_drift")), neat
    # The hand-made lines' x-heights differ a little with their letters; neat adds nothing to that.
    assert neat["size_sd"] < varied["size_sd"] / 2 and abs(neat["tiring"]) < 0.005, neat


def test_ruling_geometry():
    page = flow("ab cd", size="a5", paper=GRID)[0]
    ruling = page.ruling
    rows, cols = ruling.rows(page.height), ruling.columns(page.width)
    assert np.isclose(rows, ruling.first_baseline).any() and np.isclose(cols, page.margins.left).any()
    assert np.allclose(np.diff(rows), ruling.pitch / 2) and np.allclose(np.diff(cols), ruling.pitch / 2)
    assert len(ruling.segments(page.width, page.height)) == len(rows) + len(cols)
    dotted = flow("ab cd", size="a5", paper=DOTTED)[0].ruling
    assert len(dotted.dots(page.width, page.height)) == len(rows) * len(cols)
    assert dotted.segments(page.width, page.height).shape == (0, 2, 2)


def test_svg_is_in_mm_without_ruling_and_png_shows_it(tmp_path):
    page = flow("ab cd", size="a5", paper=LINED)[0]
    svg = svg_text(page)
    assert 'width="148mm"' in svg and 'height="210mm"' in svg and 'viewBox="0,0,148.0,210.0"' in svg
    assert svg.count("<path") == 1  # the ink only: the ruling is for previews
    from PIL import Image
    import io

    image = np.asarray(Image.open(io.BytesIO(png_bytes(page))).convert("RGB")).astype(int)
    blue = (image[..., 2] > 200) & (image[..., 0] < 200)
    assert blue.any()


def test_several_pages_are_numbered_files_and_one_pdf(tmp_path):
    pages = flow(size="a5")
    drawing = Drawing.of_pages(pages, [False] * sum(c is not None for p in pages for c in p.lines))
    written = drawing.to_svg(tmp_path / "x.svg")
    assert [p.name for p in written] == [f"x-{k}.svg" for k in range(1, len(pages) + 1)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    assert drawing.to_pdf(tmp_path / "x.pdf") == [tmp_path / "x.pdf"]
    assert (tmp_path / "x.pdf").read_bytes().count(b"/Type /Page\n") == len(pages)


def pdftoppm() -> str:
    found = shutil.which("pdftoppm")
    if found is None:
        if os.environ.get("CI"):  # .ci/run installs poppler-utils: in CI this test must run
            pytest.fail("pdftoppm not found: install poppler-utils")
        pytest.skip("pdftoppm not found: install poppler-utils (Debian) for the PDF test")
    return found


#: Render resolution for the PDF check; a pixel is 0.5 mm.
CHECK_DPI = 50


def test_pdf_pages_render_and_no_ink_crosses_a_margin(tmp_path):
    pages = flow(paper=LINED)
    write_pdf(pages, tmp_path / "letter.pdf")
    subprocess.run([pdftoppm(), "-r", str(CHECK_DPI), "-gray", str(tmp_path / "letter.pdf"), str(tmp_path / "p")],
                   check=True)
    images = sorted(tmp_path.glob("p-*.pgm"))
    assert len(images) == len(pages)
    from PIL import Image

    mm_per_px = 25.4 / CHECK_DPI
    pen = int(np.ceil(pages[0].widths[0] / mm_per_px)) + 1
    for path, page in zip(images, pages):
        ink = np.asarray(Image.open(path)) < 100  # the ink is black; the ruling is light
        assert abs(ink.shape[0] - page.height / mm_per_px) <= 1 and abs(ink.shape[1] - page.width / mm_per_px) <= 1
        rows, cols = np.nonzero(ink)
        m = page.margins
        assert len(rows) and cols.min() >= m.left / mm_per_px - pen and rows.min() >= m.top / mm_per_px - pen
        assert cols.max() <= (page.width - m.right) / mm_per_px + pen
        assert rows.max() <= (page.height - m.bottom) / mm_per_px + pen
