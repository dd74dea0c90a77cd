"""The NumPy writing engine: its weights, its step against an independent reference and against
the Keras step, its sampler's shared rules, and a write path that imports no TensorFlow."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from handwriting.checkpoint import read_config
from handwriting.errors import HandwritingError
from handwriting.writing import sampling
from handwriting.writing.numpy_engine import NumpyNetwork
from handwriting.writing.numpy_mixture import draw_points
from handwriting.writing.numpy_sampler import NumpySampler
from handwriting.writing.weights import (NUMPY_WEIGHTS_FILE, expected_shapes, load_weights, read_h5_weights,
                                         read_numpy_weights)

DEFAULT = Path(__file__).resolve().parents[1] / "checkpoints" / "default"
HEAVY = ("tensorflow", "keras", "jax")
#: Agreement of the two engines' teacher-forced outputs (float32, different summation orders).
FLOAT32_ATOL = 2e-4


@pytest.fixture(scope="module")
def default_config():
    return read_config(DEFAULT).model


@pytest.fixture(scope="module")
def default_sampler(default_config):
    return NumpySampler.from_checkpoint(DEFAULT, default_config)


# ------------------------------------------------------------------ weights


def test_the_shipped_npz_holds_the_h5s_arrays(default_config):
    from_h5 = read_h5_weights(DEFAULT / "model.weights.h5", default_config)
    from_npz = read_numpy_weights(DEFAULT, default_config)
    assert from_npz is not None, "checkpoints/default ships weights.npz"
    assert set(from_h5) == set(from_npz) == set(expected_shapes(default_config))
    for name in from_h5:
        np.testing.assert_array_equal(from_h5[name], from_npz[name], err_msg=name)


def test_a_stale_or_missing_npz_falls_back_to_the_h5(tmp_path, default_config):
    shutil.copytree(DEFAULT, tmp_path / "ckpt")
    (tmp_path / "ckpt" / NUMPY_WEIGHTS_FILE).unlink()
    assert read_numpy_weights(tmp_path / "ckpt", default_config) is None
    assert set(load_weights(tmp_path / "ckpt", default_config)) == set(expected_shapes(default_config))
    shutil.copy(DEFAULT / NUMPY_WEIGHTS_FILE, tmp_path / "ckpt")
    with open(tmp_path / "ckpt" / "model.weights.h5", "ab") as f:  # the .h5 replaced after the release
        f.write(b"\0")
    assert read_numpy_weights(tmp_path / "ckpt", default_config) is None


def test_weights_that_do_not_fit_the_config_are_one_clear_error(default_config):
    from handwriting.config import replace

    with pytest.raises(HandwritingError, match="lstm1/kernel has shape"):
        read_h5_weights(DEFAULT / "model.weights.h5", replace(default_config, {"lstm_units": 64}))
    with pytest.raises(HandwritingError, match="no weights for layer 'lstm4'"):
        read_h5_weights(DEFAULT / "model.weights.h5", replace(default_config, {"lstm_layers": 4}))


# ------------------------------------------------------------------ the step against a plain reference


def _reference_step(arrays, config, x, chars_onehot, mask, state):
    """Graves eqs 46-53 and 17 written out plainly (explicit sigmoids, loops over K and U)."""
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    h_units, k = config.lstm_units, config.window_components

    def lstm(n, inputs, h, c):
        z = inputs @ arrays[f"lstm{n + 1}/kernel"] + h @ arrays[f"lstm{n + 1}/recurrent_kernel"] + arrays[f"lstm{n + 1}/bias"]
        i, f, g, o = (z[:, j * h_units:(j + 1) * h_units] for j in range(4))
        c = sig(f) * c + sig(i) * np.tanh(g)
        return sig(o) * np.tanh(c), c

    h1, c1 = lstm(0, np.concatenate([x, state["w"]], 1), state["h"][0], state["c"][0])
    p = np.exp(h1 @ arrays["window_params/kernel"] + arrays["window_params/bias"])
    a, b, kappa = p[:, :k], p[:, k:2 * k], state["kappa"] + config.kappa_step_scale * p[:, 2 * k:]
    phi = np.zeros(mask.shape)
    for u in range(mask.shape[1]):
        for j in range(k):
            phi[:, u] += a[:, j] * np.exp(-b[:, j] * (kappa[:, j] - (u + 1)) ** 2)
    phi *= mask
    w = np.einsum("bu,buv->bv", phi, chars_onehot)
    hs, cs = [h1], [c1]
    for n in range(1, config.lstm_layers):
        h, c = lstm(n, np.concatenate([x, w, hs[-1]], 1), state["h"][n], state["c"][n])
        hs.append(h)
        cs.append(c)
    y = np.concatenate(hs, 1) @ arrays["mixture_output/kernel"] + arrays["mixture_output/bias"]
    return y, phi, {"h": hs, "c": cs, "kappa": kappa, "w": w}


def test_the_step_matches_a_plain_reference_over_a_real_line(default_config):
    arrays = load_weights(DEFAULT, default_config)
    net = NumpyNetwork(default_config, arrays)
    spec = sampling.line_spec(["Sphinx of black quartz", "jump!"], None, None)
    bound = net.bind(spec.chars, spec.char_mask)
    x = np.random.default_rng(0).normal(0, 1, (2, 60, 3)).astype(np.float32)
    x[..., 2] = (x[..., 2] > 1.0)
    out, _ = net.run(x, bound)
    f64 = {k: v.astype(np.float64) for k, v in arrays.items()}
    units, layers = default_config.lstm_units, default_config.lstm_layers
    state = {"h": [np.zeros((2, units))] * layers, "c": [np.zeros((2, units))] * layers,
             "kappa": np.zeros((2, default_config.window_components)),
             "w": np.zeros((2, default_config.vocabulary_size))}
    for t in range(x.shape[1]):
        y, phi, state = _reference_step(f64, default_config, x[:, t].astype(np.float64), bound.onehot, bound.mask,
                                        state)
        np.testing.assert_allclose(out["y"][:, t], y, atol=FLOAT32_ATOL, rtol=1e-4, err_msg=f"y at {t}")
        np.testing.assert_allclose(out["phi"][:, t], phi, atol=FLOAT32_ATOL, rtol=1e-4, err_msg=f"phi at {t}")


def test_draw_points_follows_the_biased_mixture():
    m = 2
    y = np.zeros((1, 1 + 6 * m), np.float32)
    y[0, 1:3] = [0.0, 3.0]  # pi_hat: the second component is likelier
    y[0, 3:5], y[0, 5:7] = [-5.0, 5.0], [0.0, 1.0]  # mu1, mu2
    draw = lambda u, z, pen, bias=0.0: draw_points(y, m, bias, np.array([u], np.float32),  # noqa: E731
                                                   np.array([z], np.float32), np.array([pen], np.float32))
    np.testing.assert_allclose(draw([0.5, 0.5], [0, 0], 0.9)[0], [5.0, 1.0, 0.0])  # the mean, pen down
    assert draw([0.999999, 0.01], [0, 0], 0.1)[0, 0] == -5.0  # Gumbel noise can pick the unlikely one
    assert draw([0.5, 0.5], [0, 0], 0.1)[0, 2] == 1.0  # u < sigmoid(0) = 0.5: the pen lifts
    wide, narrow = draw([0.5, 0.5], [1, 1], 0.9), draw([0.5, 0.5], [1, 1], 0.9, bias=2.0)
    assert abs(narrow[0, 0] - 5.0) < abs(wide[0, 0] - 5.0)  # eq 61: the bias narrows sigma


# ------------------------------------------------------------------ the shared rules


def test_batches_are_balanced_and_grouped_by_length():
    lengths = list(range(65))
    batches = sampling.plan_batches(lengths, 64)
    assert sorted(len(b) for b in batches) == [32, 33]
    assert sorted(i for b in batches for i in b) == list(range(65))
    assert max(lengths[i] for i in batches[0]) < min(lengths[i] for i in batches[1])
    assert sampling.plan_batches([5] * 40, 64) == [list(range(40))]  # a paragraph: one batch
    assert sampling.plan_batches([], 64) == []


def _strokes(*strokes):
    """Offsets from strokes given as lists of absolute (x, y) points; pen up on each stroke's last."""
    coords = [(x, y, float(i == len(s) - 1)) for s in strokes for i, (x, y) in enumerate(s)]
    coords = np.array(coords, np.float32)
    offsets = coords.copy()
    offsets[1:, :2] = np.diff(coords[:, :2], axis=0)
    return offsets


def test_a_stroke_begun_after_the_window_left_the_text_is_cut():
    # "a." then a "1" to its right, begun when the window's weight on "." had fallen to 0.3 of its peak.
    offsets = _strokes([(0, 0), (1, 1), (2, 0)], [(3, 0)], [(5, 0), (5, 2)])
    last = np.array([0, 0.1, 0.5, 2.0, 0.6, 0.5], np.float32)
    assert sampling.trim_after_text(offsets, last) == 4
    still_on_it = np.array([0, 0.1, 0.5, 2.0, 1.9, 1.8], np.float32)  # the second bar of '"'
    assert sampling.trim_after_text(offsets, still_on_it) == 6
    dot_below = _strokes([(0, 0), (1, 1), (2, 0)], [(3, 0), (3, 2)], [(2.5, -1)])  # a '?' dot under its hook
    assert sampling.trim_after_text(dot_below, np.array([0, 0.1, 0.5, 2.0, 2.0, 0.5], np.float32)) == 6


def test_a_stroke_after_the_final_dot_is_cut_while_the_window_is_still_on_it():
    # "a." then a "1" (the human model's habit), the window still on the "." throughout.
    dot = [(3, 0), (3.1, 0.1)]
    offsets = _strokes([(0, 0), (1, 1), (2, 0)], dot, [(5, 0), (5, 2)])
    on_it = np.array([0, 0.1, 0.5, 2.0, 2.0, 2.0, 1.9], np.float32)
    assert sampling.trim_after_text(offsets, on_it, ".", x_height=1.0) == 5
    assert sampling.trim_after_text(offsets, on_it, "?", x_height=1.0) == 5
    assert sampling.trim_after_text(offsets, on_it, '"', x_height=1.0) == 7  # no dot ending: a second bar may follow
    ellipsis = _strokes([(0, 0), (1, 1), (2, 0)], dot, [(4, 0), (4.1, 0)], [(5, 0), (5, 0.1)])
    assert sampling.trim_after_text(ellipsis, np.full(9, 2.0, np.float32), "a...", x_height=1.0) == 9  # its dots stay
    assert sampling.trim_after_text(ellipsis, np.full(9, 2.0, np.float32), "a..", x_height=1.0) == 7  # one too many
    assert sampling.trim_after_text(ellipsis, np.full(9, 2.0, np.float32), "a.", x_height=1.0) == 5
    comma = _strokes([(0, 0), (1, 1), (2, 0)], [(3, 0.1), (2.9, -0.2)], [(5, 0), (5, 2)])  # "a," then a "/"
    assert sampling.trim_after_text(comma, np.array([0, 0.1, 0.5, 2.0, 2.0, 2.0, 1.9], np.float32), ",",
                                    x_height=1.0) == 5
    # "a." then a small "c" after the dot (0.45 x-height: dot-sized, but 4.5 times the dot)
    small_c = _strokes([(0, 0), (1, 1), (2, 0)], dot, [(4.45, 0.45), (4, 0.2), (4.45, 0)])
    assert sampling.trim_after_text(small_c, np.full(8, 2.0, np.float32), ".", x_height=1.0) == 5
    uneven = _strokes([(0, 0), (1, 1), (2, 0)], [(3, 0)], [(4, 0), (4.25, 0.2)])  # "a.." a point, then a blob
    assert sampling.trim_after_text(uneven, np.full(6, 2.0, np.float32), "a..", x_height=1.0) == 6
    semicolon = _strokes([(0, 0), (1, 1), (2, 0)], [(3, 0.5)], [(3, 0.1), (2.9, -0.4)])  # "a;": its comma is larger
    assert sampling.trim_after_text(semicolon, np.full(6, 2.0, np.float32), ";", x_height=1.0) == 6
    early_dot = _strokes([(0, 0), (0.1, 0.1)], [(1, 0), (1, 1)], [(3, 0), (3, 1)])  # an "i" dot, then ink
    assert sampling.trim_after_text(early_dot, np.array([0, 0, 0, 0.6, 0.6, 1.0], np.float32), ".", x_height=1.0) == 6


def test_a_dot_the_final_mark_does_not_have_is_cut_and_a_late_dot_over_a_letter_stays():
    a, on_it, dot = [(0, 0), (1, 1), (2, 0)], np.full(7, 2.0, np.float32), [(3, 0), (3.1, 0.05)]
    # "night. ." as the human model drew it: a second dot (or a dash, "204/B.-") right of the full stop
    second_dot = _strokes(a, dot, [(3.5, 0.05), (3.6, 0.1)])
    assert sampling.trim_after_text(second_dot, on_it, "night.", x_height=1.0) == 5
    assert sampling.trim_after_text(second_dot, on_it, "Note:", x_height=1.0) == 7  # a colon's two dots
    assert sampling.trim_after_text(second_dot, on_it, "Is it?", x_height=1.0) == 5
    late_i_dot = _strokes(a, dot, [(1.0, 1.5), (1.05, 1.55)])  # "hi." dotted after the full stop
    assert sampling.trim_after_text(late_i_dot, on_it, "hi.", x_height=1.0) == 7
    assert [sampling.final_mark_dots(t) for t in ("a.", "a...", "a?", "a!", "a,", "a:", "a;", "a", '"a."', "")] == \
        [1, 3, 1, 1, 1, 2, 2, 0, 0, 0]


def test_a_stroke_after_a_final_dot_may_overlap_the_mark_a_little_and_a_tall_full_stop_is_cut():
    a = [(0, 0), (1, 1), (2, 0)]
    # "a?" reduced to its dot, then an "S" that begins a little left of the dot's right edge
    s_after = _strokes(a, [(2.5, 0), (2.6, 0.1)], [(2.45, 0), (3, 1), (4, 2)])
    on_it = np.array([0, 0.1, 0.5, 2.0, 2.0, 2.0, 2.0, 2.0], np.float32)
    assert sampling.trim_after_text(s_after, on_it, "?", x_height=1.0) == 5
    far_back = _strokes(a, [(2.5, 0), (2.6, 0.1)], [(1.0, 0), (3, 1), (4, 2)])  # over the line: not cut
    assert sampling.trim_after_text(far_back, on_it, "?", x_height=1.0) == 8
    # "a" then a tall stroke drawn for the full stop, the window on the "."
    tall = _strokes(a, [(4, 0), (4, 2)])
    assert sampling.trim_after_text(tall, np.array([0, 0.1, 0.3, 1.5, 1.5], np.float32), ".", x_height=1.0) == 3
    assert sampling.trim_after_text(tall, np.array([0, 0.1, 0.3, 0.6, 0.6], np.float32), ".", x_height=1.0) == 5  # not yet on it
    assert sampling.trim_after_text(tall, np.array([0, 0.1, 0.3, 1.5, 1.5], np.float32), "l", x_height=1.0) == 5  # an "l"


def test_a_line_whose_window_passes_the_end_between_strokes_ends_there():
    b = 3
    lines = sampling.initial_line_state(np.zeros(b, np.int64), np.zeros(b, bool))
    false, true = np.zeros(b, bool), np.ones(b, bool)
    caps, free = np.full(b, 100), false
    # step 0: nothing passed
    lines, lift, keep = sampling.advance_lines(np.where, lines, 0, false, false, true, true, caps, free)
    assert keep.all() and not lines.finished.any()
    # step 1: each line's window passes the end; line 0 between strokes, line 1 mid-stroke, line 2 lifts now
    pen_was_up = np.array([True, False, False])
    lines, lift, keep = sampling.advance_lines(np.where, lines, 1, true, np.array([False, False, True]),
                                               pen_was_up, true, caps, free)
    assert keep.tolist() == [False, True, True] and lines.counts.tolist() == [1, 2, 2]
    assert lines.finished.tolist() == [True, False, True]  # line 1 waits for its pen to lift
    for t in range(2, 2 + sampling.MAX_STEPS_TO_LIFT):
        lines, lift, keep = sampling.advance_lines(np.where, lines, t, true, false, false, true, caps, free)
    assert lines.finished.all() and lift[1] and not lines.hit_cap.any()


# ------------------------------------------------------------------ the sampler


def test_same_seed_same_line_whatever_else_is_in_the_batch(default_sampler):
    # Its own random stream: only float rounding (BLAS kernels differ with the batch's shape) differs.
    alone = default_sampler.sample(["Quiz 42"], bias=2.5, seed=3, line_ids=[7])
    np.testing.assert_array_equal(alone.offsets[0], default_sampler.sample(["Quiz 42"], bias=2.5, seed=3,
                                                                          line_ids=[7]).offsets[0])
    together = default_sampler.sample(["jumpy foxes and more", "Quiz 42"], bias=2.5, seed=3, line_ids=[0, 7])
    assert alone.offsets[0].shape == together.offsets[1].shape
    np.testing.assert_allclose(alone.offsets[0], together.offsets[1], atol=1e-4)
    other = default_sampler.sample(["Quiz 42"], bias=2.5, seed=4, line_ids=[7])
    assert len(other.offsets[0]) != len(alone.offsets[0]) or not np.allclose(other.offsets[0], alone.offsets[0])


def test_a_lines_drawing_does_not_depend_on_how_the_others_are_batched(monkeypatch):
    import handwriting
    from handwriting.writing import hand as hand_module

    monkeypatch.setitem(hand_module.LINES_PER_BATCH, hand_module.ENGINE_NUMPY, 2)
    hand = handwriting.load()
    target = "Every line has its own stream"
    # The target (index 3) is batched with line 0 in the first call and with line 2 in the second.
    first, _ = hand.write_lines(["aaaa", "b", "c", target], style=None, seed=9)
    second, _ = hand.write_lines(["a", "bbbbbb", "cccccc", target], style=None, seed=9)
    assert first[3].shape == second[3].shape
    np.testing.assert_allclose(first[3], second[3], atol=1e-2)  # px; float rounding only


def test_no_ink_after_the_last_character(default_sampler):
    # Prompts ending in . ! ? " , ; : and digits, 3 seeds, the default style: no rule of trim_after_text
    # cuts anything more from a written line; every line's last stroke was begun while the window was
    # still on the text and is no stroke after a final dot (before these rules, 232 of 440
    # public-prompt lines had a stroke after it, e.g. the "1" after 'Hmm... maybe.').
    prompts = ["Hmm... maybe.", 'She said: "yes".', "The fox hops!!", "Is it 42?", "Call me at 9.",
               "Done in 1999", "Really?!", 'Go "now"', "Sphinx of black quartz, judge my vow.", "Room 204",
               "Dear Ada,", "Items: pens;", "Note:"]
    style = read_config(DEFAULT).default_style
    from handwriting.writing.hand import load_styles

    prime = load_styles(DEFAULT)[style]
    for seed in (0, 1, 2):
        batch = default_sampler.sample(prompts, bias=2.5, seed=seed, prime=(prime.offsets, prime.text),
                                       return_attention=True)
        for text, offsets, phi in zip(prompts, batch.offsets, batch.phi):
            last = phi[:, len(prime.text) + len(text)]
            assert sampling.trim_after_text(offsets, last, text) == len(offsets), (seed, text)
            assert offsets[-1, 2] == 1 and not batch.hit_cap.any()


def test_the_write_path_imports_no_tensorflow(tmp_path):
    code = (
        "import sys, handwriting\n"
        "hand = handwriting.load()\n"
        f"sys.argv = ['handwriting', 'write', 'Hello, world!', '-o', {str(tmp_path / 'h.svg')!r}]\n"
        "from handwriting.cli import main\n"
        "assert main() == 0\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "h.svg").read_text().startswith("<")


def test_an_unknown_engine_is_one_line(tmp_path):
    import handwriting

    with pytest.raises(HandwritingError, match="unknown engine 'torch'"):
        handwriting.load(engine="torch")
    result = subprocess.run([sys.executable, "-m", "handwriting", "write", "ab", "-o", str(tmp_path / "a.svg"),
                             "--engine", "torch"], capture_output=True, text=True)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_a_style_is_primed_once_and_its_state_does_not_depend_on_the_new_text(default_sampler):
    from handwriting.writing.hand import load_styles

    style = load_styles(DEFAULT)[sorted(load_styles(DEFAULT))[0]]
    prime = (style.offsets, style.text)
    texts = ["The quick brown fox", "Hmm... maybe.", 'She said: "yes".']
    default_sampler._primed.clear()
    together = default_sampler.sample(texts, bias=0.75, seed=3, prime=prime)
    assert len(default_sampler._primed) == 1  # one prime for the whole batch
    for i, text in enumerate(texts):  # alone (the cached state), each line draws what it drew in the batch
        alone = default_sampler.sample([text], bias=0.75, seed=3, prime=prime, line_ids=[i])
        np.testing.assert_allclose(alone.offsets[0], together.offsets[i], atol=1e-3)  # BLAS rounding only
    assert len(default_sampler._primed) == 1
    default_sampler._primed.clear()  # and a fresh prime draws the same again
    again = default_sampler.sample(texts[:1], bias=0.75, seed=3, prime=prime)
    np.testing.assert_array_equal(again.offsets[0], default_sampler.sample(texts[:1], bias=0.75, seed=3,
                                                                           prime=prime).offsets[0])


def test_a_batch_split_across_threads_draws_what_one_batch_draws(default_sampler, monkeypatch):
    import handwriting.writing.numpy_sampler as numpy_sampler

    texts = ["Hi", "The quick brown fox", "Room 204.", "over a lazy cat", "Zq"]
    whole = default_sampler.sample(texts, bias=1.0, seed=7)
    for i in (0, 3):  # and a batch of two lines is written line by line: as in any batch
        alone = default_sampler.sample([texts[i], texts[4]], bias=1.0, seed=7, line_ids=[i, 4]).offsets[0]
        np.testing.assert_allclose(alone, whole.offsets[i], atol=1e-3)
    monkeypatch.setattr(numpy_sampler, "batch_parts", lambda lines: (2, True) if lines >= 4 else (1, False))
    split = default_sampler.sample(texts, bias=1.0, seed=7, return_attention=True)
    assert len(split.offsets) == len(texts) and len(split.phi) == len(texts)
    for a, b, phi in zip(whole.offsets, split.offsets, split.phi):  # in the callers' order
        assert a.shape == b.shape and phi.shape[0] == len(b)
        np.testing.assert_allclose(a, b, atol=1e-3)  # BLAS rounding by batch shape only
    np.testing.assert_array_equal(whole.hit_cap, split.hit_cap)


def test_a_large_batch_writes_without_numeric_warnings(default_config):
    import warnings

    sampler = NumpySampler.from_checkpoint(DEFAULT, default_config)
    for kernel in sampler.network.kernels["exp"]:  # saturated gates: exp(-z) overflows in the sigmoid
        kernel *= 100.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow would raise here
        batch = sampler.sample(["Overflow-free sigmoids"] * 24, bias=1.0, seed=0, max_steps=50)
    assert all(np.isfinite(o).all() for o in batch.offsets)
