"""IAM-OnDB import, on hand-written fixture files in its format (tests/fixtures/iam/).

The fixture holds six form versions:

- a01-000u (writer 10077): three lines; line 01 has a duplicate point and lies on a level
  baseline; line 02's text uses ``&quot;``; line 03's text has ``*``, outside the alphabet.
- a01-001w (writer 10077): line 02 is a truncated XML file.
- b02-010x: two line files but three transcription lines (the whole form is skipped).
- b02-011u (writer 10123): line 01's text is ``café`` in latin-1; line 02 is written on a slope.
- c03-005z: no original/ file, so it becomes its own writer ``form:c03-005z``.
- d04-001a: no ascii/ transcription.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_helper import run_cli

from handwriting import strokes
from handwriting.datasets import load_dataset
from handwriting.datasets.iam import (
    MALFORMED_XML,
    MISSING_TRANSCRIPTION,
    TOO_FEW_POINTS,
    TOO_MANY_CHARACTERS,
    TOO_MANY_POINTS,
    UNKNOWN_CHARACTERS,
    UNMATCHED_LINE_COUNT,
    IamConfig,
    decode_entities,
    read_iam,
)
from handwriting.errors import HandwritingError

FIXTURE = Path(__file__).parent / "fixtures" / "iam"

#: Preprocessing that leaves the fixture's points as they are (apart from levelling and origin).
RAW = dict(min_points=2, smooth_window=1, max_step=0.0, deslant=False)

EXPECTED_TEXTS = [
    "A PLAN to meet",
    '"Garden" path',
    "painting every",
    "cafe au lait",
    "Mr. Pemberton",
    "is to be made",
]
EXPECTED_WRITERS = ["10077", "10123", "form:c03-005z"]
EXPECTED_WRITER_IDS = [0, 0, 0, 1, 1, 2]

#: a01-000u-01.xml's points as (x, y) in file units (y down), one list per stroke; the third
#: point of the first stroke repeats the second.
A01_000U_01_POINTS = [
    [(1000, 1100), (1010, 1080), (1010, 1080), (1020, 1060), (1030, 1080), (1040, 1100)],
    [(1060, 1100), (1070, 1080), (1080, 1060), (1090, 1080), (1100, 1100)],
]


def raw_config(**overrides) -> IamConfig:
    return IamConfig(**{**RAW, **overrides})


@pytest.fixture(scope="module")
def imported():
    return read_iam(FIXTURE, raw_config())


def expected_offsets(points: list[list[tuple[int, int]]]) -> np.ndarray:
    """The offsets of a level line, worked out independently of the package.

    Repeated points are dropped, y is negated (the file's y points down), each step is the
    difference from the previous point, the first row is (0, 0) and the last point of each
    stroke carries pen_up = 1.
    """
    rows = []
    previous = None
    for stroke in points:
        kept = [p for i, p in enumerate(stroke) if i == 0 or p != stroke[i - 1]]
        for i, (x, y) in enumerate(kept):
            pen = 1.0 if i == len(kept) - 1 else 0.0
            if previous is None:
                rows.append((0.0, 0.0, pen))
            else:
                rows.append((x - previous[0], -(y - previous[1]), pen))
            previous = (x, y)
    return np.array(rows, np.float32)


def test_texts_in_order_and_writers(imported):
    dataset, _ = imported
    assert dataset.texts == EXPECTED_TEXTS
    assert dataset.writers == EXPECTED_WRITERS
    np.testing.assert_array_equal(dataset.writer_ids, EXPECTED_WRITER_IDS)
    assert dataset.writer_ids.dtype == np.int32
    dataset.validate()


def test_exact_offsets_of_a_level_line(imported):
    dataset, _ = imported
    expected = expected_offsets(A01_000U_01_POINTS)
    assert expected.shape == (10, 3)  # 11 points, one repeated
    # Levelling rotates by the fitted slope, which is zero up to rounding for these points.
    np.testing.assert_allclose(dataset.offsets[0], expected, atol=1e-3)
    np.testing.assert_array_equal(dataset.offsets[0][:, 2], expected[:, 2])


def test_every_line_starts_at_the_origin(imported):
    dataset, _ = imported
    for offsets in dataset.offsets:
        assert offsets.dtype == np.float32 and offsets.shape[1] == 3
        np.testing.assert_array_equal(offsets[0, :2], [0.0, 0.0])
        assert offsets[-1, 2] == 1.0


def test_sloped_line_is_levelled(imported):
    dataset, _ = imported
    coords = strokes.offsets_to_coords(dataset.offsets[EXPECTED_TEXTS.index("Mr. Pemberton")])
    assert len(coords) == 8
    # In the file the points climb 90 units over 140 with a zigzag: a fitted angle of about
    # 0.5 rad. One least-squares rotation levels it to within a few hundredths (a regression
    # slope is not rotation-invariant, so the zigzag leaves a small residual).
    x = np.arange(2000, 2141, 20, dtype=np.float64)
    y_up = -np.array([1500, 1470, 1480, 1450, 1460, 1430, 1440, 1410], np.float64)
    raw_angle = np.arctan(np.polyfit(x, y_up, 1)[0])
    assert raw_angle == pytest.approx(0.50, abs=0.01)
    assert abs(strokes.baseline_angle(coords)) < 0.05 * raw_angle


def test_scale_and_metadata(imported):
    dataset, report = imported
    assert dataset.scale == pytest.approx(strokes.estimate_scale(dataset.offsets))
    assert dataset.metadata["source"] == "iam-ondb"
    assert dataset.metadata["root"] == str(FIXTURE)
    assert dataset.metadata["config"] == {**IamConfig().__dict__, **RAW}
    assert dataset.metadata["skipped"] == {
        "lines": {MALFORMED_XML: 1, MISSING_TRANSCRIPTION: 1, UNKNOWN_CHARACTERS: 1, UNMATCHED_LINE_COUNT: 2},
        "forms": {MISSING_TRANSCRIPTION: 1, UNMATCHED_LINE_COUNT: 1},
    }


def test_bad_files_are_counted_and_skipped(imported):
    _, report = imported
    assert report.forms == 6
    assert report.lines_read == 11
    assert report.lines_imported == 6
    assert report.writers == 3
    assert report.skipped_lines == {
        MALFORMED_XML: 1,
        MISSING_TRANSCRIPTION: 1,
        UNKNOWN_CHARACTERS: 1,
        UNMATCHED_LINE_COUNT: 2,
    }
    assert report.skipped_forms == {MISSING_TRANSCRIPTION: 1, UNMATCHED_LINE_COUNT: 1}
    assert report.lines_read == report.lines_imported + sum(report.skipped_lines.values())
    assert report.forms_without_writer == ["c03-005z"]


def test_summary_names_skipped_files_and_characters(imported):
    _, report = imported
    summary = report.summary()
    assert "a01-001w-02.xml" in summary  # truncated
    assert "b02-010x-NN.xml: line files 1..2, but 3 transcription lines" in summary
    assert "'*' (U+002A)" in summary
    assert "d04-001a.txt" in summary
    assert "c03-005z" in summary
    assert "lines imported: 6" in summary


def test_unnormalised_text_with_accents_is_skipped_and_named():
    dataset, report = read_iam(FIXTURE, raw_config(normalise_text=False))
    assert "cafe au lait" not in dataset.texts and len(dataset) == 5
    assert report.skipped_lines[UNKNOWN_CHARACTERS] == 2
    assert any("'é' (U+00E9)" in e for e in report.examples[UNKNOWN_CHARACTERS])


def test_point_caps():
    # Points per imported line: 10, 6, 7, 8, 8, 6 (in EXPECTED_TEXTS order).
    dataset, report = read_iam(FIXTURE, raw_config(min_points=7, max_points=9))
    assert dataset.texts == ["painting every", "cafe au lait", "Mr. Pemberton"]
    assert report.skipped_lines[TOO_FEW_POINTS] == 2
    assert report.skipped_lines[TOO_MANY_POINTS] == 1
    assert report.lines_read == report.lines_imported + sum(report.skipped_lines.values())


def test_character_cap():
    dataset, report = read_iam(FIXTURE, raw_config(max_chars=13))
    assert dataset.texts == ['"Garden" path', "cafe au lait", "Mr. Pemberton", "is to be made"]
    assert report.skipped_lines[TOO_MANY_CHARACTERS] == 2


def test_default_preprocessing_gives_finite_lines():
    config = IamConfig(min_points=2, deslant=True)
    dataset, _ = read_iam(FIXTURE, config)
    assert dataset.texts == EXPECTED_TEXTS
    for offsets in dataset.offsets:
        assert np.isfinite(offsets).all()
        np.testing.assert_array_equal(offsets[0, :2], [0.0, 0.0])


def test_import_is_deterministic(imported):
    again, _ = read_iam(FIXTURE, raw_config())
    first, _ = imported
    assert again.texts == first.texts
    for a, b in zip(again.offsets, first.offsets):
        np.testing.assert_array_equal(a, b)


def test_outlier_step_is_dropped(tmp_path):
    root = tmp_path / "iam"
    shutil.copytree(FIXTURE, root)
    line = root / "lineStrokes/a01/a01-000/a01-000u-01.xml"
    text = line.read_text(encoding="latin-1")
    glitch = '<Point x="1020" y="1060" time="769.20"/>\n      <Point x="5000" y="3000" time="769.22"/>'
    line.write_text(text.replace('<Point x="1020" y="1060" time="769.20"/>', glitch), encoding="latin-1")
    clean, _ = read_iam(root, raw_config(max_step=100.0))
    np.testing.assert_allclose(clean.offsets[0], expected_offsets(A01_000U_01_POINTS), atol=1e-3)
    kept, _ = read_iam(root, raw_config())
    assert len(kept.offsets[0]) == 11


def test_entities_are_decoded():
    assert decode_entities("&quot;Hi&quot; &amp; &apos;bye&apos;") == "\"Hi\" & 'bye'"
    assert decode_entities("&amp;quot;") == "&quot;"  # one pass, no double decoding
    assert decode_entities("R&D") == "R&D"


def test_utf8_transcription_and_writer_fallback(tmp_path):
    root = tmp_path / "iam"
    form = "e05/e05-100"
    (root / "lineStrokes" / form).mkdir(parents=True)
    (root / "ascii" / form).mkdir(parents=True)
    shutil.copy(FIXTURE / "lineStrokes/a01/a01-000/a01-000u-01.xml", root / "lineStrokes" / form / "e05-100u-01.xml")
    (root / "ascii" / form / "e05-100u.txt").write_text("CSR:\n\n\u201cNa\u00efve\u201d caf\u00e9\n\n", encoding="utf-8")
    dataset, report = read_iam(root, raw_config())
    assert dataset.texts == ['"Naive" cafe']
    assert dataset.writers == ["form:e05-100u"]
    assert report.forms_without_writer == ["e05-100u"]


def test_missing_root_raises(tmp_path):
    with pytest.raises(HandwritingError, match="not found"):
        read_iam(tmp_path / "nowhere", IamConfig())


def test_root_without_line_strokes_raises(tmp_path):
    with pytest.raises(HandwritingError, match="lineStrokes"):
        read_iam(tmp_path, IamConfig())


def test_nothing_importable_raises():
    with pytest.raises(HandwritingError, match="no line could be imported"):
        read_iam(FIXTURE, IamConfig())  # default min_points is far above the fixture's lines


@pytest.mark.parametrize(
    "bad", [dict(min_points=0), dict(min_points=5, max_points=4), dict(max_chars=0),
            dict(max_step=-1.0), dict(smooth_window=0)]
)
def test_invalid_config_raises(bad):
    with pytest.raises(HandwritingError):
        IamConfig(**bad)


# ---------------------------------------------------------------- the command line


def test_cli_prepare_and_info(tmp_path):
    out = tmp_path / "iam.npz"
    prepared = run_cli(
        "prepare", "iam", str(FIXTURE), "-o", str(out), "--min-points", "2", "--smooth-window", "1",
        cwd=tmp_path,
    )
    assert prepared.returncode == 0, prepared.stderr
    assert out.is_file()
    assert "lines imported: 6" in prepared.stdout
    assert load_dataset(out).writers == EXPECTED_WRITERS

    info = run_cli("info", str(out), "--texts", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert info.stdout.splitlines() == EXPECTED_TEXTS


def test_cli_missing_root_fails_cleanly(tmp_path):
    out = tmp_path / "iam.npz"
    result = run_cli("prepare", "iam", str(tmp_path / "nowhere"), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not found" in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
