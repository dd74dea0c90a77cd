"""The batched sampler: many lines at once in one compiled ``tf.while_loop``.

Each iteration runs the model's shared step function (:meth:`SynthesisModel.step`) for every
line of the batch, draws the next point from the biased mixture (Graves eqs 61-62) and feeds
it back. A line is finished when the attention window has passed its last character — Graves'
rule: ``phi(t, U + 1) > phi(t, u)`` for every real ``u`` (section 5.3) — and the pen has
lifted; from then on it adds no points while the others go on. A per-line step cap
proportional to the text length is only a guard: lines that reach it are counted.

Priming (Graves section 5.5): the network first runs teacher-forced over a style sample's
strokes with the characters ``prime_text + " "``; sampling then continues from that state over
``prime_text + " " + text``, its window placed on the space before the new text (see
``_prime_impl``). Strokes
the network finishes before its window reaches the new text (a late dot or cross for the
prime's last word) are dropped (``trim_before_text``).

Randomness uses stateless TensorFlow ops keyed by ``(seed, step)``: the same seed, texts,
batch and checkpoint give the same strokes.

Shapes: B lines, U characters (longest line of the batch), T points, M mixture components.
"""

from __future__ import annotations

import numpy as np

from ..nn.attention import window_phi
from ..nn.mixture import biased_params, correlation, split_params
from .sampling import (CAP_BASE_STEPS, CAP_STEPS_PER_CHAR, CHAR_BUCKET, MAX_STEPS_TO_LIFT,  # noqa: F401
                       SCRIBBLE_STEPS, TEXT_START_WEIGHT, LineState, SampleBatch, advance_lines, finish_lines,
                       initial_line_state, line_spec, step_cap, trim_before_text)

#: Under XLA the step bound is rounded up to a multiple of this (one compilation per bucket).
XLA_STEP_BUCKET = 512


def stateless_draws(seed, t, batch, mixture_components: int):
    """The random numbers of step ``t``: ``(uniform_pi [B, M], normal [B, 2], uniform_pen [B])``,
    stateless TensorFlow ops keyed by ``(seed, 3 t + k)``."""
    import tensorflow as tf

    seeds = [tf.stack([tf.cast(seed, tf.int64), tf.cast(3 * t + k, tf.int64)]) for k in range(3)]
    uniform_pi = tf.random.stateless_uniform([batch, mixture_components], seeds[0], minval=1e-20, maxval=1.0)
    normal = tf.random.stateless_normal([batch, 2], seeds[1])
    return uniform_pi, normal, tf.random.stateless_uniform([batch], seeds[2])


def draw_with(y, mixture_components: int, bias, uniform_pi, normal, uniform_pen):
    """``(dx, dy, lift)`` ``[B]`` each from ``[B, 1 + 6M]`` outputs and given random numbers
    (eqs 61-62; the component by Gumbel-max: ``argmax(logits + Gumbel noise)`` is a draw from
    ``softmax(logits)``, and unlike ``stateless_categorical`` it compiles with XLA)."""
    import tensorflow as tf

    p = biased_params(split_params(y, mixture_components), bias)
    component = tf.argmax(p.pi_hat - tf.math.log(-tf.math.log(uniform_pi)), axis=1, output_type=tf.int32)
    pick = lambda v: tf.gather(v, component, axis=1, batch_dims=1)  # noqa: E731
    mu1, mu2 = pick(p.mu1), pick(p.mu2)
    s1, s2 = tf.exp(pick(p.log_sigma1)), tf.exp(pick(p.log_sigma2))
    rho = pick(correlation(p.rho_hat))
    dx = mu1 + s1 * normal[:, 0]
    dy = mu2 + s2 * (rho * normal[:, 0] + tf.sqrt(1.0 - rho * rho) * normal[:, 1])
    return dx, dy, uniform_pen < tf.sigmoid(p.e_hat)


class Sampler:
    """Writes lines with a :class:`~handwriting.nn.model.SynthesisModel` (TensorFlow backend).

    The loop is compiled with XLA by default (``jit_compile=True``): on a 2-core CPU it wrote one
    line about 10 times faster than the plain graph and 64 lines 2.5 times faster
    (``docs/performance.md``). XLA compiles once per batch size, padded character count
    (``CHAR_BUCKET``) and step bound (``XLA_STEP_BUCKET``). The two modes draw different random
    numbers, so a seed reproduces a drawing within one mode.
    """

    def __init__(self, model, jit_compile: bool = True):
        import tensorflow as tf

        self.model = model
        self.config = model.config
        self.jit_compile = jit_compile
        self._loop = tf.function(self._loop_impl, jit_compile=jit_compile, reduce_retracing=True, autograph=False)
        self._prime = tf.function(self._prime_impl, reduce_retracing=True, autograph=False)

    # ------------------------------------------------------------------ public

    def sample(
        self,
        texts: list[str],
        *,
        bias: float = 0.0,
        seed: int = 0,
        prime: tuple[np.ndarray, str] | None = None,
        max_steps: int | None = None,
        return_attention: bool = False,
    ) -> SampleBatch:
        """Write every text of ``texts`` as one line, all in one batch.

        Args:
            texts: the lines (already validated against the alphabet); ``""`` writes a
                free-running scribble of ``max_steps`` (default ``SCRIBBLE_STEPS``) points.
            bias: sampling bias b >= 0 (eqs 61-62); higher is neater.
            seed: the random seed.
            prime: ``(offsets [P, 3] normalised, prime_text)`` of a style sample, or ``None``.
            max_steps: override the per-line step cap.
            return_attention: also return the window weights phi per line.
        """
        import tensorflow as tf

        if not texts:
            return SampleBatch([], np.zeros(0, bool), [] if return_attention else None, np.zeros(0, np.int64))
        spec = line_spec(texts, prime[1] if prime is not None else None, max_steps)
        chars_t, mask_t = tf.constant(spec.chars), tf.constant(spec.char_mask)
        onehot = self.model.one_hot_chars(chars_t, mask_t)
        batch = len(texts)
        if prime is not None:
            x0, state = self._prime(tf.constant(prime[0][None].repeat(batch, 0), tf.float32), chars_t, mask_t, onehot,
                                    tf.constant(len(spec.prefix), tf.int32))
        else:
            x0 = tf.zeros((batch, 3), tf.float32)
            state = self.model.initial_state(batch, "float32")
        points, counts, hit_cap, phi, text_from, last = self._loop(
            x0, state, onehot, mask_t, tf.constant(spec.text_mask), tf.constant(spec.lengths), tf.constant(spec.caps),
            tf.constant(spec.free_running), tf.constant(float(bias), tf.float32), tf.constant(int(seed), tf.int64),
            self._max_total(int(spec.caps.max())), return_attention,
        )
        offsets, trimmed, phis = finish_lines(points.numpy(), counts.numpy(), text_from.numpy(),
                                              phi.numpy() if return_attention else None, spec, last.numpy())
        return SampleBatch(offsets, hit_cap.numpy().astype(bool), phis, trimmed)

    def outputs(self, x: np.ndarray, text: str) -> np.ndarray:
        """The network's ``[T, 1 + 6M]`` outputs teacher-forced over ``[T, 3]`` inputs and ``text``."""
        spec = line_spec([text], None, None)
        y = self.model({"x": np.asarray(x, np.float32)[None], "chars": spec.chars, "char_mask": spec.char_mask})["y"]
        return np.asarray(y)[0]

    # ------------------------------------------------------------------ compiled parts

    def _max_total(self, steps: int):
        """The loop's step bound: a tensor, or under XLA (whose arrays have compile-time sizes) a
        Python int rounded up to ``XLA_STEP_BUCKET``, so that few sizes are compiled."""
        import tensorflow as tf

        if self.jit_compile:
            return -(-steps // XLA_STEP_BUCKET) * XLA_STEP_BUCKET
        return tf.constant(steps, tf.int32)

    def _prime_impl(self, prime_offsets, chars, char_mask, onehot, position):
        """Teacher-force the network over ``[B, P, 3]`` prime offsets; return (next x, state).

        The prime is read with its own text and the space after it (positions ``1..position``),
        none of the new text: the primed state is the style's alone, so the NumPy engine computes
        it once per style. The window is then moved so that it peaks on ``position`` (``[]`` int, 1-based: the space
        between the prime's text and the new text), every kappa_k shifted by the same whole
        number (eq 51's positions, their spread kept) and ``w`` recomputed there (eq 47). That is
        where a line's window stands after its last character, and where a fresh line's starts
        (kappa = 0, one position before the first character). A prime in the training
        distribution already ends there (the shipped model: on the space in 19 of 24 held-out
        lines followed by another line, one character early in 5); the shift guards against
        primes that leave the window elsewhere, which then skip or repeat the new text's start.
        """
        import tensorflow as tf

        x = tf.concat([tf.zeros_like(prime_offsets[:, :1]), prime_offsets[:, :-1]], axis=1)
        prefix_mask = char_mask * tf.cast(tf.range(tf.shape(char_mask)[1]) < position, char_mask.dtype)[None]
        out = self.model({"x": x, "chars": chars, "char_mask": prefix_mask}, return_state=True)
        state = out["state"]
        window = self.model.window
        a, b, _ = window.window_parameters(state["h"][0])
        _, phi = window.read(a, b, state["kappa"], onehot, prefix_mask)
        peak = tf.cast(tf.argmax(phi, axis=1) + 1, tf.float32)
        kappa = state["kappa"] + (tf.cast(position, tf.float32) - peak)[:, None]
        w, _ = window.read(a, b, kappa, onehot, char_mask)
        return prime_offsets[:, -1], dict(state, kappa=kappa, w=w)

    def _loop_impl(self, x0, state, onehot, char_mask, text_mask, lengths, caps, free_running, bias, seed,
                   max_total, return_attention):
        import tensorflow as tf

        model, m = self.model, self.config.mixture_components
        batch = tf.shape(x0)[0]
        u = tf.shape(char_mask)[1]
        end_position = tf.cast(lengths + 1, tf.float32)[:, None]  # [B, 1]: the position U + 1

        last_index = tf.maximum(lengths - 1, 0)

        def body(t, x, state, lines, points, phis, lasts):
            out, new_state = model.step(x, onehot, char_mask, state)
            dx, dy, lift = draw_with(out["y"], m, bias, *stateless_draws(seed, t, batch, m))
            # Graves' stop rule: the window weight just past the last character beats every real one.
            a, b, _ = model.window.window_parameters(new_state["h"][0])
            phi_end = window_phi(a, b, out["kappa"], end_position)[:, 0]
            past_end = phi_end > tf.reduce_max(out["phi"], axis=1)
            on_text = tf.reduce_sum(out["phi"] * text_mask, axis=1) > TEXT_START_WEIGHT
            new_lines, lift, keep = advance_lines(tf.where, lines, t, past_end, lift, x[:, 2] > 0.5, on_text, caps,
                                                  free_running)
            point = tf.stack([dx, dy, tf.cast(lift, tf.float32)], axis=1)
            point = tf.ensure_shape(tf.where(keep[:, None], point, tf.zeros_like(point)), x.shape)
            points = points.write(t, point)
            lasts = lasts.write(t, tf.gather(out["phi"], last_index, axis=1, batch_dims=1))
            if return_attention:
                phis = phis.write(t, out["phi"])
            # Keep every loop variable's static shape (a batch of one is otherwise relaxed to None).
            new_state = tf.nest.map_structure(lambda n, o: tf.ensure_shape(n, o.shape), new_state, state)
            new_lines = LineState(*(tf.ensure_shape(n, o.shape) for n, o in zip(new_lines, lines)))
            return t + 1, point, new_state, new_lines, points, phis, lasts

        def cond(t, x, state, lines, *_):
            return (t < max_total) & ~tf.reduce_all(lines.finished)

        zeros_b = tf.zeros([batch], tf.int32)
        false_b = tf.zeros([batch], tf.bool)
        if isinstance(max_total, int):  # XLA: fixed-size arrays
            points = tf.TensorArray(tf.float32, size=max_total, element_shape=[None, 3])
            lasts = tf.TensorArray(tf.float32, size=max_total, element_shape=[None])
            phis = tf.TensorArray(tf.float32, size=max_total if return_attention else 0, element_shape=[None, None])
        else:
            points = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=[None, 3])
            lasts = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=[None])
            phis = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=[None, None])
        loop_vars = (tf.constant(0), x0, state, initial_line_state(zeros_b, false_b), points, phis, lasts)
        _, _, _, lines, points, phis, lasts = tf.while_loop(cond, body, loop_vars)
        points = tf.transpose(points.stack(), [1, 0, 2])  # [B, T, 3]
        phi = tf.transpose(phis.stack(), [1, 0, 2]) if return_attention else tf.zeros([batch, 0, u])
        last = tf.transpose(lasts.stack())  # [B, T]: the window's weight on each line's last character
        return points, lines.counts, lines.hit_cap, phi, lines.text_from, last
