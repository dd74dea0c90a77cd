"""Releasing a run as a shippable checkpoint: weights, config with a default style, styles per font."""

import subprocess
import sys

import numpy as np
import pytest

from handwriting.checkpoint import read_config
from handwriting.errors import HandwritingError
from handwriting.writing.hand import Style


@pytest.fixture(scope="module")
def font_corpus(tmp_path_factory):
    from handwriting.datasets import save_dataset
    from handwriting.datasets.fonts import FontCorpusConfig, build_corpus

    path = tmp_path_factory.mktemp("fonts") / "f.npz"
    save_dataset(build_corpus(FontCorpusConfig(lines=180, seed=5, lines_per_writer=5, min_words=3, max_words=6,
                                               workers=1)), path)
    return path


def test_release_copies_weights_and_makes_a_style_per_font(tiny_checkpoint, font_corpus, tmp_path):
    import handwriting
    from handwriting.datasets import load_dataset, split_by_writer
    from handwriting.tools.release import FONT_STYLE_NAMES, release

    out = release(tiny_checkpoint, tmp_path / "default", data=font_corpus, default_style="cursive", note="test")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.weights.h5", "styles", "weights.npz"]
    config = read_config(out)
    assert config.default_style == "cursive" and config.release["note"] == "test"
    # the corpus' x-height (20 source units) is recorded so that pages have a fixed x-height in px
    from handwriting.writing.hand import X_HEIGHT_PX

    assert config.x_height == pytest.approx(20.0 / config.scale)
    styles = sorted(p.stem for p in (out / "styles").glob("*.json"))
    assert styles == sorted(FONT_STYLE_NAMES.values())

    # every style is a line of its font (from validation writers where there are any),
    # divided by the checkpoint's scale
    dataset = load_dataset(font_corpus)
    _, val_idx = split_by_writer(dataset, config.train.validation_fraction, config.train.seed)
    val_fonts = {dataset.writers[dataset.writer_ids[i]].split("#")[0] for i in val_idx}
    hand = handwriting.load(out)
    assert hand.default_style == "cursive"
    assert hand.px_per_unit == pytest.approx(X_HEIGHT_PX / config.x_height)
    font_of = {v: k for k, v in FONT_STYLE_NAMES.items()}
    for style in hand.styles.values():
        matches = [i for i in range(len(dataset.texts)) if dataset.texts[i] == style.text
                   and dataset.writers[dataset.writer_ids[i]].startswith(font_of[style.name] + "#")]
        assert matches, style.name
        assert (matches[0] in set(val_idx)) == (font_of[style.name] in val_fonts)
        expected = dataset.offsets[matches[0]][:, :2] / config.scale
        np.testing.assert_allclose(style.offsets[:, :2], expected, atol=1e-3)

    # the default style is used when none is given, 'none' writes unprimed
    primed = hand.write_lines(["ab"], seed=1)[0][0]
    explicit = hand.write_lines(["ab"], style="cursive", seed=1)[0][0]
    unprimed = hand.write_lines(["ab"], style="none", seed=1)[0][0]
    np.testing.assert_array_equal(primed, explicit)
    assert primed.shape != unprimed.shape or not np.array_equal(primed, unprimed)


def test_a_release_can_write_long_lines_in_pieces(tiny_checkpoint, tmp_path):
    import handwriting
    from handwriting.tools.release import release
    from handwriting.output import layout

    out = release(tiny_checkpoint, tmp_path / "pieces", piece_chars=6)
    assert read_config(out).piece_chars == 6
    hand = handwriting.load(out)
    assert hand.piece_chars == 6
    pieces = layout.split_pieces("ab cd ab dc", 6)
    assert pieces == ["ab cd", "ab dc"]
    (joined,), (capped,) = hand.write_lines(["ab cd ab dc"], style=None, seed=4)
    apart, caps = hand.write_lines(pieces, style=None, seed=4)  # the same random streams, piece by piece
    np.testing.assert_allclose(joined, layout.join_pieces(apart, pieces), atol=1e-4)
    assert capped == any(caps)
    assert handwriting.load(tiny_checkpoint).piece_chars is None  # whole lines unless a release says so
    with pytest.raises(HandwritingError, match="piece length"):
        release(tiny_checkpoint, tmp_path / "bad", piece_chars=0)


def test_release_rejects_an_unknown_default_style(tiny_checkpoint, font_corpus, tmp_path):
    from handwriting.tools.release import release

    with pytest.raises(HandwritingError, match="default style 'nope'"):
        release(tiny_checkpoint, tmp_path / "x", data=font_corpus, default_style="nope")
    assert not (tmp_path / "x").exists()


def test_cli_release_replaces_the_output(tiny_checkpoint, tmp_path):
    out = tmp_path / "rel"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    result = subprocess.run([sys.executable, "-m", "handwriting", "release", str(tiny_checkpoint), "-o", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not (out / "stale.txt").exists() and (out / "model.weights.h5").is_file()
    assert read_config(out).default_style is None


def test_style_candidates_come_from_different_writers_and_start_with_the_plain_choice(tiny_checkpoint, font_corpus):
    from handwriting.checkpoint import read_config
    from handwriting.datasets import load_dataset
    from handwriting.tools.release import style_candidates

    dataset = load_dataset(font_corpus)
    config = read_config(tiny_checkpoint)
    train = config.train
    args = (dataset, config.scale, train.validation_fraction, train.seed)
    many = style_candidates(*args, per_font=3)
    plain = {name: styles[0] for name, styles in style_candidates(*args).items()}  # one per font
    assert set(many) == set(plain)
    for name, options in many.items():
        assert 1 <= len(options) <= 3 and options[0].text == plain[name].text
        writers = {dataset.writer_ids[dataset.texts.index(s.text)] for s in options}
        assert len(writers) == len(options), name


def test_release_keeps_the_best_scoring_candidate_and_records_the_scores(tiny_checkpoint, font_corpus, tmp_path):
    import handwriting
    from handwriting.tools.release import release

    # a stand-in for the OCR's CER: shorter prime texts score better
    out = release(tiny_checkpoint, tmp_path / "sel", data=font_corpus, default_style="auto",
                  style_candidates_per_font=3, finalists=0, score=lambda style, seed: len(style.text) / 100)
    config = read_config(out)
    selection = config.release["style_selection"]
    assert selection["candidates_per_font"] == 3 and selection["finalists"] == 0
    hand = handwriting.load(out)
    for name, record in selection["styles"].items():
        assert record["cer"] == min(record["candidate_cers"]) == len(hand.styles[name].text) / 100
    best = min(selection["styles"], key=lambda n: selection["styles"][n]["cer"])
    assert config.default_style == hand.default_style == best

    # a release of a release keeps the first one's record
    again = release(out, tmp_path / "again", data=font_corpus, default_style="cursive", note="second")
    record = read_config(again).release
    assert record["note"] == "second" and record["previous"]["style_selection"] == selection


def test_the_final_round_sees_through_a_lucky_first_pass():
    from handwriting.tools.release import FIRST_SELECTION_SEED, select_styles

    # "lucky" reads best with the first seed only; "steady" is best on average
    true_cer = {"lucky": 0.30, "steady": 0.10, "poor": 0.20}
    first_pass = {"lucky": 0.05, "steady": 0.12, "poor": 0.25}
    calls = []

    def score(style, seed):
        calls.append((style.text, seed))
        return first_pass[style.text] if seed == FIRST_SELECTION_SEED else true_cer[style.text]

    options = {"hand": [Style(name="hand", text=t, offsets=np.zeros((3, 3), np.float32)) for t in true_cer]}
    (one_pass,), record = select_styles(options, score)
    assert one_pass.text == "lucky" and record["hand"]["cer"] == 0.05 and "finalists" not in record["hand"]

    calls.clear()
    (chosen,), record = select_styles(options, score, finalists=2, seeds=3)
    assert chosen.text == "steady"
    assert record["hand"]["candidate_cers"] == [0.05, 0.12, 0.25]
    assert record["hand"]["finalists"] == [0, 1]  # the two best first passes, best first
    assert record["hand"]["finalist_cers"] == pytest.approx([(0.05 + 0.6) / 3, (0.12 + 0.2) / 3])
    assert record["hand"]["cer"] == pytest.approx((0.12 + 0.2) / 3)
    assert len(calls) == 3 + 2 * 2  # every candidate once, the two finalists twice more
    assert {seed for text, seed in calls if text == "poor"} == {FIRST_SELECTION_SEED}

    with pytest.raises(HandwritingError, match="finalists"):
        select_styles(options, score, finalists=-1)


@pytest.mark.parametrize("options, message", [
    (dict(style_candidates_per_font=0), "at least 1"),
    (dict(style_candidates_per_font=2, selection_seeds=0), "seeds at least 1"),
    (dict(style_candidates_per_font=2), "--selection-prompts"),
    (dict(default_style="auto"), "needs style selection"),
])
def test_release_rejects_a_selection_it_cannot_make(tiny_checkpoint, font_corpus, tmp_path, options, message):
    from handwriting.tools.release import release

    with pytest.raises(HandwritingError, match=message):
        release(tiny_checkpoint, tmp_path / "x", data=font_corpus, **options)
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_cli_release_chooses_styles_with_the_ocr(tiny_checkpoint, font_corpus, tmp_path):
    pytest.importorskip("rapidocr")
    prompts = tmp_path / "sel.txt"
    prompts.write_text("bad cab\n")
    out = tmp_path / "rel"
    result = subprocess.run([sys.executable, "-m", "handwriting", "release", str(tiny_checkpoint), "-o", str(out),
                             "--data", str(font_corpus), "--style-candidates", "2", "--selection-prompts",
                             str(prompts), "--default-style", "auto", "--selection-finalists", "1",
                             "--selection-seeds", "2"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("style ") == 9 and "wrote" in result.stdout
    selection = read_config(out).release["style_selection"]
    from handwriting.writing.hand import DEFAULT_BIAS

    assert selection["prompts"] == 1 and selection["bias"] == DEFAULT_BIAS
    assert selection["finalists"] == 1 and selection["seeds"] == 2 and "finalists over 2 seeds" in result.stdout
    for record in selection["styles"].values():
        assert 1 <= len(record["candidate_cers"]) <= 2 and record["cer"] >= 0
        (finalist,) = record["finalists"]  # the best first pass, scored again with a second seed
        assert record["candidate_cers"][finalist] == min(record["candidate_cers"])
        assert record["finalist_cers"] == [record["cer"]]


def test_human_styles_come_from_held_out_writers_one_per_writer(tiny_checkpoint, font_corpus, tmp_path):
    from handwriting.datasets import load_dataset, split_by_writer
    from handwriting.tools.human_styles import describe_hand, human_style_candidates
    from handwriting.tools.release import release
    from handwriting.strokes import offsets_to_coords

    dataset = load_dataset(font_corpus)
    train = read_config(tiny_checkpoint).train
    _, held_out = split_by_writer(dataset, train.validation_fraction, train.seed)
    groups = human_style_candidates(dataset, 2.0, train.validation_fraction, train.seed, per_writer=3)
    assert len(groups) >= 2
    writers = set()
    for key, styles in groups.items():
        assert key.startswith("writer-") and 1 <= len(styles) <= 3
        lines = [[i for i in held_out if dataset.texts[i] == style.text][0] for style in styles]
        (writer,) = {int(dataset.writer_ids[i]) for i in lines}  # one writer's lines
        writers.add(writer)
        for i, style in zip(lines, styles):
            assert describe_hand(offsets_to_coords(dataset.offsets[i]), style.text) == style.name
    assert len(writers) == len(groups)

    trained = human_style_candidates(dataset, 2.0, train.validation_fraction, train.seed, writers="training")
    trained_texts = {style.text for styles in trained.values() for style in styles}
    assert trained_texts and not trained_texts & {dataset.texts[i] for i in held_out}
    with pytest.raises(HandwritingError, match="style writers must be one of held-out, training"):
        human_style_candidates(dataset, 2.0, train.validation_fraction, train.seed, writers="everyone")

    # The score prefers short primes: the kept style is the writer with the shortest best line.
    score = lambda style, seed: len(style.text) / 100  # noqa: E731
    out = release(tiny_checkpoint, tmp_path / "human", data=font_corpus, default_style="auto", style_source="human",
                  style_candidates_per_font=3, finalists=0, score=score, style_count=1)
    config = read_config(out)
    assert config.release["style_source"] == "human"
    record = config.release["style_selection"]["styles"]
    best = sorted(min(score(s, 0) for s in styles) for styles in groups.values())[:1]
    assert sorted(r["cer"] for r in record.values()) == best
    assert sorted(p.stem for p in (out / "styles").glob("*.json")) == sorted(record)
    assert config.default_style == min(record, key=lambda name: record[name]["cer"])
    with pytest.raises(HandwritingError, match="style count"):
        release(tiny_checkpoint, tmp_path / "bad", data=font_corpus, style_count=2)
    with pytest.raises(HandwritingError, match="style source"):
        release(tiny_checkpoint, tmp_path / "bad", data=font_corpus, style_source="people")


def test_human_styles_may_come_from_the_writers_the_run_trained_on(tiny_checkpoint, font_corpus, tmp_path):
    from handwriting.datasets import load_dataset, split_by_writer
    from handwriting.tools.release import release
    from handwriting.writing.hand import load_styles

    dataset = load_dataset(font_corpus)
    train = read_config(tiny_checkpoint).train
    trained, _ = split_by_writer(dataset, train.validation_fraction, train.seed)
    score = lambda style, seed: len(style.text) / 100  # noqa: E731
    out = release(tiny_checkpoint, tmp_path / "trained", data=font_corpus, style_source="human",
                  style_writers="training", style_candidates_per_font=2, finalists=0, score=score, style_count=2)
    assert read_config(out).release["style_writers"] == "training"
    trained_texts = {dataset.texts[i] for i in trained}
    assert {style.text for style in load_styles(out).values()} <= trained_texts
    with pytest.raises(HandwritingError, match=r"style writers \(training\) are for human styles"):
        release(tiny_checkpoint, tmp_path / "bad", data=font_corpus, style_writers="training")
    cli = [sys.executable, "-m", "handwriting", "release", str(tiny_checkpoint), "-o", str(tmp_path / "cli"),
           "--data", str(font_corpus), "--style-writers", "training"]
    result = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "are for human styles" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "cli").exists()


def test_human_writers_are_ranked_with_one_line_each(tiny_checkpoint, font_corpus, tmp_path):
    # one candidate line a writer is still a choice among writers: the score ranks them
    from handwriting.tools.release import release
    from handwriting.writing.hand import load_styles

    seen = []

    def score(style, seed):
        seen.append(style.text)
        return len(style.text) / 100

    out = release(tiny_checkpoint, tmp_path / "one-each", data=font_corpus, default_style="auto", style_source="human",
                  style_candidates_per_font=1, finalists=0, score=score, style_count=2)
    record = read_config(out).release["style_selection"]
    assert record["candidates_per_font"] == 1 and len(record["styles"]) == 2
    assert sorted(len(style.text) / 100 for style in load_styles(out).values()) == sorted(
        r["cer"] for r in record["styles"].values())
    assert len(set(seen)) >= 2 and sorted(r["cer"] for r in record["styles"].values()) == sorted(
        len(t) / 100 for t in set(seen))[:2]
    assert read_config(out).default_style in record["styles"]
    plain = release(tiny_checkpoint, tmp_path / "plain", data=font_corpus, style_source="human")
    assert "style_selection" not in read_config(plain).release  # no prompts, no score: every writer, unranked


def test_a_release_may_keep_another_release_s_styles(tiny_checkpoint, font_corpus, tmp_path):
    # new weights, the same primes: the CLI's --styles-from; --data then gives only the provenance
    from handwriting.tools.release import release
    from handwriting.writing.hand import load_styles

    first = release(tiny_checkpoint, tmp_path / "first", data=font_corpus, default_style="cursive")
    cli = [sys.executable, "-m", "handwriting", "release", str(tiny_checkpoint), "-o", str(tmp_path / "second"),
           "--data", str(font_corpus), "--styles-from", str(first)]
    result = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    kept, again = load_styles(first), load_styles(tmp_path / "second")
    assert sorted(kept) == sorted(again) and read_config(tmp_path / "second").default_style == "cursive"
    for name, style in kept.items():
        assert again[name].text == style.text
        np.testing.assert_array_equal(again[name].offsets, style.offsets)
    assert read_config(tmp_path / "second").provenance == read_config(first).provenance
    assert read_config(tmp_path / "second").release["styles_from"] == {"checkpoint": str(first),
                                                                       "release": read_config(first).release}
    prompts = tmp_path / "sel.txt"
    prompts.write_text("bad cab\n")
    both = subprocess.run(cli + ["--style-candidates", "2", "--selection-prompts", str(prompts)],
                          capture_output=True, text=True, timeout=120)
    assert both.returncode == 2 and "not both" in both.stderr and "Traceback" not in both.stderr


def test_human_styles_chosen_by_the_selection_rule_record_their_look(tiny_checkpoint, font_corpus, tmp_path):
    from handwriting.tools.human_styles import describe_axes
    from handwriting.tools.release import StyleScore, release

    def score(style, seed):  # a stand-in: every style legible, its look read from the prime's length
        n = len(style.text)
        return StyleScore(0.01 * (n % 5), {"gap_per_char": 0.1 + 0.01 * n, "ink_width_per_char": 1.0, "slant": 0.1,
                                           "lifts_per_char": 0.5 if n % 2 else 1.2, "width_per_char": 1.2,
                                           "fine_turning": 2.0})

    out = release(tiny_checkpoint, tmp_path / "ruled", data=font_corpus, default_style="auto", style_source="human",
                  style_candidates_per_font=2, finalists=0, score=score, style_count=2)
    selection = read_config(out).release["style_selection"]
    people = selection["people_look"]
    pool = selection["pool"]  # every writer scored; the stand-in's CERs are all legible
    assert pool["writers"] >= 2 and pool["legible"] == pool["writers"]
    assert 0 <= pool["joined_legible"] <= pool["legible"]
    assert set(people) >= {"gap_per_char", "ink_width_per_char", "slant", "lifts_per_char"}
    for name, record in selection["styles"].items():
        assert name.startswith(describe_axes(record["look"])) and "likeness" in record and "joined" in record
    assert read_config(out).default_style in selection["styles"]


def test_a_release_carries_its_default_bias_to_write_the_cli_and_the_web(tiny_checkpoint, tmp_path):
    import handwriting
    from handwriting.tools.release import release
    from handwriting.writing.hand import DEFAULT_BIAS

    out = release(tiny_checkpoint, tmp_path / "biased", default_bias=0.75)
    assert read_config(out).default_bias == 0.75
    hand = handwriting.load(out)
    assert hand.default_bias == 0.75 and handwriting.load(tiny_checkpoint).default_bias == DEFAULT_BIAS
    implicit = hand.write("ab ba", style="none", seed=3)
    np.testing.assert_array_equal(implicit.lines[0], hand.write("ab ba", style="none", seed=3, bias=0.75).lines[0])
    assert not np.array_equal(implicit.lines[0], hand.write("ab ba", style="none", seed=3, bias=DEFAULT_BIAS).lines[0])
    # a release of the release keeps it unless told otherwise
    assert read_config(release(out, tmp_path / "again")).default_bias == 0.75
    assert read_config(release(out, tmp_path / "other", default_bias=1.5)).default_bias == 1.5
    with pytest.raises(HandwritingError, match="default bias"):
        release(out, tmp_path / "bad", default_bias=-1.0)
    # the CLI writes with it when --bias is not given
    svg = {}
    for name, extra in (("implicit", []), ("explicit", ["--bias", "0.75"])):
        result = subprocess.run([sys.executable, "-m", "handwriting", "write", "ab ba", "--style", "none", "--seed",
                                 "3", "--checkpoint", str(out), "-o", str(tmp_path / f"{name}.svg"), *extra],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        svg[name] = (tmp_path / f"{name}.svg").read_text()
    assert svg["implicit"] == svg["explicit"]
    # the web page starts its slider there
    from starlette.testclient import TestClient

    from handwriting.web.app import create_app

    with TestClient(create_app(hand)) as client:
        assert client.get("/api/info").json()["default_bias"] == 0.75
