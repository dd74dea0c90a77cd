"""The default sampler engine: batched lines written by the NumPy network (:mod:`.numpy_engine`).

It follows the compiled TensorFlow sampler (:mod:`.sample`) rule for rule — the shared ones live
in :mod:`.sampling` — and imports nothing but NumPy: a first line is written a fraction of a
second after the process starts.

* Priming (Graves section 5.5): the network runs teacher-forced over a style's strokes with the
  characters ``prime_text + " " + text``; the window is then moved to peak on the space before
  the new text (:meth:`NumpySampler.prime`, as the TensorFlow sampler's ``_prime_impl``).
* Each step draws from the biased mixture (eqs 61-62, :func:`~.numpy_engine.draw_points`).
* Randomness: each line has its own ``numpy.random.Generator`` seeded by ``(seed, line id)``
  (:class:`LineRandom`), so the same seed, text and checkpoint give the same drawing, and a
  line's random numbers do not depend on the rest of its batch (its float rounding may: BLAS
  picks kernels by shape). The two engines draw different random numbers.
* Lines that have finished are dropped from the working batch as it shrinks, so a batch costs
  what its lines need.

Shapes: B lines, U characters, T points, M mixture components.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..config import ModelConfig
from .numpy_engine import BoundChars, NumpyNetwork, NumpyState, draw_points
from .sampling import (LineSpec, LineState, SampleBatch, TEXT_START_WEIGHT, advance_lines, finish_lines,
                       initial_line_state, line_spec)

#: Random numbers are drawn for this many steps of a line at a time.
RANDOM_CHUNK = 256
#: The working batch is compacted when its unfinished lines are at most this fraction of it.
COMPACT_FRACTION = 0.75
#: BLAS threads while sampling. A step's products are small (64 x 341 against 341 x 512 for the
#: shipped model); on the 2-core development machine, shared with other work, OpenBLAS' default
#: two threads made one such product 6 times slower than one thread (docs/performance.md).
BLAS_THREADS = 1

#: ``draws(t, rows) -> (uniform_pi [R, M], normal [R, 2], uniform_pen [R])`` for step ``t`` of
#: the lines ``rows`` (indices into the batch).
Draws = Callable[[int, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


class LineRandom:
    """Per-line random streams: line ``i`` draws from ``Generator(PCG64(SeedSequence([seed, ids[i]])))``."""

    def __init__(self, seed: int, line_ids: Sequence[int], mixture_components: int):
        self.generators = [np.random.default_rng([int(seed) & 0xFFFFFFFF, int(i)]) for i in line_ids]
        self.m = mixture_components
        self.start = -1
        batch = len(self.generators)
        self.uniform = np.zeros((batch, RANDOM_CHUNK, mixture_components + 1), np.float32)
        self.normal = np.zeros((batch, RANDOM_CHUNK, 2), np.float32)

    def __call__(self, t: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if t // RANDOM_CHUNK != self.start:
            self.start = t // RANDOM_CHUNK
            for i in rows:
                g = self.generators[i]
                self.uniform[i] = g.random((RANDOM_CHUNK, self.m + 1), dtype=np.float32)
                self.normal[i] = g.standard_normal((RANDOM_CHUNK, 2), dtype=np.float32)
        k = t % RANDOM_CHUNK
        u = self.uniform[rows, k]
        return u[:, : self.m], self.normal[rows, k], u[:, self.m]


class NumpySampler:
    """Writes lines with a :class:`~.numpy_engine.NumpyNetwork`; the interface of ``sample.Sampler``."""

    def __init__(self, network: NumpyNetwork):
        self.network = network
        self.config = network.config

    @classmethod
    def from_checkpoint(cls, directory: str | os.PathLike, config: ModelConfig | None = None) -> "NumpySampler":
        """The sampler of a checkpoint directory (``config``: its ``ModelConfig``, else read), no TensorFlow."""
        from ..checkpoint import read_config
        from .weights import load_weights

        config = config or read_config(directory).model
        return cls(NumpyNetwork(config, load_weights(Path(directory), config)))

    def outputs(self, x: np.ndarray, text: str) -> np.ndarray:
        """The network's ``[T, 1 + 6M]`` outputs teacher-forced over ``[T, 3]`` inputs and ``text``."""
        spec = line_spec([text], None, None)
        out, _ = self.network.run(np.asarray(x, np.float32)[None], self.network.bind(spec.chars, spec.char_mask))
        return out["y"][0]

    def sample(self, texts: list[str], *, bias: float = 0.0, seed: int = 0,
               prime: tuple[np.ndarray, str] | None = None, max_steps: int | None = None,
               return_attention: bool = False, line_ids: Sequence[int] | None = None,
               draws: Draws | None = None) -> SampleBatch:
        """Write every text of ``texts`` as one line, all in one batch.

        Args:
            texts: the lines (already validated); ``""`` writes a free-running scribble.
            bias: sampling bias b >= 0 (eqs 61-62).
            seed: the random seed.
            prime: ``(offsets [P, 3] normalised, prime_text)`` of a style sample, or ``None``.
            max_steps: override the per-line step cap.
            return_attention: also return the window weights phi per line.
            line_ids: each line's random stream (default ``0..B-1``): the same id, seed and text
                draw the same random numbers in any batch.
            draws: explicit random numbers instead (see :data:`Draws`), for tests.
        """
        if not texts:
            return SampleBatch([], np.zeros(0, bool), [] if return_attention else None, np.zeros(0, np.int64))
        spec = line_spec(texts, prime[1] if prime is not None else None, max_steps)
        if draws is None:
            draws = LineRandom(seed, range(len(texts)) if line_ids is None else line_ids,
                               self.config.mixture_components)
        with _blas_threads(BLAS_THREADS):
            bound = self.network.bind(spec.chars, spec.char_mask)
            if prime is not None:
                x0, state = self.prime(np.asarray(prime[0], np.float32), bound, len(spec.prefix))
            else:
                x0, state = np.zeros((len(texts), 3), np.float32), self.network.initial_state(len(texts))
            points, lines, phi, last = self._loop(x0, state, bound, spec, float(bias), draws, return_attention)
        offsets, trimmed, phis = finish_lines(points, lines.counts, lines.text_from, phi, spec.lengths, last)
        return SampleBatch(offsets, np.asarray(lines.hit_cap, bool), phis, trimmed)

    def prime(self, offsets: np.ndarray, bound: BoundChars, position: int) -> tuple[np.ndarray, NumpyState]:
        """Teacher-force every line over the ``[P, 3]`` prime offsets; return (next x ``[B, 3]``, state).

        The window is then moved to peak on ``position`` (1-based: the space between the prime's
        text and the new text), every kappa_k shifted by the same whole number, and phi (hence
        ``w``, eq 47) recomputed there — see the TensorFlow sampler's ``_prime_impl``.
        """
        batch = bound.mask.shape[0]
        x = np.concatenate([np.zeros((1, 3), np.float32), offsets[:-1]])
        x = np.broadcast_to(x[None], (batch,) + x.shape)
        out, state = self.network.run(x, bound)
        a, b = out["a"][:, -1], out["b"][:, -1]
        peak = np.argmax(out["phi"][:, -1], axis=1).astype(np.float32) + 1
        state.kappa = state.kappa + (np.float32(position) - peak)[:, None]
        state.w, _, _ = self.network.read(a, b, state.kappa, bound)
        return np.repeat(offsets[-1:], batch, axis=0), state

    def _loop(self, x: np.ndarray, state: NumpyState, bound: BoundChars, spec: LineSpec, bias: float,
              draws: Draws, return_attention: bool) -> tuple[np.ndarray, LineState, np.ndarray | None, np.ndarray]:
        """The step loop; returns ``points [B, T, 3]``, the final :class:`LineState`, ``phi [B, T, U]``
        (or ``None``) and the window's weight on each line's last character ``[B, T]``."""
        batch, u = spec.chars.shape
        max_total = int(spec.caps.max())
        m = self.config.mixture_components
        points = np.zeros((batch, max_total, 3), np.float32)
        phis = np.zeros((batch, max_total, u), np.float32) if return_attention else None
        last = np.zeros((batch, max_total), np.float32)
        last_index = np.maximum(spec.lengths - 1, 0)
        result = initial_line_state(np.zeros(batch, np.int64), np.zeros(batch, bool))
        rows = np.arange(batch)  # the working batch's lines
        lines = result
        text_mask, caps, free = spec.text_mask, spec.caps, spec.free_running
        pen_up = x[:, 2] > 0.5
        for t in range(max_total):
            out, state = self.network.step(x, bound, state)
            x = draw_points(out["y"], m, bias, *draws(t, rows))
            phi = out["phi"]
            past_end = out["phi_end"] > phi.max(axis=1)
            on_text = np.einsum("bu,bu->b", phi, text_mask) > TEXT_START_WEIGHT
            lines, lift, _ = advance_lines(np.where, lines, t, past_end, x[:, 2] > 0.5, pen_up, on_text, caps, free)
            x[:, 2] = lift
            pen_up = lift
            points[rows, t] = x
            last[rows, t] = phi[np.arange(len(rows)), last_index]
            if phis is not None:
                phis[rows, t] = phi
            alive = ~lines.finished
            if alive.sum() <= COMPACT_FRACTION * len(rows):
                result = _store(result, rows, lines)
                if not alive.any():
                    break
                rows, lines, x, pen_up = rows[alive], _take(lines, alive), x[alive], pen_up[alive]
                state, bound = state.take(alive), bound.take(alive)
                text_mask, caps, free, last_index = text_mask[alive], caps[alive], free[alive], last_index[alive]
        else:
            result = _store(result, rows, lines)
        return points, result, phis, last


_controller = None


def _blas_threads(limit: int):
    """A context that limits BLAS threads (threadpoolctl), or does nothing without threadpoolctl."""
    global _controller
    import contextlib

    try:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        return _controller.limit(limits=limit, user_api="blas")
    except ImportError:
        return contextlib.nullcontext()


def _take(lines: LineState, keep: np.ndarray) -> LineState:
    return LineState(*(f[keep] for f in lines))


def _store(result: LineState, rows: np.ndarray, lines: LineState) -> LineState:
    """``result`` with the working batch's ``lines`` written back to their ``rows``."""
    fields = [np.array(f) for f in result]
    for full, part in zip(fields, lines):
        full[rows] = part
    return LineState(*fields)

