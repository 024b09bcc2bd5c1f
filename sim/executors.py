"""Executors: map a batch function over batches of runs on this process, local processes or Dask.

Each executor yields one list of result rows per batch, in the order batches finish. ``work(batch)``
computes a batch (it must be picklable: it travels to the workers); ``lost(batch, message)`` gives
the rows that record a batch as failed. A worker that dies takes its batch with it: the batch is
retried once on its own, then recorded with ``lost``, and the sweep goes on. Workers pin their
BLAS threads to one (the workers already fill the cores), ignore Ctrl-C (the parent handles it)
and exit by themselves when their parent dies, so no process outlives the sweep.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .params import ConfigError
from .store import StoreError
from .version import code_version

EXECUTORS = ("serial", "processes", "dask")

Batch = Sequence[Any]
Work = Callable[[Batch], list[dict]]
Lost = Callable[[Batch, str], list[dict]]


def available_cores() -> int:
    """Cores this process may use: its CPU affinity, or Slurm's allocation when smaller."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    for var in ("SLURM_CPUS_PER_TASK", "SLURM_CPUS_ON_NODE"):
        if os.environ.get(var, "").isdigit():
            n = min(n, int(os.environ[var]))
    return max(1, n)


def _pin_threads() -> None:
    """One BLAS/OpenMP thread per worker: workers already fill the cores."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = "1"
    with contextlib.suppress(Exception):
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)


def _worker_init(parent: int) -> None:
    """In each worker process: pin threads, ignore Ctrl-C (the parent handles it) and exit if the parent dies."""
    _pin_threads()
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()


def run_serial(batches: Sequence[Batch], work: Work) -> Iterator[list[dict]]:
    """One batch after another, in this process."""
    for b in batches:
        yield work(b)


def _pool(workers: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: forking a process that already runs threads (Dask, BLAS) can deadlock
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(os.getpid(),),
    )


def _shutdown(pool) -> None:
    """Stop a pool now: cancel what has not started and end its worker processes, then wait for the pool's
    manager thread to see them gone and close its pipe (else, on Python 3.12.1, the interpreter's exit could
    write to that pipe and print an ignored 'Bad file descriptor' traceback after a Ctrl-C)."""
    procs = list(getattr(pool, "_processes", {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=5)
    if manager is not None:
        manager.join(timeout=10)


def run_processes(batches: Sequence[Batch], work: Work, lost: Lost, workers: int) -> Iterator[list[dict]]:
    """Local processes with at most 2 x workers batches in flight. When a worker dies, the batches in flight
    are retried one by one, each in a fresh process, so the batch that kills its worker is found and recorded."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    queue = list(reversed(batches))
    pool = _pool(workers)
    inflight: dict[Any, Batch] = {}
    try:
        while queue or inflight:
            while queue and len(inflight) < 2 * workers:
                b = queue.pop()
                inflight[pool.submit(work, b)] = b
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            broken = False
            for f in done:
                b = inflight.pop(f)
                try:
                    yield f.result()
                except BrokenProcessPool:
                    broken = True
                    inflight[f] = b
            if broken:
                suspects = list(inflight.values())
                inflight.clear()
                _shutdown(pool)
                for b in suspects:
                    yield _alone(b, work, lost)
                pool = _pool(workers)
    finally:
        _shutdown(pool)


def _alone(batch: Batch, work: Work, lost: Lost) -> list[dict]:
    """Retry a batch whose worker died, in a process of its own; a second death records the runs as failed."""
    from concurrent.futures.process import BrokenProcessPool

    pool = _pool(1)
    try:
        return pool.submit(work, batch).result()
    except BrokenProcessPool:
        return lost(batch, "WorkerDied: the worker process died twice while running this batch")
    finally:
        _shutdown(pool)


def run_dask(
    batches: Sequence[Batch],
    work: Work,
    lost: Lost,
    workers: int,
    scheduler: str | None,
    cluster: Any = None,
    version: str | None = None,
) -> Iterator[list[dict]]:
    """Dask distributed with bounded work in flight: on ``cluster`` (dask-jobqueue), at the scheduler address
    ``scheduler``, or on a LocalCluster of ``workers`` processes. Everything a batch needs travels with its task
    (small), so a lost worker loses nothing the scheduler needs; a batch whose worker dies twice is recorded as
    failed. Workers on code other than ``version`` (default: this process's) are refused."""
    from distributed.scheduler import KilledWorker

    version = version or code_version()
    with dask_client(workers, scheduler, cluster) as client:
        versions = set(client.run(code_version).values())
        if versions - {version}:
            raise StoreError(f"Dask workers run code {', '.join(sorted(versions))}, the client {version}")
        for batch, future in in_flight(client, batches, work):
            try:
                yield future.result()
            except KilledWorker:
                yield lost(batch, "WorkerDied: the Dask worker died twice while running this batch")


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None, cluster: Any) -> Iterator[Any]:
    """A Dask client on ``cluster``, at ``scheduler``, or on a LocalCluster of ``workers`` processes made (and
    closed) here. Dask gives a task up after its worker dies a second time (``allowed-failures: 1``)."""
    import dask
    from dask.distributed import Client, LocalCluster

    own = None
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        if cluster is not None:
            client = Client(cluster)
        elif scheduler:
            try:
                client = Client(scheduler)
            except (OSError, ValueError) as exc:  # nothing answers there, or not an address
                raise ConfigError(
                    f"scheduler={scheduler}: no Dask scheduler could be reached ({exc}); start one (docs/cluster.md) "
                    "or leave scheduler empty for a local cluster"
                ) from None
        else:
            own = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                death_timeout=30,  # workers whose scheduler (this process) is gone exit by themselves
            )
            client = Client(own)
        try:
            if cluster is not None:  # batch-job workers take a while to start
                client.wait_for_workers(1, timeout=600)
            yield client
        finally:
            client.close()
            if own is not None:
                own.close()


def in_flight(client: Any, batches: Sequence[Batch], work: Work) -> Iterator[tuple[Batch, Any]]:
    """Each batch with its finished future, as they finish; at most two batches a worker (plus two) are
    submitted at a time, so a million-run plan does not become a million futures."""
    from dask.distributed import as_completed

    n_workers = max(1, len(client.scheduler_info()["workers"]))
    queue = list(reversed(batches))
    futures = {}
    ac = as_completed()

    def submit() -> None:
        b = queue.pop()
        f = client.submit(work, b, pure=False)
        futures[f] = b
        ac.add(f)

    while queue and len(futures) < 2 * n_workers + 2:
        submit()
    for f in ac:
        yield futures.pop(f), f
        if queue:
            submit()


@contextlib.contextmanager
def interrupt_between_batches() -> Iterator[threading.Event]:
    """Ctrl-C and SIGTERM set the returned event; the sweep stops at the next finished batch (about a second),
    flushes what is done and stops its workers. Not at once: a KeyboardInterrupt inside ``pool.submit`` cuts off
    a worker process while it starts, and that worker prints 'EOFError: Ran out of input' (seen in 5 of 30
    Ctrl-C's in the first seconds of a sweep). A second Ctrl-C or SIGTERM stops at once."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt(f"signal {signum}")
        stop.set()

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in old.items():
            signal.signal(s, h)
