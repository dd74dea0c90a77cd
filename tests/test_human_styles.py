"""Styles from held-out human writers: names read from the ink, never the writer's."""

import numpy as np
import pytest

from handwriting.tools.human_styles import describe_hand
from handwriting.writing.hand import RESERVED_STYLE_NAMES


def _loops(letters: int, slant: float, lift_every: int, width: float = 1.2) -> np.ndarray:
    """``letters`` upright ovals of height 1 (coords), sheared by ``slant``, lifting after every
    ``lift_every`` letters, advancing ``width`` x-heights per letter."""
    t = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    rows = []
    for k in range(letters):
        oval = np.c_[k * width + 0.4 * np.sin(t), 0.5 - 0.5 * np.cos(t), np.zeros_like(t)]
        oval[-1, 2] = float((k + 1) % lift_every == 0 or k == letters - 1)
        rows.append(oval)
    coords = np.concatenate(rows)
    coords[:, 0] += np.tan(slant) * coords[:, 1]
    return coords


@pytest.mark.parametrize("slant, lift_every, width, expected", [
    (0.0, 1, 1.2, "upright-print"),
    (0.4, 8, 1.2, "slanted-joined"),
    (-0.3, 2, 1.2, "backhand-part-joined"),
    (0.0, 1, 0.8, "upright-print-narrow"),
    (0.0, 1, 2.0, "upright-print-wide"),
])
def test_a_hand_is_named_by_its_slant_joins_and_width(slant, lift_every, width, expected):
    text = "o" * 8
    assert describe_hand(_loops(8, slant, lift_every, width), text) == expected
    assert expected not in RESERVED_STYLE_NAMES


def test_ranked_human_styles_keep_the_best_and_number_a_repeated_look():
    from handwriting.tools.human_styles import rank_human_styles
    from handwriting.writing.hand import Style

    offsets = np.zeros((2, 3), np.float32)
    styles = [Style(name=n, text=t, offsets=offsets) for n, t in
              [("upright-print", "a"), ("slanted-joined", "b"), ("upright-print", "c"), ("upright-print", "d")]]
    keys = ["writer-01", "writer-02", "writer-03", "writer-04"]
    record = {k: {"cer": c, "text": s.text} for k, c, s in zip(keys, [0.2, 0.1, 0.05, 0.9], styles)}
    kept, renamed = rank_human_styles(styles, record, keys, count=3)
    assert [(s.name, s.text) for s in kept] == [("upright-print", "c"), ("slanted-joined", "b"),
                                                 ("upright-print-2", "a")]
    assert {name: r["cer"] for name, r in renamed.items()} == {"upright-print": 0.05, "slanted-joined": 0.1,
                                                                "upright-print-2": 0.2}
    kept, renamed = rank_human_styles(styles, None, keys)  # no selection: every writer, in order
    assert [s.name for s in kept] == ["upright-print", "slanted-joined", "upright-print-2", "upright-print-3"]
    assert renamed is None


PEOPLE = {"gap_per_char": 0.15, "ink_width_per_char": 1.0, "slant": 0.12}


def _look(gap: float, width: float, slant: float, lifts: float) -> dict:
    return {"gap_per_char": gap, "ink_width_per_char": width, "slant": slant, "lifts_per_char": lifts,
            "width_per_char": 1.2, "fine_turning": 2.0}


def test_likeness_counts_each_measure_in_its_tolerance():
    from handwriting.tools.human_styles import likeness

    assert likeness(_look(0.15, 1.0, 0.12, 1.0), PEOPLE) == 0.0
    # one tolerance off on every measure: 20% of 0.15, 20% of 1.0, 0.05 rad
    assert likeness(_look(0.18, 0.8, 0.17, 1.0), PEOPLE) == pytest.approx(1.0)
    assert likeness(_look(0.15, 1.0, 0.12 + 0.05 * np.sqrt(3), 1.0), PEOPLE) == pytest.approx(1.0)


def test_the_selection_rule_keeps_legible_like_people_and_a_third_joined():
    from handwriting.tools.human_styles import MAX_CER, auto_default_style, rank_human_styles
    from handwriting.writing.hand import Style

    offsets = np.zeros((2, 3), np.float32)
    #            cer    look: gap, width, slant, lifts per char
    writers = [(0.02, _look(0.45, 0.9, 0.00, 1.2)),   # a: the best read, an upright print unlike people
               (0.05, _look(0.16, 1.0, 0.13, 1.1)),   # b: print, like people
               (0.30, _look(0.15, 1.0, 0.12, 0.3)),   # c: people's very look, joined, but illegible
               (0.09, _look(0.25, 1.1, 0.20, 0.5)),   # d: part-joined, less like people than b
               (0.03, _look(0.30, 0.9, -0.10, 1.3)),  # e: well read, backhand print
               (0.04, _look(0.20, 1.0, 0.10, 1.0))]   # f: print, like people, read well enough
    keys = [f"writer-{k:02d}" for k in range(1, 7)]
    styles = [Style(name="prime-name", text=t, offsets=offsets) for t in "abcdef"]
    record = {k: {"cer": cer, "look": look, "text": s.text} for k, (cer, look), s in zip(keys, writers, styles)}
    kept, renamed = rank_human_styles(styles, record, keys, count=3, people=PEOPLE)
    # the joined share (one of three) takes d although a, e are read better; c is never legible enough
    assert [s.text for s in kept] == ["b", "f", "d"]
    assert [s.name for s in kept] == ["upright-print", "upright-print-2", "slanted-part-joined"]  # as written
    assert all(r["cer"] <= MAX_CER for r in renamed.values()) and renamed["slanted-part-joined"]["joined"]
    assert renamed["upright-print"]["likeness"] < renamed["upright-print-2"]["likeness"]
    # the default: the likest that does not lean backwards and is read at 0.04 or better
    assert auto_default_style(renamed) == "upright-print-2"
    assert auto_default_style({"x": {**renamed["upright-print"], "cer": 0.08},
                               "y": {**renamed["upright-print-2"], "cer": 0.07}}) == "y"  # none at 0.04: best read
    # no kept style could be the default (f read at 0.06 now): the likest legible writer who could,
    # the upright print a (0.02), takes the place of the least like print style kept (f)
    no_default = {**record, keys[5]: {**record[keys[5]], "cer": 0.06}}
    kept, renamed = rank_human_styles(styles, no_default, keys, count=3, people=PEOPLE)
    assert [s.text for s in kept] == ["b", "d", "a"]
    assert renamed[auto_default_style(renamed)]["text"] == "a"
    # the joined share is kept: with room for one style only, the joined hand is not given up
    kept, _ = rank_human_styles(styles, no_default, keys, count=1, people=PEOPLE)
    assert [s.text for s in kept] == ["d"]
    # ranked by the realism classifier's scores where every style has one, not by likeness
    scored = {k: {**r, "realism": score} for (k, r), score in zip(record.items(), [0.2, 0.9, 0.1, 0.5, 0.3, 0.8])}
    kept, renamed = rank_human_styles(styles, scored, keys, count=3, people=PEOPLE)
    assert [s.text for s in kept] == ["a", "e", "d"]  # a and e score likest; d for the joined share
    assert renamed[auto_default_style(renamed)]["text"] == "a"  # e leans backwards
    # too few legible styles: the lowest CERs fill up
    kept, _ = rank_human_styles(styles, {k: {**r, "cer": r["cer"] + 0.5} for k, r in record.items()}, keys, count=2,
                                people=PEOPLE)
    assert [s.text for s in kept] == ["a", "e"]


def test_written_look_measures_joins_slant_and_spacing():
    from handwriting.tools.human_styles import written_look

    joined = [_loops(8, 0.3, 8) for _ in range(3)]
    look = written_look(joined, ["o" * 8] * 3)
    assert look["lifts_per_char"] == pytest.approx(1 / 8)
    from handwriting.strokes import estimate_slant

    assert look["slant"] == pytest.approx(estimate_slant(joined[0])) and look["slant"] > 0.1
    assert set(look) >= {"gap_per_char", "ink_width_per_char", "fine_turning", "width_per_char"}
    assert written_look([], []) == {}


def _joined_candidates_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "joined_candidates.py"
    spec = importlib.util.spec_from_file_location("joined_candidates", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_joined_candidates_counts_the_legible_joined_hands():
    script = _joined_candidates_script()

    def row(writer, cer, lifts, prime_cer):
        return {"writer": writer, "cer": cer, "lifts_per_char": lifts, "prime_cer": prime_cer}

    rows = [row("w1", 0.20, 0.5, 0.3), row("w1", 0.10, 0.6, 0.1), row("w2", 0.05, 1.1, 0.2)]
    summary = script.summarise(rows, max_cer=0.12, print_above=0.8)
    assert [r["cer"] for r in summary["rows"]] == [0.05, 0.10, 0.20]  # best read first
    assert (summary["candidates"], summary["writers"], summary["writes_joined"], summary["legible_joined"]) == (3, 2, 2, 1)
    assert summary["best_joined_cer"] == 0.1  # the print hand (1.1 lifts a character) is not counted
    assert summary["median_prime_cer"] == 0.2


def test_the_rule_preview_keeps_what_a_release_would_from_each_writer_s_best_line():
    from handwriting.writing.hand import Style

    script = _joined_candidates_script()
    offsets = np.zeros((2, 3), np.float32)
    #       writer, prime, cer,  look: gap, width, slant, lifts per char
    rows = [("w1", "a", 0.05, _look(0.16, 1.0, 0.13, 1.1)),
            ("w1", "b", 0.20, _look(0.15, 1.0, 0.12, 1.0)),   # w1's likest line, but not its best read
            ("w2", "c", 0.09, _look(0.25, 1.1, 0.20, 0.5)),   # part-joined
            ("w3", "d", 0.03, _look(0.30, 0.9, -0.10, 1.3)),  # backhand print
            ("w4", "e", 0.50, _look(0.15, 1.0, 0.12, 0.3))]   # illegible
    rows = [{"writer": w, "prime": t, "cer": c, "look": look} for w, t, c, look in rows]
    styles = {(r["writer"], r["prime"]): Style(name="x", text=r["prime"], offsets=offsets) for r in rows}
    preview = script.rule_preview(rows, styles, PEOPLE, count=3)
    assert [(s["writer"], s["cer"]) for s in preview["styles"]] == [("w1", 0.05), ("w2", 0.09), ("w3", 0.03)]
    assert preview["joined"] == 1 and preview["max_cer"] == 0.09
    assert preview["mean_cer"] == pytest.approx((0.05 + 0.09 + 0.03) / 3)
    assert preview["default_style"] == "upright-print"  # none upright at <= 0.04: the best read of w1, w2
    assert preview["medians"] == {"gap_per_char": 0.25, "ink_width_per_char": 1.0, "slant": 0.13}
    assert preview["people"] == PEOPLE and preview["mean_realism"] is None  # no scores, no mean
    for r, score in zip(rows, [0.3, 0.1, 0.9, 0.2, 0.0]):
        r["realism"] = score
    by_realism = script.rule_preview(rows, styles, PEOPLE, count=3, by_realism=True)
    assert [s["writer"] for s in by_realism["styles"]] == ["w3", "w1", "w2"]  # each writer's best-read line's score
    assert by_realism["mean_realism"] == pytest.approx((0.2 + 0.3 + 0.9) / 3)


def test_pen_up_jumps_are_counted_measured_and_told_going_back():
    import importlib.util
    from pathlib import Path

    from handwriting.strokes import estimate_x_height

    path = Path(__file__).resolve().parents[1] / "scripts" / "pen_up_jumps.py"
    spec = importlib.util.spec_from_file_location("pen_up_jumps", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    t = np.linspace(0, 4 * np.pi, 40)
    word = np.stack([t / np.pi, np.abs(np.sin(t)), np.zeros_like(t)], 1)  # a wavy stroke, 4 units wide
    word[-1, 2] = 1
    dot = np.array([[1.0, 1.6, 1.0]])  # the pen goes back 3 units to dot an i, then on 2 units past the word
    after = word.copy()
    after[:, 0] += 6.0
    line = np.concatenate([word, dot, after])
    summary = script.jump_summary([line], ["minimum"])
    x_height = estimate_x_height(line)
    back, on = np.hypot(3.0, 1.6) / x_height, np.hypot(5.0, 1.6) / x_height
    assert summary["jumps per character"] == pytest.approx(2 / 7)
    assert summary["mean length"] == pytest.approx((back + on) / 2)
    assert summary["share going back"] == 0.5



def test_the_candidate_pool_counts_writers_legible_and_joined_legible():
    from handwriting.tools.human_styles import MAX_CER, PRINT_ABOVE, candidate_pool

    joined, printed = {"lifts_per_char": PRINT_ABOVE - 0.1}, {"lifts_per_char": PRINT_ABOVE + 0.1}
    record = {"writer-01": {"cer": MAX_CER, "look": joined}, "writer-02": {"cer": MAX_CER + 0.01, "look": joined},
              "writer-03": {"cer": 0.01, "look": printed}}
    assert candidate_pool(record) == {"writers": 3, "legible": 2, "joined_legible": 1}
    del record["writer-03"]["look"]  # looks not measured: no joined count
    assert candidate_pool(record) == {"writers": 3, "legible": 2}
