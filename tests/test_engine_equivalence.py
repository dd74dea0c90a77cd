"""The NumPy engine is held to the Keras step: teacher-forced over real lines, and sampled with the
same random numbers fed to both samplers (the shipped model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DEFAULT = Path(__file__).resolve().parents[1] / "checkpoints" / "default"
#: float32 agreement of the two engines' outputs (different summation orders, same weights).
ATOL = {"y": 5e-4, "phi": 5e-4, "kappa": 5e-4}
MIN_IDENTICAL_STEPS = 200

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engines():
    from handwriting.backend import import_backend

    import_backend()
    from handwriting.nn.model import load_model
    from handwriting.writing.hand import load_styles
    from handwriting.writing.numpy_sampler import NumpySampler
    from handwriting.writing.sample import Sampler

    model, config, _ = load_model(DEFAULT)
    return model, Sampler(model, jit_compile=False), NumpySampler.from_checkpoint(DEFAULT, config.model), \
        load_styles(DEFAULT)


def test_teacher_forced_outputs_agree_to_float32_precision(engines):
    from handwriting.writing.sampling import line_spec

    model, _, numpy_sampler, styles = engines
    lines = [styles[name] for name in sorted(styles)[:4]]  # real handwriting with its text
    spec = line_spec([s.text for s in lines], None, None)
    t = min(len(s.offsets) for s in lines)
    x = np.stack([np.concatenate([np.zeros((1, 3), np.float32), s.offsets[: t - 1]]) for s in lines])
    keras_out = model({"x": x, "chars": spec.chars, "char_mask": spec.char_mask}, return_attention=True)
    numpy_out, _ = numpy_sampler.network.run(x, numpy_sampler.network.bind(spec.chars, spec.char_mask))
    report = {}
    for name, atol in ATOL.items():
        report[name] = float(np.abs(np.asarray(keras_out[name]) - numpy_out[name]).max())
    print(f"max |keras - numpy| over {len(lines)} lines x {t} points: {report}")
    for name, atol in ATOL.items():
        assert report[name] < atol, (name, report[name])


def _tensorflow_draws(seed: int, batch: int, m: int):
    """The TensorFlow sampler's own random numbers, for the NumPy sampler's ``draws``."""
    import tensorflow as tf

    from handwriting.writing.sample import stateless_draws

    cache = {}

    def draws(t, rows):
        if t not in cache:
            cache[t] = [np.asarray(v) for v in stateless_draws(tf.constant(seed, tf.int64), tf.constant(t), batch, m)]
        return tuple(v[rows] for v in cache[t])

    return draws


@pytest.mark.parametrize("primed", [False, True])
def test_the_same_random_numbers_give_the_same_strokes(engines, primed):
    _, tf_sampler, numpy_sampler, styles = engines
    style = sorted(styles)[0] if primed else None
    texts = ["The quick brown fox jumps over a lazy cat", "Hmm... maybe.", 'She said: "yes".']
    prime = (styles[style].offsets, styles[style].text) if style else None
    m = numpy_sampler.config.mixture_components
    a = tf_sampler.sample(texts, bias=0.75, seed=11, prime=prime)
    b = numpy_sampler.sample(texts, bias=0.75, seed=11, prime=prime, draws=_tensorflow_draws(11, len(texts), m))
    assert max(len(o) for o in a.offsets) >= MIN_IDENTICAL_STEPS
    np.testing.assert_array_equal(a.hit_cap, b.hit_cap)
    np.testing.assert_array_equal(a.trimmed, b.trimmed)
    for text, oa, ob in zip(texts, a.offsets, b.offsets):
        assert oa.shape == ob.shape, text
        np.testing.assert_array_equal(oa[:, 2], ob[:, 2], err_msg=text)
        np.testing.assert_allclose(oa[:, :2], ob[:, :2], atol=1e-4, err_msg=text)
