"""Mixture density output: parameters (eqs 18-22), loss (eqs 23-26) and sampling with bias (eqs 61-62).

The output layer gives ``1 + 6M`` numbers per point, in this order along the last axis:

====================  ======  ==============================================================
slice                 size    meaning
====================  ======  ==============================================================
``e_hat``             1       pen-up logit: ``e = sigmoid(e_hat)`` is P(pen lifts after x)
``pi_hat``            M       mixture logits: ``pi = softmax(pi_hat)`` (eq 19)
``mu1``, ``mu2``      M, M    means of dx and dy (eq 20)
``log_sigma1/2``      M, M    log standard deviations: ``sigma = exp(.)`` (eq 21)
``rho_hat``           M       correlations: ``rho = tanh(rho_hat)`` (eq 22)
====================  ======  ==============================================================

Graves' eq 18 writes ``e = 1 / (1 + exp(e_hat))``; ``sigmoid(e_hat)`` is the same family with
the sign of ``e_hat`` flipped and is what this package uses. Functions here are written with
``keras.ops`` and run on any Keras backend.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from keras import ops

#: Correlations are clipped to ``[-RHO_LIMIT, RHO_LIMIT]`` so ``1 - rho^2`` never reaches 0.
RHO_LIMIT = 1.0 - 1e-5
LOG_2PI = math.log(2.0 * math.pi)


class MixtureParams(NamedTuple):
    """Unconstrained mixture parameters; every field is ``[..., M]`` except ``e_hat`` ``[...]``."""

    e_hat: object
    pi_hat: object
    mu1: object
    mu2: object
    log_sigma1: object
    log_sigma2: object
    rho_hat: object


def split_params(y, mixture_components: int) -> MixtureParams:
    """Split the output layer's ``[..., 1 + 6M]`` into :class:`MixtureParams` (eqs 17-22)."""
    m = mixture_components
    parts = [y[..., 0]] + [y[..., 1 + i * m: 1 + (i + 1) * m] for i in range(6)]
    return MixtureParams(*parts)


def correlation(rho_hat):
    """Eq 22: ``rho = tanh(rho_hat)``, clipped to ``±RHO_LIMIT``."""
    return ops.clip(ops.tanh(rho_hat), -RHO_LIMIT, RHO_LIMIT)


def bivariate_log_density(x1, x2, mu1, mu2, log_sigma1, log_sigma2, rho):
    """Log of the bivariate normal density, eqs 24-25; ``x1, x2`` broadcast against ``[..., M]``."""
    z1 = (x1 - mu1) * ops.exp(-log_sigma1)
    z2 = (x2 - mu2) * ops.exp(-log_sigma2)
    one_minus_rho2 = 1.0 - ops.square(rho)
    z = ops.square(z1) + ops.square(z2) - 2.0 * rho * z1 * z2
    return -LOG_2PI - log_sigma1 - log_sigma2 - 0.5 * ops.log(one_minus_rho2) - z / (2.0 * one_minus_rho2)


def point_nll(params: MixtureParams, target):
    """Negative log-likelihood of each target point, eq 26 before the sum over time.

    Args:
        params: mixture parameters, fields ``[B, T, M]`` (``e_hat`` ``[B, T]``).
        target: ``[B, T, 3]`` the true ``(dx, dy, pen_up)`` (divided by the dataset scale).

    Returns:
        ``[B, T]`` nats: ``-log sum_j pi_j N(x | mu_j, sigma_j, rho_j) - log Bernoulli(pen_up | e)``.
    """
    x1 = ops.expand_dims(target[..., 0], -1)
    x2 = ops.expand_dims(target[..., 1], -1)
    pen = target[..., 2]
    log_pi = ops.log_softmax(params.pi_hat, axis=-1)
    log_n = bivariate_log_density(
        x1, x2, params.mu1, params.mu2, params.log_sigma1, params.log_sigma2, correlation(params.rho_hat)
    )
    mixture_nll = -ops.logsumexp(log_pi + log_n, axis=-1)
    # Bernoulli term: -[pen log e + (1 - pen) log(1 - e)], e = sigmoid(e_hat), computed stably.
    bernoulli_nll = ops.softplus(params.e_hat) - pen * params.e_hat
    return mixture_nll + bernoulli_nll


def sequence_nll(y, target, point_mask, mixture_components: int):
    """Eq 26 masked: per-sequence NLL ``[B]`` (nats per line), padded points excluded.

    Args:
        y: ``[B, T, 1 + 6M]`` raw output layer.
        target: ``[B, T, 3]``.
        point_mask: ``[B, T]`` 1 for real points, 0 for padding; or a weight per point (> 0 for
            real points), which multiplies that point's NLL.
    """
    nll = point_nll(split_params(y, mixture_components), target)
    mask = ops.cast(point_mask, nll.dtype)
    # where(), so a non-finite value at a padded point cannot leak into the sum through 0 * inf.
    return ops.sum(ops.where(mask > 0, nll * mask, ops.zeros_like(nll)), axis=-1)


# ------------------------------------------------------------------ sampling (eqs 61-62)


def biased_params(params: MixtureParams, bias: float = 0.0) -> MixtureParams:
    """Apply Graves' sampling bias b (eqs 61-62).

    ``sigma = exp(log_sigma - b)`` and ``pi = softmax(pi_hat (1 + b))``: b = 0 is the trained
    distribution; larger b gives neater, less varied writing.
    """
    return params._replace(
        pi_hat=params.pi_hat * (1.0 + bias),
        log_sigma1=params.log_sigma1 - bias,
        log_sigma2=params.log_sigma2 - bias,
    )


def sample_points(params: MixtureParams, bias: float = 0.0, seed=None):
    """Draw one point per row from the (biased) mixture.

    Args:
        params: fields ``[B, M]`` (``e_hat`` ``[B]``), e.g. ``split_params`` of one step's output.
        bias: the sampling bias b of eqs 61-62.
        seed: a ``keras.random.SeedGenerator`` or int, for reproducible draws.

    Returns:
        ``[B, 3]`` ``(dx, dy, pen_up)`` in scaled units (multiply by the dataset scale).
    """
    import keras

    p = biased_params(params, bias)
    dtype = p.mu1.dtype
    # An int seed must not give the three draws the same random stream; a SeedGenerator advances.
    seeds = (seed, seed + 1, seed + 2) if isinstance(seed, int) else (seed, seed, seed)
    component = keras.random.categorical(p.pi_hat, 1, seed=seeds[0])[:, 0]  # [B]
    onehot = ops.one_hot(component, ops.shape(p.mu1)[-1], dtype=dtype)

    def pick(v):
        return ops.sum(v * onehot, axis=-1)

    mu1, mu2 = pick(p.mu1), pick(p.mu2)
    s1, s2 = ops.exp(pick(p.log_sigma1)), ops.exp(pick(p.log_sigma2))
    rho = pick(correlation(p.rho_hat))
    normal = keras.random.normal(ops.shape(mu1)[:1] + (2,), dtype=dtype, seed=seeds[1])
    dx = mu1 + s1 * normal[:, 0]
    dy = mu2 + s2 * (rho * normal[:, 0] + ops.sqrt(1.0 - ops.square(rho)) * normal[:, 1])
    e = ops.sigmoid(p.e_hat)
    pen = ops.cast(keras.random.uniform(ops.shape(e), dtype=dtype, seed=seeds[2]) < e, dtype)
    return ops.stack([dx, dy, pen], axis=-1)


def mixture_params_numpy(y: np.ndarray, mixture_components: int, bias: float = 0.0) -> dict:
    """Constrained parameters of ``[..., 1 + 6M]`` outputs in numpy (for plots and tests).

    Returns a dict with ``e`` (pen-up probability), ``pi``, ``mu1``, ``mu2``, ``sigma1``,
    ``sigma2`` and ``rho``, the bias of eqs 61-62 applied.
    """
    p = split_params(np.asarray(y, dtype=np.float64), mixture_components)
    pi_hat = p.pi_hat * (1.0 + bias)
    pi = np.exp(pi_hat - pi_hat.max(-1, keepdims=True))
    pi /= pi.sum(-1, keepdims=True)
    return {
        "e": 1.0 / (1.0 + np.exp(-p.e_hat)),
        "pi": pi,
        "mu1": p.mu1,
        "mu2": p.mu2,
        "sigma1": np.exp(p.log_sigma1 - bias),
        "sigma2": np.exp(p.log_sigma2 - bias),
        "rho": np.clip(np.tanh(p.rho_hat), -RHO_LIMIT, RHO_LIMIT),
    }
