"""Making a dataset: the shards still missing, written by local worker processes or Ray tasks.

A run checks the folder (:func:`~.manifest.check_output`: another dataset is refused, finished
shards are kept), removes what an interrupted run half-wrote, records the manifest, and writes the
missing shards as they come back: each is written aside and renamed, so a shard that exists is
whole. Local workers are processes of their own (``spawn``), each loading its own model; if one
dies, the pool is started again and the shards it had not returned are written again (a
shard's lines depend only on the seed and their ids).
"""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import HandwritingError
from ..fileio import write_bytes_atomic, write_text_atomic
from .card import card_text
from .manifest import (CARD_FILE, check_output, manifest, read_manifest, remove_stale_temporaries,
                       write_manifest)
from .prepare import Prepared
from .shards import DATA_DIR, shard_path
from .worker import Job, write_shard

#: Times the local pool is started again after a worker died, before the run gives up.
MAX_POOL_RESTARTS = 3
LOCK_FILE = ".lock"


@dataclass
class RunResult:
    """What a run did: shards written now and found finished, lines written now, seconds."""

    written: int
    kept: int
    lines: int
    seconds: float

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else float("nan")


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold the folder's lock: two runs never write one dataset at once."""
    with open(directory / LOCK_FILE, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise HandwritingError(f"another run is writing {directory}") from None
        yield


def _progress_bar(total: int, done: int):
    """A progress bar of lines (rate and estimated finish) on a terminal; ``None`` otherwise."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit=" lines", dynamic_ncols=True, smoothing=0.05)


def make_dataset(prepared: Prepared, directory: str | Path, *, workers: int | None = 1, ray_address: str | None = None,
                 use_ray: bool = False, command: str = "handwriting dataset") -> RunResult:
    """Write the dataset's missing shards into ``directory``; see the module docstring.

    ``use_ray``: shards are Ray tasks on the cluster at ``ray_address`` (``None``: this machine's,
    or a new local one with ``workers`` CPUs); otherwise ``workers`` local processes (1: this one).
    The folder and the cluster are checked before anything is written.
    """
    job, config = prepared.job, prepared.job.config
    directory = Path(directory)
    finished = check_output(directory, prepared.identity)
    if len(finished) == config.shards and (read_manifest(directory) or {}).get("complete"):
        return RunResult(written=0, kept=len(finished), lines=0, seconds=0.0)  # its records stay as they are
    if not use_ray and workers:  # no more processes than shards to write
        workers = max(1, min(workers, config.shards - len(finished)))
    with _shard_source(job, workers, use_ray, ray_address) as source:
        (directory / DATA_DIR).mkdir(parents=True, exist_ok=True)
        with _locked(directory):
            remove_stale_temporaries(directory)
            write_manifest(directory, manifest(prepared.identity, corpus=prepared.corpus, model=prepared.model,
                                               complete=False))
            result = _write_missing(job, directory, finished, source)
            stats = {"lines": config.lines, "shards": config.shards, "last_run": {
                "shards_written": result.written, "shards_kept": result.kept, "seconds": round(result.seconds, 2),
                "lines_per_second": round(result.lines_per_second, 2), "backend": "ray" if use_ray else "local",
                "workers": workers}}
            contents = manifest(prepared.identity, corpus=prepared.corpus, model=prepared.model, complete=True,
                                stats=stats)
            write_manifest(directory, contents)
            write_text_atomic(directory / CARD_FILE, card_text(contents, command))
    return result


#: ``source(todo, progress) -> (shard, Parquet bytes)`` for every shard of ``todo``, as they finish;
#: ``progress(lines)`` (if given) is called as lines are written, or as their shard comes back.
ShardSource = Callable[[list[int], Callable[[int], None] | None], Iterator[tuple[int, bytes]]]


def _write_missing(job: Job, directory: Path, finished: set[int], source: ShardSource) -> RunResult:
    """Write every shard not ``finished``, with a progress bar of lines on a terminal."""
    config = job.config
    todo = [k for k in range(config.shards) if k not in finished]
    done_lines = sum(len(config.shard_range(k)) for k in finished)
    bar = _progress_bar(config.lines, done_lines)
    start = time.perf_counter()
    try:
        for shard, data in source(todo, bar.update if bar is not None else None):
            write_bytes_atomic(shard_path(directory, shard, config.shards), data)
    finally:
        if bar is not None:
            bar.close()
    return RunResult(written=len(todo), kept=len(finished), lines=config.lines - done_lines,
                     seconds=time.perf_counter() - start)


@contextlib.contextmanager
def _shard_source(job: Job, workers: int | None, use_ray: bool, ray_address: str | None) -> Iterator[ShardSource]:
    """Where shards come from: Ray tasks (connected here), a pool of processes, or this process."""
    if use_ray:
        from . import ray_backend

        connected = ray_backend.connect(ray_address, workers)
        try:
            yield lambda todo, progress: _counted(ray_backend.run_shards(job, todo), job, progress)
        finally:
            if connected:
                ray_backend.disconnect()
    elif (workers or 1) > 1:
        yield lambda todo, progress: _counted(_pool_shards(job, todo, workers), job, progress)
    else:
        yield lambda todo, progress: ((k, write_shard(job, k, progress)) for k in todo)


def _counted(shards: Iterator[tuple[int, bytes]], job: Job, progress) -> Iterator[tuple[int, bytes]]:
    """``shards``, counting each one's lines as it comes back."""
    for shard, data in shards:
        if progress is not None:
            progress(len(job.config.shard_range(shard)))
        yield shard, data


#: The job of this worker process (set by :func:`_init_pool_worker`).
_pool_job: Job | None = None


def _init_pool_worker(job: Job) -> None:
    global _pool_job
    _pool_job = job
    # Ctrl-C is the command's to handle: it stops the pool; a worker would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool_write(shard: int) -> tuple[int, bytes]:
    return shard, write_shard(_pool_job, shard)


def _pool_shards(job: Job, todo: Iterable[int], workers: int) -> Iterator[tuple[int, bytes]]:
    """Shards from ``workers`` processes; a pool whose worker died is started again for the rest."""
    remaining = list(todo)
    restarts = 0
    while remaining:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_pool_worker, initargs=(job,))
        try:
            pending = {pool.submit(_pool_write, k) for k in remaining}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    shard, data = future.result()
                    remaining.remove(shard)
                    yield shard, data
        except BrokenProcessPool:
            restarts += 1
            if restarts > MAX_POOL_RESTARTS:
                raise HandwritingError(f"worker processes died {restarts} times; re-run to resume") from None
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

