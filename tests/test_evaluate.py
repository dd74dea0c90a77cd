"""Legibility evaluation: CER maths, the OCR image, the real OCR model on plain font lines, the CLI."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from handwriting.tools import evaluate
from handwriting.errors import HandwritingError


@pytest.mark.parametrize("a, b, distance", [
    ("", "", 0), ("abc", "", 3), ("", "ab", 2), ("kitten", "sitting", 3), ("flaw", "lawn", 2),
    ("abc", "abc", 0), ("ab", "ba", 2),
])
def test_levenshtein_known_values(a, b, distance):
    assert evaluate.levenshtein(a, b) == distance
    assert evaluate.levenshtein(b, a) == distance


def test_levenshtein_matches_a_brute_force_reference():
    def reference(a, b):  # the textbook full-matrix recursion
        d = np.zeros((len(a) + 1, len(b) + 1), int)
        d[:, 0], d[0, :] = range(len(a) + 1), range(len(b) + 1)
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (a[i - 1] != b[j - 1]))
        return d[-1, -1]

    rng = np.random.default_rng(0)
    for _ in range(50):
        a = "".join(rng.choice(list("abc "), rng.integers(0, 9)))
        b = "".join(rng.choice(list("abc "), rng.integers(0, 9)))
        assert evaluate.levenshtein(a, b) == reference(a, b)


def test_aligned_errors_mark_the_changed_characters():
    assert evaluate.aligned_errors("abc", "axc") == ([False, True, False], 0)
    assert evaluate.aligned_errors("abc", "ac") == ([False, True, False], 0)
    assert evaluate.aligned_errors("ac", "abc") == ([False, False], 1)
    assert evaluate.aligned_errors("six", "sn") == ([False, True, True], 0)
    assert evaluate.aligned_errors("", "ab") == ([], 2)
    rng = np.random.default_rng(1)
    for _ in range(50):  # the marks and insertions add up to the edit distance
        a = "".join(rng.choice(list("ab "), rng.integers(0, 9)))
        b = "".join(rng.choice(list("ab "), rng.integers(0, 9)))
        errors, insertions = evaluate.aligned_errors(a, b)
        assert len(errors) == len(a) and sum(errors) + insertions == evaluate.levenshtein(a, b)


def test_character_error_rates_count_each_prompt_character():
    line = lambda prompt, reading: evaluate.LineScore(prompt, reading, 0.0, False, 0, "s")  # noqa: E731
    report = evaluate.Report("s", [line("Six taxis", "sn taxis"), line("ax", "ax")])
    rates = report.character_error_rates()
    assert rates["x"] == pytest.approx(1 / 3) and rates["i"] == pytest.approx(1 / 2)
    assert rates["s"] == 0.0 and " " not in rates
    assert list(rates)[:2] == ["i", "x"]  # worst first
    assert "x" not in report.character_error_rates(min_count=4)
    assert evaluate.format_hardest_characters([report], top=2, min_count=1) == "s: i 0.50, x 0.33"


def test_cer_is_case_and_punctuation_blind():
    assert evaluate.normalise_for_cer("Hello,  World! 42.") == "hello world 42"
    assert evaluate.character_error_rate("Hello, world!", "hello world") == 0.0
    assert evaluate.character_error_rate("abcd", "abed") == 0.25
    assert evaluate.character_error_rate("ab", "") == 1.0
    with pytest.raises(HandwritingError, match="no letters"):
        evaluate.character_error_rate("?!", "x")


def test_line_image_is_cropped_to_the_ink_at_the_ocr_height():
    coords = np.array([[0, 0, 0], [100, 0, 0], [100, 20, 1], [50, 10, 1]], np.float32)
    image = evaluate.line_image(coords)
    assert image.shape[0] == evaluate.OCR_LINE_HEIGHT
    ink_rows = np.where((image < 128).any(axis=1))[0]
    ink_cols = np.where((image < 128).any(axis=0))[0]
    border = evaluate.OCR_BORDER_PX
    # the ink spans the inner height, and about five times as much across (100 x 20 units)
    assert ink_rows.min() <= border + 2 and ink_rows.max() >= evaluate.OCR_LINE_HEIGHT - border - 3
    inner = evaluate.OCR_LINE_HEIGHT - 2 * border
    assert abs((ink_cols.max() - ink_cols.min()) - 5 * inner) <= evaluate.OCR_STROKE_PX + 2
    # white margins before and after the line, as a text detector's crop leaves them
    side = evaluate.OCR_SIDE_PX
    assert side - 3 <= ink_cols.min() <= side and side - 3 <= image.shape[1] - 1 - ink_cols.max() <= side


@pytest.mark.slow
def test_the_ocr_reads_a_plain_font_line():
    from handwriting.datasets.fonts import plain_hand, write_line
    from handwriting.strokes import offsets_to_coords

    text = "The quick brown fox jumps over the lazy dog."
    coords = offsets_to_coords(write_line(text, plain_hand("futural"), np.random.default_rng(0)))
    reading = evaluate.OcrReader().read(evaluate.line_image(coords))
    assert evaluate.character_error_rate(text, reading) < 0.05, reading


def test_read_prompts_checks_the_alphabet(tmp_path):
    good = tmp_path / "p.txt"
    good.write_text("Hello\n\n  world  \n")
    assert evaluate.read_prompts(good) == ["Hello", "world"]
    bad = tmp_path / "bad.txt"
    bad.write_text("snow \u2603 man\n")
    with pytest.raises(HandwritingError, match="outside the alphabet"):
        evaluate.read_prompts(bad)
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(HandwritingError, match="holds no prompts"):
        evaluate.read_prompts(tmp_path / "empty.txt")


@pytest.mark.slow
def test_cli_evaluate_writes_scores_for_every_line(tiny_checkpoint, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("ab\ncab bad\n")
    out = tmp_path / "scores.json"
    result = subprocess.run(
        [sys.executable, "-m", "handwriting", "evaluate", "--checkpoint", str(tiny_checkpoint),
         "--prompts", str(prompts), "--seeds", "0", "1", "--style", "all", "--json", str(out)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "mean CER" in result.stdout and "hardest characters" in result.stdout
    scores = json.loads(out.read_text())
    assert [r["name"] for r in scores["reports"]] == ["unprimed", "toy"]
    for report in scores["reports"]:
        assert report["lines"] == 4 and len(report["per_line"]) == 4
        assert 0 <= report["mean_cer"] and 0 <= report["failure_rate"] <= 1
        assert {line["seed"] for line in report["per_line"]} == {0, 1}
        assert set(report["character_error_rates"]) == set("abcd")
        # every written line ends with a lift; the rate counts them all
        assert all(line["lifts"] >= 1 for line in report["per_line"])
        lifts = sum(line["lifts"] for line in report["per_line"])
        assert report["lifts_per_char"] == pytest.approx(lifts / (2 * (2 + 7)))


@pytest.mark.slow
def test_cli_evaluate_judges_against_held_out_human_lines(tiny_checkpoint, tmp_path):
    from cli_helper import run_cli
    from conftest import make_tiny_dataset

    from handwriting.datasets import save_dataset

    human = tmp_path / "human.npz"
    save_dataset(make_tiny_dataset(n=80, seed=4, writers=4), human)  # 20 lines per writer: pairs to match
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("ab\n")
    out = tmp_path / "scores.json"
    result = run_cli("evaluate", "--checkpoint", tiny_checkpoint, "--prompts", prompts, "--seeds", "0",
                     "--bias", "0", "2", "--human", human, "--human-lines", "10", "--json", out)
    assert result.returncode == 0, result.stderr
    scores = json.loads(out.read_text())
    assert [r["name"] for r in scores["reports"]] == ["unprimed @ 0", "unprimed @ 2"]  # no default style
    (ceiling,) = scores["human"]["ceiling"]
    assert ceiling["name"] == "human (held out)" and ceiling["lines"] == 10
    realism = scores["human"]["realism"]
    assert [(r["style"], r.get("bias")) for r in realism] == [
        ("unprimed", 0.0), ("unprimed", 2.0), ("writer-matched", 0.0), ("writer-matched", 2.0),
        ("one real writer against the others", None), ("people against people (grouped by writer)", None)]
    assert all(0.0 <= r["auc"] <= 1.0 and r["human_lines"] == 10 and r["grouping"] == "text" for r in realism[:4])
    assert all(len(r["measures"]) == 4 for r in realism[:4])
    assert realism[4]["writers"] == 0  # no held-out writer of the tiny set has 40 lines
    assert realism[5]["median"] is None  # too few held-out writers for two a side
    assert "realism AUC" in result.stdout and "error rate by character class" in result.stdout
    assert "fine-scale turning" in result.stdout


@pytest.mark.slow
def test_cli_evaluate_judges_all_styles_together_grouped_by_writer_and_style(tiny_checkpoint, tmp_path):
    from cli_helper import run_cli
    from conftest import make_tiny_dataset

    from handwriting.datasets import save_dataset

    checkpoint = tmp_path / "run"
    shutil.copytree(tiny_checkpoint, checkpoint)
    config = json.loads((checkpoint / "config.json").read_text())
    config["train"]["validation_fraction"] = 0.5  # half the writers held out: several writers to group
    (checkpoint / "config.json").write_text(json.dumps(config))
    toy = json.loads((checkpoint / "styles" / "toy.json").read_text())
    (checkpoint / "styles" / "toy-2.json").write_text(json.dumps({**toy, "name": "toy-2"}))
    human = tmp_path / "human.npz"
    save_dataset(make_tiny_dataset(n=96, seed=5, writers=8), human)  # 4 held-out writers, 12 lines each
    out = tmp_path / "scores.json"
    result = run_cli("evaluate", "--checkpoint", checkpoint, "--style", "shipped", "--bias", "2", "--human", human,
                     "--human-lines", "40", "--realism-only", "--json", out)
    assert result.returncode == 0, result.stderr
    scores = json.loads(out.read_text())
    assert scores["reports"] == []  # realism only: no prompt written, no OCR
    pooled, matched, _, people = scores["human"]["realism"]
    assert pooled["style"] == "all 2 styles" and pooled["styles"] == ["toy", "toy-2"]
    assert pooled["grouping"] == "writer and style" and pooled["generated_groups"] == 2
    assert pooled["human_groups"] == 4 and pooled["human_lines"] == pooled["generated_lines"] == 40
    assert 0.0 <= pooled["auc"] <= 1.0 and set(pooled["by_style"]) == {"toy", "toy-2"}
    assert [m["name"] for m in pooled["measures"]] == ["gap_per_char", "ink_width_per_char", "slant", "fine_turning"]
    assert matched["style"] == "writer-matched" and people["writers"] == 4 and 0.0 <= people["median"] <= 1.0
    assert "| all 2 styles | 2 | writer and style |" in result.stdout and "mean CER" not in result.stdout


def test_cli_evaluate_writes_lines_whole_or_in_pieces_as_asked(tiny_checkpoint, tmp_path):
    from cli_helper import run_cli

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("cab bad dab\n")
    for pieces, recorded in (("3", 3), ("0", None)):
        out = tmp_path / f"scores-{pieces}.json"
        result = run_cli("evaluate", "--checkpoint", tiny_checkpoint, "--prompts", prompts, "--seeds", "0",
                         "--piece-chars", pieces, "--json", out)
        assert result.returncode == 0, result.stderr
        assert json.loads(out.read_text())["piece_chars"] == recorded
    result = run_cli("evaluate", "--checkpoint", tiny_checkpoint, "--prompts", prompts, "--piece-chars", "-1")
    assert result.returncode == 2 and "--piece-chars" in result.stderr


def test_cli_evaluate_realism_only_needs_human_lines(tiny_checkpoint):
    from cli_helper import run_cli

    result = run_cli("evaluate", "--checkpoint", tiny_checkpoint, "--realism-only")
    assert result.returncode == 2 and "--realism-only needs --human" in result.stderr


def test_cli_evaluate_bad_input_is_one_line(tiny_checkpoint, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "handwriting", "evaluate", "--checkpoint", str(tiny_checkpoint),
         "--prompts", str(tmp_path / "missing.txt")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "missing.txt" in result.stderr


def test_the_shipped_prompt_sets_cover_the_letters_and_do_not_overlap():
    from handwriting.resources import prompts_dir

    public = evaluate.read_prompts(prompts_dir() / "public.txt")
    selection = evaluate.read_prompts(prompts_dir() / "selection.txt")
    assert len(public) >= 40 and len(selection) >= 20 and not set(public) & set(selection)
    for prompts in (public, selection):
        assert set("abcdefghijklmnopqrstuvwxyz") <= set("".join(prompts).lower())
    assert set("0123456789") <= set("".join(public))


def test_class_error_rates_pool_by_character_class():
    from handwriting.tools.evaluate import LineScore, Report, character_class

    assert [character_class(c) for c in "aZ7$ "] == ["lowercase", "capitals", "digits", "punctuation", None]
    report = Report("t", [LineScore("Call 555-0199", "call 5o5-0199", 0.0, False, 0, "t"),
                          LineScore("$42", "S4l", 0.0, False, 0, "t")])
    rates = report.class_error_rates()
    # digits: 5 5 5 0 1 9 9 and 4 2 -> "5o5" misreads one 5, "4l" misreads the 2: 2 of 9.
    assert rates["digits"] == pytest.approx(2 / 9)
    assert rates["capitals"] == 0.0  # "C" read as "c" is the right letter
    assert rates["punctuation"] == pytest.approx(1 / 2)  # "-" kept, "$" read as "S"
    assert rates["lowercase"] == 0.0


@pytest.mark.parametrize("prompt, reading, added", [
    ("Keep calm.", "Keep calm.", 0), ("Keep calm.", "keep calm.1", 1), ("Keep calm.", "keep calm. 1", 1),
    ("Keep calm.", "Keep calmi", 0),  # the full stop read as a letter: the mark misread, nothing after it
    ("Keep calm.", "Keep calmh.", 0),  # read before the final mark: not after the text
    ("Keep calm.", "Keep calm", 0), ("pieces.", "pieces.c", 1), ("jugs!", "jugsl", 0), ("jugs!", "jugsd", 0),
    ("jugs!", "jugsll", 1),  # "!" read as "l" and one more, or "!" missed and two: counted as the fewer
    ("Is it?", "Is it2", 0), ("Is it?", "Is it?x", 1), ("Is it?", "Is it?.", 0), ("jugs!", "jugsl.", 0),
    ("jugs.", "jugs..", 1), ("jugs!", "jugsl..", 2),  # a "!" or "?" ends in a dot the OCR may read apart ("Room 12", "Room 121", 1), ("Room 12", "Room 12 ab", 2),
    ("a", "", 0), ("a", "xyz", 2)])
def test_characters_read_after_the_text(prompt, reading, added):
    from handwriting.tools.evaluate import trailing_insertions

    assert trailing_insertions(prompt, reading) == added
