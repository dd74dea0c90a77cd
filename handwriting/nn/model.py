"""The synthesis network (Graves 2013, section 5) and its step function.

Per point ``t`` (eqs 46-51 for the window, 52-53 for the stack, 17-22 for the output):

* layer 1: ``h1_t = LSTM1([x_t, w_{t-1}], h1_{t-1})``
* window: ``w_t, phi_t, kappa_t = window(h1_t, kappa_{t-1}, c)`` (see :mod:`.attention`)
* layers n > 1: ``hn_t = LSTMn([x_t, w_t, h(n-1)_t], hn_{t-1})``
* output: ``y_t = Dense([h1_t, ..., hN_t])``, ``1 + 6M`` numbers (see :mod:`.mixture`); every
  layer has a skip connection to the output, and the input ``x_t`` reaches every layer.

:meth:`SynthesisModel.step` is the one step function shared by training (``fused`` loop) and
the sampler. :meth:`SynthesisModel.call` runs a whole teacher-forced sequence, either all layers
in one step loop (``training_loop="fused"``) or layer 1 and the window in the loop and layers
2..N afterwards over whole sequences (``"split"``: cuDNN on a TensorFlow GPU, else a loop with
the input projections hoisted out of it). Both use the very same weights: the stacked layers
are ``keras.layers.LSTM`` and the step calls their ``.cell``.

Shapes: B batch, T points, U characters, V alphabet size (padding id 0 included), K window
components, M mixture components, H LSTM units.
"""

from __future__ import annotations

import functools
import os

import keras
from keras import ops

from . import looping
from .attention import GaussianWindow
from .. import checkpoint as ckpt
from ..config import ModelConfig
from ..errors import HandwritingError

INPUT_SIZE = 3  # (dx, dy, pen_up)


class SynthesisModel(keras.Model):
    """Graves' handwriting synthesis network.

    Inputs to :meth:`call`: a dict with

    * ``x``: ``[B, T, 3]`` float, the inputs ``x_t`` (the previous offsets, zero start token),
    * ``chars``: ``[B, U]`` int character ids (0 = padding),
    * ``char_mask``: ``[B, U]`` 1 for real characters, 0 for padding.

    Output: a dict with ``y`` ``[B, T, 1 + 6M]``, and with ``return_attention=True`` also
    ``phi`` ``[B, T, U]`` and ``kappa`` ``[B, T, K]``; with ``return_state=True`` also ``state``.
    """

    def __init__(self, config: ModelConfig, dtype=None, **kwargs):
        super().__init__(dtype=dtype, **kwargs)
        config.validate()
        self.config = config
        h, v = config.lstm_units, config.vocabulary_size
        self.lstms = [
            keras.layers.LSTM(h, return_sequences=True, return_state=True, dtype=dtype, name=f"lstm{i + 1}")
            for i in range(config.lstm_layers)
        ]
        self.window = GaussianWindow(
            config.window_components, config.window_activation, config.kappa_step_scale, dtype=dtype, name="window"
        )
        self.output_layer = keras.layers.Dense(config.output_size, dtype=dtype, name="mixture_output")
        for i, lstm in enumerate(self.lstms):
            lstm.build((None, None, INPUT_SIZE + v + (h if i else 0)))
        self.window.build((None, h))
        self.output_layer.build((None, h * config.lstm_layers))
        self.built = True

    # ------------------------------------------------------------ state and one step

    @property
    def compute_dtype_name(self) -> str:
        return self.output_layer.compute_dtype

    def initial_state(self, batch_size, dtype=None) -> dict:
        """The state before the first point: zeros everywhere (``kappa_0 = 0``, ``w_0 = 0``).

        Returns a dict ``{"h": [N x [B, H]], "c": [N x [B, H]], "kappa": [B, K], "w": [B, V]}``.
        """
        dtype = dtype or self.compute_dtype_name
        cfg = self.config
        zeros = lambda n: ops.zeros((batch_size, n), dtype=dtype)  # noqa: E731
        return {
            "h": [zeros(cfg.lstm_units) for _ in range(cfg.lstm_layers)],
            "c": [zeros(cfg.lstm_units) for _ in range(cfg.lstm_layers)],
            "kappa": zeros(cfg.window_components),
            "w": zeros(cfg.vocabulary_size),
        }

    def one_hot_chars(self, chars, char_mask):
        """``[B, U]`` ids -> ``[B, U, V]`` one-hot, padding rows zeroed."""
        onehot = ops.one_hot(ops.cast(chars, "int32"), self.config.vocabulary_size, dtype=self.compute_dtype_name)
        return onehot * ops.expand_dims(ops.cast(char_mask, onehot.dtype), -1)

    def _layer1_and_window(self, x_t, char_onehot, char_mask, h, c, kappa, w_prev):
        h1, (h1, c1) = self.lstms[0].cell(ops.concatenate([x_t, w_prev], axis=-1), [h, c])
        w, phi, kappa = self.window(h1, kappa, char_onehot, char_mask)
        return h1, c1, w, phi, kappa

    def step(self, x_t, char_onehot, char_mask, state):
        """One point of the network, all layers (shared by training and sampling).

        Args:
            x_t: ``[B, 3]`` the input point (previous offset, scaled).
            char_onehot: ``[B, U, V]`` from :meth:`one_hot_chars`.
            char_mask: ``[B, U]``.
            state: from :meth:`initial_state` or a previous step.

        Returns:
            ``(outputs, new_state)``; outputs is a dict with ``y`` ``[B, 1 + 6M]`` (split it with
            :func:`handwriting.nn.mixture.split_params`), ``phi`` ``[B, U]``, ``kappa`` ``[B, K]``
            and ``w`` ``[B, V]``.
        """
        x_t = ops.cast(x_t, self.compute_dtype_name)
        h1, c1, w, phi, kappa = self._layer1_and_window(
            x_t, char_onehot, char_mask, state["h"][0], state["c"][0], state["kappa"], state["w"]
        )
        hs, cs = [h1], [c1]
        for n in range(1, len(self.lstms)):
            hn, (hn, cn) = self.lstms[n].cell(ops.concatenate([x_t, w, hs[-1]], axis=-1), [state["h"][n], state["c"][n]])
            hs.append(hn)
            cs.append(cn)
        y = self.output_layer(ops.concatenate(hs, axis=-1))
        new_state = {"h": hs, "c": cs, "kappa": kappa, "w": w}
        return {"y": y, "phi": phi, "kappa": kappa, "w": w}, new_state

    # ------------------------------------------------------------ whole sequences

    def _sequence_lstm(self, n, inputs, h0, c0):
        """LSTM layer ``n`` (eq 52-53 stack, Graves eqs 7-11) over ``[B, T, D]`` inputs.

        The input projection ``inputs @ W + b`` of every point is one large matmul before the
        time loop; only ``h_{t-1} @ R`` stays inside it. Keras' LSTM (without cuDNN) does both
        per step: 5-25% slower for the split loop on this project's CPU (docs/performance.md). Same weights and gate order (i, f, c, o) as ``keras.layers.LSTM``.

        Returns ``(h_seq [B, T, H], h_T [B, H], c_T [B, H])``.
        """
        cell = self.lstms[n].cell
        dtype = inputs.dtype
        z_in = ops.matmul(inputs, ops.cast(cell.kernel, dtype)) + ops.cast(cell.bias, dtype)  # [B, T, 4H]
        recurrent = ops.cast(cell.recurrent_kernel, dtype)

        def body(carry, z_t):
            h, c = carry
            i, f, g, o = ops.split(z_t + ops.matmul(h, recurrent), 4, axis=-1)
            c = cell.recurrent_activation(f) * c + cell.recurrent_activation(i) * cell.activation(g)
            h = cell.recurrent_activation(o) * cell.activation(c)
            return (h, c), h

        (h_last, c_last), h_seq = looping.scan(body, (h0, c0), ops.transpose(z_in, (1, 0, 2)))
        return ops.transpose(h_seq, (1, 0, 2)), h_last, c_last

    def call(self, inputs, initial_state=None, return_attention=False, return_state=False, training=False):
        x = ops.cast(inputs["x"], self.compute_dtype_name)
        char_mask = ops.cast(inputs["char_mask"], self.compute_dtype_name)
        char_onehot = self.one_hot_chars(inputs["chars"], char_mask)
        state = initial_state if initial_state is not None else self.initial_state(ops.shape(x)[0])
        xs = ops.transpose(x, (1, 0, 2))  # [T, B, 3]
        if resolved_training_loop(self.config.training_loop) == "fused":
            def body(carry, x_t):
                out, new = self.step(x_t, char_onehot, char_mask, carry)
                return new, (out["y"], out["phi"], out["kappa"])

            final, (y, phi, kappa) = looping.scan(body, state, xs)
            y = ops.transpose(y, (1, 0, 2))
        else:
            def body(carry, x_t):
                h, c, kappa, w = carry
                h1, c1, w, phi, kappa = self._layer1_and_window(x_t, char_onehot, char_mask, h, c, kappa, w)
                return (h1, c1, kappa, w), (h1, w, phi, kappa)

            carry0 = (state["h"][0], state["c"][0], state["kappa"], state["w"])
            (h1f, c1f, kappaf, wf), (h1, w, phi, kappa) = looping.scan(body, carry0, xs)
            h1 = ops.transpose(h1, (1, 0, 2))  # [B, T, H]
            w_seq = ops.transpose(w, (1, 0, 2))  # [B, T, V]
            hs, finals_h, finals_c = [h1], [h1f], [c1f]
            for n in range(1, len(self.lstms)):
                inputs_n = ops.concatenate([x, w_seq, hs[-1]], axis=-1)
                if _cudnn_possible():
                    seq, hn, cn = self.lstms[n](inputs_n, initial_state=[state["h"][n], state["c"][n]])
                else:
                    seq, hn, cn = self._sequence_lstm(n, inputs_n, state["h"][n], state["c"][n])
                hs.append(seq)
                finals_h.append(hn)
                finals_c.append(cn)
            y = self.output_layer(ops.concatenate(hs, axis=-1))
            final = {"h": finals_h, "c": finals_c, "kappa": kappaf, "w": wf}
        result = {"y": y}
        if return_attention:
            result["phi"] = ops.transpose(phi, (1, 0, 2))
            result["kappa"] = ops.transpose(kappa, (1, 0, 2))
        if return_state:
            result["state"] = final
        return result


def resolved_training_loop(name: str) -> str:
    """``split`` or ``fused`` for a config's ``training_loop`` (``auto``: fused on TensorFlow
    without a GPU, where it measured fastest; split elsewhere)."""
    if name != "auto":
        return name
    if keras.backend.backend() == "tensorflow" and not _cudnn_possible():
        return "fused"
    return "split"


@functools.cache
def _cudnn_possible() -> bool:
    """Whether Keras' LSTM layer can use cuDNN here (TensorFlow with a visible GPU); fixed for a process."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


def build_model(config: ModelConfig, dtype=None, seed: int | None = None) -> SynthesisModel:
    """A built :class:`SynthesisModel`; ``seed`` makes the initial weights reproducible."""
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return SynthesisModel(config, dtype=dtype)


def load_model(checkpoint_dir: str | os.PathLike, training_loop: str | None = None):
    """Load a checkpoint for writing or evaluation.

    Args:
        checkpoint_dir: a checkpoint directory, or a run directory.
        training_loop: optionally override ``ModelConfig.training_loop`` (weights are the same).

    Returns:
        ``(model, config, scale)``: a built :class:`SynthesisModel` with the
        saved weights, the :class:`~handwriting.checkpoint.CheckpointConfig` and the dataset scale (multiply sampled offsets by it).
    """
    directory = ckpt.resolve(checkpoint_dir)
    config = ckpt.read_config(directory)
    model_config = config.model
    if training_loop is not None:
        model_config.training_loop = training_loop
    model = build_model(model_config)
    try:
        model.load_weights(str(directory / ckpt.WEIGHTS_FILE))
    except (OSError, ValueError) as exc:
        raise HandwritingError(f"cannot load weights from {directory / ckpt.WEIGHTS_FILE}: {exc}") from None
    return model, config, config.scale
