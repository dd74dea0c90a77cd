"""The synthesis network's step in plain NumPy (float32): the writing engine without TensorFlow.

The same maths as :meth:`handwriting.nn.model.SynthesisModel.step`, on the same weights
(:mod:`.weights`), held to it by ``tests/test_numpy_engine.py`` and
``tests/test_engine_equivalence.py`` (teacher-forced outputs agree to float32 precision, sampled
strokes are identical for the same random draws). Per point ``t``:

* layer 1 (Graves eqs 7-11, Keras gate order i, f, c, o): ``h1_t = LSTM1([x_t, w_{t-1}], h1_{t-1})``;
* window (eqs 46-51): ``(a, b, k) = act(W h1_t + b)``, ``kappa_t = kappa_{t-1} + s k``,
  ``phi(t, u) = sum_k a_k exp(-b_k (kappa_k - u)^2)``, ``w_t = sum_u phi(t, u) c_u``;
* layers n > 1 (eqs 52-53): ``hn_t = LSTMn([x_t, w_t, h(n-1)_t], hn_{t-1})``;
* output (eqs 17-22): ``y_t = W [h1_t, ..., hN_t] + b``, ``1 + 6M`` numbers.

A step is about 35 NumPy calls writing into buffers made once per batch (a :class:`Workspace`); a
call costs about as much as its arithmetic for the 3 x 128 network, so the layout needs few:

* One row per line holds ``[h1, 1, x, w, h2, ..., hN]``. Every product reads a contiguous slice
  of it: layer 1 ``[h1, 1, x, w]``, layer 2 ``[h1, 1, x, w, h2]``, layer 3 ``[1, x, w, h2, h3]``,
  the window ``[h1, 1]``, the output layer the whole row. The weights are stacked to match
  (input and recurrent kernels, the bias as the row of the constant 1, zero rows for what a
  layer does not read), so a layer is one matrix product, bias included, and the new ``h`` and
  ``w`` are written where the next product reads them: no concatenation.
* Sigmoid gates (:data:`GATE_FORMS`): ``(1 + tanh(z / 2)) / 2`` for a few lines (one ``tanh``
  over a layer's four gates), ``1 / (1 + exp(-z))`` for many. A layer's gates sit beside its
  cell state, ``[c, g, f, i, o]``, so ``f c`` and ``i g`` are one product.
* The kappa step's scale (eq 51) is folded into the window's bias (``s exp(z) = exp(z + log s)``)
  and the sampling bias (eqs 61-62) into the output weights (:meth:`NumpyNetwork.biased_output_kernel`).
* For many lines, ``w`` (eq 47) is a histogram of ``phi`` over each line's character ids
  (``numpy.bincount``) instead of a product with one-hot rows.
* The window is read at each line's positions ``1..U``, then at its last character and just
  past its end (Graves' stop rule, ``phi(t, U + 1)``): one set of operations gives all three.
  Padding characters sit at :data:`FAR`, where ``phi`` is exactly 0.
* The output layer's columns are reordered, a component's five numbers adjacent
  (:data:`COMPONENT_PARTS`), the pen-up column negated: a draw needs one index, ``sigmoid`` no negation.
* A call's fixed cost is kept low: outputs passed by position, constants as arrays of the
  operand's shape. One line's products are ``numpy.dot`` without ``__array_function__`` dispatch,
  and eq 46's two broadcasts small exact products (:meth:`Workspace._single_views`); two or three
  lines take one vector product each (:data:`ROW_PRODUCTS_MAX`).

Sampling (eqs 61-62 bias, one draw of the mixture) is :meth:`Workspace.draw`, fed explicit random
numbers so that both engines can be compared draw for draw (:func:`~.numpy_mixture.draw_points`: the
same as a plain function of ``y``); one line is drawn in Python floats (:meth:`Workspace.draw_one`).

Shapes: B lines, U characters, V alphabet size, K window components, M mixture components,
H LSTM units, N layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import ModelConfig
# draw_points, gumbel_log, mixture_params and MIN_UNIFORM are also importable from here, as they were.
from .numpy_mixture import MIN_UNIFORM, RHO_LIMIT, draw_points, gumbel_log, mixture_params, softplus  # noqa: F401
from .weights import LSTM_VARIABLES, OUTPUT_LAYER, WINDOW_LAYER, lstm_name

INPUT_SIZE = 3  # (dx, dy, pen_up)
#: The position of padding characters (and of a line's end where it has none): ``exp(-b (kappa -
#: FAR)^2)`` is exactly 0 in float32 for any ``b`` from ``1e-16`` to ``1e20`` (no overflow), as
#: multiplying by the mask gave.
FAR = 1e9
#: A mixture component's numbers, adjacent in the reordered output: mu1, mu2, log sigma1,
#: log sigma2, rho before tanh (eqs 18-22).
COMPONENT_PARTS = 5
_F32 = np.float32
_ONE = _F32(1.0)
_RHO_LIMIT32, _MAX_EXP = float(_F32(RHO_LIMIT)), 700.0
#: How a layer's sigmoid gates (f, i, o) are computed, by the factor their weights are stored
#: times: ``"tanh"``, ``sigmoid(z) = (1 + tanh(z / 2)) / 2`` with one ``tanh`` over all four gates
#: (fewer operations: small batches); ``"exp"``, ``sigmoid(z) = 1 / (1 + exp(-z))`` (``exp`` is
#: cheaper than ``tanh`` per number: large batches). Both factors are exact in binary floating point.
GATE_FORMS = {"tanh": 0.5, "exp": -1.0}
#: ``numpy.dot`` without its ``__array_function__`` dispatch (a third of a small product's cost);
#: only ``numpy.ndarray`` arguments are passed to it.
_dot = getattr(np.dot, "__wrapped__", np.dot)
#: Batches of at least this many lines use the ``"exp"`` gates and the histogram form of eq 47.
LARGE_BATCH = 8
#: Batches of at most this many lines take one vector product per line (OpenBLAS' matrix product
#: of 2 or 3 rows by a layer's weights took 2-2.5x as long); from 4 lines, one matrix product.
ROW_PRODUCTS_MAX = 3
MAX_BIASED_KERNELS = 4  # output weights kept with a sampling bias applied, for as many biases
#: Graves' stop test is skipped for a single line while phi at its end is 0 or below this fraction
#: of phi on its last character (necessary conditions, the second with a margin for rounding).
END_MARGIN = 0.999


def _row_products(inputs: np.ndarray, kernel: np.ndarray, out: np.ndarray) -> None:
    """``out = inputs @ kernel`` as one vector product per row (each row of ``out`` contiguous)."""
    for i in range(len(inputs)):
        _dot(inputs[i], kernel, out[i])


@dataclass
class NumpyState:
    """The recurrent state: ``h``, ``c`` ``[N x [B, H]]``, ``kappa`` ``[B, K]``, ``w`` ``[B, V]``."""

    h: list[np.ndarray]
    c: list[np.ndarray]
    kappa: np.ndarray
    w: np.ndarray


@dataclass
class BoundChars:
    """A batch's characters prepared for the step (:meth:`NumpyNetwork.bind`).

    Attributes:
        ids: ``[B, U]`` character ids, 0 on padding.
        mask: ``[B, U]``.
        positions: ``[B, U + 2]``: positions ``1..U`` (:data:`FAR` on padding), then each line's
            last character ``U_i`` and its end ``U_i + 1`` (:data:`FAR` for a line without text).
        vocabulary_size: V.
    """

    ids: np.ndarray
    mask: np.ndarray
    positions: np.ndarray
    vocabulary_size: int

    @property
    def onehot(self) -> np.ndarray:
        """``[B, U, V]`` one-hot characters, padding rows zero."""
        v = self.vocabulary_size
        return (np.arange(v)[None, None, :] == self.ids[..., None]).astype(np.float32) * self.mask[..., None]

    def take(self, rows: np.ndarray) -> "BoundChars":
        return BoundChars(self.ids[rows], self.mask[rows], self.positions[rows], self.vocabulary_size)


class NumpyNetwork:
    """The trained network in NumPy, its weights stacked for :class:`Workspace` (module docstring)."""

    def __init__(self, config: ModelConfig, arrays: dict[str, np.ndarray]):
        self.config = config
        h, v, n_layers = config.lstm_units, config.vocabulary_size, config.lstm_layers
        self.act = np.exp if config.window_activation == "exp" else softplus
        # Columns of a workspace row: [h1, 1, x, w, h2, ..., hN].
        w0 = h + 1 + INPUT_SIZE
        self.one, self.x_cols, self.w_cols = h, (h + 1, w0), (w0, w0 + v)
        self.h_cols = [(0, h)] + [(self.w_cols[1] + (n - 1) * h, self.w_cols[1] + n * h) for n in range(1, n_layers)]
        self.width = self.h_cols[-1][1] if n_layers > 1 else self.w_cols[1]
        self.kernels = {form: self._lstm_kernels(arrays, scale) for form, scale in GATE_FORMS.items()}
        window_bias = arrays[f"{WINDOW_LAYER}/bias"].astype(np.float32)
        # exp(z + log s) = s exp(z): the kappa step's scale s (eq 51) folded into its bias.
        self.scaled_kappa_step = config.window_activation == "exp" and config.kappa_step_scale != 1.0
        if self.scaled_kappa_step:
            k = config.window_components
            window_bias = window_bias.copy()
            window_bias[2 * k:] += np.float32(np.log(config.kappa_step_scale))
        # The scale applied after the activation where it is not folded (softplus), else None.
        self.kappa_scale = None if self.scaled_kappa_step or config.kappa_step_scale == 1.0 else \
            _F32(config.kappa_step_scale)
        self.window_kernel = self._stack([(0, arrays[f"{WINDOW_LAYER}/kernel"]), (self.one, window_bias[None])],
                                         0, h + 1)
        m = config.mixture_components
        # Output columns [-e, pi (M), then per component mu1, mu2, log s1, log s2, rho]; y[:, perm].
        self.output_order = np.concatenate([np.arange(1 + m), (1 + m + m * np.arange(COMPONENT_PARTS)[None, :]
                                                              + np.arange(m)[:, None]).ravel()])
        sign = np.ones(1 + 6 * m, np.float32)
        sign[0] = -1.0
        out_kernel, out_bias = arrays[f"{OUTPUT_LAYER}/kernel"], arrays[f"{OUTPUT_LAYER}/bias"]
        self.output_kernel = self._stack([(self.one, out_bias[None])] + [
            (self.h_cols[n][0], out_kernel[n * h: (n + 1) * h]) for n in range(n_layers)], 0, self.width)
        self.output_kernel = np.ascontiguousarray(self.output_kernel[:, self.output_order] * sign)
        self._biased: dict[float, np.ndarray] = {}

    def _lstm_kernels(self, arrays: dict[str, np.ndarray], scale: float) -> list[np.ndarray]:
        """Each layer's stacked weights, gates ``[g, f, i, o]`` (Keras: i, f, c, o), the f, i, o
        columns times ``scale`` (see :data:`GATE_FORMS`); sets ``self.slices``, the columns each reads."""
        h, v = self.config.lstm_units, self.config.vocabulary_size
        order = np.concatenate([np.arange(2 * h, 3 * h), np.arange(h, 2 * h), np.arange(h), np.arange(3 * h, 4 * h)])
        factor = np.full(4 * h, scale, np.float32)
        factor[:h] = 1.0
        kernels, self.slices = [], []
        for n in range(self.config.lstm_layers):
            kernel, recurrent, bias = (arrays[f"{lstm_name(n)}/{name}"][..., order] * factor for name in LSTM_VARIABLES)
            parts = [(self.one, bias[None]), (self.x_cols[0], kernel[:INPUT_SIZE]),
                     (self.w_cols[0], kernel[INPUT_SIZE: INPUT_SIZE + v]), (self.h_cols[n][0], recurrent)]
            if n > 0:
                parts.append((self.h_cols[n - 1][0], kernel[INPUT_SIZE + v:]))
            first = min(start for start, _ in parts)
            self.slices.append((first, self.h_cols[n][1] if n > 0 else self.w_cols[1]))
            kernels.append(self._stack(parts, first, self.slices[-1][1]))
        return kernels

    def biased_output_kernel(self, bias: float) -> np.ndarray:
        """The output weights with the sampling bias applied (eqs 61-62): ``pi_hat (1 + b)`` and
        ``log sigma - b`` come out of the product (a few stored, by bias)."""
        if bias not in self._biased:
            m = self.config.mixture_components
            kernel = self.output_kernel.copy()  # pi_hat columns, then log sigma's bias row
            kernel[:, 1: 1 + m] *= np.float32(1.0 + bias)
            kernel[self.one, 1 + m:].reshape(m, COMPONENT_PARTS)[:, 2:4] -= np.float32(bias)
            if len(self._biased) >= MAX_BIASED_KERNELS:
                self._biased.pop(next(iter(self._biased)))
            self._biased[bias] = kernel
        return self._biased[bias]

    @staticmethod
    def _stack(parts: list[tuple[int, np.ndarray]], first: int, last: int) -> np.ndarray:
        """Weights for the workspace columns ``[first, last)``: each part's rows from its column, zeros elsewhere."""
        stacked = np.zeros((last - first, parts[0][1].shape[1]), np.float32)
        for start, rows in parts:
            stacked[start - first: start - first + len(rows)] = rows
        return stacked

    def original_outputs(self, y: np.ndarray) -> np.ndarray:
        """``y`` ``[..., 1 + 6M]`` in the workspace's column order back in the model's (eqs 17-22)."""
        out = np.empty_like(y)
        out[..., self.output_order] = y
        out[..., 0] *= -1.0
        return out

    # ------------------------------------------------------------------ batch set-up

    def bind(self, chars: np.ndarray, char_mask: np.ndarray, trim: bool = False) -> BoundChars:
        """Prepare ``[B, U]`` ids and mask for :meth:`step`; ``trim``: drop the padding columns that
        no line needs (``phi`` then has as many columns as the longest line has characters)."""
        mask = np.asarray(char_mask, np.float32)
        ids = np.where(mask > 0, np.asarray(chars), 0).astype(np.int64)
        if trim:
            u = max(int(mask.sum(axis=1).max()), 1)
            mask, ids = np.ascontiguousarray(mask[:, :u]), np.ascontiguousarray(ids[:, :u])
        batch, u = mask.shape
        lengths = mask.sum(axis=1)
        positions = np.empty((batch, u + 2), np.float32)
        positions[:, :u] = np.where(mask > 0, np.arange(1, u + 1, dtype=np.float32), FAR)
        positions[:, u] = np.where(lengths > 0, lengths, FAR)
        positions[:, u + 1] = np.where(lengths > 0, lengths + 1, FAR)
        return BoundChars(ids, mask, positions, self.config.vocabulary_size)

    def initial_state(self, batch: int) -> NumpyState:
        """Zeros everywhere: ``kappa_0 = 0``, ``w_0 = 0``."""
        cfg = self.config
        zeros = lambda n: np.zeros((batch, n), np.float32)  # noqa: E731
        return NumpyState([zeros(cfg.lstm_units) for _ in range(cfg.lstm_layers)],
                          [zeros(cfg.lstm_units) for _ in range(cfg.lstm_layers)],
                          zeros(cfg.window_components), zeros(cfg.vocabulary_size))

    # ------------------------------------------------------------------ one step, teacher-forced runs

    def step(self, x: np.ndarray, bound: BoundChars, state: NumpyState) -> tuple[dict, NumpyState]:
        """One point of the network, all layers (a :class:`Workspace` made for one step).

        Args:
            x: ``[B, 3]`` the input point (the previous offset, normalised).
            bound: from :meth:`bind`.
            state: from :meth:`initial_state` or a previous step.

        Returns:
            ``(outputs, new_state)``: outputs ``y`` ``[B, 1 + 6M]``, ``phi`` ``[B, U]``,
            ``phi_end`` ``[B]`` (the window at each line's ``U + 1``), ``kappa``, ``a``, ``b`` ``[B, K]``.
        """
        work = Workspace(self, bound, state)
        work.x[...] = x
        work.advance()
        out = work.outputs()
        out["y"] = self.original_outputs(out["y"])
        return out, work.state()

    def run(self, x: np.ndarray, bound: BoundChars, state: NumpyState | None = None) -> tuple[dict, NumpyState]:
        """Teacher-forced over ``[B, T, 3]`` inputs; outputs stacked ``[B, T, ...]``."""
        work = Workspace(self, bound, state or self.initial_state(x.shape[0]))
        outs = []
        for t in range(x.shape[1]):
            work.x[...] = x[:, t]
            work.advance()
            outs.append(work.outputs())
        stacked = {k: np.stack([o[k] for o in outs], axis=1) for k in outs[0]}
        stacked["y"] = self.original_outputs(stacked["y"])
        return stacked, work.state()


class Workspace:
    """One batch's buffers and views for the step (:meth:`advance`) and the draw (:meth:`draw`).

    ``x`` ``[B, 3]`` is the next input; after :meth:`advance`, ``y`` holds the outputs (the
    reordered columns of the module docstring, with the sampling ``bias`` of eqs 61-62 applied),
    ``phi_all`` ``[B, U + 2]`` the window at positions ``1..U``, the last character and the end,
    ``kappa``, ``a``, ``neg_b`` (``-b``) the window's state and parameters. :meth:`take` keeps
    some lines (the rest are finished).
    """

    def __init__(self, network: NumpyNetwork, bound: BoundChars, state: NumpyState, bias: float = 0.0):
        cfg = network.config
        batch, u = bound.mask.shape
        h, k = cfg.lstm_units, cfg.window_components
        self.network, self.bound, self.u = network, bound, u
        self.output_kernel = network.biased_output_kernel(float(bias))
        self.row = np.zeros((batch, network.width), np.float32)
        self.row[:, network.one] = 1.0
        self.row[:, slice(*network.w_cols)] = state.w
        self.gates = []
        for n in range(cfg.lstm_layers):
            self.row[:, slice(*network.h_cols[n])] = state.h[n]
            self.gates.append(np.empty((batch, 5 * h), np.float32))
            self.gates[n][:, :h] = state.c[n]
        self.kappa = np.array(state.kappa, np.float32)
        self.window = np.empty((batch, 3 * k), np.float32)
        self.neg_b = np.empty((batch, k), np.float32)
        self.phi_all = np.empty((batch, u + 2), np.float32)
        self.y = np.empty((batch, network.output_kernel.shape[1]), np.float32)
        self._views()

    def _views(self) -> None:
        """Every slice a step uses, made once (a slice costs as much as a small operation)."""
        net, cfg, row = self.network, self.network.config, self.row
        h, k, m, batch = cfg.lstm_units, cfg.window_components, cfg.mixture_components, row.shape[0]
        self.x, self.large, self.single = row[:, slice(*net.x_cols)], batch >= LARGE_BATCH, batch == 1
        # One line: np.dot (less overhead than np.matmul; its output must be contiguous, as one row is).
        self.product = _dot if self.single else _row_products if batch <= ROW_PRODUCTS_MAX else np.matmul
        kernels = net.kernels["exp" if self.large else "tanh"]
        # 1/2 for "tanh" gates as an array of their shape: for a few lines, a scalar or row costs more.
        self.half = None if self.large else np.full((batch, 3 * h), 0.5, np.float32)
        self.layers = []
        for n, gates in enumerate(self.gates):
            products = np.empty((batch, 2 * h), np.float32)
            self.layers.append((row[:, slice(*net.slices[n])], kernels[n], gates[:, h:], gates[:, h: 2 * h],
                                gates[:, 2 * h:], gates[:, 2 * h: 4 * h], gates[:, : 2 * h], products,
                                products[:, :h], products[:, h:], gates[:, :h], gates[:, 4 * h:],
                                row[:, slice(*net.h_cols[n])]))
        self.h1_one = row[:, : h + 1]
        self.a, self.b, self.step_k = self.window[:, :k], self.window[:, k: 2 * k], self.window[:, 2 * k:]
        self.a3, self.b_in, self.neg_b_out = self.a[:, None, :], self.b, self.neg_b
        self.kappa3, self.neg_b3, self.positions3 = self.kappa[:, :, None], self.neg_b[:, :, None], \
            self.bound.positions[:, None, :]
        self.distance = np.empty((batch, k, self.u + 2), np.float32)
        self.phi3 = self.phi_all[:, None, :]
        self.w, self.w3, self.phi_chars3 = row[:, slice(*net.w_cols)], row[:, None, slice(*net.w_cols)], \
            self.phi_all[:, None, : self.u]
        if self.large:  # eq 47 as a histogram: phi(t, u) into bin (line, c_u); the last two columns to a spare bin
            v = net.config.vocabulary_size
            bins = np.full((batch, self.u + 2), batch * v, np.int64)
            bins[:, : self.u] = self.bound.ids + v * np.arange(batch)[:, None]
            self.bins = bins.ravel()
        else:
            self.onehot = self.bound.onehot
        self.phi, self.phi_last, self.phi_end = self.phi_all[:, : self.u], self.phi_all[:, self.u], \
            self.phi_all[:, self.u + 1]
        self.neg_e, self.pi_hat = self.y[:, 0], self.y[:, 1: 1 + m]
        self.components = self.y[:, 1 + m:].reshape(batch, m, COMPONENT_PARTS)
        self.lines, self.scores = np.arange(batch), np.empty((batch, m), np.float32)
        self.pen = np.empty(batch, np.float32)
        self.dx_dy, self.pen_up = self.x[:, :2], self.x[:, 2]
        if self.single:
            self._single_views()

    def _single_views(self) -> None:
        """One line's buffers for :meth:`read` and :meth:`draw_one`: 1-D and 2-D views, and eq 46's
        two broadcasts (which cost more than small matrix products) as products that round once, as
        the broadcasts did: ``kappa_k - u = (kappa_k, -1) . (1, u)`` and ``-b_k d_ku = (diag(-b) d)_ku``
        (the other terms are exact zeros). ``kappa``, ``neg_b`` and ``bound.positions`` become views
        into those matrices."""
        k, u = self.network.config.window_components, self.u
        self.kappa_minus = np.empty((k, 2), np.float32, order="F")
        self.kappa_minus[:, 0], self.kappa_minus[:, 1] = self.kappa[0], -1.0
        self.kappa = self.kappa_minus.T[:1]
        self.one_u = np.ones((2, u + 2), np.float32)
        self.one_u[1] = self.bound.positions[0]
        self.bound = BoundChars(self.bound.ids, self.bound.mask, self.one_u[1:], self.bound.vocabulary_size)
        self.neg_b_diag = np.zeros((k, k), np.float32)
        self.neg_b = self.neg_b_diag.reshape(1, k * k)[:, :: k + 1]
        self.b_in, self.neg_b_out = self.b[0], self.neg_b[0]  # a strided 1-D view costs less than 2-D
        self.squares = np.empty((k, u + 2), np.float32)
        self.a_vec, self.distance_mat, self.phi_vec = self.a[0], self.distance[0], self.phi_all[0]
        self.phi_chars_vec, self.onehot_mat, self.w_vec = self.phi_all[0, :u], self.onehot[0], self.w[0]
        self.pi_hat_vec, self.scores_vec, self.component_rows = self.pi_hat[0], self.scores[0], self.components[0]
        self.x_vec, self.y_vec = self.x[0], self.y[0]

    def take(self, rows: np.ndarray) -> None:
        """Keep only the lines ``rows`` (indices or a boolean mask)."""
        self.row, self.kappa, self.y = self.row[rows], self.kappa[rows], self.y[rows]
        self.gates = [g[rows] for g in self.gates]
        self.window, self.neg_b, self.phi_all = self.window[rows], self.neg_b[rows], self.phi_all[rows]
        self.bound = self.bound.take(rows)
        self._views()

    def state(self) -> NumpyState:
        """A copy of the recurrent state."""
        net, h = self.network, self.network.config.lstm_units
        return NumpyState([self.row[:, slice(*c)].copy() for c in net.h_cols], [g[:, :h].copy() for g in self.gates],
                          self.kappa.copy(), self.row[:, slice(*net.w_cols)].copy())

    def outputs(self) -> dict:
        """Copies of this step's outputs (``y`` in the workspace's column order)."""
        return {"y": self.y.copy(), "phi": self.phi.copy(), "phi_end": self.phi_end.copy(),
                "kappa": self.kappa.copy(), "a": self.a.copy(), "b": -self.neg_b}

    def advance(self, output: bool = True) -> None:
        """One point of the network for input ``x``: all layers, the window, and (unless
        ``output`` is false, as when priming) the output layer (eqs 7-11, 46-53, 17)."""
        # Outputs are passed by position: a keyword costs about as much as a small operation.
        product, tanh, multiply, add, large, half = self.product, np.tanh, np.multiply, np.add, self.large, self.half
        for n, (inputs, kernel, pre, g, sig, fi, cg, products, fc, ig, c, o, h_out) in enumerate(self.layers):
            product(inputs, kernel, pre)  # [g, f, i, o] pre-activations (GATE_FORMS), bias included
            if large:
                tanh(g, g)
                np.exp(sig, sig)
                add(sig, _ONE, sig)
                np.divide(_ONE, sig, sig)
            else:
                tanh(pre, pre)
                multiply(sig, half, sig)
                add(sig, half, sig)  # f, i, o = sigmoid (eqs 7, 8, 10)
            multiply(fi, cg, products)  # f c_{t-1}, i g
            add(fc, ig, c)  # eq 9
            tanh(c, fc)
            multiply(o, fc, h_out)  # eq 11
            if n == 0:
                self._window()
        if output:
            product(self.row, self.output_kernel, self.y)

    def _window(self) -> None:
        """Eqs 46-51 from ``h1``: the new kappa, phi at every position, and ``w`` written into the row."""
        net, window = self.network, self.window
        self.product(self.h1_one, net.window_kernel, window)
        net.act(window, window)
        if net.kappa_scale is not None:
            np.multiply(self.step_k, net.kappa_scale, self.step_k)
        np.add(self.kappa, self.step_k, self.kappa)
        np.negative(self.b_in, self.neg_b_out)
        self.read()

    def read(self) -> None:
        """Eqs 46-47 at the current kappa, ``a`` and ``b``: ``phi_all`` and ``w``."""
        if self.single:  # the same operations as below, as products (see _single_views)
            d = self.distance_mat
            _dot(self.kappa_minus, self.one_u, d)
            np.square(d, self.squares)
            _dot(self.neg_b_diag, self.squares, d)
            np.exp(d, d)
            _dot(self.a_vec, d, self.phi_vec)
            _dot(self.phi_chars_vec, self.onehot_mat, self.w_vec)
            return
        d = self.distance
        np.subtract(self.kappa3, self.positions3, d)
        np.square(d, d)
        np.multiply(d, self.neg_b3, d)
        np.exp(d, d)
        np.matmul(self.a3, d, out=self.phi3)
        if self.large:
            weights = np.bincount(self.bins, self.phi_all.ravel(), self.w.size + 1)[:-1]
            np.copyto(self.w, weights.reshape(self.w.shape), casting="same_kind")
        else:
            np.matmul(self.phi_chars3, self.onehot, out=self.w3)

    def end_near(self) -> bool:
        """Whether Graves' stop test may hold for some line (always true for batches of lines)."""
        if not self.single:
            return True
        end = self.phi_vec.item(self.u + 1)  # past the end needs phi there > max phi >= 0 (0 while far from it)
        return end > 0.0 and end >= END_MARGIN * self.phi_vec.item(self.u)

    def draw(self, log_u: np.ndarray, normal: np.ndarray, uniform_pen: np.ndarray) -> None:
        """Write into ``x`` one point per line from the biased mixture (eqs 17-22, 61-62).

        Args:
            log_u: ``[B, M]`` ``log(-log(u))`` of uniforms ``u`` (:func:`gumbel_log`): the component is
                ``argmax(pi_hat (1 + b) - log(-log u))``, a draw from ``softmax(pi_hat (1 + b))``.
            normal: ``[B, 2]`` standard normals, correlated by ``rho`` (eq 22).
            uniform_pen: ``[B]`` uniforms; the pen lifts when ``u < sigmoid(e_hat)``.
        """
        if self.single:
            n0, n1 = np.ravel(normal).tolist()
            return self.draw_one(np.ravel(log_u), n0, n1, float(uniform_pen[0]))
        scores = np.subtract(self.pi_hat, log_u, out=self.scores)
        chosen = self.components[self.lines, np.argmax(scores, axis=1)]  # [B, 5]
        sigma = np.exp(chosen[:, 2:4])
        rho = np.tanh(chosen[:, 4])
        np.maximum(rho, _F32(-RHO_LIMIT), out=rho)
        np.minimum(rho, _F32(RHO_LIMIT), out=rho)
        z = np.array(normal, np.float32)
        root = np.multiply(rho, rho)
        np.subtract(_ONE, root, out=root)
        np.sqrt(root, out=root)
        np.multiply(root, z[:, 1], out=root)
        np.multiply(rho, z[:, 0], out=rho)
        np.add(rho, root, out=z[:, 1])  # rho n0 + sqrt(1 - rho^2) n1
        np.multiply(sigma, z, out=z)
        np.add(chosen[:, :2], z, out=self.dx_dy)
        pen = np.exp(self.neg_e, out=self.pen)
        np.add(pen, _ONE, out=pen)
        np.divide(_ONE, pen, out=pen)  # sigmoid(e_hat)
        np.less(uniform_pen, pen, out=self.pen_up)

    def draw_one(self, log_u: np.ndarray, n0: float, n1: float, uniform_pen: float) -> None:
        """:meth:`draw` for a workspace of one line, ``log_u`` ``[M]`` float32 and the other random
        numbers as Python floats; drawn in Python floats (double precision, rounded to float32 once)."""
        np.subtract(self.pi_hat_vec, log_u, self.scores_vec)
        mu1, mu2, log_s1, log_s2, rho_hat = self.component_rows[self.scores_vec.argmax()].tolist()
        rho = min(max(math.tanh(rho_hat), -_RHO_LIMIT32), _RHO_LIMIT32)
        x = self.x_vec
        x[0] = mu1 + math.exp(log_s1) * n0
        x[1] = mu2 + math.exp(log_s2) * (rho * n0 + math.sqrt(1.0 - rho * rho) * n1)
        x[2] = uniform_pen < 1.0 / (1.0 + math.exp(min(self.y_vec.item(0), _MAX_EXP)))

