"""The biased mixture (Graves eqs 17-22, 61-62) as plain NumPy functions of the network's outputs.

:class:`~.numpy_engine.Workspace` draws from the reordered outputs of its own buffers; these
functions take outputs in the model's column order ``[e_hat, pi_hat (M), mu1 (M), mu2 (M),
log sigma1 (M), log sigma2 (M), rho_hat (M)]`` and are the reference its draw is tested against.

Shapes: B rows, M mixture components.
"""

from __future__ import annotations

import numpy as np

#: Correlations are clipped to ``[-RHO_LIMIT, RHO_LIMIT]`` (as ``nn.mixture.RHO_LIMIT``).
RHO_LIMIT = 1.0 - 1e-5
#: The smallest uniform number fed to the Gumbel-max draw (as the TensorFlow sampler's).
MIN_UNIFORM = 1e-20


def softplus(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``log(1 + exp(x))`` (float32 in, float32 out), into ``out`` when given."""
    return np.logaddexp(np.float32(0), x, out)


def gumbel_log(uniform: np.ndarray) -> np.ndarray:
    """``log(-log(max(u, MIN_UNIFORM)))``: minus the Gumbel noise of uniforms ``u`` (float32)."""
    return np.log(-np.log(np.maximum(uniform, np.float32(MIN_UNIFORM))))


def draw_points(y: np.ndarray, mixture_components: int, bias: float, uniform_pi: np.ndarray,
                normal: np.ndarray, uniform_pen: np.ndarray) -> np.ndarray:
    """One point per row from the biased mixture (eqs 17-22, 61-62), with given random numbers.

    The same draw as :meth:`~.numpy_engine.Workspace.draw`, from outputs in the model's column order.

    Args:
        y: ``[B, 1 + 6M]`` outputs.
        uniform_pi: ``[B, M]`` uniforms in ``(0, 1)`` for the Gumbel-max choice of a component
            (``argmax(pi_hat (1 + b) - log(-log u))`` is a draw from ``softmax(pi_hat (1 + b))``).
        normal: ``[B, 2]`` standard normals, correlated by ``rho`` (eq 22).
        uniform_pen: ``[B]`` uniforms; the pen lifts when ``u < sigmoid(e_hat)``.

    Returns:
        ``[B, 3]`` ``(dx, dy, pen_up)`` float32 in normalised units.
    """
    m = mixture_components
    rows = np.arange(y.shape[0])
    pi_hat = y[:, 1: 1 + m] * np.float32(1.0 + bias)
    component = np.argmax(pi_hat - gumbel_log(uniform_pi), axis=1)
    pick = lambda part: y[rows, 1 + part * m + component]  # noqa: E731
    mu1, mu2 = pick(1), pick(2)
    s1, s2 = np.exp(pick(3) - np.float32(bias)), np.exp(pick(4) - np.float32(bias))
    rho = np.clip(np.tanh(pick(5)), -RHO_LIMIT, RHO_LIMIT).astype(np.float32)
    dx = mu1 + s1 * normal[:, 0]
    dy = mu2 + s2 * (rho * normal[:, 0] + np.sqrt(np.float32(1.0) - rho * rho) * normal[:, 1])
    lift = uniform_pen < 1.0 / (1.0 + np.exp(-y[:, 0]))
    return np.stack([dx, dy, lift.astype(np.float32)], axis=1).astype(np.float32)


def mixture_params(y: np.ndarray, mixture_components: int, bias: float = 0.0) -> dict:
    """Constrained parameters of ``[..., 1 + 6M]`` outputs (eqs 18-22, bias of eqs 61-62), float64.

    Returns a dict with ``e`` (pen-up probability), ``pi``, ``mu1``, ``mu2``, ``sigma1``,
    ``sigma2`` and ``rho`` (as ``nn.mixture.mixture_params_numpy``, without importing Keras).
    """
    m = mixture_components
    y = np.asarray(y, np.float64)
    part = lambda i: y[..., 1 + i * m: 1 + (i + 1) * m]  # noqa: E731
    pi_hat = part(0) * (1.0 + bias)
    pi = np.exp(pi_hat - pi_hat.max(-1, keepdims=True))
    return {"e": 1.0 / (1.0 + np.exp(-y[..., 0])), "pi": pi / pi.sum(-1, keepdims=True), "mu1": part(1),
            "mu2": part(2), "sigma1": np.exp(part(3) - bias), "sigma2": np.exp(part(4) - bias),
            "rho": np.clip(np.tanh(part(5)), -RHO_LIMIT, RHO_LIMIT)}
