"""Mixture density output (Graves eqs 18-26, 61-62) against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from handwriting.nn import mixture

M = 3


def _random_output(rng, shape):
    y = rng.normal(0.0, 0.7, size=shape + (1 + 6 * M,))
    return y


def test_point_nll_matches_scipy_and_bernoulli():
    rng = np.random.default_rng(0)
    y = _random_output(rng, (2, 4))
    target = np.concatenate([rng.normal(size=(2, 4, 2)), rng.integers(0, 2, size=(2, 4, 1))], -1)
    got = np.asarray(mixture.point_nll(mixture.split_params(y, M), target))
    p = mixture.mixture_params_numpy(y, M)
    for b in range(2):
        for t in range(4):
            density = 0.0
            for j in range(M):
                s1, s2, r = p["sigma1"][b, t, j], p["sigma2"][b, t, j], p["rho"][b, t, j]
                cov = [[s1 * s1, r * s1 * s2], [r * s1 * s2, s2 * s2]]
                density += p["pi"][b, t, j] * multivariate_normal.pdf(
                    target[b, t, :2], mean=[p["mu1"][b, t, j], p["mu2"][b, t, j]], cov=cov)
            e = p["e"][b, t]
            bern = e if target[b, t, 2] == 1 else 1 - e
            assert got[b, t] == pytest.approx(-np.log(density) - np.log(bern), rel=1e-9, abs=1e-9)


def test_sequence_nll_sums_over_real_points_only():
    rng = np.random.default_rng(1)
    y = _random_output(rng, (2, 5))
    target = np.concatenate([rng.normal(size=(2, 5, 2)), rng.integers(0, 2, size=(2, 5, 1))], -1)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=np.float64)
    per_point = np.asarray(mixture.point_nll(mixture.split_params(y, M), target))
    seq = np.asarray(mixture.sequence_nll(y, target, mask, M))
    np.testing.assert_allclose(seq, (per_point * mask).sum(-1), rtol=1e-12)
    # Whatever sits in the padded points does not matter.
    y2 = y.copy()
    y2[0, 3:] = 1e3
    np.testing.assert_allclose(np.asarray(mixture.sequence_nll(y2, target, mask, M))[0], seq[0], rtol=1e-12)


def test_sequence_nll_weights_each_real_point_by_its_mask():
    rng = np.random.default_rng(2)
    y = _random_output(rng, (2, 4))
    target = np.concatenate([rng.normal(size=(2, 4, 2)), rng.integers(0, 2, size=(2, 4, 1))], -1)
    weights = np.array([[1.0, 5.0, 1.0, 0.0], [0.5, 1.0, 3.0, 1.0]])
    per_point = np.asarray(mixture.point_nll(mixture.split_params(y, M), target))
    np.testing.assert_allclose(np.asarray(mixture.sequence_nll(y, target, weights, M)),
                               (per_point * weights).sum(-1), rtol=1e-12)


def test_split_params_order():
    y = np.arange(1 + 6 * M, dtype=np.float64)[None]
    p = mixture.split_params(y, M)
    assert p.e_hat[0] == 0
    np.testing.assert_array_equal(p.pi_hat[0], [1, 2, 3])
    np.testing.assert_array_equal(p.rho_hat[0], [16, 17, 18])


def test_bias_shrinks_spread_and_sharpens_weights():
    rng = np.random.default_rng(2)
    y = _random_output(rng, (4,))
    p0 = mixture.mixture_params_numpy(y, M, bias=0.0)
    p1 = mixture.mixture_params_numpy(y, M, bias=1.0)
    assert (p1["sigma1"] < p0["sigma1"]).all() and (p1["sigma2"] < p0["sigma2"]).all()
    assert (p1["pi"].max(-1) >= p0["pi"].max(-1)).all()


def test_sample_points_seeded_and_biased():
    rng = np.random.default_rng(3)
    y = np.repeat(_random_output(rng, (1,)), 2000, axis=0).astype(np.float32)
    params = mixture.split_params(y, M)
    a = np.asarray(mixture.sample_points(params, bias=0.0, seed=7))
    b = np.asarray(mixture.sample_points(params, bias=0.0, seed=7))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2000, 3) and set(np.unique(a[:, 2])) <= {0.0, 1.0}
    e = mixture.mixture_params_numpy(y[:1], M)["e"][0]
    assert abs(a[:, 2].mean() - e) < 0.05
    high = np.asarray(mixture.sample_points(params, bias=5.0, seed=7))
    assert high[:, :2].std(0).sum() < a[:, :2].std(0).sum()
