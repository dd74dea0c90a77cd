"""Shards as Ray tasks: one task per shard, each worker process with its own copy of the model.

The job (texts, styles, the model's files) is put in Ray's object store once; a task returns its
shard's Parquet bytes to the driver, which writes them (written aside, then renamed), so the
nodes need no shared file system, only the ``handwriting`` package. A task whose worker dies is
run again by Ray (:data:`MAX_RETRIES`); its line ids are the same, so nothing is lost or doubled.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from typing import Iterable, Iterator

from ..errors import HandwritingError
from .worker import Job, write_shard

#: Times Ray runs a shard's task again after its worker died.
MAX_RETRIES = 3
#: Seconds to wait for a cluster's address to answer before saying it is unreachable.
CONNECT_TIMEOUT_S = 5.0
#: ``--ray`` with no address: join the cluster this machine knows of, else start one here.
JOIN_OR_START = None
#: Addresses Ray resolves itself: ``auto`` joins the current cluster (an error if there is none),
#: ``local`` starts a new one on this machine.
NAMED_ADDRESSES = ("auto", "local")


def import_ray():
    try:
        import ray
    except ImportError:
        raise HandwritingError("--ray needs Ray: pip install 'handwriting[scale]'") from None
    return ray


def check_reachable(address: str) -> None:
    """Fail in one line, within :data:`CONNECT_TIMEOUT_S`, if ``host:port`` does not answer."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except ValueError:
        raise HandwritingError(f"--ray {address}: give HOST:PORT, 'auto' or 'local'") from None
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise HandwritingError(f"cannot reach the Ray cluster at {address}: {reason}") from None


def connect(address: str | None, workers: int | None = None) -> bool:
    """Join (or start) a Ray cluster; return whether this call connected (and should disconnect).

    ``workers`` sets the CPUs of a cluster started here (``None`` or ``"local"``); a cluster that is
    joined keeps its own.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    if address not in NAMED_ADDRESSES and address is not JOIN_OR_START:
        check_reachable(address)
    # Ray's start-up notices would bury the command's own output; its errors still show.
    options = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address in (JOIN_OR_START, "local") and workers:
        options["num_cpus"] = workers
    try:
        with _quiet_native_stderr(address not in (JOIN_OR_START, "local")):
            ray.init(address=address, **options)
    except (ConnectionError, ValueError) as exc:
        where = "a running Ray cluster (start one with `ray start --head`)" if address == "auto" else address
        raise HandwritingError(f"cannot join {where}: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    return True


@contextlib.contextmanager
def _quiet_native_stderr(quiet: bool) -> Iterator[None]:
    """Keep Ray's C++ client off stderr while it joins a cluster: a port that answers but is no
    Ray cluster makes it log a warning a second until it gives up (the error then says it once).
    Only when joining: a cluster started here must keep its own stderr."""
    if not quiet:
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def disconnect() -> None:
    import_ray().shutdown()


def _write_shard_task(job: Job, shard: int) -> bytes:
    return write_shard(job, shard)


def run_shards(job: Job, shards: Iterable[int]) -> Iterator[tuple[int, bytes]]:
    """``(shard, Parquet bytes)`` for every shard, in the order they finish, as Ray tasks."""
    ray = import_ray()
    task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(_write_shard_task)
    job_ref = ray.put(job)
    pending = {task.remote(job_ref, k): k for k in shards}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                shard = pending.pop(ref)
                try:
                    data = ray.get(ref)
                except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                        ray.exceptions.ObjectLostError) as exc:
                    raise HandwritingError(f"shard {shard} failed {MAX_RETRIES + 1} times "
                                           f"({exc.__class__.__name__}); re-run to resume") from None
                yield shard, data
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
