"""The batched sampler: many lines at once in one compiled ``tf.while_loop``.

Each iteration runs the model's shared step function (:meth:`SynthesisModel.step`) for every
line of the batch, draws the next point from the biased mixture (Graves eqs 61-62) and feeds
it back. A line is finished when the attention window has passed its last character — Graves'
rule: ``phi(t, U + 1) > phi(t, u)`` for every real ``u`` (section 5.3) — and the pen has
lifted; from then on it adds no points while the others go on. A per-line step cap
proportional to the text length is only a guard: lines that reach it are counted.

Priming (Graves section 5.5): the network first runs teacher-forced over a style sample's
strokes with the character sequence ``prime_text + " " + text``; sampling then continues from
that state, its window placed on the space before the new text (see ``_prime_impl``). Strokes
the network finishes before its window reaches the new text (a late dot or cross for the
prime's last word) are dropped (``trim_before_text``).

Randomness uses stateless TensorFlow ops keyed by ``(seed, step)``: the same seed, texts,
batch and checkpoint give the same strokes.

Shapes: B lines, U characters (longest line of the batch), T points, M mixture components.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import alphabet
from .attention import window_phi
from .mixture import biased_params, correlation, split_params

#: Guard: at most this many points per character (plus ``CAP_BASE_STEPS``) for one line.
CAP_STEPS_PER_CHAR = 60
CAP_BASE_STEPS = 60
#: After the window has passed the last character, wait at most this many points for the
#: pen to lift before the line is ended with a forced lift.
MAX_STEPS_TO_LIFT = 40
#: The character axis is padded to a multiple of this.
CHAR_BUCKET = 8
#: Under XLA the step bound is rounded up to a multiple of this (one compilation per bucket).
XLA_STEP_BUCKET = 512
#: Free-running (no text) mode writes this many points unless told otherwise.
SCRIBBLE_STEPS = 600
#: A line's text has begun once the window puts this much weight on its own characters (not the
#: prime's); strokes finished before then are dropped (see ``trim_before_text``).
TEXT_START_WEIGHT = 0.5


@dataclass
class SampleBatch:
    """What one call of :meth:`Sampler.sample` returns.

    Attributes:
        offsets: per line, ``[N_i, 3]`` offsets ``(dx, dy, pen_up)`` in normalised units
            (multiply ``dx, dy`` by the dataset scale); the last point lifts the pen.
        hit_cap: per line, whether it was ended by the step cap rather than the stop rule.
        phi: per line ``[N_i, U_i]`` window weights when asked for, else ``None``.
        trimmed: per line, how many leading points ``trim_before_text`` dropped.
    """

    offsets: list[np.ndarray]
    hit_cap: np.ndarray
    phi: list[np.ndarray] | None = None
    trimmed: np.ndarray | None = None


def step_cap(text_length: int) -> int:
    """The guard on the number of points for a line of ``text_length`` characters."""
    return CAP_BASE_STEPS + CAP_STEPS_PER_CHAR * text_length


def trim_before_text(offsets: np.ndarray, text_from: int) -> int:
    """How many leading points of ``[N, 3]`` offsets to drop: the strokes finished before step
    ``text_from``, when the window first weighed the line's own text (``-1``: never).

    After a prime the network sometimes first adds a late stroke to the prime's last word (a dot
    or a cross, drawn back over it) and only then moves on to the new text; written alone, that
    stroke is a stray mark before the line. Whole strokes only: a stroke that is still being
    drawn when the window reaches the text is part of it.
    """
    if text_from <= 0:
        return 0
    lifts = np.flatnonzero(offsets[:text_from, 2] > 0.5)
    if lifts.size == 0 or lifts[-1] + 1 >= len(offsets):
        return 0
    return int(lifts[-1] + 1)


class Sampler:
    """Writes lines with a :class:`~handwriting.model.SynthesisModel` (TensorFlow backend).

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
            return SampleBatch([], np.zeros(0, bool), [] if return_attention else None)
        prefix = (prime[1] + " ") if prime is not None else ""
        sequences = [prefix + t if t else "" for t in texts]
        lengths = np.array([len(s) for s in sequences], np.int32)
        # Padded characters change nothing (phi = 0 there); rounding U up bounds the shapes compiled.
        u = -(-max(int(lengths.max()), 1) // CHAR_BUCKET) * CHAR_BUCKET
        chars = np.zeros((len(texts), u), np.int32)
        for i, s in enumerate(sequences):
            if s:
                chars[i, : len(s)] = alphabet.encode(s, normalise_text=False)
        char_mask = (chars > 0).astype(np.float32)
        own_lengths = np.array([len(t) for t in texts])
        caps = np.where(own_lengths > 0, [step_cap(n) for n in own_lengths], SCRIBBLE_STEPS).astype(np.int32)
        if max_steps is not None:
            caps = np.full_like(caps, max_steps)
        free_running = lengths == 0

        chars_t, mask_t = tf.constant(chars), tf.constant(char_mask)
        onehot = self.model.one_hot_chars(chars_t, mask_t)
        batch = len(texts)
        if prime is not None:
            x0, state = self._prime(tf.constant(prime[0][None].repeat(batch, 0), tf.float32), chars_t, mask_t, onehot,
                                    tf.constant(len(prefix), tf.int32))
        else:
            x0 = tf.zeros((batch, 3), tf.float32)
            state = self.model.initial_state(batch, "float32")
        text_mask = char_mask * (np.arange(u) >= len(prefix))[None]
        points, counts, hit_cap, phi, text_from = self._loop(
            x0, state, onehot, mask_t, tf.constant(text_mask), tf.constant(lengths), tf.constant(caps),
            tf.constant(free_running), tf.constant(float(bias), tf.float32), tf.constant(int(seed), tf.int64),
            self._max_total(int(caps.max())), return_attention,
        )
        points, counts, text_from = points.numpy(), counts.numpy(), text_from.numpy()
        offsets, trimmed = [], np.zeros(batch, np.int64)
        for i in range(batch):
            line = points[i, : counts[i]].copy()
            trimmed[i] = k = trim_before_text(line, int(text_from[i]))
            if k:  # the dropped strokes' movement is kept in the first remaining step
                line[k, :2] += line[:k, :2].sum(axis=0)
            offsets.append(line[k:])
        phis = None
        if return_attention:
            phi = phi.numpy()
            phis = [phi[i, trimmed[i]: counts[i], : max(lengths[i], 1)] for i in range(batch)]
        return SampleBatch(offsets, hit_cap.numpy().astype(bool), phis, trimmed)

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

        The window is then moved so that it peaks on ``position`` (``[]`` int, 1-based: the space
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
        out = self.model({"x": x, "chars": chars, "char_mask": char_mask}, return_state=True)
        state = out["state"]
        window = self.model.window
        a, b, _ = window.window_parameters(state["h"][0])
        _, phi = window.read(a, b, state["kappa"], onehot, char_mask)
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

        def draw(y, t):
            p = biased_params(split_params(y, m), bias)
            seeds = [tf.stack([seed, tf.cast(3 * t + k, tf.int64)]) for k in range(3)]
            # Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits), and unlike
            # stateless_categorical it compiles with XLA.
            u = tf.random.stateless_uniform(tf.shape(p.pi_hat), seeds[0], minval=1e-20, maxval=1.0)
            component = tf.argmax(p.pi_hat - tf.math.log(-tf.math.log(u)), axis=1, output_type=tf.int32)
            pick = lambda v: tf.gather(v, component, axis=1, batch_dims=1)  # noqa: E731
            mu1, mu2 = pick(p.mu1), pick(p.mu2)
            s1, s2 = tf.exp(pick(p.log_sigma1)), tf.exp(pick(p.log_sigma2))
            rho = pick(correlation(p.rho_hat))
            z = tf.random.stateless_normal([batch, 2], seeds[1])
            dx = mu1 + s1 * z[:, 0]
            dy = mu2 + s2 * (rho * z[:, 0] + tf.sqrt(1.0 - rho * rho) * z[:, 1])
            lift = tf.random.stateless_uniform([batch], seeds[2]) < tf.sigmoid(p.e_hat)
            return dx, dy, lift

        def body(t, x, state, finished, passed, since_passed, counts, hit_cap, text_from, points, phis):
            finished_in, passed_in, since_in, counts_in, cap_in = finished, passed, since_passed, counts, hit_cap
            text_from_in = text_from
            out, new_state = model.step(x, onehot, char_mask, state)
            dx, dy, lift = draw(out["y"], t)
            # Graves' stop rule: the window weight just past the last character beats every real one.
            a, b, _ = model.window.window_parameters(new_state["h"][0])
            phi_end = window_phi(a, b, out["kappa"], end_position)[:, 0]
            past_end = (phi_end > tf.reduce_max(out["phi"], axis=1)) & ~free_running
            passed = passed | past_end
            since_passed = tf.where(passed, since_passed + 1, since_passed)
            at_cap = t + 1 >= caps
            done = passed & (lift | (since_passed >= MAX_STEPS_TO_LIFT)) | at_cap
            lift = lift | done
            point = tf.stack([dx, dy, tf.cast(lift, tf.float32)], axis=1)
            active = ~finished
            point = tf.ensure_shape(tf.where(active[:, None], point, tf.zeros_like(point)), x.shape)
            points = points.write(t, point)
            if return_attention:
                phis = phis.write(t, out["phi"])
            counts = tf.where(active, t + 1, counts)
            on_text = tf.reduce_sum(out["phi"] * text_mask, axis=1) > TEXT_START_WEIGHT
            text_from = tf.where((text_from < 0) & on_text & active, t, text_from)
            hit_cap = hit_cap | (active & at_cap & ~passed & ~free_running)
            finished = finished | done
            # Keep every loop variable's static shape (a batch of one is otherwise relaxed to None).
            new_state = tf.nest.map_structure(lambda n, o: tf.ensure_shape(n, o.shape), new_state, state)
            keep = lambda new, old: tf.ensure_shape(new, old.shape)  # noqa: E731
            return (t + 1, point, new_state, keep(finished, finished_in), keep(passed, passed_in),
                    keep(since_passed, since_in), keep(counts, counts_in), keep(hit_cap, cap_in),
                    keep(text_from, text_from_in), points, phis)

        def cond(t, x, state, finished, *_):
            return (t < max_total) & ~tf.reduce_all(finished)

        zeros_b = tf.zeros([batch], tf.int32)
        false_b = tf.zeros([batch], tf.bool)
        if isinstance(max_total, int):  # XLA: fixed-size arrays
            points = tf.TensorArray(tf.float32, size=max_total, element_shape=[None, 3])
            phis = tf.TensorArray(tf.float32, size=max_total if return_attention else 0, element_shape=[None, None])
        else:
            points = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=[None, 3])
            phis = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=[None, None])
        loop_vars = (tf.constant(0), x0, state, false_b, false_b, zeros_b, zeros_b, false_b, zeros_b - 1, points, phis)
        _, _, _, _, _, _, counts, hit_cap, text_from, points, phis = tf.while_loop(cond, body, loop_vars)
        points = tf.transpose(points.stack(), [1, 0, 2])  # [B, T, 3]
        phi = tf.transpose(phis.stack(), [1, 0, 2]) if return_attention else tf.zeros([batch, 0, u])
        return points, counts, hit_cap, phi, text_from
