"""The sweep engine: parameter sets x replications on an executor, stored in chunks as they finish.

A run's identity is everything that determines it: the fully resolved base configuration (area,
scenario, horizon, fixed values), the values varied on top of it, its replication and seed, what
is computed from it (the evaluator) and the model's code version (sim/version.py). Runs with
the same identity are computed once, however many design rows name them.

Results go to Parquet shards under ``<store>/runs/`` as they complete (written whole, then
renamed, so a killed sweep never leaves half a shard), one schema for every row. The store's
``manifest.json`` names the study it belongs to (its key) and records every session; a store
refuses, with one line, to be resumed by a different study, and a lock keeps two sweeps from
writing to one store at once. Starting the same study again computes only what is missing.

Failures never stop a sweep: a run that raises is stored with its error; a worker process that
dies takes its batch with it, which is retried once on its own and then recorded as failed.
SIGTERM (what Slurm and systemd send) and Ctrl-C flush what is done and stop the workers; a
worker whose parent dies exits by itself.

Seeds: replication r of every parameter set gets the seed spawned from (study seed, r), so the
parameter sets share their random numbers (common random numbers) and every executor gives
identical results. Executors: ``serial``; ``processes`` (local processes over the cores this
process may use); ``dask`` (a scheduler at ``scheduler``, or a ``LocalCluster``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import numbers
import os
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .params import PARAMS, Config, ConfigError
from .space import apply_params
from .version import code_version

EXECUTORS = ("serial", "processes", "dask")
TRACKED = ["trust_mean", "delaktighet_mean", "trygghet_mean"]
STATUS_COLUMNS = ["status", "error", "seconds"]


class StoreError(RuntimeError):
    """A store that cannot be used as asked; the message says why and what to do, in one line."""


@dataclass(frozen=True)
class RunSpec:
    """One run: the values varied on top of the base, a replication and its seed."""

    run_id: str
    replication: int
    seed: int
    params: tuple[tuple[str, float], ...]


@dataclass
class Plan:
    """The unique runs of a design, and which run answers each (design row, replication)."""

    specs: list[RunSpec]
    rows: pd.DataFrame  # point, replication, run_id

    def run_ids(self) -> set[str]:
        return {s.run_id for s in self.specs}


# ---- identity -------------------------------------------------------------------------------------


def run_seed(study_seed: int, replication: int) -> int:
    """Seed of replication r, the same for every parameter set of the study."""
    return int(np.random.SeedSequence([study_seed, replication]).generate_state(1, dtype=np.uint32)[0])


def ran_value(name: str, value: Any) -> float:
    """The value the model runs with: whole numbers rounded for int parameters (as ``apply_params`` does)."""
    spec = PARAMS.get(name)
    if spec is not None and spec.type is int:
        return float(int(round(float(value))))
    return float(value)


def base_key(base: Config, evaluator: Any) -> str:
    """Hash of what every run of a sweep shares: resolved base config, evaluator and code version (and the
    posterior ensemble when the base draws from it)."""
    from omegaconf import OmegaConf

    text = OmegaConf.to_yaml(OmegaConf.structured(base))
    parts = [text, getattr(evaluator, "key", type(evaluator).__name__), code_version()]
    if base.uncertainty == "posterior":
        from .posterior import ENSEMBLE

        parts.append(hashlib.sha256(ENSEMBLE.read_bytes()).hexdigest() if ENSEMBLE.exists() else "no-ensemble")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def run_id(key: str, params: Sequence[tuple[str, float]], replication: int, seed: int) -> str:
    """A run's id: a hash of the base key, the varied names and values, the replication and the seed."""
    names = [k for k, _ in params]
    prefix = hashlib.blake2b((key + json.dumps(names)).encode(), digest_size=16).digest()
    values = np.array([v for _, v in params], dtype=float).tobytes()
    return _id(prefix, values, replication, seed)


def _id(prefix: bytes, values: bytes, replication: int, seed: int) -> str:
    tail = replication.to_bytes(8, "little") + seed.to_bytes(8, "little")
    return hashlib.blake2b(prefix + values + tail, digest_size=10).hexdigest()


def plan(
    base: Config,
    design: pd.DataFrame,
    replications: Sequence[int] | int,
    seed: int,
    evaluator: Any = None,
    row_is_replication: bool = False,
    row_replications: Sequence[int] | None = None,
) -> Plan:
    """Every (design row, replication) of a design table whose columns are dotted parameter names.

    With ``row_is_replication`` row i runs only replication i (its own seed): a sample of worlds,
    each with its own luck, as a predictive check needs; ``row_replications`` names each row's one
    replication (rows sharing a replication share its seed and posterior draw: one condition, many
    designs). Values are rounded as the model runs them (whole numbers for int parameters) before
    the ids are made, so rows that run alike share a run. Under ``uncertainty=posterior`` a base or design
    that sets an uncertain coefficient is refused: the draws set those.
    """
    from .posterior import check_posterior_config

    check_posterior_config(base, list(design.columns))  # the draws would overwrite a hand-set or varied one
    evaluator = evaluator or Outcomes()
    key = base_key(base, evaluator)
    if row_is_replication:
        row_replications = range(len(design))
    if row_replications is not None:
        row_replications = [int(r) for r in row_replications]
        reps = sorted(set(row_replications))
    else:
        reps = list(range(replications) if isinstance(replications, numbers.Integral) else replications)
    seeds = {r: run_seed(seed, r) for r in reps}
    names = list(design.columns)
    values = design.to_numpy(dtype=float).copy()
    for j, n in enumerate(names):
        if n in PARAMS and PARAMS[n].type in (int, bool):
            values[:, j] = np.round(values[:, j])
    prefix = hashlib.blake2b((key + json.dumps(names)).encode(), digest_size=16).digest()
    specs: dict[str, RunSpec] = {}
    point_col, rep_col, id_col = [], [], []
    for i, row in enumerate(values):
        raw = row.tobytes()
        params = tuple(zip(names, row.tolist()))
        for r in [row_replications[i]] if row_replications is not None else reps:
            rid = _id(prefix, raw, r, seeds[r])
            if rid not in specs:
                specs[rid] = RunSpec(rid, r, seeds[r], params)
            point_col.append(i)
            rep_col.append(r)
            id_col.append(rid)
    rows = pd.DataFrame({"point": point_col, "replication": rep_col, "run_id": id_col})
    return Plan(list(specs.values()), rows)


# ---- what a run computes ---------------------------------------------------------------------------


def outcomes(traj: pd.DataFrame) -> dict[str, float]:
    """One row of summary outcomes: change at the horizon, time-averaged change, change at each year end."""
    base = traj.iloc[0]
    last = traj.iloc[-1]
    out: dict[str, float] = {}
    for m in TRACKED:
        out[f"{m}_change"] = float(last[m] - base[m])
        out[f"{m}_avg_change"] = float(traj[m].iloc[1:].mean() - base[m])
        for year in (1, 2, 3):
            out[f"{m}_change_y{year}"] = float(traj[m].iloc[52 * year] - base[m]) if 52 * year < len(traj) else np.nan
    for m in ("trust_high_share", "delaktighet_high_share", "unsafe_share"):
        out[f"{m}_change"] = float(last[m] - base[m])
        for year in (1, 2, 3):
            out[f"{m}_change_y{year}"] = float(traj[m].iloc[52 * year] - base[m]) if 52 * year < len(traj) else np.nan
    out["hours_delivered_mean"] = float(traj.hours_delivered.iloc[1:].mean())
    return out


class Outcomes:
    """The default evaluator: run one replication of the config and summarise its trajectory."""

    key = "outcomes/v2"

    def __call__(self, cfg: Config, spec: RunSpec, trajectories_dir: Path | None) -> dict[str, float]:
        from .api import run_replication
        from .posterior import replication_config

        cfg, _ = replication_config(cfg, spec.replication)
        traj = run_replication(cfg, spec.seed, spec.replication, survey_weeks=())["trajectories"]
        if trajectories_dir is not None:
            _atomic_parquet(traj.assign(run_id=spec.run_id), trajectories_dir / f"{spec.run_id}.parquet")
        return outcomes(traj)


def evaluate(spec: RunSpec, base: Config, evaluator: Callable, trajectories_dir: Path | None = None) -> dict:
    """Run one spec; never raises: a failure comes back as a row with its error."""
    row: dict[str, Any] = {"run_id": spec.run_id, "replication": spec.replication, "seed": spec.seed}
    t0 = time.perf_counter()
    try:
        cfg = apply_params(base, dict(spec.params))
        row.update({n: ran_value(n, v) for n, v in spec.params})
        row.update(evaluator(cfg, spec, trajectories_dir))
        row.update(status="ok", error="")
    except Exception as exc:  # recorded, not fatal
        row.update({n: v for n, v in spec.params})
        tb = traceback.format_exc(limit=3).strip().splitlines()
        row.update(status="failed", error=f"{type(exc).__name__}: {exc} | {tb[-2].strip() if len(tb) > 1 else ''}")
    row["seconds"] = time.perf_counter() - t0
    return row


def evaluate_batch(
    specs: list[RunSpec], base: Config, evaluator: Callable, trajectories_dir: str | None, version: str
) -> list[dict]:
    """A batch of runs on one worker (fewer round trips than one task per run); refuses other code."""
    if version != code_version():
        raise StoreError(f"worker runs code {code_version()}, the client {version}: install the same version")
    tdir = Path(trajectories_dir) if trajectories_dir else None
    return [evaluate(s, base, evaluator, tdir) for s in specs]


def failed_rows(specs: list[RunSpec], message: str) -> list[dict]:
    """Rows recording that these runs failed without a result (their worker died)."""
    return [
        {
            "run_id": s.run_id,
            "replication": s.replication,
            "seed": s.seed,
            **dict(s.params),
            "status": "failed",
            "error": message,
            "seconds": float("nan"),
        }
        for s in specs
    ]


# ---- the store --------------------------------------------------------------------------------------


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


class SweepStore:
    """A folder of Parquet shards plus a manifest; the single source of a study's results."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.trajectories = self.root / "trajectories"
        self.manifest_path = self.root / "manifest.json"
        self._lock_file = None

    # manifest and lock
    def manifest(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            return {}
        try:
            return json.loads(self.manifest_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(
                f"{self.manifest_path} is damaged ({exc.__class__.__name__}); move it away to rebuild the store's "
                "history (the stored runs are kept and reused)"
            ) from exc

    def claim(self, study_key: str, study: dict[str, Any]) -> None:
        """Tie the store to one study: refuse a store made by another, write the study once."""
        old = self.manifest()
        if old and old.get("study_key") not in (None, study_key):
            raise StoreError(
                f"{self.root} holds another study ({old.get('study', {}).get('name', '?')}, key "
                f"{old['study_key'][:8]}, this one {study_key[:8]}): choose another output folder or remove it"
            )
        if not old:
            self.root.mkdir(parents=True, exist_ok=True)
            info = {
                "study_key": study_key,
                "study": study,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "sessions": [],
            }
            _atomic_write(self.manifest_path, json.dumps(info, indent=2, default=str).encode())

    def add_session(self, session: dict[str, Any]) -> None:
        """Append one session to the manifest's history (earlier sessions are never rewritten)."""
        info = self.manifest()
        info.setdefault("sessions", []).append(session)
        _atomic_write(self.manifest_path, json.dumps(info, indent=2, default=str).encode())

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's lock; a second sweep on the same store stops with one line instead of racing."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "store.lock", "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                f.seek(0)
                raise StoreError(
                    f"another sweep is writing to {self.root} ({f.read().strip() or 'unknown process'}); "
                    "wait for it or use another output folder"
                ) from exc
            f.seek(0)
            f.truncate()
            f.write(f"pid {os.getpid()} since {time.strftime('%H:%M:%S')}")
            f.flush()
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def clean_leftovers(self) -> int:
        """Remove half-written shards a killed sweep left (they were never renamed into place)."""
        n = 0
        for folder in (self.runs, self.trajectories):
            for tmp in folder.glob(".*.tmp") if folder.exists() else []:
                tmp.unlink(missing_ok=True)
                n += 1
        return n

    def write_shard(self, rows: list[dict[str, Any]]) -> None:
        """Write completed rows as one shard (whole, then renamed into place)."""
        if not rows:
            return
        name = f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"
        self.runs.mkdir(parents=True, exist_ok=True)
        _atomic_parquet(pd.DataFrame(rows), self.runs / name)

    # reading
    def files(self) -> list[Path]:
        return sorted(self.runs.glob("part-*.parquet")) if self.runs.exists() else []

    def read(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """All stored rows (only ``columns`` when given); for each run id the successful row if any, else its
        latest failure. Read through a pyarrow dataset: only the columns asked for leave the disk."""
        import pyarrow.dataset as ds

        files = self.files()
        if not files:
            return pd.DataFrame()
        cols = None if columns is None else list(dict.fromkeys(["run_id", "status", *columns]))
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq

            # shards of failures only lack the outcome columns: one schema for all, missing columns as nulls
            schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
            dataset = ds.dataset([str(f) for f in files], schema=schema, format="parquet")
            df = dataset.to_table(columns=cols).to_pandas()
        except Exception as exc:  # find the damaged file, name it, say what to do
            bad = self._damaged(files)
            raise StoreError(
                f"shard {bad or '?'} cannot be read ({type(exc).__name__}); move it out of {self.runs} and run "
                "again: its runs will be computed anew"
            ) from exc
        ok = (df.status == "ok").to_numpy()
        df = df.assign(_ok=ok).sort_values("_ok", kind="stable").drop_duplicates("run_id", keep="last")
        return df.drop(columns="_ok").reset_index(drop=True)

    def _damaged(self, files: list[Path]) -> Path | None:
        import pyarrow.parquet as pq

        for f in files:
            try:
                pq.read_metadata(f)
            except Exception:
                return f
        return None

    def done(self) -> set[str]:
        df = self.read(columns=[])
        return set(df.run_id[df.status == "ok"]) if len(df) else set()

    def results(self, run_ids: set[str] | None = None) -> pd.DataFrame:
        """Successful rows (of ``run_ids`` only, when given)."""
        df = self.read()
        if not len(df):
            return df
        df = df[df.status == "ok"]
        if run_ids is not None:
            df = df[df.run_id.isin(run_ids)]
        return df.drop(columns=["error"], errors="ignore").reset_index(drop=True)

    def failures(self, run_ids: set[str] | None = None) -> pd.DataFrame:
        df = self.read()
        if not len(df):
            return df
        df = df[df.status == "failed"]
        if run_ids is not None:
            df = df[df.run_id.isin(run_ids)]
        return df.reset_index(drop=True)


# ---- executors ------------------------------------------------------------------------------------


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


def _serial(batches, base, evaluator, tdir, version) -> Iterator[list[dict]]:
    for b in batches:
        yield evaluate_batch(b, base, evaluator, tdir, version)


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


def _processes(batches, base, evaluator, tdir, version, workers) -> Iterator[list[dict]]:
    """Local processes with at most 2 x workers batches in flight. When a worker dies, the batches in flight
    are retried one by one, each in a fresh process, so the batch that kills its worker is found and recorded."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    queue = list(reversed(batches))
    pool = _pool(workers)
    inflight: dict[Any, list[RunSpec]] = {}
    try:
        while queue or inflight:
            while queue and len(inflight) < 2 * workers:
                b = queue.pop()
                inflight[pool.submit(evaluate_batch, b, base, evaluator, tdir, version)] = b
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
                    yield _alone(b, base, evaluator, tdir, version)
                pool = _pool(workers)
    finally:
        _shutdown(pool)


def _alone(batch, base, evaluator, tdir, version) -> list[dict]:
    """Retry a batch whose worker died, in a process of its own; a second death records the runs as failed."""
    from concurrent.futures.process import BrokenProcessPool

    pool = _pool(1)
    try:
        return pool.submit(evaluate_batch, batch, base, evaluator, tdir, version).result()
    except BrokenProcessPool:
        return failed_rows(batch, "WorkerDied: the worker process died twice while running this batch")
    finally:
        _shutdown(pool)


def _dask(batches, base, evaluator, tdir, version, workers, scheduler, cluster=None) -> Iterator[list[dict]]:
    """Dask distributed with bounded work in flight. The base config travels with each task (small), so a lost
    worker loses nothing the scheduler needs; a batch whose worker dies twice is recorded as failed."""
    import dask
    from dask.distributed import Client, LocalCluster, as_completed
    from distributed.scheduler import KilledWorker

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
            versions = set(client.run(code_version).values())
            if versions - {version}:
                raise StoreError(f"Dask workers run code {', '.join(sorted(versions))}, the client {version}")
            n_workers = max(1, len(client.scheduler_info()["workers"]))
            queue = list(reversed(batches))
            futures = {}
            ac = as_completed()
            while queue and len(futures) < 2 * n_workers + 2:
                b = queue.pop()
                f = client.submit(evaluate_batch, b, base, evaluator, tdir, version, pure=False)
                futures[f] = b
                ac.add(f)
            for f in ac:
                b = futures.pop(f)
                try:
                    yield f.result()
                except KilledWorker:
                    yield failed_rows(b, "WorkerDied: the Dask worker died twice while running this batch")
                if queue:
                    nb = queue.pop()
                    nf = client.submit(evaluate_batch, nb, base, evaluator, tdir, version, pure=False)
                    futures[nf] = nb
                    ac.add(nf)
        finally:
            client.close()
            if own is not None:
                own.close()


@contextlib.contextmanager
def _interrupt_between_batches() -> Iterator[threading.Event]:
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


def auto_batch_size(specs: list[RunSpec], base: Config, evaluator: Callable, target_seconds: float = 1.0) -> int:
    """Runs per batch so a batch takes about ``target_seconds``: timed on one run here."""
    if not specs:
        return 1
    t0 = time.perf_counter()
    evaluate(specs[0], base, evaluator)
    per_run = max(time.perf_counter() - t0, 1e-3)
    return int(min(64, max(1, round(target_seconds / per_run))))


def run_sweep(
    plan_or_specs: Plan | list[RunSpec],
    base: Config,
    store: SweepStore,
    executor: str = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
    chunk_size: int = 200,
    flush_seconds: float = 20.0,
    keep_trajectories: bool = False,
    progress: bool = True,
    study: dict[str, Any] | None = None,
    evaluator: Callable | None = None,
    cluster: Any = None,
) -> pd.DataFrame:
    """Evaluate every run not yet in the store; write results in chunks as they complete.

    Returns the store's successful rows for this plan. Ctrl-C, SIGTERM or a kill lose at most the runs
    since the last shard; starting again resumes. ``study`` (name and settings) ties the store to
    this study: the store refuses another.
    """
    from tqdm.auto import tqdm

    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    for name, value, empty in (
        ("workers", workers, True),
        ("batch_size", batch_size, True),
        ("chunk_size", chunk_size, False),
    ):
        # batch_size=-2 once planned no batch and returned no rows; 0 raised range()'s own error
        whole = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1
        if not (whole or (empty and value is None)):
            raise ValueError(f"{name} must be {'None or ' if empty else ''}a whole number of at least 1, got {value!r}")
    if executor != "dask" and (scheduler is not None or cluster is not None):  # once taken and ignored
        given = "scheduler" if scheduler is not None else "cluster"
        raise ValueError(f"{given} is used only by executor='dask', got executor={executor!r}")
    if executor == "serial" and workers not in (None, 1):  # once taken and ignored: one run at a time
        raise ValueError(f"workers={workers} is used only by executor='processes' or 'dask', got executor='serial'")
    specs = plan_or_specs.specs if isinstance(plan_or_specs, Plan) else list(plan_or_specs)
    from .posterior import check_posterior_config

    check_posterior_config(base, sorted({n for s in specs for n, _ in s.params}))  # as plan() does
    evaluator = evaluator or Outcomes()
    key = base_key(base, evaluator)
    ids = {s.run_id for s in specs}
    with store.locked():
        store.claim(key, study or {})
        store.clean_leftovers()
        done = store.done()
        pending = [s for s in specs if s.run_id not in done]
        workers = workers or available_cores()
        if batch_size is None:
            batch_size = auto_batch_size(pending, base, evaluator) if executor != "serial" else 8
        tdir = None
        if keep_trajectories:
            store.trajectories.mkdir(parents=True, exist_ok=True)
            tdir = str(store.trajectories)
        batches = [pending[i : i + batch_size] for i in range(0, len(pending), batch_size)]
        version = code_version()
        session = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "executor": executor,
            "workers": workers if executor != "serial" else 1,
            "batch_size": batch_size,
            "planned": len(specs),
            "already_done": len(specs) - len(pending),
            "code_version": version,
            "host": os.uname().nodename,
        }
        if executor == "serial":
            stream: Iterator[list[dict]] = _serial(batches, base, evaluator, tdir, version)
        elif executor == "processes":
            stream = _processes(batches, base, evaluator, tdir, version, workers)
        else:
            stream = _dask(batches, base, evaluator, tdir, version, workers, scheduler, cluster)
        buffer: list[dict] = []
        computed = failed = 0
        last = time.monotonic()
        bar = tqdm(total=len(pending), desc=f"sweep ({executor})", unit="run", disable=not progress)
        interrupted = True
        try:
            with _interrupt_between_batches() as stop:
                for rows in stream:
                    buffer.extend(rows)
                    computed += len(rows)
                    failed += sum(r["status"] != "ok" for r in rows)
                    bar.update(len(rows))
                    if len(buffer) >= chunk_size or time.monotonic() - last > flush_seconds:
                        store.write_shard(buffer)
                        buffer, last = [], time.monotonic()
                    if stop.is_set():
                        raise KeyboardInterrupt("interrupted")
                if stop.is_set():  # pressed during the last batch: the user still asked to stop
                    raise KeyboardInterrupt("interrupted")
                interrupted = False
        finally:
            with contextlib.suppress(Exception):
                stream.close()  # stops the workers
            store.write_shard(buffer)  # also on Ctrl-C or SIGTERM: keep what finished
            bar.close()
            store.add_session(
                {
                    **session,
                    "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "computed": computed,
                    "failed": failed,
                    "interrupted": interrupted,
                }
            )
    return store.results(ids)


# ---- clusters: job-array shards and compaction ------------------------------------------------------


def parse_shard(text: str) -> tuple[int, int]:
    """'i/N' -> (i, N) with 0 <= i < N; ValueError otherwise."""
    try:
        i, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise ValueError(f"shard must look like i/N (e.g. 3/16), got {text!r}") from None
    if not 0 <= i < n:
        raise ValueError(f"shard {text}: i must be from 0 to N-1")
    return i, n


def shard_share(specs: Sequence[RunSpec], shard: str) -> list[RunSpec]:
    """The i-th of N interleaved shares of a plan (every run in exactly one share)."""
    i, n = parse_shard(shard)
    return list(specs[i::n])


def shard_store(store: SweepStore, shard: str) -> SweepStore:
    """Where a job-array task writes: a store of its own under the study's (no lock shared with the others)."""
    i, n = parse_shard(shard)
    return SweepStore(store.root / "shards" / f"{i:05d}-of-{n:05d}")


def compact(store: SweepStore, planned: set[str] | None = None, rows_per_file: int = 100_000) -> dict[str, Any]:
    """Merge the job-array shards and the store's small files into a few large ones.

    Each run keeps one row (its success if it has one). The new files are written before the old ones are
    removed, so a stop part-way leaves duplicates that reading resolves, never a lost run. Returns what it
    did and, given the planned run ids, how many are missing.
    """
    import shutil

    with store.locked():
        shard_roots = sorted((store.root / "shards").glob("*")) if (store.root / "shards").exists() else []
        sources = [store, *(SweepStore(r) for r in shard_roots)]
        old_files = [f for s in sources for f in s.files()]
        frames = [s.read() for s in sources if s.files()]
        if not frames:
            return {"runs": 0, "files_before": 0, "files_after": 0, "missing": len(planned or ())}
        df = pd.concat(frames, ignore_index=True)
        ok = (df.status == "ok").to_numpy()
        df = df.assign(_ok=ok).sort_values("_ok", kind="stable").drop_duplicates("run_id", keep="last")
        df = df.drop(columns="_ok").reset_index(drop=True)
        store.runs.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:8]
        new = []
        for k in range(0, len(df), rows_per_file):
            path = store.runs / f"part-compact-{tag}-{k // rows_per_file:05d}.parquet"
            _atomic_parquet(df.iloc[k : k + rows_per_file], path)
            new.append(path)
        for f in old_files:
            f.unlink(missing_ok=True)
        for src in sources[1:]:
            if (src.trajectories).exists():
                store.trajectories.mkdir(parents=True, exist_ok=True)
                for t in src.trajectories.glob("*.parquet"):
                    t.replace(store.trajectories / t.name)
            shutil.rmtree(src.root, ignore_errors=True)
        if shard_roots:
            shutil.rmtree(store.root / "shards", ignore_errors=True)
    ok_ids = set(df.run_id[df.status == "ok"])
    return {
        "runs": len(df),
        "files_before": len(old_files),
        "files_after": len(new),
        "shards_merged": len(shard_roots),
        "missing": len(planned - ok_ids) if planned is not None else None,
    }
