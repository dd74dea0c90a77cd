"""The attention window (Graves eqs 46-51): reference values and properties."""

from __future__ import annotations

import numpy as np
import pytest

from handwriting.nn.attention import GaussianWindow, window_phi
from handwriting.config import ModelConfig
from handwriting.nn.model import build_model


def test_window_phi_matches_loop():
    rng = np.random.default_rng(0)
    a, b, kappa = rng.uniform(0.1, 2, (2, 3)), rng.uniform(0.1, 2, (2, 3)), rng.uniform(0, 5, (2, 3))
    got = np.asarray(window_phi(a, b, kappa, np.arange(1, 6)))
    want = np.zeros((2, 5))
    for i in range(2):
        for u in range(1, 6):
            want[i, u - 1] = sum(a[i, k] * np.exp(-b[i, k] * (kappa[i, k] - u) ** 2) for k in range(3))
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("activation", ["exp", "softplus"])
def test_window_step_equations(activation):
    layer = GaussianWindow(2, activation, kappa_step_scale=0.5, dtype="float64")
    layer.build((None, 4))
    rng = np.random.default_rng(1)
    h1 = rng.normal(size=(3, 4))
    kappa_prev = rng.uniform(0, 2, (3, 2))
    chars = rng.integers(1, 6, (3, 4))
    onehot = np.eye(7)[chars]
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=np.float64)
    w, phi, kappa = (np.asarray(t) for t in layer(h1, kappa_prev, onehot, mask))
    kernel, bias = (np.asarray(v) for v in layer.params.weights)
    p = h1 @ kernel + bias
    act = np.exp(p) if activation == "exp" else np.log1p(np.exp(p))
    a, b, k = act[:, :2], act[:, 2:4], act[:, 4:]
    np.testing.assert_allclose(kappa, kappa_prev + 0.5 * k, rtol=1e-12)
    want_phi = np.asarray(window_phi(a, b, kappa, np.arange(1, 5))) * mask
    np.testing.assert_allclose(phi, want_phi, rtol=1e-12)
    np.testing.assert_allclose(w, np.einsum("bu,buv->bv", want_phi, onehot), rtol=1e-12)


def _inputs(rng, batch, points, chars):
    return {
        "x": rng.normal(size=(batch, points, 3)).astype(np.float32),
        "chars": rng.integers(1, 20, (batch, chars)).astype(np.int32),
        "char_mask": np.ones((batch, chars), np.float32),
    }


@pytest.mark.parametrize("activation", ["exp", "softplus"])
def test_kappa_never_decreases(activation):
    cfg = ModelConfig(lstm_units=8, window_components=2, mixture_components=2, window_activation=activation)
    model = build_model(cfg, seed=0)
    out = model(_inputs(np.random.default_rng(2), 2, 12, 4), return_attention=True)
    kappa = np.asarray(out["kappa"])
    assert (np.diff(kappa, axis=1) >= 0).all()
    assert (kappa[:, 0] > 0).all()


def test_padded_characters_change_nothing(tiny_model_config):
    model = build_model(tiny_model_config, seed=0)
    rng = np.random.default_rng(3)
    inputs = _inputs(rng, 2, 7, 3)
    out = model(inputs, return_attention=True)
    padded = dict(inputs)
    padded["chars"] = np.concatenate([inputs["chars"], rng.integers(0, 20, (2, 4)).astype(np.int32)], 1)
    padded["char_mask"] = np.concatenate([inputs["char_mask"], np.zeros((2, 4), np.float32)], 1)
    out_padded = model(padded, return_attention=True)
    np.testing.assert_allclose(np.asarray(out_padded["y"]), np.asarray(out["y"]), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(out_padded["phi"])[:, :, 3:], 0.0)
