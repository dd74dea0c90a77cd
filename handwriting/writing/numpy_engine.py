"""The synthesis network's step in plain NumPy (float32): the writing engine without TensorFlow.

The same maths as :meth:`handwriting.nn.model.SynthesisModel.step`, on the same weights
(:mod:`.weights`), held to it by ``tests/test_numpy_engine.py`` (teacher-forced outputs agree to
float32 precision, sampled strokes are identical for the same random draws). Per point ``t``:

* layer 1 (Graves eqs 7-11, Keras gate order i, f, c, o): ``h1_t = LSTM1([x_t, w_{t-1}], h1_{t-1})``;
* window (eqs 46-51): ``(a, b, k) = act(W h1_t + b)``, ``kappa_t = kappa_{t-1} + s k``,
  ``phi(t, u) = sum_k a_k exp(-b_k (kappa_k - u)^2)``, ``w_t = sum_u phi(t, u) c_u``;
* layers n > 1 (eqs 52-53): ``hn_t = LSTMn([x_t, w_t, h(n-1)_t], hn_{t-1})``;
* output (eqs 17-22): ``y_t = W [h1_t, ..., hN_t] + b``, ``1 + 6M`` numbers.

Two rewrites make a step cheap: ``sigmoid(z) = (1 + tanh(z / 2)) / 2``, so each LSTM layer
needs one ``tanh`` over its four gates (the i, f, o columns of its weights are halved once,
which is exact in binary floating point); and each layer's input and recurrent kernels are
stacked, so a layer is one matrix product of ``[x, w, (h below,) h_{t-1}]``. The window's value
just past each line's end (Graves' stop rule) is computed with the window itself.

Sampling (eqs 61-62 bias, then one draw of the mixture) is :func:`draw_points`, fed explicit
uniform and normal numbers so that both engines can be compared draw for draw.

Shapes: B lines, U characters, V alphabet size, K window components, M mixture components,
H LSTM units, N layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import ModelConfig
from .weights import LSTM_VARIABLES, OUTPUT_LAYER, WINDOW_LAYER, lstm_name

INPUT_SIZE = 3  # (dx, dy, pen_up)
#: Correlations are clipped to ``[-RHO_LIMIT, RHO_LIMIT]`` (as ``nn.mixture.RHO_LIMIT``).
RHO_LIMIT = 1.0 - 1e-5
#: The smallest uniform number fed to the Gumbel-max draw (as the TensorFlow sampler's).
MIN_UNIFORM = 1e-20


@dataclass
class NumpyState:
    """The recurrent state: ``h``, ``c`` ``[N x [B, H]]``, ``kappa`` ``[B, K]``, ``w`` ``[B, V]``."""

    h: list[np.ndarray]
    c: list[np.ndarray]
    kappa: np.ndarray
    w: np.ndarray

    def take(self, rows: np.ndarray) -> "NumpyState":
        return NumpyState([h[rows] for h in self.h], [c[rows] for c in self.c], self.kappa[rows], self.w[rows])


@dataclass
class BoundChars:
    """A batch's characters prepared for the step (:meth:`NumpyNetwork.bind`).

    Attributes:
        onehot: ``[B, U, V]`` one-hot characters, padding rows zero.
        mask: ``[B, U]``.
        positions: ``[B, U + 1]`` positions ``1..U`` and, last, each line's end ``U_i + 1``
            (for Graves' stop rule, computed with the window at no extra cost).
    """

    onehot: np.ndarray
    mask: np.ndarray
    positions: np.ndarray

    def take(self, rows: np.ndarray) -> "BoundChars":
        return BoundChars(self.onehot[rows], self.mask[rows], self.positions[rows])


class NumpyNetwork:
    """The trained network in NumPy (see the module docstring)."""

    def __init__(self, config: ModelConfig, arrays: dict[str, np.ndarray]):
        self.config = config
        h = config.lstm_units
        self.act = np.exp if config.window_activation == "exp" else _softplus
        half = np.ones(4 * h, np.float32)
        half[: 2 * h] = half[3 * h:] = 0.5  # i, f and o are sigmoids: tanh of half the input
        self.kernels, self.biases = [], []
        for n in range(config.lstm_layers):
            kernel, recurrent, bias = (arrays[f"{lstm_name(n)}/{name}"] for name in LSTM_VARIABLES)
            # One product per layer: [x, w, (h of the layer below,) own h_{t-1}] @ [kernel; recurrent].
            self.kernels.append(np.ascontiguousarray(np.concatenate([kernel, recurrent]) * half))
            self.biases.append(bias * half)
        self.window_kernel = arrays[f"{WINDOW_LAYER}/kernel"]
        self.window_bias = arrays[f"{WINDOW_LAYER}/bias"]
        self.output_kernel = arrays[f"{OUTPUT_LAYER}/kernel"]
        self.output_bias = arrays[f"{OUTPUT_LAYER}/bias"]

    # ------------------------------------------------------------------ batch set-up

    def bind(self, chars: np.ndarray, char_mask: np.ndarray) -> BoundChars:
        """Prepare ``[B, U]`` ids and mask for :meth:`step`."""
        v = self.config.vocabulary_size
        mask = np.asarray(char_mask, np.float32)
        onehot = (np.arange(v)[None, None, :] == np.asarray(chars)[..., None]).astype(np.float32) * mask[..., None]
        batch, u = mask.shape
        positions = np.empty((batch, u + 1), np.float32)
        positions[:, :u] = np.arange(1, u + 1)
        positions[:, u] = mask.sum(axis=1) + 1
        return BoundChars(onehot, mask, positions)

    def initial_state(self, batch: int) -> NumpyState:
        """Zeros everywhere: ``kappa_0 = 0``, ``w_0 = 0``."""
        cfg = self.config
        zeros = lambda n: np.zeros((batch, n), np.float32)  # noqa: E731
        return NumpyState([zeros(cfg.lstm_units) for _ in range(cfg.lstm_layers)],
                          [zeros(cfg.lstm_units) for _ in range(cfg.lstm_layers)],
                          zeros(cfg.window_components), zeros(cfg.vocabulary_size))

    # ------------------------------------------------------------------ the window (eqs 46-51)

    def window_parameters(self, h1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(a, b, kappa_step)`` each ``[B, K]`` of ``h1`` ``[B, H]`` (eqs 48-51)."""
        k = self.config.window_components
        p = self.act(h1 @ self.window_kernel + self.window_bias)
        return p[:, :k], p[:, k: 2 * k], self.config.kappa_step_scale * p[:, 2 * k:]

    def read(self, a: np.ndarray, b: np.ndarray, kappa: np.ndarray,
             bound: BoundChars) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Eqs 46-47: ``(w [B, V], phi [B, U], phi_end [B])``, ``phi_end`` at each line's ``U_i + 1``."""
        full = window_phi(a, b, kappa, bound.positions)
        phi = full[:, :-1] * bound.mask
        return np.matmul(phi[:, None, :], bound.onehot)[:, 0], phi, full[:, -1]

    # ------------------------------------------------------------------ one step

    def step(self, x: np.ndarray, bound: BoundChars, state: NumpyState) -> tuple[dict, NumpyState]:
        """One point of the network, all layers.

        Args:
            x: ``[B, 3]`` the input point (the previous offset, normalised).
            bound: from :meth:`bind`.
            state: from :meth:`initial_state` or a previous step.

        Returns:
            ``(outputs, new_state)``: outputs ``y`` ``[B, 1 + 6M]``, ``phi`` ``[B, U]``,
            ``phi_end`` ``[B]`` (the window at each line's ``U + 1``), ``kappa``, ``a``, ``b`` ``[B, K]``.
        """
        hsize = self.config.lstm_units
        hs, cs = [], []
        w = state.w
        out = {}
        for n in range(self.config.lstm_layers):
            inputs = np.concatenate([x, w] + hs[-1:] + [state.h[n]], axis=1)
            h, c = _lstm_gates(inputs @ self.kernels[n] + self.biases[n], state.c[n], hsize)
            hs.append(h)
            cs.append(c)
            if n == 0:
                a, b, step = self.window_parameters(h)
                kappa = state.kappa + step
                w, phi, phi_end = self.read(a, b, kappa, bound)
                out.update(phi=phi, phi_end=phi_end, kappa=kappa, a=a, b=b)
        out["y"] = np.concatenate(hs, axis=1) @ self.output_kernel + self.output_bias
        return out, NumpyState(hs, cs, out["kappa"], w)

    def run(self, x: np.ndarray, bound: BoundChars, state: NumpyState | None = None) -> tuple[dict, NumpyState]:
        """Teacher-forced over ``[B, T, 3]`` inputs; outputs stacked ``[B, T, ...]``."""
        state = state or self.initial_state(x.shape[0])
        outs = []
        for t in range(x.shape[1]):
            out, state = self.step(x[:, t], bound, state)
            outs.append(out)
        return {k: np.stack([o[k] for o in outs], axis=1) for k in outs[0]}, state


def _lstm_gates(z: np.ndarray, c: np.ndarray, hsize: int) -> tuple[np.ndarray, np.ndarray]:
    """Keras' LSTM cell from pre-activations whose i, f, o parts are already halved."""
    t = np.tanh(z)
    g = t[:, 2 * hsize: 3 * hsize].copy()
    t *= 0.5
    t += 0.5  # i, f, (c), o: sigmoids of the unhalved pre-activations
    c = t[:, hsize: 2 * hsize] * c + t[:, :hsize] * g
    return t[:, 3 * hsize:] * np.tanh(c), c


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(np.float32(0), x)


def window_phi(a: np.ndarray, b: np.ndarray, kappa: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Eq 46: ``phi[B, U] = sum_k a_k exp(-b_k (kappa_k - u)^2)`` for positions ``[U]`` or ``[B, U]``."""
    u = positions if positions.ndim == 2 else positions[None]
    d = kappa[:, None, :] - u[:, :, None]  # [B, U, K]
    return np.einsum("buk,bk->bu", np.exp(-b[:, None, :] * (d * d)), a)


def draw_points(y: np.ndarray, mixture_components: int, bias: float, uniform_pi: np.ndarray,
                normal: np.ndarray, uniform_pen: np.ndarray) -> np.ndarray:
    """One point per row from the biased mixture (eqs 17-22, 61-62), with given random numbers.

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
    component = np.argmax(pi_hat - np.log(-np.log(np.maximum(uniform_pi, np.float32(MIN_UNIFORM)))), axis=1)
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
