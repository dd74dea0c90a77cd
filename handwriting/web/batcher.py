"""One loaded :class:`Hand`, one writer thread, and requests that arrive together sharing a batch.

The hand is used by one thread only, so requests are served one batch at a time. Requests that
wait together and ask for the same style, bias and layout without a seed are written by one
:meth:`Hand.write_many` call, so their lines share the sampler's batches (a batch of eight lines
costs little more than one). A request with a seed is written alone: the same seed and text then
give the same drawing as ``handwriting write --seed`` and ``hand.write(seed=...)``, whatever else
the server is doing.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import HandwritingError
from ..writing.hand import Hand
from .requests import MAX_SEED

#: After the first request of a batch arrives, wait this long for others to join it (seconds).
BATCH_WINDOW_S = 0.01
#: At most this many requests share one ``write_many`` call.
MAX_REQUESTS_PER_BATCH = 16


@dataclass
class Job:
    """One request waiting to be written; ``future`` gets ``(drawing, seed or None)``."""

    text: str
    seed: int | None
    options: dict[str, Any]
    future: Future = field(default_factory=Future)
    #: Instead of writing: run ``function(hand)`` on the writer thread.
    function: Callable[[Hand], Any] | None = None

    def batch_key(self) -> tuple | None:
        """Requests with equal keys may share a batch; ``None``: written alone."""
        if self.seed is not None or self.function is not None:
            return None
        return tuple(sorted((k, repr(v)) for k, v in self.options.items()))


class WriteBatcher:
    """Writes requests on one thread with one :class:`Hand`, batching those that can share."""

    def __init__(self, hand: Hand, window_s: float = BATCH_WINDOW_S,
                 max_requests: int = MAX_REQUESTS_PER_BATCH):
        self.hand = hand
        self.window_s = window_s
        self.max_requests = max_requests
        self.batches_written = 0
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="handwriting-writer", daemon=True)
        self._thread.start()

    def submit(self, text: str, seed: int | None, options: dict[str, Any]) -> Future:
        """Queue a text; the future gives ``(Drawing, seed)`` (seed ``None`` when it shared a batch)
        or raises :class:`HandwritingError`."""
        job = Job(text=text, seed=seed, options=options)
        self._queue.put(job)
        return job.future

    def call(self, function: Callable[[Hand], Any]) -> Future:
        """Run ``function(hand)`` on the writer thread (for anything else that uses the hand)."""
        job = Job(text="", seed=None, options={}, function=function)
        self._queue.put(job)
        return job.future

    def close(self) -> None:
        """Stop the writer thread once the queued requests are done."""
        self._queue.put(None)
        self._thread.join()

    def _take_batch(self) -> list[Job] | None:
        first = self._queue.get()
        if first is None:
            return None
        jobs = [first]
        deadline = time.monotonic() + self.window_s
        while len(jobs) < self.max_requests:
            try:
                job = self._queue.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                break
            if job is None:
                self._queue.put(None)  # stop after this batch
                break
            jobs.append(job)
        return jobs

    def _run(self) -> None:
        while (jobs := self._take_batch()) is not None:
            groups: dict[Any, list[Job]] = {}
            for i, job in enumerate(jobs):
                key = job.batch_key()
                groups.setdefault(("alone", i) if key is None else key, []).append(job)
            for group in groups.values():
                self._write_group(group)
                self.batches_written += 1

    def _write_group(self, jobs: list[Job]) -> None:
        function = jobs[0].function
        if function is not None:
            _settle(jobs[0].future, lambda: function(self.hand))
            return
        seed = jobs[0].seed
        if seed is None:
            seed = int(np.random.default_rng().integers(MAX_SEED))
        try:
            drawings = self.hand.write_many([job.text for job in jobs], seed=seed, **jobs[0].options)
        except HandwritingError as exc:
            if len(jobs) == 1:
                jobs[0].future.set_exception(exc)
                return
            for job in jobs:  # one bad text must not fail the others: write each alone
                self._write_group([job])
            return
        except Exception as exc:  # a bug: fail these requests, keep serving
            for job in jobs:
                job.future.set_exception(exc)
            return
        for job, drawing in zip(jobs, drawings):
            job.future.set_result((drawing, seed if len(jobs) == 1 else None))


def _settle(future: Future, function: Callable[[], Any]) -> None:
    try:
        future.set_result(function())
    except Exception as exc:  # passed on to the request that asked
        future.set_exception(exc)
