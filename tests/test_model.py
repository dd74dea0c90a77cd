"""The synthesis network: shared step function, loops, masks and gradients."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from handwriting.nn import mixture
from handwriting.nn.model import build_model


def _inputs(rng, batch=2, points=6, chars=3, dtype=np.float32):
    return {
        "x": rng.normal(size=(batch, points, 3)).astype(dtype),
        "chars": rng.integers(1, 20, (batch, chars)).astype(np.int32),
        "char_mask": np.ones((batch, chars), dtype),
    }


@pytest.mark.parametrize("loop", ["split", "fused"])
def test_step_unroll_equals_sequence_call(tiny_model_config, loop):
    cfg = dataclasses.replace(tiny_model_config, training_loop=loop)
    model = build_model(cfg, seed=0)
    inputs = _inputs(np.random.default_rng(0))
    inputs["char_mask"][1, 2] = 0
    out = model(inputs, return_attention=True, return_state=True)
    state = model.initial_state(2)
    onehot = model.one_hot_chars(inputs["chars"], inputs["char_mask"])
    ys, phis = [], []
    for t in range(inputs["x"].shape[1]):
        step_out, state = model.step(inputs["x"][:, t], onehot, inputs["char_mask"], state)
        ys.append(np.asarray(step_out["y"]))
        phis.append(np.asarray(step_out["phi"]))
    np.testing.assert_allclose(np.stack(ys, 1), np.asarray(out["y"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.stack(phis, 1), np.asarray(out["phi"]), rtol=1e-5, atol=1e-6)
    for a, b in zip(state["h"] + state["c"], out["state"]["h"] + out["state"]["c"]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_split_and_fused_share_weights(tiny_model_config):
    split = build_model(tiny_model_config, seed=0)
    fused = build_model(dataclasses.replace(tiny_model_config, training_loop="fused"), seed=1)
    fused.set_weights(split.get_weights())
    inputs = _inputs(np.random.default_rng(1))
    np.testing.assert_allclose(np.asarray(split(inputs)["y"]), np.asarray(fused(inputs)["y"]), rtol=1e-5, atol=1e-6)


def test_state_carries_across_calls(tiny_model_config):
    model = build_model(tiny_model_config, seed=0)
    inputs = _inputs(np.random.default_rng(2), points=8)
    full = np.asarray(model(inputs)["y"])
    first = model({**inputs, "x": inputs["x"][:, :5]}, return_state=True)
    second = model({**inputs, "x": inputs["x"][:, 5:]}, initial_state=first["state"])
    np.testing.assert_allclose(np.asarray(second["y"]), full[:, 5:], rtol=1e-5, atol=1e-6)


def test_padded_points_change_nothing(tiny_model_config):
    model = build_model(tiny_model_config, seed=0)
    rng = np.random.default_rng(3)
    inputs = _inputs(rng, points=5)
    target = rng.normal(size=(2, 5, 3)).astype(np.float32)
    target[..., 2] = rng.integers(0, 2, (2, 5))
    mask = np.ones((2, 5), np.float32)
    loss = np.asarray(mixture.sequence_nll(model(inputs)["y"], target, mask, 2))
    padded = {**inputs, "x": np.concatenate([inputs["x"], rng.normal(size=(2, 4, 3)).astype(np.float32)], 1)}
    target_p = np.concatenate([target, rng.normal(size=(2, 4, 3)).astype(np.float32)], 1)
    mask_p = np.concatenate([mask, np.zeros((2, 4), np.float32)], 1)
    y_p = model(padded)["y"]
    np.testing.assert_allclose(np.asarray(y_p)[:, :5], np.asarray(model(inputs)["y"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(mixture.sequence_nll(y_p, target_p, mask_p, 2)), loss, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["split", "fused"])
def test_gradients_match_finite_differences_float64(tiny_model_config, loop):
    import tensorflow as tf

    cfg = dataclasses.replace(tiny_model_config, lstm_units=4, training_loop=loop)
    model = build_model(cfg, dtype="float64", seed=0)
    rng = np.random.default_rng(4)
    inputs = _inputs(rng, batch=2, points=4, chars=3, dtype=np.float64)
    target = rng.normal(size=(2, 4, 3))
    target[..., 2] = rng.integers(0, 2, (2, 4))
    mask = np.array([[1, 1, 1, 1], [1, 1, 1, 0]], np.float64)

    def loss():
        return tf.reduce_sum(mixture.sequence_nll(model(inputs)["y"], target, mask, cfg.mixture_components))

    with tf.GradientTape() as tape:
        value = loss()
    variables = {v.path: v for v in model.trainable_variables}
    grads = dict(zip(variables, tape.gradient(value, list(variables.values()))))
    eps = 1e-6
    checked = 0
    for path in ["lstm1/lstm_cell/kernel", "window/window_params/kernel", "window/window_params/bias",
                 "lstm3/lstm_cell/recurrent_kernel", "mixture_output/kernel"]:
        var = variables[path]
        flat = np.asarray(var).reshape(-1)
        for i in rng.choice(flat.size, 3, replace=False):
            def at(delta):
                values = flat.copy()
                values[i] += delta
                var.assign(values.reshape(var.shape))
                return float(loss())
            numeric = (at(eps) - at(-eps)) / (2 * eps)
            at(0.0)
            analytic = np.asarray(grads[path]).reshape(-1)[i]
            assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-7), path
            checked += 1
    assert checked == 15


@pytest.mark.slow
def test_input_gradient_with_compute_gradient(tiny_model_config):
    import tensorflow as tf

    cfg = dataclasses.replace(tiny_model_config, lstm_units=4)
    model = build_model(cfg, dtype="float64", seed=0)
    rng = np.random.default_rng(5)
    inputs = _inputs(rng, batch=1, points=3, chars=2, dtype=np.float64)
    target = rng.normal(size=(1, 3, 3))

    def f(x):
        y = model({**inputs, "x": x})["y"]
        return mixture.sequence_nll(y, target, np.ones((1, 3)), cfg.mixture_components)

    analytic, numeric = tf.test.compute_gradient(f, [tf.constant(inputs["x"])], delta=1e-6)
    np.testing.assert_allclose(analytic[0], numeric[0], rtol=1e-5, atol=1e-7)


def test_auto_training_loop_is_fused_on_a_tensorflow_cpu():
    from handwriting.nn.model import resolved_training_loop

    assert resolved_training_loop("auto") == "fused"  # the tests run TensorFlow without a GPU
    assert resolved_training_loop("split") == "split" and resolved_training_loop("fused") == "fused"
