"""The default sampler engine: batched lines written by the NumPy network (:mod:`.numpy_engine`).

It follows the compiled TensorFlow sampler (:mod:`.sample`) rule for rule — the shared ones live
in :mod:`.sampling` — and imports nothing but NumPy: a first line is written a fraction of a
second after the process starts.

* Priming (Graves section 5.5): the network runs teacher-forced over a style's strokes with the
  characters ``prime_text + " "``; the window is then moved to peak on that space and read over
  ``prime_text + " " + text`` (:meth:`NumpySampler.prime`, as the TensorFlow sampler's
  ``_prime_impl``). The primed state does not depend on the new text: it is computed once per
  style and shared by every line.
* Each step draws from the biased mixture (eqs 61-62, :meth:`~.numpy_engine.Workspace.draw`).
* Randomness: each line has its own ``numpy.random.Generator`` seeded by ``(seed, line id)``
  (:class:`LineRandom`), so the same seed, text and checkpoint give the same drawing, and a
  line's random numbers do not depend on the rest of its batch (its float rounding may: BLAS
  picks kernels by shape). The two engines draw different random numbers.
* Lines that have finished are dropped from the working batch as it shrinks, so a batch costs
  what its lines need.
* A batch is written as it runs fastest (:func:`batch_parts`): two or three lines one at a
  time, 64 or more in two threads (one per core), the rest together.
* The stop rule (:func:`~.sampling.advance_lines`) runs only at steps where it can change
  something: while a line's text has not begun, while a line waits for its pen to lift, when a
  line's window passes its end, and at a line's step cap. At every other step it would only
  count one more point for each unfinished line, which is counted when it next runs.

Shapes: B lines, U characters, T points, M mixture components.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..config import ModelConfig
from .numpy_engine import FAR, BoundChars, NumpyNetwork, NumpyState, Workspace
from .numpy_mixture import gumbel_log
from .sampling import (LineSpec, LineState, SampleBatch, TEXT_START_WEIGHT, advance_lines, finish_lines,
                       initial_line_state, line_spec)

#: Random numbers are drawn for this many steps of a line at a time.
RANDOM_CHUNK = 256
#: The working batch is compacted when its unfinished lines are at most this fraction of it.
COMPACT_FRACTION = 0.75
#: Primed states kept per sampler (one per style and prime text; the oldest is dropped first).
PRIMED_CACHE = 32
#: BLAS threads while sampling. A step's products are small (64 x 341 against 341 x 512 for the
#: shipped model); on the 2-core development machine, shared with other work, OpenBLAS' default
#: two threads made one such product 6 times slower than one thread (docs/performance.md).
BLAS_THREADS = 1
#: A batch of at least this many lines is split into parts written at once, one per CPU core
#: (up to :data:`MAX_PARTS`), each in a thread of its own with one-thread products: NumPy lets go
#: of the GIL in them, and unlike BLAS threads, which wait for each other at every product, a
#: part that loses its core to other work slows only itself. On the 2-core development machine
#: 64 lines wrote 1.25x faster as two threads of 32 (and 20% slower with the other core busy);
#: 32 lines or fewer gained nothing, their steps too short for the GIL to be free often enough.
PARALLEL_MIN_LINES = 64
MAX_PARTS = 2
#: A batch of at most this many lines is written one line at a time: one line takes the engine's
#: single-line path (1-D products, a draw in Python floats), 90 us a point against 140 for each of
#: two lines written together (a 41-character line on the development machine).
ALONE_MAX_LINES = 3


def batch_parts(lines: int) -> tuple[int, bool]:
    """``(parts, in threads)``: how a batch of ``lines`` is written. Part ``k`` takes every
    ``parts``-th line; see :data:`ALONE_MAX_LINES` and :data:`PARALLEL_MIN_LINES`."""
    if 2 <= lines <= ALONE_MAX_LINES:
        return lines, False
    if lines < PARALLEL_MIN_LINES:
        return 1, False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_PARTS)), True


#: ``draws(t, rows) -> (uniform_pi [R, M], normal [R, 2], uniform_pen [R])`` for step ``t`` of
#: the lines ``rows`` (indices into the batch).
Draws = Callable[[int, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
#: ``single(t, rows) -> (log(-log u) [M], normal_0, normal_1, uniform_pen)`` for step ``t`` of a
#: working batch of one line, ``rows`` ``[1]`` (the arguments of :meth:`~.numpy_engine.Workspace.draw_one`).
SingleDraws = Callable[[int, np.ndarray], tuple[np.ndarray, float, float, float]]


class LineRandom:
    """Per-line random streams: line ``i`` draws from ``Generator(PCG64(SeedSequence([seed, ids[i]])))``.

    Called as a :data:`Draws`, it gives uniforms; :meth:`prepared` gives the same numbers with the
    Gumbel transform already applied (:func:`~.numpy_mixture.gumbel_log`, once per chunk of steps),
    and :meth:`single` the same again for a working batch of one line.
    """

    def __init__(self, seed: int, line_ids: Sequence[int], mixture_components: int):
        self.generators = [np.random.default_rng([int(seed) & 0xFFFFFFFF, int(i)]) for i in line_ids]
        self.m = mixture_components
        self.start = -1
        batch = len(self.generators)
        self.uniform = np.zeros((batch, RANDOM_CHUNK, mixture_components + 1), np.float32)
        self.normal = np.zeros((batch, RANDOM_CHUNK, 2), np.float32)
        self.log_u = np.zeros((batch, RANDOM_CHUNK, mixture_components), np.float32)
        self._rows, self._chunk, self._single_rows, self._single_chunk = None, None, None, None

    def _fill(self, t: int, rows: np.ndarray) -> None:
        if t // RANDOM_CHUNK != self.start:
            self.start = t // RANDOM_CHUNK
            for i in rows:
                g = self.generators[i]
                self.uniform[i] = g.random((RANDOM_CHUNK, self.m + 1), dtype=np.float32)
                self.normal[i] = g.standard_normal((RANDOM_CHUNK, 2), dtype=np.float32)
            self.log_u[rows] = gumbel_log(self.uniform[rows, :, : self.m])
            self._rows = self._single_rows = None

    def __call__(self, t: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._fill(t, rows)
        k = t % RANDOM_CHUNK
        u = self.uniform[rows, k]
        return u[:, : self.m], self.normal[rows, k], u[:, self.m]

    def prepared(self, t: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(log(-log u) [R, M], normal [R, 2], uniform_pen [R])`` for step ``t`` of the lines ``rows``."""
        self._fill(t, rows)
        if rows is not self._rows:  # a new chunk or a new working batch: gather its lines once
            self._rows = rows
            self._chunk = (self.log_u[rows], self.normal[rows], self.uniform[rows, :, self.m])
        k = t % RANDOM_CHUNK
        log_u, normal, pen = self._chunk
        return log_u[:, k], normal[:, k], pen[:, k]

    def single(self, t: int, rows: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        """:meth:`prepared` for the one line ``rows`` ``[1]``, as a :data:`SingleDraws` (Python
        floats, exactly the float32 numbers, taken from per-chunk lists: cheaper than NumPy indexing)."""
        if t // RANDOM_CHUNK != self.start:
            self._fill(t, rows)
        if rows is not self._single_rows:
            line = rows[0]
            self._single_rows = rows
            self._single_chunk = (self.log_u[line], self.normal[line].tolist(), self.uniform[line, :, self.m].tolist())
        k = t % RANDOM_CHUNK
        log_u, normal, pen = self._single_chunk
        n0, n1 = normal[k]
        return log_u[k], n0, n1, pen[k]


def _prepared(draws: Draws) -> Draws:
    """Explicit uniforms (``draws``) with the Gumbel transform applied, as :meth:`LineRandom.prepared`."""
    if isinstance(draws, LineRandom):
        return draws.prepared

    def prepared(t: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        uniform_pi, normal, uniform_pen = draws(t, rows)
        return gumbel_log(np.asarray(uniform_pi, np.float32)), normal, uniform_pen

    return prepared


def _single(draws: Draws) -> SingleDraws:
    """The :data:`SingleDraws` of ``draws`` (given uniforms or a :class:`LineRandom`)."""
    if isinstance(draws, LineRandom):
        return draws.single
    prepared = _prepared(draws)

    def single(t: int, rows: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        log_u, normal, uniform_pen = prepared(t, rows)
        n0, n1 = np.ravel(normal).tolist()
        return np.ravel(log_u), n0, n1, float(np.ravel(uniform_pen)[0])

    return single


class NumpySampler:
    """Writes lines with a :class:`~.numpy_engine.NumpyNetwork`; the interface of ``sample.Sampler``."""

    def __init__(self, network: NumpyNetwork):
        self.network = network
        self.config = network.config
        self._primed: dict[tuple[bytes, bytes], tuple[NumpyState, np.ndarray, np.ndarray]] = {}
        self._priming = threading.Lock()

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
        """Write every text of ``texts`` as one line (in one batch, or in parts: :func:`batch_parts`).

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
        ids = list(range(len(texts)) if line_ids is None else line_ids)
        parts, threads = (1, False) if draws is not None else batch_parts(len(texts))
        # Part k takes every parts-th line, so that lines sorted by length share the work evenly.
        write = lambda k: self._write(texts[k::parts], float(bias), int(seed), prime, max_steps,  # noqa: E731
                                      return_attention, ids[k::parts], draws)
        with _blas_threads(BLAS_THREADS):
            if parts == 1:
                return write(0)
            if not threads:
                batches = [write(k) for k in range(parts)]
            else:
                with ThreadPoolExecutor(parts) as pool:
                    batches = list(pool.map(write, range(parts)))
        order = np.argsort(np.concatenate([np.arange(k, len(texts), parts) for k in range(parts)]), kind="stable")
        pick = lambda items: [items[i] for i in order]  # noqa: E731
        return SampleBatch(pick([o for b in batches for o in b.offsets]), np.concatenate([b.hit_cap for b in batches])[order],
                           pick([p for b in batches for p in b.phi]) if return_attention else None,
                           np.concatenate([b.trimmed for b in batches])[order])

    def _write(self, texts: list[str], bias: float, seed: int, prime: tuple[np.ndarray, str] | None,
               max_steps: int | None, return_attention: bool, line_ids: Sequence[int],
               draws: Draws | None) -> SampleBatch:
        """:meth:`sample` for one working batch, in the calling thread."""
        spec = line_spec(texts, prime[1] if prime is not None else None, max_steps)
        if draws is None:
            draws = LineRandom(seed, line_ids, self.config.mixture_components)
        # exp(-z) overflowing to inf in a large batch's sigmoid gives 1 / (1 + inf) = 0, as it
        # should (np.errstate holds in its own thread only)
        with np.errstate(over="ignore"):
            bound = self.network.bind(spec.chars, spec.char_mask, trim=True)
            if prime is not None:
                work = self.prime(np.asarray(prime[0], np.float32), bound, len(spec.prefix), bias)
            else:
                work = Workspace(self.network, bound, self.network.initial_state(len(texts)), bias)
            points, lines, phi, last = self._loop(work, spec, _prepared(draws), _single(draws), return_attention)
        offsets, trimmed, phis = finish_lines(points, lines.counts, lines.text_from, phi, spec, last)
        return SampleBatch(offsets, np.asarray(lines.hit_cap, bool), phis, trimmed)

    def prime(self, offsets: np.ndarray, bound: BoundChars, position: int, bias: float = 0.0) -> Workspace:
        """A workspace for every line of ``bound``, primed on the ``[P, 3]`` prime offsets; its ``x``
        is the prime's last offset (the next input).

        The prime is read with its own text and the space after it (positions ``1..position``)
        and nothing of the new text (as the TensorFlow sampler's ``_prime_impl``), so the primed
        state is the style's alone: it is computed once (:meth:`primed_state`) and every line,
        of this batch and of later ones, starts from it; only ``phi`` and ``w`` (eqs 46-47) are
        then read again over each line's whole text.
        """
        batch = bound.mask.shape[0]
        state, a, b = self.primed_state(offsets, bound.ids[0, :position])
        work = Workspace(self.network, bound, _repeat(state, batch), bias)
        work.a[...], work.neg_b[...] = a, -b
        work.x[...] = offsets[-1]
        work.read()
        return work

    def primed_state(self, offsets: np.ndarray, prefix_ids: np.ndarray) -> tuple[NumpyState, np.ndarray, np.ndarray]:
        """``(state, a, b)`` ``[1, ...]`` after teacher-forcing one line over the prime ``offsets``
        with the characters ``prefix_ids`` ``[position]`` (the prime's text and a space); cached
        per prime (:data:`PRIMED_CACHE` of them).

        The window is then moved to peak on ``position`` (1-based: the space between the prime's
        text and the new text), every kappa_k shifted by the same whole number; ``a`` and ``b``
        are the window's last parameters, from which ``phi`` is read at the shifted kappa. The
        output layer is not needed while priming and is not computed.
        """
        key = (offsets.tobytes(), prefix_ids.tobytes())
        with self._priming:  # a sampler may be shared by threads
            if key not in self._primed:
                self._primed[key] = self._run_prime(offsets, prefix_ids)
                if len(self._primed) > PRIMED_CACHE:
                    self._primed.pop(next(iter(self._primed)))
            return self._primed[key]

    def _run_prime(self, offsets: np.ndarray, prefix_ids: np.ndarray) -> tuple[NumpyState, np.ndarray, np.ndarray]:
        ids = np.asarray(prefix_ids, np.int64)[None]
        work = Workspace(self.network, self.network.bind(ids, np.ones_like(ids, np.float32)),
                         self.network.initial_state(1))
        work.x[...] = 0.0
        for t in range(len(offsets)):
            work.advance(output=False)
            work.x[...] = offsets[t]
        peak = np.float32(np.argmax(work.phi[0]) + 1)
        np.add(work.kappa, np.float32(ids.shape[1]) - peak, out=work.kappa)
        return work.state(), work.a.copy(), -work.neg_b.copy()

    def _loop(self, work: Workspace, spec: LineSpec, draws: Draws, single: SingleDraws,
              return_attention: bool) -> tuple[np.ndarray, LineState, np.ndarray | None, np.ndarray]:
        """The step loop (random numbers from ``draws``, or ``single`` while one line is left); returns
        ``points [B, T, 3]``, the final :class:`LineState`, ``phi [B, T, U]`` (or ``None``) and the
        window's weight on each line's last character ``[B, T]``."""
        batch = len(spec.caps)
        history = _History(batch, int(spec.caps.max()), work.u, return_attention)
        rule = _Rule(spec, work.u, work.x[:, 2] > 0.5)
        rows = np.arange(batch)  # the working batch's lines
        draw, pick = (work.draw_one, single) if batch == 1 else (work.draw, draws)
        for t in range(history.steps):
            work.advance()
            draw(*pick(t, rows))
            due = rule.due(t)
            if due or work.end_near():
                past_end = np.greater(work.phi_end, np.maximum.reduce(work.phi, axis=1))
                if due or past_end.any():
                    rule.apply(t, work, past_end, history.pen_up(t))
            history.record(t, work)
            alive = rule.alive
            if alive is not None and alive.sum() <= COMPACT_FRACTION * len(rows):
                rule.store(rows)
                history.store(rows, t)
                if not alive.any():
                    break
                rows = rows[alive]
                work.take(alive)
                rule.take(alive)
                history.take(alive)
                draw, pick = (work.draw_one, single) if len(rows) == 1 else (work.draw, draws)
        else:
            rule.store(rows)
            history.store(rows, history.steps - 1)
        return history.points, rule.result, history.phis, history.last


class _History:
    """What each line wrote, per step: points, the window's weight on the last character and,
    when asked, the whole window; kept for the working batch and stored by line at compaction."""

    def __init__(self, batch: int, steps: int, u: int, attention: bool):
        self.steps = steps
        self.points = np.zeros((batch, steps, 3), np.float32)
        self.last = np.zeros((batch, steps), np.float32)
        self.phis = np.zeros((batch, steps, u), np.float32) if attention else None
        self.work = [np.empty_like(a) for a in (self.points, self.last, self.phis) if a is not None]
        self.take(slice(None))

    def record(self, t: int, work: Workspace) -> None:
        if self.one is not None:  # 1-D views and a Python float: less indexing than [:, t]
            self.one[0][t] = work.x_vec
            self.one[1][t] = work.phi_vec.item(work.u)
        else:
            self.work[0][:, t] = work.x
            self.work[1][:, t] = work.phi_last
        if self.phis is not None:
            self.work[2][:, t] = work.phi

    def pen_up(self, t: int) -> np.ndarray | None:
        """Whether each working line's previous point lifted the pen (``None`` at the first step)."""
        return self.work[0][:, t - 1, 2] > 0.5 if t > 0 else None

    def store(self, rows: np.ndarray, t: int) -> None:
        for full, part in zip((self.points, self.last, self.phis), self.work):
            full[rows, : t + 1] = part[:, : t + 1]

    def take(self, keep: np.ndarray | slice) -> None:
        self.work = [a[keep] for a in self.work]
        self.one = (self.work[0][0], self.work[1][0]) if len(self.work[0]) == 1 else None


class _Rule:
    """The stop rule (:func:`~.sampling.advance_lines`) for the working batch, applied at the
    steps where it can change something (see the module docstring); ``alive`` is set after a
    step where it ran, ``None`` otherwise."""

    def __init__(self, spec: LineSpec, u: int, pen_up: np.ndarray):
        batch, self.u = len(spec.caps), u
        self.text_start, self.caps, self.free = len(spec.prefix), spec.caps, spec.free_running
        self.lines = self.result = initial_line_state(np.zeros(batch, np.int64), np.zeros(batch, bool))
        self.first_pen_up = pen_up
        self.counted = 0  # self.lines is exact through the step before this one
        self.busy, self.next_cap, self.alive = True, 0, None

    def due(self, t: int) -> bool:
        self.alive = None
        return self.busy or t >= self.next_cap

    def apply(self, t: int, work: Workspace, past_end: np.ndarray, pen_was_up: np.ndarray | None) -> None:
        """One step of the rule at step ``t``; the pen-up of this step's point forced where a line ends."""
        lines = self.lines
        if self.counted < t:  # the quiet steps since the rule last ran: one point each
            lines = lines._replace(counts=np.where(lines.finished, lines.counts, t))
        on_text = work.phi[:, self.text_start:].sum(axis=1) > TEXT_START_WEIGHT
        lines, lift, _ = advance_lines(np.where, lines, t, past_end, work.x[:, 2] > 0.5,
                                       self.first_pen_up if pen_was_up is None else pen_was_up, on_text, self.caps,
                                       self.free)
        work.x[:, 2] = lift
        self.lines, self.counted, self.alive = lines, t + 1, ~lines.finished
        waiting = self.alive & (lines.passed | ((lines.text_from < 0) & ~self.free))
        self.busy = bool(waiting.any())
        self.next_cap = int(self.caps[self.alive].min()) - 1 if self.alive.any() else 0
        work.bound.positions[lines.finished, self.u + 1] = FAR  # finished: Graves' test no longer needed

    def store(self, rows: np.ndarray) -> None:
        """Write the working batch's lines back to their ``rows`` of the result."""
        fields = [np.array(f) for f in self.result]
        for full, part in zip(fields, self.lines):
            full[rows] = part
        self.result = LineState(*fields)

    def take(self, keep: np.ndarray) -> None:
        self.lines = LineState(*(f[keep] for f in self.lines))
        self.caps, self.free = self.caps[keep], self.free[keep]


_controller = None


def _repeat(state: NumpyState, batch: int) -> NumpyState:
    """A one-line state ``[1, ...]`` for each of ``batch`` lines."""
    rows = lambda a: np.repeat(a, batch, axis=0)  # noqa: E731
    return NumpyState([rows(h) for h in state.h], [rows(c) for c in state.c], rows(state.kappa), rows(state.w))


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
