"""The font corpus: glyph loading, texts, the simulated hand and the corpus builder."""

from __future__ import annotations

import collections
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from handwriting import strokes
from handwriting.alphabet import CHARACTERS, unknown_characters
from handwriting.datasets import fonts, glyphs, load_dataset, save_dataset, texts
from handwriting.datasets.fonts import FontCorpusConfig, build_corpus
from handwriting.errors import HandwritingError

#: The acceptance asks for every character at least this often in a 20,000-line corpus.
REQUIRED_PER_20K_LINES = 50
#: The small-corpus check asks for this many times the proportional count.
COVERAGE_MARGIN = 2.0
COVERAGE_LINES = 2000


def small_config(**overrides) -> FontCorpusConfig:
    """Two lines per writer, so 18 lines use every font once."""
    values = dict(lines=18, seed=3, lines_per_writer=2, max_words=4, workers=1)
    values.update(overrides)
    return FontCorpusConfig(**values)


@pytest.fixture(scope="module")
def corpus():
    return build_corpus(small_config())


def neutral_hand(font: str) -> fonts.Hand:
    """A hand with no randomness in its geometry: upright, no jitter, drift, warp or tremor."""
    hand = fonts.sample_hand(np.random.default_rng(0), font, density=4.5)
    return replace(hand, size=20.0, slant=0.0, width=1.0, letter_spacing=0.05, word_gap=1.0,
                   join_tolerance=0.4, letter_jitter=0.0, baseline_jitter=0.0, baseline_drift=0.0,
                   tilt=0.0, elastic_amplitude=0.0, tremor=0.0)


def pen_strokes(offsets: np.ndarray) -> list[np.ndarray]:
    return strokes.split_strokes(strokes.offsets_to_coords(offsets))


# ---------------------------------------------------------------- glyphs


@pytest.mark.parametrize("name", glyphs.ALL_FONTS)
def test_every_font_covers_the_alphabet(name):
    font = glyphs.load_font(name)
    assert font.missing() == ""
    assert font.x_height > 0
    for ch in CHARACTERS.replace(" ", ""):
        glyph = font.glyphs[ch]
        assert glyph.advance > 0
        for s in glyph.strokes:
            assert s.ndim == 2 and s.shape[1] == 2 and len(s) >= 2 and np.isfinite(s).all()
    # Baseline y = 0: letters without descenders sit on it (the median within a tenth of the x-height).
    bottoms = [min(float(s[:, 1].min()) for s in font.glyphs[ch].strokes) for ch in "uvwmnoace"]
    assert abs(np.median(bottoms)) < 0.1 * font.x_height


def test_svg_path_parsing():
    lines = glyphs.parse_svg_path("M 0 0 L 10 0 M 5 5 L 5 15 L 0 15")
    assert [len(s) for s in lines] == [2, 3]
    curve = glyphs.parse_svg_path("M0 0C0 10 10 10 10 0")
    assert len(curve) == 1 and len(curve[0]) == glyphs.BEZIER_SEGMENTS + 1
    np.testing.assert_allclose(curve[0][-1], [10, 0])
    # A cubic at t = 1/2 is (p0 + 3 p1 + 3 p2 + p3) / 8.
    np.testing.assert_allclose(curve[0][glyphs.BEZIER_SEGMENTS // 2], [5, 7.5])
    (closed,) = glyphs.parse_svg_path("M0 0 L1 0 L1 1 Z")
    np.testing.assert_allclose(closed[-1], closed[0])
    assert glyphs.parse_svg_path("  ") == [] and glyphs.parse_svg_path("M 3 3 Z") == []
    with pytest.raises(HandwritingError, match="lacks numbers"):
        glyphs.parse_svg_path("M 0 0 C 1 1")


def test_missing_fonts_directory_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(HandwritingError, match=glyphs.FONTS_DIR_ENV):
        glyphs.load_ems_font("EMSTech", tmp_path)
    monkeypatch.setenv(glyphs.FONTS_DIR_ENV, str(tmp_path))
    assert glyphs.default_fonts_dir() == tmp_path
    with pytest.raises(HandwritingError, match="not found"):
        glyphs.load_font("EMSTech")


def test_stray_strokes_are_dropped():
    # EMSElfin's ';' holds a dot 4 em to the right of the glyph.
    glyph = glyphs.load_font("EMSElfin").glyphs[";"]
    assert max(float(s[:, 0].max()) for s in glyph.strokes) < glyph.advance + 1.0


def test_fallback_font_writes_characters_a_font_lacks(monkeypatch):
    real = fonts.prepared_font

    def lacking_q(name, fonts_dir=""):
        table = dict(real(name, fonts_dir))
        if name == "EMSTech":
            del table["Q"]
        return table

    monkeypatch.setattr(fonts, "prepared_font", lacking_q)
    assert fonts.glyph_for("Q", "EMSTech") == real(fonts.FALLBACK_FONT, "")["Q"]
    assert fonts.glyph_for("a", "EMSTech") == real("EMSTech", "")["a"]


def test_scripts_writes_single_line_digits():
    assert fonts.glyph_for("8", "scripts") is fonts.prepared_font("cursive", "")["8"]


# ---------------------------------------------------------------- delayed strokes and joins


def test_split_delayed_finds_dots_bars_and_crosses():
    def split(font, ch):
        f = glyphs.load_font(font)
        return fonts.split_delayed(ch, [s / f.x_height for s in f.glyphs[ch].strokes])

    assert split("futural", "i") == ([1], [0])  # Hershey draws the dot first
    assert split("futural", "t") == ([0], [1])
    assert split("cursive", "x") == ([0], [1])
    assert split("cursive", "t") == ([0, 1], [2])  # the lead-in stays, the bar waits
    assert split("futural", "a") == ([0, 1], [])
    assert split("futural", "E")[1] == []


@pytest.mark.parametrize("font", ["futural", "EMSReadability"])
def test_dot_is_written_after_the_word(font):
    line = fonts.write_line("in", neutral_hand(font), np.random.default_rng(0), delayed_strokes="word")
    pieces = pen_strokes(line)
    dot, body = pieces[-1], np.concatenate(pieces[:-1])
    assert np.ptp(dot, axis=0).max() < 0.3 * 20.0
    assert dot[:, 1].min() > body[:, 1].max()


def test_bar_and_dot_of_it_come_after_the_body():
    line = fonts.write_line("it", neutral_hand("futural"), np.random.default_rng(0), delayed_strokes="word")
    pieces = pen_strokes(line)
    assert len(pieces) == 4  # i stem, t stem, then i dot and t bar
    dot, bar = pieces[2], pieces[3]
    assert dot[:, 1].min() > max(pieces[0][:, 1].max(), 0.0)
    assert np.ptp(bar[:, 1]) < 0.25 * np.ptp(bar[:, 0])


def test_cursive_letters_join_into_one_stroke():
    line = fonts.write_line("minimum", neutral_hand("cursive"), np.random.default_rng(0), delayed_strokes="word")
    assert len(pen_strokes(line)) == 3  # one pen-down stroke for the letters, then two i dots


def test_letter_order_writes_each_delayed_stroke_after_its_own_letter():
    pieces = pen_strokes(fonts.write_line("it", neutral_hand("futural"), np.random.default_rng(0),
                                          delayed_strokes="letter"))
    assert len(pieces) == 4  # i stem, i dot, t stem, t bar
    stem_i, dot, stem_t, bar = pieces
    assert dot[:, 1].min() > stem_i[:, 1].max() * 0.9 and np.ptp(dot, axis=0).max() < 0.3 * 20.0
    assert dot[:, 0].mean() < stem_t[:, 0].min()  # dotted before the t is begun
    assert np.ptp(bar[:, 1]) < 0.25 * np.ptp(bar[:, 0])
    # a joined hand lifts the pen at each dot and goes on from the letter
    pieces = pen_strokes(fonts.write_line("minimum", neutral_hand("cursive"), np.random.default_rng(0),
                                          delayed_strokes="letter"))
    assert len(pieces) == 5  # "mi", dot, "ni", dot, "mum"
    assert [np.ptp(p, axis=0).max() < 0.3 * 20.0 for p in pieces] == [False, True, False, True, False]


def test_delayed_stroke_order_changes_only_the_order(corpus):
    letter = build_corpus(small_config(delayed_strokes="letter"))
    word = build_corpus(small_config(delayed_strokes="word"))
    assert letter.texts == word.texts == corpus.texts
    same = [np.array_equal(a, b) for a, b in zip(letter.offsets, word.offsets)]
    assert not all(same)
    assert all(same[i] for i, t in enumerate(word.texts) if not set(t) & set("ijtfx"))
    assert letter.metadata["config"]["delayed_strokes"] == "letter"
    # the jumps back over a whole word are gone, so the steps' spread (the scale) shrinks
    assert letter.scale < word.scale


# ---------------------------------------------------------------- texts


def test_text_coverage_is_proportionally_sufficient():
    lines = texts.sample_lines(COVERAGE_LINES, np.random.default_rng(11))
    counts = collections.Counter("".join(lines))
    needed = REQUIRED_PER_20K_LINES * COVERAGE_LINES / 20000 * COVERAGE_MARGIN
    scarce = {ch: counts[ch] for ch in CHARACTERS if counts[ch] < needed}
    assert not scarce, f"characters below {needed:.0f} in {COVERAGE_LINES} lines: {scarce}"


def test_texts_use_the_alphabet_and_word_limits():
    lines = texts.sample_lines(300, np.random.default_rng(2), min_words=2, max_words=5)
    for line in lines:
        assert not unknown_characters(line)
        assert line == line.strip() and "  " not in line
        words = [w for w in line.split() if any(c.isalnum() for c in w)]
        assert 1 <= len(words) <= 5
    assert texts.sample_lines(50, np.random.default_rng(2)) == texts.sample_lines(50, np.random.default_rng(2))


# ---------------------------------------------------------------- the corpus


def test_same_seed_same_corpus(corpus):
    again = build_corpus(small_config())
    assert again.texts == corpus.texts
    assert all(np.array_equal(a, b) for a, b in zip(again.offsets, corpus.offsets))
    assert again.scale == corpus.scale


def test_other_seed_other_corpus(corpus):
    other = build_corpus(small_config(seed=4))
    assert other.texts != corpus.texts
    assert not np.array_equal(other.offsets[0], corpus.offsets[0])


def test_a_repeated_font_gets_more_writers():
    weighted = build_corpus(small_config(lines=24, fonts=("futural", "cursive", "futural")))
    fonts_of_writers = [name.split("#")[0] for name in weighted.writers]
    assert fonts_of_writers.count("futural") == 2 * fonts_of_writers.count("cursive") == 8
    lines_per_font = {font: sum(weighted.writers[w].startswith(font) for w in weighted.writer_ids)
                      for font in ("futural", "cursive")}
    assert lines_per_font == {"futural": 16, "cursive": 8}


def test_workers_do_not_change_the_corpus(corpus, monkeypatch):
    monkeypatch.setattr(fonts, "MIN_LINES_FOR_WORKERS", 1)
    monkeypatch.setattr(fonts, "CHUNK_LINES", 5)
    parallel = build_corpus(small_config(workers=2))
    assert parallel.texts == corpus.texts
    assert all(np.array_equal(a, b) for a, b in zip(parallel.offsets, corpus.offsets))


def test_corpus_round_trips_and_validates(corpus, tmp_path):
    path = tmp_path / "fonts.npz"
    save_dataset(corpus, path)
    loaded = load_dataset(path)
    assert loaded.texts == corpus.texts
    assert all(not unknown_characters(t) for t in loaded.texts)
    for o in loaded.offsets:
        assert o.dtype == np.float32 and o.shape[1] == 3
        assert np.all(o[0, :2] == 0) and o[-1, 2] == 1
        assert set(np.unique(o[:, 2])) <= {0.0, 1.0}
    assert loaded.scale == pytest.approx(strokes.estimate_scale(corpus.offsets))
    assert loaded.metadata["source"] == "fonts"
    assert loaded.metadata["config"]["seed"] == 3
    assert loaded.metadata["text_source"].startswith("wordfreq ")
    assert sorted({w.split("#")[0] for w in loaded.writers}) == sorted(glyphs.ALL_FONTS)
    assert np.bincount(loaded.writer_ids).tolist() == [2] * 9


def test_points_per_character(corpus):
    points = sum(len(o) for o in corpus.offsets)
    characters = sum(len(t) for t in corpus.texts)
    assert 15 <= points / characters <= 40


def test_bad_config_is_a_clear_error():
    with pytest.raises(HandwritingError, match="unknown fonts"):
        build_corpus(small_config(fonts=("comic",)))
    with pytest.raises(HandwritingError, match="min_words"):
        build_corpus(small_config(min_words=5, max_words=2))
    with pytest.raises(HandwritingError, match="delayed_strokes must be one of word, letter"):
        build_corpus(small_config(delayed_strokes="line"))


def test_cli_prepare_fonts(tmp_path):
    out = tmp_path / "f.npz"
    result = subprocess.run(
        [sys.executable, "-m", "handwriting", "prepare", "fonts", "--lines", "20", "--seed", "1", "-o", str(out)],
        capture_output=True, text=True, cwd=Path(__file__).parent, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    dataset = load_dataset(out)
    assert len(dataset) == 20
    assert dataset.metadata["config"]["lines"] == 20


def test_a_corpus_of_given_texts_is_written_by_the_same_writers(corpus, tmp_path):
    given = tmp_path / "texts.txt"
    given.write_text("I think so.\n\nIf I see him, I'll say it.\nI owe you one\n", encoding="utf-8")
    mine = build_corpus(small_config(texts=str(given)))
    assert mine.texts == ["I think so.", "If I see him, I'll say it.", "I owe you one"]
    assert len(mine.offsets) == 3 and mine.writers == corpus.writers[:2]  # lines 0-2, two per writer
    assert mine.metadata["text_source"] == str(given) and mine.metadata["config"]["lines"] == 3
    assert len(build_corpus(small_config(texts=str(given), lines=2))) == 2  # the first --lines of them
    given.write_text("fine\nnot € fine\n", encoding="utf-8")
    with pytest.raises(HandwritingError, match="line 2 has characters outside the alphabet"):
        build_corpus(small_config(texts=str(given)))
