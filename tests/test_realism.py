"""Realism AUC: identical populations score about 0.5, clearly different ones about 1."""

import numpy as np
import pytest

from handwriting import strokes
from handwriting.errors import HandwritingError
from handwriting.tools.realism import FEATURE_NAMES, line_features, realism_auc


def _scribble(rng, chars: int, wobble: float, step: float = 0.4) -> np.ndarray:
    """A line of ``chars`` loops (coords, y up), ``wobble`` jitter on each point."""
    t = np.linspace(0, 2 * np.pi * chars, 12 * chars)
    xy = np.c_[t / (2 * np.pi) + 0.3 * np.sin(t), np.cos(t) + 1.0] * step * 2.5
    xy += rng.normal(0, wobble, xy.shape)
    coords = np.c_[xy, np.zeros(len(xy))]
    coords[11::12, 2] = 1.0
    coords[-1, 2] = 1.0
    return coords


def test_features_are_finite_and_do_not_depend_on_size():
    rng = np.random.default_rng(0)
    line = _scribble(rng, 8, 0.02)
    f = line_features(line, "abcdefgh")
    assert f.shape == (len(FEATURE_NAMES),) and np.isfinite(f).all()
    bigger = line.copy()
    bigger[:, :2] *= 7.0
    np.testing.assert_allclose(line_features(bigger, "abcdefgh"), f, rtol=1e-5, atol=1e-7)
    assert f[FEATURE_NAMES.index("lifts_per_char")] == pytest.approx(1.0)
    denser = np.asarray(strokes.resample(line, 0.05), np.float64)  # the same ink sampled 4 times as densely
    np.testing.assert_allclose(line_features(denser, "abcdefgh"), f, rtol=0.08, atol=0.02)


@pytest.mark.slow  # a classifier cross-validated twice: about 15 s on 2 busy cores
def test_the_same_hand_is_indistinguishable_and_a_shaky_one_is_not():
    rng = np.random.default_rng(1)
    texts = [f"line {i}" for i in range(40)]
    human = [_scribble(rng, 6, 0.02) for _ in texts]
    same = [_scribble(rng, 6, 0.02) for _ in texts]
    shaky = [_scribble(rng, 6, 0.12) for _ in texts]
    assert abs(realism_auc(human, same, texts).auc - 0.5) < 0.2
    assert realism_auc(human, shaky, texts).auc > 0.95


def test_too_few_or_unpaired_lines_are_refused():
    rng = np.random.default_rng(2)
    lines = [_scribble(rng, 3, 0.02) for _ in range(4)]
    with pytest.raises(HandwritingError, match="at least"):
        realism_auc(lines, lines, ["a"] * 4)
    with pytest.raises(HandwritingError, match="one human and one generated"):
        realism_auc(lines, lines[:3], ["a"] * 4)


def _writers_dataset(rng, shaky_writer: int, lines_per_writer: int = 30, writers: int = 8):
    """Coords of scribbles as a dataset: every writer steady but ``shaky_writer``."""
    from handwriting.datasets.format import StrokeDataset
    from handwriting.strokes import coords_to_offsets

    offsets, texts, ids = [], [], []
    for w in range(writers):
        for k in range(lines_per_writer):
            line = _scribble(rng, 6, 0.12 if w == shaky_writer else 0.02)
            offsets.append(coords_to_offsets(line).astype(np.float32))
            texts.append(f"line {w} {k}")
            ids.append(w)
    return StrokeDataset(offsets=offsets, texts=texts, writer_ids=np.array(ids, np.int32),
                         writers=[f"w{i}" for i in range(writers)], scale=1.0, metadata={"source": "tests"})


@pytest.mark.slow  # a classifier cross-validated per held-out writer
def test_one_real_writer_reference_tells_a_shaky_hand_from_the_others():
    from handwriting.tools.realism import held_out_indices, one_writer_reference

    rng = np.random.default_rng(3)
    dataset = _writers_dataset(rng, shaky_writer=-1)
    held_writers = {int(dataset.writer_ids[i]) for i in held_out_indices(dataset, 0.5, 0)}
    steady = one_writer_reference(dataset, 0.5, 0, min_lines=20)
    assert steady["writers"] == len(held_writers) >= 2 and steady["median"] < 0.75
    shaky = one_writer_reference(_writers_dataset(rng, shaky_writer=min(held_writers)), 0.5, 0, min_lines=20)
    assert shaky["max"] > 0.95
    assert one_writer_reference(dataset, 0.5, 0, min_lines=31)["writers"] == 0


def test_matched_pairs_are_two_lines_of_one_held_out_writer():
    from handwriting.tools.realism import held_out_indices, matched_pairs

    dataset = _writers_dataset(np.random.default_rng(4), shaky_writer=-1, lines_per_writer=5)
    held_out = set(held_out_indices(dataset, 0.5, 0))
    pairs = matched_pairs(dataset, 0.5, 0, limit=100)
    assert len(pairs) == len(held_out) - len({int(dataset.writer_ids[i]) for i in held_out})  # all but the primes
    for prime, target in pairs:
        assert prime != target and {prime, target} <= held_out
        assert dataset.writer_ids[prime] == dataset.writer_ids[target]
    assert len(matched_pairs(dataset, 0.5, 0, limit=3)) == 3
