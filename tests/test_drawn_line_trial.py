"""The drawn-line trial: variants parsed with clear errors, applied to the same written lines, and
scored for realism and legibility side by side."""

import numpy as np
import pytest

from handwriting import strokes as S
from handwriting.datasets.format import StrokeDataset
from handwriting.errors import HandwritingError
from handwriting.output import layout
from handwriting.tools.drawn_line_trial import format_trial, median_word_gap, parse_variant, run_trial

TEXTS = ["ab cd", "abc de f", "a bcd", "ab c de", "abcd ef"]


def _written(text: str, word_gap: float, rng) -> np.ndarray:
    """``[N, 3]`` coords of ``text``: each letter a zig-zag one unit wide and tall, 0.3 apart,
    words ``word_gap`` apart, a little noise on every point."""
    letters, x = [], 0.0
    for k, ch in enumerate(text):
        if ch == " ":
            x += word_gap - 0.3
            continue
        xs = x + np.linspace(0, 1, 7)
        letters.append(np.stack([xs, (np.arange(7) % 2).astype(float)], 1) + rng.normal(0, 0.02, (7, 2)))
        x += 1.3
    return S.join_strokes(letters)


def _dataset(lines: int, word_gap: float, writers: int, seed: int) -> StrokeDataset:
    rng = np.random.default_rng(seed)
    texts = [TEXTS[i % len(TEXTS)] for i in range(lines)]
    return StrokeDataset(offsets=[S.coords_to_offsets(_written(t, word_gap, rng)) for t in texts], texts=texts,
                         writer_ids=(np.arange(lines) % writers).astype(np.int32),
                         writers=[f"w{i}" for i in range(writers)], scale=1.0, metadata={"source": "tests"})


class WideHand:
    """Writes every text as the test's people do, but with word gaps three units wide."""

    def write_lines(self, texts, *, style, bias, seed):
        rng = np.random.default_rng(seed + len(style or ""))
        return [_written(t, 3.0, rng) for t in texts], [False] * len(texts)


class ConstantReader:
    def read(self, image):
        return "ab cd"


def test_variants_parse_and_bad_specs_get_a_clear_error():
    line = _written("ab cd", 3.0, np.random.default_rng(0))
    np.testing.assert_array_equal(parse_variant("none")(line, "ab cd"), line)
    narrower = parse_variant("word-gaps:0.5")(line, "ab cd")
    assert median_word_gap([narrower], ["ab cd"]) == pytest.approx(0.5 * median_word_gap([line], ["ab cd"]), rel=1e-3)
    both = parse_variant("savgol:5:2+word-gaps:0.5")(line, "ab cd")
    np.testing.assert_allclose(both, parse_variant("word-gaps:0.5")(S.savgol_smooth(line, 5, 2), "ab cd"), atol=1e-5)
    assert S.estimate_slant(parse_variant("slant:0.2")(line, "ab cd")) == pytest.approx(0.2, abs=1e-3)
    tighter = parse_variant("letter-gaps:0.5")(line, "ab cd")
    np.testing.assert_allclose(tighter, layout.scale_gaps(line, "ab cd", letters=0.5))
    jittered = [S.estimate_slant(parse_variant("slant-jitter:0.05")(line, f"ab cd {k}")) for k in range(40)]
    moves = np.array(jittered) - S.estimate_slant(line)
    assert np.abs(moves).max() <= 0.1 + 1e-3 and 0.02 < moves.std() < 0.08  # N(0, 0.05) clipped at 2 sd
    np.testing.assert_array_equal(parse_variant("slant-jitter:0.05")(line, "x"), parse_variant("slant-jitter:0.05")(line, "x"))
    for bad in ("slant:1", "slant-jitter:0.5", "blur", "savgol:7", "savgol:7:7", "savgol:2:1", "word-gaps:0",
                "word-gaps:x", "letter-gaps:-1", "none:1"):
        with pytest.raises(HandwritingError, match="variant"):
            parse_variant(bad)


@pytest.mark.slow  # 2 variants x 5 grouped cross-validations: 10-30 s on 2 busy cores
def test_trial_scores_every_variant_on_the_same_lines():
    data = _dataset(80, word_gap=1.5, writers=16, seed=0)
    result = run_trial(WideHand(), data, ["ab cd"] * 3, variants=["none", "word-gaps:0.5"], validation_fraction=0.5,
                       split_seed=0, styles=["s1", "s22"], default_style="s1", bias=1.0, lines=40, seeds=[0, 1],
                       reader=ConstantReader())
    none, narrower = result["variants"]
    people = result["human"]["word_gap"]  # in x-heights
    assert none["word_gap"] == pytest.approx(2 * people, rel=0.05)
    assert narrower["word_gap"] == pytest.approx(people, rel=0.05)  # now the people's
    assert none["cer"] == narrower["cer"] == 0.0 and none["failure_rate"] == 0.0
    # only the word gaps tell these lines apart: the narrower ones are much harder to tell
    assert none["auc"] > 0.9 and narrower["auc"] < none["auc"] - 0.2
    table = format_trial(result)
    assert "| word-gaps:0.5 |" in table and "| people (40 lines" in table
