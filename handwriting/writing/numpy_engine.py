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

A step is about 35 NumPy calls (about 80 before this layout), all writing into buffers made once per batch (a
:class:`Workspace`); for the shipped 3 x 128 network a call costs about as much as its arithmetic,
so the layout is chosen to need few of them:

* One row per line holds ``[h1, 1, x, w, h2, ..., hN]``. Every product reads a contiguous slice
  of it: layer 1 ``[h1, 1, x, w]``, layer 2 ``[h1, 1, x, w, h2]``, layer 3 ``[1, x, w, h2, h3]``,
  the window ``[h1, 1]``, the output layer the whole row. The weights are stacked to match
  (input and recurrent kernels, the bias as the row of the constant 1, zero rows for what a
  layer does not read), so a layer is one matrix product, bias included, and the new ``h`` and
  ``w`` are written where the next product reads them: no concatenation.
* Sigmoid gates (:data:`GATE_FORMS`): for a few lines ``sigmoid(z) = (1 + tanh(z / 2)) / 2``, one
  ``tanh`` over a layer's four gates (the i, f, o weights halved once, exact in binary floating
  point); for many lines ``1 / (1 + exp(-z))`` (the weights negated), as ``exp`` costs less than
  ``tanh`` per number. A layer's gates sit beside its cell state, ``[c, g, f, i, o]``, so
  ``f c`` and ``i g`` are one product.
* The kappa step's scale (eq 51) is folded into the window's bias (``s exp(z) = exp(z + log s)``)
  and the sampling bias (eqs 61-62) into the output weights (:meth:`NumpyNetwork.biased_output_kernel`).
* For many lines, ``w`` (eq 47) is a histogram of ``phi`` over each line's character ids
  (``numpy.bincount``) instead of a product with one-hot rows.
* The window is read at each line's positions ``1..U``, then at its last character and just
  past its end (Graves' stop rule, ``phi(t, U + 1)``): one set of operations gives all three.
  Padding characters sit at :data:`FAR`, where ``phi`` is exactly 0.
* The output layer's columns are reordered so that a mixture component's five numbers are
  adjacent (:data:`COMPONENT_PARTS`), and the pen-up column is negated, so that a draw picks the
  chosen component with one index and needs no negation for ``sigmoid``.

Sampling (eqs 61-62 bias, then one draw of the mixture) is :meth:`Workspace.draw`, fed explicit
random numbers so that both engines can be compared draw for draw; :func:`draw_points` is the
same draw as a plain function of ``y``. A single line is drawn in Python floats (a NumPy call on
five numbers costs more than the arithmetic), rounded to float32 once.

Shapes: B lines, U characters, V alphabet size, K window components, M mixture components,
H LSTM units, N layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import ModelConfig
from .weights import LSTM_VARIABLES, OUTPUT_LAYER, WINDOW_LAYER, lstm_name

INPUT_SIZE = 3  # (dx, dy, pen_up)
#: Correlations are clipped to ``[-RHO_LIMIT, RHO_LIMIT]`` (as ``nn.mixture.RHO_LIMIT``).
RHO_LIMIT = 1.0 - 1e-5
#: The smallest uniform number fed to the Gumbel-max draw (as the TensorFlow sampler's).
MIN_UNIFORM = 1e-20
#: The position of padding characters (and of a line's end where it has none): ``exp(-b (kappa -
#: FAR)^2)`` is exactly 0 in float32 for any ``b`` from ``1e-16`` to ``1e20`` (no overflow), as
#: multiplying by the mask gave.
FAR = 1e9
#: A mixture component's numbers, adjacent in the reordered output: mu1, mu2, log sigma1,
#: log sigma2, rho before tanh (eqs 18-22).
COMPONENT_PARTS = 5
_F32 = np.float32
_ONE, _HALF = _F32(1.0), _F32(0.5)
_RHO_LIMIT32, _MAX_EXP = float(_F32(RHO_LIMIT)), 700.0
#: How a layer's sigmoid gates (f, i, o) are computed, by the factor their weights are stored
#: times: ``"tanh"``, ``sigmoid(z) = (1 + tanh(z / 2)) / 2`` with one ``tanh`` over all four gates
#: (fewer operations: small batches); ``"exp"``, ``sigmoid(z) = 1 / (1 + exp(-z))`` (``exp`` is
#: cheaper than ``tanh`` per number: large batches). Both factors are exact in binary floating point.
GATE_FORMS = {"tanh": 0.5, "exp": -1.0}
#: Batches of at least this many lines use the ``"exp"`` gates and the histogram form of eq 47.
LARGE_BATCH = 8
MAX_BIASED_KERNELS = 4  # output weights kept with a sampling bias applied, for as many biases
#: Graves' stop test is skipped for a single line while phi at its end is below this fraction of
#: phi on its last character (a necessary condition, with a margin for rounding).
END_MARGIN = 0.999


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
        self.act = np.exp if config.window_activation == "exp" else _softplus
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
        self.x, self.large = row[:, slice(*net.x_cols)], batch >= LARGE_BATCH
        kernels = net.kernels["exp" if self.large else "tanh"]
        self.layers = []
        for n, gates in enumerate(self.gates):
            products = np.empty((batch, 2 * h), np.float32)
            self.layers.append((row[:, slice(*net.slices[n])], kernels[n], gates[:, h:], gates[:, h: 2 * h],
                                gates[:, 2 * h:], gates[:, 2 * h: 4 * h], gates[:, : 2 * h], products,
                                products[:, :h], products[:, h:], gates[:, :h], gates[:, 4 * h:],
                                row[:, slice(*net.h_cols[n])]))
        self.h1_one = row[:, : h + 1]
        self.a, self.b, self.step_k = self.window[:, :k], self.window[:, k: 2 * k], self.window[:, 2 * k:]
        self.a3 = self.a[:, None, :]
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
        for n, (inputs, kernel, pre, g, sig, fi, cg, products, fc, ig, c, o, h_out) in enumerate(self.layers):
            np.matmul(inputs, kernel, out=pre)  # [g, f, i, o] pre-activations (GATE_FORMS), bias included
            if self.large:
                np.tanh(g, out=g)
                np.exp(sig, out=sig)
                np.add(sig, _ONE, out=sig)
                np.divide(_ONE, sig, out=sig)
            else:
                np.tanh(pre, out=pre)
                np.multiply(sig, _HALF, out=sig)
                np.add(sig, _HALF, out=sig)  # f, i, o = sigmoid (eqs 7, 8, 10)
            np.multiply(fi, cg, out=products)  # f c_{t-1}, i g
            np.add(fc, ig, out=c)  # eq 9
            np.tanh(c, out=fc)
            np.multiply(o, fc, out=h_out)  # eq 11
            if n == 0:
                self._window()
        if output:
            np.matmul(self.row, self.output_kernel, out=self.y)

    def _window(self) -> None:
        """Eqs 46-51 from ``h1``: the new kappa, phi at every position, and ``w`` written into the row."""
        net = self.network
        np.matmul(self.h1_one, net.window_kernel, out=self.window)
        net.act(self.window, out=self.window)
        if not net.scaled_kappa_step and net.config.kappa_step_scale != 1.0:
            np.multiply(self.step_k, _F32(net.config.kappa_step_scale), out=self.step_k)
        np.add(self.kappa, self.step_k, out=self.kappa)
        np.negative(self.b, out=self.neg_b)
        self.read()

    def read(self) -> None:
        """Eqs 46-47 at the current kappa, ``a`` and ``b``: ``phi_all`` and ``w``."""
        d = self.distance
        np.subtract(self.kappa3, self.positions3, out=d)
        np.square(d, out=d)
        np.multiply(d, self.neg_b3, out=d)
        np.exp(d, out=d)
        np.matmul(self.a3, d, out=self.phi3)
        if self.large:
            weights = np.bincount(self.bins, self.phi_all.ravel(), self.w.size + 1)[:-1]
            np.copyto(self.w, weights.reshape(self.w.shape), casting="same_kind")
        else:
            np.matmul(self.phi_chars3, self.onehot, out=self.w3)

    def end_near(self) -> bool:
        """Whether Graves' stop test may hold for some line (always true for batches of lines)."""
        if len(self.row) != 1:
            return True
        return float(self.phi_all[0, self.u + 1]) >= END_MARGIN * float(self.phi_all[0, self.u])

    def draw(self, log_u: np.ndarray, normal: np.ndarray, uniform_pen: np.ndarray) -> None:
        """Write into ``x`` one point per line from the biased mixture (eqs 17-22, 61-62).

        Args:
            log_u: ``[B, M]`` ``log(-log(u))`` of uniforms ``u`` (:func:`gumbel_log`): the component is
                ``argmax(pi_hat (1 + b) - log(-log u))``, a draw from ``softmax(pi_hat (1 + b))``.
            normal: ``[B, 2]`` standard normals, correlated by ``rho`` (eq 22).
            uniform_pen: ``[B]`` uniforms; the pen lifts when ``u < sigmoid(e_hat)``.
        """
        scores = np.subtract(self.pi_hat, log_u, out=self.scores)
        if len(scores) == 1:
            return self._draw_one(self.components[0, int(np.argmax(scores))].tolist(), normal, uniform_pen)
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

    def _draw_one(self, chosen: list[float], normal: np.ndarray, uniform_pen: np.ndarray) -> None:
        """:meth:`draw` for one line, in Python floats (double precision, rounded to float32 once)."""
        mu1, mu2, log_s1, log_s2, rho_hat = chosen
        n0, n1 = normal.ravel().tolist()
        rho = min(max(math.tanh(rho_hat), -_RHO_LIMIT32), _RHO_LIMIT32)
        dx = mu1 + math.exp(log_s1) * n0
        dy = mu2 + math.exp(log_s2) * (rho * n0 + math.sqrt(1.0 - rho * rho) * n1)
        lift = float(uniform_pen[0]) < 1.0 / (1.0 + math.exp(min(float(self.neg_e[0]), _MAX_EXP)))
        self.x[0] = (dx, dy, float(lift))


def _softplus(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.logaddexp(np.float32(0), x, out=out)


def gumbel_log(uniform: np.ndarray) -> np.ndarray:
    """``log(-log(max(u, MIN_UNIFORM)))``: minus the Gumbel noise of uniforms ``u`` (float32)."""
    return np.log(-np.log(np.maximum(uniform, np.float32(MIN_UNIFORM))))


def draw_points(y: np.ndarray, mixture_components: int, bias: float, uniform_pi: np.ndarray,
                normal: np.ndarray, uniform_pen: np.ndarray) -> np.ndarray:
    """One point per row from the biased mixture (eqs 17-22, 61-62), with given random numbers.

    The same draw as :meth:`Workspace.draw`, from outputs in the model's column order.

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
