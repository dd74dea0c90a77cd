"""``prepare legible``: the OCR's readings of a corpus, resumable, and the lines kept from them."""

from __future__ import annotations

import numpy as np
import pytest
from cli_helper import run_cli
from conftest import make_tiny_dataset

from handwriting.datasets import load_dataset, save_dataset
from handwriting.datasets.format import split_by_writer
from handwriting.datasets.mix import MixPart, mix_datasets
from handwriting.errors import HandwritingError
from handwriting.tools import legible
from handwriting.tools.legible import LegibleConfig, LineReadings, legible_subset, read_dataset_lines, select_legible


class ScriptedReader:
    """Reads line ``k`` (in the order asked) as ``answers[k]``; stops with KeyboardInterrupt after ``stop_after``."""

    def __init__(self, answers: list[str], stop_after: int | None = None) -> None:
        self.answers, self.stop_after, self.calls = answers, stop_after, 0

    def read(self, image: np.ndarray) -> str:
        assert image.ndim == 2 and image.dtype == np.uint8
        if self.stop_after is not None and self.calls == self.stop_after:
            raise KeyboardInterrupt
        self.calls += 1
        return self.answers.pop(0)


def a_mix(seed: int = 0):
    """People (8 writers) and fonts (3 writers) as ``prepare mix`` names them."""
    people = make_tiny_dataset(n=48, seed=seed, writers=8)
    fonts = make_tiny_dataset(n=12, seed=seed + 1, writers=3)
    return mix_datasets([MixPart("unipen", people), MixPart("fonts", fonts)])


def test_select_keeps_held_out_and_exempt_lines_and_drops_what_the_ocr_cannot_read():
    mix = a_mix()
    ids = np.asarray(mix.writer_ids)
    train, held = split_by_writer(mix, 0.25, 0)
    is_font = np.array([mix.writers[w].startswith("fonts:") for w in ids])
    rng = np.random.default_rng(0)
    cer = rng.uniform(0, 0.3, len(mix))
    cer[held] = 0.9  # the held-out writers are kept however they read
    cer[is_font] = 0.9  # so are the fonts
    one_writer = ids[train[~is_font[train]][0]]
    cer[ids == one_writer] = [0.5, 0.4, 0.6, 0.7, 0.45, 0.55][: int((ids == one_writer).sum())]
    cer[train[~is_font[train]][1:3]] = np.nan  # nothing to score: kept
    selection = select_legible(mix, cer, LegibleConfig(max_cer=0.1), 0.25, 0)

    assert selection.keep[held].all() and selection.keep[is_font].all()
    judged = np.setdiff1d(train, np.flatnonzero(is_font))
    expected = ~(np.nan_to_num(cer[judged], nan=0.0) > 0.1)
    rows = np.flatnonzero(ids == one_writer)
    expected[np.isin(judged, rows[np.argmin(cer[rows])])] = True  # its best-read line, alone
    assert np.array_equal(selection.keep[judged], expected)
    assert selection.counts["rescued"] == 1
    assert selection.counts["held_out"] == len(held) and selection.counts["exempt"] == int(is_font.sum())


@pytest.mark.parametrize("seed", range(6))
def test_the_subset_holds_out_the_same_writers(seed):
    mix = a_mix(seed)
    rng = np.random.default_rng(seed)
    fraction = float(rng.uniform(0.05, 0.5))
    readings = LineReadings.empty(mix)
    readings.cer, readings.done[:] = rng.uniform(0, 0.4, len(mix)), True
    subset, selection = legible_subset(mix, readings, LegibleConfig(max_cer=float(rng.uniform(0, 0.3))), fraction,
                                       seed)
    kept = np.flatnonzero(selection.keep)
    _, held = split_by_writer(mix, fraction, seed)
    _, held_after = split_by_writer(subset, selection.validation_fraction, seed)
    assert np.array_equal(kept[held_after], held)
    assert set(np.unique(subset.writer_ids)) == set(np.unique(mix.writer_ids))
    assert subset.metadata["legible_subset"]["validation_fraction"] == selection.validation_fraction


def test_no_part_is_exempt_when_asked():
    mix = a_mix()
    readings = LineReadings.empty(mix)
    readings.cer, readings.done[:] = np.ones(len(mix)), True
    fonts = np.array([mix.writers[w].startswith("fonts:") for w in mix.writer_ids])
    _, held = split_by_writer(mix, 0.2, 0)
    fonts_trained = fonts.copy()
    fonts_trained[held] = False
    both = legible_subset(mix, readings, LegibleConfig(), 0.2)[1].keep
    neither = legible_subset(mix, readings, LegibleConfig(exempt_parts=()), 0.2)[1].keep
    assert both[fonts_trained].all()
    font_writers_trained = len(np.unique(mix.writer_ids[fonts_trained]))
    assert neither[fonts_trained].sum() == font_writers_trained  # one line each: the writers stay


def test_joined_hands_only_when_asked():
    mix = a_mix()
    ids = np.asarray(mix.writer_ids)
    train, held = split_by_writer(mix, 0.25, 0)
    rng = np.random.default_rng(1)
    printer = ids[train[0]]  # a writer who never joins
    # 5 points a character; a line lifts the pen 1 to 2 x its characters times
    for offsets, text, writer in zip(mix.offsets, mix.texts, ids):
        chars = len(text.replace(" ", ""))
        lifts = 2 * chars if writer == printer else int(rng.integers(1, 2 * chars + 1))
        offsets[:, 2] = 0.0
        offsets[rng.choice(len(offsets) - 1, lifts - 1, replace=False), 2] = 1.0
        offsets[-1, 2] = 1.0
    lifts = np.array([sum(p > 0.5 for p in o[:, 2]) / len(t.replace(" ", "")) for o, t in zip(mix.offsets, mix.texts)])
    cer = rng.uniform(0, 0.05, len(mix))  # every line legible: the hand alone decides
    threshold = 0.8
    selection = select_legible(mix, cer, LegibleConfig(max_lifts_per_char=threshold, exempt_parts=()), 0.25, 0)

    assert selection.keep[held].all()
    for w in np.unique(ids[train]):
        rows = np.flatnonzero(ids == w)
        joined = rows[lifts[rows] <= threshold]
        if len(joined):
            assert np.array_equal(np.flatnonzero(selection.keep[rows]), np.flatnonzero(lifts[rows] <= threshold))
        else:  # no line of the hand asked for: the writer stays by its best-read line
            assert np.array_equal(rows[selection.keep[rows]], [rows[np.argmin(cer[rows])]])
    assert 0 < selection.keep[train].sum() < len(train) and selection.counts["rescued"] >= 1
    assert np.array_equal(legible.pen_lifts_per_char(mix), lifts)
    with pytest.raises(HandwritingError, match="max_lifts_per_char"):
        LegibleConfig(max_lifts_per_char=0)


def test_reading_resumes_from_its_cache(tmp_path):
    data = make_tiny_dataset(n=12, seed=3)
    answers = [t if i % 3 else "" for i, t in enumerate(data.texts)]  # nothing read: CER 1
    cache = tmp_path / "readings.npz"
    with pytest.raises(KeyboardInterrupt):
        read_dataset_lines(data, ScriptedReader(list(answers), stop_after=5), cache, save_every=2)
    saved = LineReadings.load(cache, data)
    assert saved.done.sum() == 5 and saved.readings[:5] == answers[:5]

    rest = ScriptedReader(answers[5:])
    seen = []
    readings = read_dataset_lines(data, rest, cache, progress=lambda done, total: seen.append((done, total)))
    assert rest.calls == 7 and seen[0] == (6, 12) and seen[-1] == (12, 12)
    assert readings.readings == answers
    np.testing.assert_allclose(readings.cer, [0.0 if i % 3 else 1.0 for i in range(12)])
    again = ScriptedReader([])
    assert read_dataset_lines(data, again, cache).readings == answers and again.calls == 0


def test_readings_of_other_lines_are_refused(tmp_path):
    data = make_tiny_dataset(n=6, seed=3)
    cache = tmp_path / "readings.npz"
    read_dataset_lines(data, ScriptedReader(list(data.texts)), cache)
    other = make_tiny_dataset(n=6, seed=4)
    with pytest.raises(HandwritingError, match="another dataset's lines"):
        read_dataset_lines(other, ScriptedReader([]), cache)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(HandwritingError, match="not a readings file"):
        LineReadings.load(tmp_path / "junk.npz", data)


def test_a_line_with_nothing_to_score_reads_as_nan():
    data = make_tiny_dataset(n=1)
    reading, cer = legible.read_line(ScriptedReader(["?"]), data.offsets[0], "!?")
    assert reading == "?" and np.isnan(cer)


def test_unread_lines_are_refused():
    mix = a_mix()
    with pytest.raises(HandwritingError, match="not read yet"):
        legible_subset(mix, LineReadings.empty(mix), LegibleConfig(), 0.2)


def test_cli_prepare_legible(tmp_path, monkeypatch):
    mix = a_mix()
    source = tmp_path / "mix.npz"
    save_dataset(mix, source)
    answers = [t if i % 2 else "zzzz" for i, t in enumerate(mix.texts)]
    monkeypatch.setattr("handwriting.tools.evaluate.OcrReader", lambda: ScriptedReader(list(answers)))
    out = tmp_path / "legible.npz"
    result = run_cli("prepare", "legible", source, "--validation-fraction", 0.2, "--max-cer", 0.1, "-o", out)
    assert result.returncode == 0, result.stderr
    written = load_dataset(out)
    fraction = written.metadata["legible_subset"]["validation_fraction"]
    assert f"--validation-fraction {fraction!r}" in result.stdout
    assert (tmp_path / "mix.readings.npz").is_file() and len(written) < len(mix)
    _, held = split_by_writer(mix, 0.2, 0)
    _, held_after = split_by_writer(written, fraction, 0)
    assert [written.texts[i] for i in held_after] == [mix.texts[i] for i in held]

    # a second threshold reuses the readings: no line is read again
    monkeypatch.setattr("handwriting.tools.evaluate.OcrReader", lambda: ScriptedReader([]))
    looser = run_cli("prepare", "legible", source, "--validation-fraction", 0.2, "--max-cer", 10,
                     "-o", tmp_path / "all.npz")
    assert looser.returncode == 0, looser.stderr
    assert len(load_dataset(tmp_path / "all.npz")) == len(mix)


def test_cli_prepare_legible_bad_input(tmp_path):
    save_dataset(a_mix(), tmp_path / "mix.npz")
    result = run_cli("prepare", "legible", tmp_path / "mix.npz", "--validation-fraction", 1.5, "-o", tmp_path / "o.npz")
    assert result.returncode == 2 and "--validation-fraction" in result.stderr and "Traceback" not in result.stderr
    negative = run_cli("prepare", "legible", tmp_path / "mix.npz", "--validation-fraction", 0.2, "--max-cer", -1,
                       "-o", tmp_path / "o.npz")
    assert negative.returncode == 2 and "max_cer" in negative.stderr
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.slow
def test_the_ocr_reads_a_font_line_and_not_a_wrong_text():
    from handwriting.datasets.fonts import plain_hand, write_line
    from handwriting.tools.evaluate import OcrReader

    text = "Legible lines teach legibility."
    offsets = write_line(text, plain_hand("futural"), np.random.default_rng(0))
    reader = OcrReader()
    assert legible.read_line(reader, offsets, text)[1] < 0.1
    assert legible.read_line(reader, offsets, "Something else entirely")[1] > 0.5
