"""UNIPEN import, on hand-made fixture files in its format (tests/fixtures/unipen/; not UNIPEN data).

The fixture release:

- ``include/aaa/aaa.doc``: ``.COORD X Y``, 100 points per inch; a comment mentioning ``.PEN_DOWN``
  not at a line start.
- ``include/aaa/data/ink1.dat`` (includes the doc, ``.WRITER_ID w7``, ``.DT`` lines): components
  0 pen-down (5 points, x = 0..40), an empty ``.PEN_UP`` (not counted), 1 pen-up with 3 points
  (travel), 2 pen-down (x = 100..140, two points on one line), 3 pen-down (6 points, x = 200..250),
  an empty ``.PEN_UP``, 4 pen-down (3 points, x = 300..320). Device y is 0 or 100 (1 inch).
- ``data/8/aaa/set1/lines.dat``: seven segments: ``0-2`` OK "hi , there"; ``3:2-4:1`` GOOD
  "wasn ' t"; BAD; ``2`` with escaped quotes; ``4`` with ``{b}`` (outside the alphabet);
  ``9`` (no such component); ``3:1-4`` whose label runs over two lines.
- ``data/8/aaa/set1/missing.dat``: includes ``aaa/data/gone.dat``, which does not exist (2 segments).
- ``data/8/bbb/b1.dat`` -> ``include/bbb/data/b1.dat``: ``.COORD Y X T``, 10 x points per mm and
  200 y points per inch, no writer id, a ``.START_SET`` after a first component.
- ``data/8/ccc/c1.dat`` -> ``include/ccc/data/c1.dat``: three pen-down components, the middle one
  malformed (a row of three numbers under ``.COORD X Y``); no resolution.
- ``data/6/aaa/words.dat``: one WORD segment of category 6.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from handwriting import strokes
from handwriting.datasets.fonts import X_HEIGHT_UNITS
from handwriting.datasets.unipen import (
    QUALITY,
    SOURCE,
    UNKNOWN_CHARACTERS,
    UnipenConfig,
    detokenise,
    normalise_line,
    read_unipen,
)
from handwriting.datasets.unipen_format import (
    BAD_DELINEATION,
    BROKEN_COMPONENT,
    MISSING_FILE,
    parse_delineation,
    read_segments,
    unescape_label,
)
from handwriting.errors import HandwritingError

FIXTURE = Path(__file__).parent / "fixtures" / "unipen"
LINES = FIXTURE / "data" / "8" / "aaa" / "set1" / "lines.dat"


def _read(**config) -> tuple:
    warnings = io.StringIO()
    dataset, report = read_unipen(FIXTURE, UnipenConfig(**config), warn=warnings)
    return dataset, report, warnings.getvalue()


@pytest.fixture(scope="module")
def imported():
    return _read()


@pytest.fixture(scope="module")
def segments():
    return read_segments(FIXTURE, LINES)


# ---------------------------------------------------------------- format rules


def test_components_are_numbered_without_empty_pen_streams_and_pen_up_travel_is_not_ink(segments):
    first = segments[0]  # "0-2": components 0 (pen down), 1 (pen up, 3 points), 2 (pen down)
    assert first.delineation == "0-2" and first.quality == "OK"
    assert len(first.strokes) == 2  # the pen-up component's points are travel, left out
    np.testing.assert_allclose(first.strokes[0][:, 0], [0.0, 0.1, 0.2, 0.3, 0.4])
    # component 2 follows the empty .PEN_UP and the pen-up component with points
    np.testing.assert_allclose(first.strokes[1][:, 0], [1.0, 1.1, 1.2, 1.3, 1.4])


def test_point_ranges_within_components(segments):
    second = segments[1]  # "3:2-4:1": component 3 from point 2, component 4 to point 1
    np.testing.assert_allclose(second.strokes[0][:, 0], [2.2, 2.3, 2.4, 2.5])
    np.testing.assert_allclose(second.strokes[1][:, 0], [3.0, 3.1])
    last = segments[6]  # "3:1-4": component 3 from point 1, all of component 4
    assert [len(s) for s in last.strokes] == [5, 3]


def test_parse_delineation_forms():
    assert parse_delineation("1:40-3,5,6:0-6:12") == [(1, 40, 3, None), (5, 0, 5, None), (6, 0, 6, 12)]
    assert parse_delineation("0-54") == [(0, 0, 54, None)]
    for bad in ("?", "3-1", "a-b", "1--2", ""):
        with pytest.raises(ValueError):
            parse_delineation(bad)


def test_resolution_converts_to_inches_and_y_points_up(segments):
    # 100 points per inch: device y 100 is one inch up.
    np.testing.assert_allclose(segments[0].strokes[0][:, 1], [0, 1, 0, 1, 0])


def test_coord_column_order_per_axis_resolution_and_start_set():
    (segment,) = read_segments(FIXTURE, FIXTURE / "data" / "8" / "bbb" / "b1.dat")
    # .COORD Y X T; x at 10 points per mm (254 per inch), y at 200 points per inch; the
    # component before .START_SET is not component 0.
    np.testing.assert_allclose(segment.strokes[0], [[0, 0], [0.5, 1], [1, 2], [1.5, 1], [2, 0]])
    assert segment.writer is None


def test_a_malformed_component_keeps_its_number_and_skips_only_its_segments():
    vv, broken, ww = read_segments(FIXTURE, FIXTURE / "data" / "8" / "ccc" / "c1.dat")
    assert broken.skip is not None and broken.skip.reason == BROKEN_COMPONENT
    np.testing.assert_allclose(vv.strokes[0][:, 0], [0, 10, 20])  # no resolution: device units
    np.testing.assert_allclose(ww.strokes[0][:, 0], [500, 510, 520, 530])
    assert ww.writer == "c9"


def test_y_down_contributors_are_flipped():
    (segment,) = read_segments(FIXTURE, FIXTURE / "data" / "8" / "bbb" / "b1.dat", y_down=True)
    np.testing.assert_allclose(segment.strokes[0][:, 1], [0, -1, -2, -1, 0])
    dataset, _, _ = _read(y_down=("bbb",))
    up = dataset.offsets[dataset.texts.index("up")]
    coords = strokes.offsets_to_coords(up)
    assert coords[:, 1].min() < -1.0  # the peak now points down (levelling keeps the baseline at 0)


def test_labels_unescape_quotes_backslashes_and_new_lines(segments):
    assert segments[3].label == 'say "yes" now'
    assert segments[6].label == "a  line"  # the new-line in the label counts as a space
    assert unescape_label(r'a \"b\" \\ c\td\ne') == 'a "b" \\ c d e'


def test_detokenise_rules():
    assert detokenise("In my freshman year , I almost failed physics .") == \
        "In my freshman year, I almost failed physics."
    assert detokenise("wasn ' t") == "wasn't"
    assert detokenise("Bergmann ' s lab , isn ' t it ?") == "Bergmann's lab, isn't it?"
    assert detokenise('he said " quips at your fingertips ! "') == 'he said "quips at your fingertips!"'
    assert detokenise("( 4 5 6 ) 7 8 9") == "(4 5 6) 7 8 9"
    assert detokenise("costs $ 5 , or 20 % .") == "costs $5, or 20%."
    for natural in ('said, "If you really want to', "238$ + 154% = 366.52", "pitter-patter", "Mr. Ottoni's"):
        assert detokenise(natural) == natural


# ---------------------------------------------------------------- the import


def test_import_keeps_the_good_segments_with_natural_text(imported):
    dataset, report, _ = imported
    assert dataset.texts == ["hi, there", "wasn't", 'say "yes" now', "a line", "up", "vv", "ww"]
    assert report.segments == 13 and report.imported == 7
    assert report.segments == report.imported + sum(report.skipped.values())


def test_writers_are_contributor_and_writer_id_else_the_file(imported):
    dataset, _, _ = imported
    assert dataset.writers == ["aaa/w7", "bbb/b1", "ccc/c9"]
    assert list(dataset.writer_ids) == [0, 0, 0, 0, 1, 2, 2]


def test_skips_are_counted_by_reason_category_and_contributor(imported):
    _, report, _ = imported
    assert report.skipped == {QUALITY: 1, UNKNOWN_CHARACTERS: 1, BAD_DELINEATION: 1, MISSING_FILE: 2,
                              BROKEN_COMPONENT: 1}
    assert report.by_contributor["aaa"] == {"kept": 4, QUALITY: 1, UNKNOWN_CHARACTERS: 1, BAD_DELINEATION: 1,
                                            MISSING_FILE: 2}
    assert report.by_category["8"]["kept"] == 7
    assert "{b}" in report.examples[UNKNOWN_CHARACTERS][0]
    assert "aaa" in report.summary() and "missing file: 2" in report.summary()


def test_a_missing_include_is_one_warning_naming_it(imported):
    _, _, warnings = imported
    lines = warnings.strip().splitlines()
    assert len(lines) == 1
    assert "data/8/aaa/set1/missing.dat" in lines[0] and "include/aaa/data/gone.dat" in lines[0]


def test_stricter_quality_and_other_categories():
    dataset, report, _ = _read(qualities=("GOOD", "OK"))
    assert dataset.texts == ["hi, there", "wasn't", "up"]  # ccc's segments are all '?'

    assert report.skipped[QUALITY] == 6
    words, _, _ = _read(categories=("6",))
    assert words.texts == ["word"]


def test_metadata_names_the_source_and_the_lines_are_normalised(imported):
    dataset, _, _ = imported
    assert dataset.metadata["data_source"] == SOURCE
    assert SOURCE["doi"] == "10.5281/zenodo.1195803" and SOURCE["license"] == "CC BY 4.0"
    assert dataset.metadata["x_height_units"] == X_HEIGHT_UNITS
    for offsets in dataset.offsets:
        np.testing.assert_array_equal(offsets[0, :2], [0, 0])
        assert offsets[-1, 2] == 1.0


def test_bad_config_and_bad_root():
    with pytest.raises(HandwritingError, match="categories"):
        UnipenConfig(categories=("9",))
    with pytest.raises(HandwritingError, match="qualities"):
        UnipenConfig(qualities=("GREAT",))
    with pytest.raises(HandwritingError, match="data/"):
        read_unipen(FIXTURE / "data")


# ---------------------------------------------------------------- normalisation


def _zigzag_line(letters: int, height: float, step: float) -> list[np.ndarray]:
    """``letters`` zigzag strokes between y = 0 and ``height``, sampled every ``step`` in x."""
    out = []
    for k in range(letters):
        x = np.arange(0.0, height + 1e-9, step)
        y = height * np.abs(((x / height) * 2) % 2 - 1)
        out.append(np.stack([x + k * 1.5 * height, y], 1))
    return out


def test_normalise_line_is_independent_of_size_and_sampling_rate():
    small = normalise_line(_zigzag_line(6, 1.0, 0.01), UnipenConfig())
    large = normalise_line(_zigzag_line(6, 3.0, 0.3), UnipenConfig())
    assert len(small) == len(large)
    np.testing.assert_allclose(small, large, atol=0.05 * X_HEIGHT_UNITS)


def test_normalise_line_scales_to_x_height_units_keeps_y_up_and_resamples():
    config = UnipenConfig()
    offsets = normalise_line(_zigzag_line(6, 2.0, 0.01), config)
    coords = strokes.offsets_to_coords(offsets)
    x_height = strokes.estimate_x_height(coords)
    assert x_height == pytest.approx(X_HEIGHT_UNITS, rel=0.05)
    assert coords[0, 1] == pytest.approx(coords[:, 1].max(), abs=1e-3)  # y still points up: the zigzags start at a peak
    assert coords[:, 1].min() < -0.5 * X_HEIGHT_UNITS
    ink = sum(np.hypot(*np.diff(s, axis=0).T).sum() for s in strokes.split_strokes(coords))
    per_x_height = len(offsets) / (ink / X_HEIGHT_UNITS)
    assert config.points_per_x_height <= per_x_height <= 3 * config.points_per_x_height


def test_normalise_line_drops_a_glitch():
    ink = _zigzag_line(6, 1.0, 0.05)
    clean = normalise_line(ink, UnipenConfig())
    spiky = [s.copy() for s in ink]
    spiky[2][5] = [50.0, 40.0]
    glitched = normalise_line(spiky, UnipenConfig())
    assert np.abs(strokes.offsets_to_coords(glitched)[:, :2]).max() < 2 * np.abs(
        strokes.offsets_to_coords(clean)[:, :2]).max()


def test_cli_prepare_unipen_then_clean(tmp_path, capsys):
    from handwriting.cli import main
    from handwriting.datasets import load_dataset

    raw, cleaned = tmp_path / "raw.npz", tmp_path / "clean.npz"
    assert main(["prepare", "unipen", str(FIXTURE), "-o", str(raw), "--qualities", "GOOD", "OK", "?"]) == 0
    assert load_dataset(raw).texts[:2] == ["hi, there", "wasn't"]
    assert main(["prepare", "clean", str(raw), "-o", str(cleaned), "--min-points", "1",
                 "--max-deviation", "0"]) == 0
    out = capsys.readouterr()
    assert "lines imported: 7" in out.out and "clean: 7 lines in" in out.out
    assert "include/aaa/data/gone.dat" in out.err
    assert len(load_dataset(cleaned)) == 7
    assert main(["prepare", "unipen", str(tmp_path), "-o", str(raw)]) == 2  # no data/: one-line error
