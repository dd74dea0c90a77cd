"""`handwriting dataset` without a cluster: corpus checks, each line's variety, the rasteriser, the
shards and manifest, resuming, and the one-line errors (exit status 2)."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from handwriting.errors import HandwritingError
from handwriting.synthetic.config import PAPER_PLAIN, PAPER_RULED, DatasetConfig
from handwriting.synthetic.corpus import read_corpus
from handwriting.synthetic.raster import MARGIN_FRACTION, image_strokes, render_line
from handwriting.synthetic.variety import LineSpec, StyleChoice, draw_line
from cli_helper import run_cli

pq = pytest.importorskip("pyarrow.parquet")

TEXTS = ["Hello there.", "A quick fox", "Seven 7 days"]


@pytest.fixture
def corpus_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(TEXTS) + "\n")
    return path


# ---------------------------------------------------------------- corpus


def test_corpus_names_the_bad_line_by_its_number_in_the_file(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("fine line\n\nanother\ncosts 5 \u20ac today\n")  # the blank line counts
    with pytest.raises(HandwritingError, match=r"c.txt: line 4: .*'\u20ac' \(U\+20AC\)"):
        read_corpus(path, max_chars=100)
    corpus = read_corpus(path, max_chars=100, skip_bad_lines=True)
    assert corpus.texts == ["fine line", "another"] and [n for n, _ in corpus.skipped] == [4]


def test_corpus_normalises_and_limits_length(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("\u201cquoted\u201d\n" + "x" * 12 + "\n")
    assert read_corpus(path, max_chars=20).texts == ['"quoted"', "x" * 12]
    with pytest.raises(HandwritingError, match="line 2: 12 characters, more than --max-chars 10"):
        read_corpus(path, max_chars=10)


# ---------------------------------------------------------------- variety


STYLES = [StyleChoice("a", 10.0), StyleChoice("b", -5.0), StyleChoice("none", None)]


def test_a_lines_variety_depends_only_on_the_seed_and_its_id():
    config = DatasetConfig(lines=50, seed=3)
    specs = [draw_line(config, i, TEXTS, STYLES) for i in range(50)]
    assert draw_line(config, 17, TEXTS, STYLES) == specs[17]  # alone, as in a batch
    assert draw_line(replace(config, lines=9000, shard_lines=7), 17, TEXTS, STYLES) == specs[17]
    assert draw_line(replace(config, seed=4), 17, TEXTS, STYLES) != specs[17]
    assert [s.text for s in specs] == [TEXTS[i % 3] for i in range(50)]  # in order
    assert len({s.seed for s in specs}) == 50
    assert {s.style for s in specs} == {"a", "b", "none"}
    assert all(config.bias_min <= s.bias <= config.bias_max for s in specs)
    assert all(config.ink_width_min <= s.ink_width <= config.ink_width_max for s in specs)
    slants = np.array([s.slant for s in specs if s.style == "a"])
    assert abs(slants.mean() - 10.0) < 3 * config.slant_jitter / np.sqrt(len(slants)) + 0.5


def test_random_order_samples_the_corpus():
    config = DatasetConfig(lines=60, order="random")
    texts = [draw_line(config, i, TEXTS, STYLES).text for i in range(60)]
    assert set(texts) == set(TEXTS) and texts != [TEXTS[i % 3] for i in range(60)]


def test_config_errors_name_the_flag():
    with pytest.raises(HandwritingError, match="--lines"):
        DatasetConfig(lines=0).check()
    with pytest.raises(HandwritingError, match="--bias-min"):
        DatasetConfig(lines=1, bias_min=3, bias_max=1).check()
    with pytest.raises(HandwritingError, match="unknown ink colour 'blurple'"):
        DatasetConfig(lines=1, inks=("blurple",)).check()


# ---------------------------------------------------------------- raster


def _spec(**changes) -> LineSpec:
    base = LineSpec(index=0, text="x", style="a", bias=2.0, slant=0.0, seed=1, ink="#000000", ink_width=2.0,
                    paper=PAPER_PLAIN, paper_level=240, blur=0.0, noise=0.0, render_seed=5)
    return replace(base, **changes)


#: An "L": a vertical stroke 40 px tall, then a horizontal one 30 px wide (page px, y up).
L_SHAPE = np.array([[0, 40, 0], [0, 0, 1], [5, 0, 0], [35, 0, 1]], np.float32)


def test_strokes_map_into_the_image_and_ink_lies_on_them():
    height = 64
    line = render_line(L_SHAPE, _spec(), height)
    image = np.asarray(Image.open(io.BytesIO(line.png)))
    assert image.shape == (height, line.width) and image.dtype == np.uint8
    xy = line.strokes[:, :2]
    margin = MARGIN_FRACTION * height
    assert np.isclose(xy[:, 1].min(), margin) and np.isclose(xy[:, 1].max(), height - margin)  # fills the height
    assert np.isclose(xy[:, 0].min(), margin) and np.isclose(xy[:, 0].max(), line.width - margin, atol=1)
    assert xy[0, 1] < xy[1, 1]  # y points down: the stroke's top comes first
    np.testing.assert_array_equal(line.strokes[:, 2], L_SHAPE[:, 2])
    for x, y in xy:
        assert image[int(round(y)), int(round(min(x, line.width - 1)))] < 60  # ink (black on 240)
    assert image[0, 0] == 240 and image[height // 2, line.width - 2] == 240  # paper, no noise


def test_a_flat_line_is_not_blown_up():
    flat = np.array([[0, 0, 0], [80, 4, 1]], np.float32)
    strokes, _ = image_strokes(flat, 64)
    assert np.ptp(strokes[:, 1]) < 64 * 0.3


def test_paper_ink_blur_and_noise():
    plain = np.asarray(Image.open(io.BytesIO(render_line(L_SHAPE, _spec(ink="#1f3a93"), 64).png)), np.float32)
    assert 40 < plain.min() < 80  # blue ink as its grey level
    ruled = np.asarray(Image.open(io.BytesIO(render_line(L_SHAPE, _spec(paper=PAPER_RULED), 64).png)), np.float32)
    assert ruled[:, -3].min() < 240 - 30  # a rule runs under the writing, right to the edge
    noisy = render_line(L_SHAPE, _spec(noise=5.0, blur=0.6), 64)
    again = render_line(L_SHAPE, _spec(noise=5.0, blur=0.6), 64)
    assert noisy.png == again.png  # seeded
    pixels = np.asarray(Image.open(io.BytesIO(noisy.png)), np.float32)
    assert 3 < pixels[:, -4:].std() < 8


# ---------------------------------------------------------------- datasets, in this process


def _make(corpus_file, out, *extra):
    return run_cli("dataset", "--texts", corpus_file, "--lines", 6, "--shard-lines", 4, "-o", out,
                   "--workers", 1, "--styles", "upright-print", "none", *extra)


def test_a_small_dataset_resumes_and_refuses_another(corpus_file, tmp_path):
    out = tmp_path / "ds"
    first = _make(corpus_file, out)
    assert first.returncode == 0, first.stderr
    shards = sorted((out / "data").glob("*.parquet"))
    assert [p.name for p in shards] == ["train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]
    table = pq.read_table(out / "data")
    assert sorted(table.column("id").to_pylist()) == list(range(6))
    assert set(table.column("style").to_pylist()) <= {"upright-print", "none"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and [s["lines"] for s in manifest["shards"]] == [4, 2]
    card = (out / "README.md").read_text()
    assert "license: cc-by-4.0" in card and "10.5281/zenodo.1195803" in card

    before = shards[1].read_bytes()
    shards[1].unlink()
    (out / "data" / ".train-00001-of-00002.parquet.abc.tmp").write_bytes(b"half")  # an interrupted write
    again = _make(corpus_file, out)
    assert again.returncode == 0 and "2 lines in 1 shard(s), 1 already there" in again.stdout
    assert shards[1].read_bytes() == before  # the same lines, written again
    assert not list((out / "data").glob(".*.tmp"))
    records = (out / "manifest.json").read_bytes()
    done = _make(corpus_file, out)
    assert done.returncode == 0 and "nothing to write: 2 shard(s) already there" in done.stdout
    assert (out / "manifest.json").read_bytes() == records  # a run that wrote nothing leaves the records

    other = _make(corpus_file, out, "--seed", 9)
    assert other.returncode == 2 and other.stderr.count("\n") == 1
    assert "holds another dataset's shards (made with a different --seed)" in other.stderr


def test_a_folder_with_foreign_files_is_refused(corpus_file, tmp_path):
    out = tmp_path / "ds"
    (out / "data").mkdir(parents=True)
    (out / "data" / "train-00000-of-00001.parquet").write_bytes(b"PAR1")
    result = _make(corpus_file, out)
    assert result.returncode == 2 and "holds Parquet shards of another dataset" in result.stderr


def test_progress_bar_on_a_terminal(corpus_file, tmp_path, monkeypatch):
    from handwriting.synthetic import runner
    from handwriting.synthetic.prepare import prepare_job

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    prepared = prepare_job(DatasetConfig(lines=3, shard_lines=2, styles=("none",)), corpus_file)
    runner.make_dataset(prepared, tmp_path / "ds", workers=1)
    assert "3/3" in terminal.getvalue() and "lines/s" in terminal.getvalue()


@pytest.mark.parametrize("args, message", [
    (["--lines", 5], "line 2: characters outside the alphabet: '\u20ac'"),
    (["--lines", 0, "--skip-bad-lines"], "--lines must be at least 1"),
    (["--lines", 5, "--skip-bad-lines", "--ray", "127.0.0.1:1"], "cannot reach the Ray cluster at 127.0.0.1:1"),
    (["--lines", 5, "--skip-bad-lines", "--styles", "nonesuch"], "unknown style 'nonesuch'"),
])
def test_bad_input_is_one_line_and_exit_status_2(tmp_path, args, message):
    corpus = tmp_path / "c.txt"
    corpus.write_text("good\n5 \u20ac\n")
    result = run_cli("dataset", "--texts", corpus, "-o", tmp_path / "ds", *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("handwriting: error: ") and message in lines[-1]
    assert len(lines) == 1 or (len(lines) == 2 and lines[0].startswith("skipped 1 corpus line"))
    assert not (tmp_path / "ds").exists()


def test_skipped_corpus_lines_are_counted_and_recorded(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("good one\n5 \u20ac\nanother good\n")
    out = tmp_path / "ds"
    result = run_cli("dataset", "--texts", corpus, "--lines", 4, "-o", out, "--workers", 1, "--styles", "none",
                     "--skip-bad-lines")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "skipped 1 corpus line(s) that cannot be written: line 2"
    recorded = json.loads((out / "manifest.json").read_text())["corpus"]
    assert (recorded["lines"], recorded["skipped"], recorded["skipped_lines"]) == (2, 1, [2])
    assert pq.read_table(out / "data").column("text").to_pylist() == ["good one", "another good"] * 2
