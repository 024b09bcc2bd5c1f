"""The sweep engine: parameter sets x replications on an executor, stored in chunks as they finish.

Each run has an id derived from the study, its parameter values and its replication. Results
go to Parquet shards under ``<store>/runs/`` as they complete (written whole, then renamed, so
a killed sweep never leaves half a shard) with a ``manifest.json`` of provenance. Starting the
same study again computes only the runs not yet stored, and the result is the same table an
uninterrupted sweep gives. A run that raises is stored with its error and the sweep goes on;
failures are retried when the sweep is started again.

Seeds: replication r of every parameter set gets the seed spawned from (study seed, r), so the
parameter sets share their random numbers (common random numbers) and every executor gives
identical results.

Executors: ``serial``; ``processes`` (local processes over all cores, the default); ``dask``
(a Dask distributed scheduler at ``scheduler``, or a ``LocalCluster`` when none is given).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .api import run_replication
from .params import Config
from .space import apply_params

EXECUTORS = ("serial", "processes", "dask")
TRACKED = ["trust_mean", "delaktighet_mean", "trygghet_mean"]


@dataclass(frozen=True)
class RunSpec:
    """One run: a parameter set (by its row in the design), a replication and its seed."""

    run_id: str
    point: int
    replication: int
    seed: int
    params: tuple[tuple[str, float], ...]


def run_seed(study_seed: int, replication: int) -> int:
    """Seed of replication r, the same for every parameter set of the study."""
    return int(np.random.SeedSequence([study_seed, replication]).generate_state(1, dtype=np.uint32)[0])


def run_id(study: str, params: Sequence[tuple[str, float]], replication: int) -> str:
    text = json.dumps({"study": study, "params": [[k, repr(float(v))] for k, v in params], "rep": replication})
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def plan(study: str, points: pd.DataFrame, replications: Sequence[int] | int, seed: int) -> list[RunSpec]:
    """Every (parameter set, replication) of a design table whose columns are dotted parameter names."""
    reps = range(replications) if isinstance(replications, int) else replications
    specs = []
    for i, row in enumerate(points.itertuples(index=False)):
        params = tuple(zip(points.columns, (float(v) for v in row)))
        specs.extend(RunSpec(run_id(study, params, r), i, r, run_seed(seed, r), params) for r in reps)
    return specs


def outcomes(traj: pd.DataFrame) -> dict[str, float]:
    """One row of summary outcomes: change at the horizon, time-averaged change, change at each year end."""
    base = traj.iloc[0]
    last = traj.iloc[-1]
    out: dict[str, float] = {}
    for m in TRACKED:
        out[f"{m}_change"] = float(last[m] - base[m])
        out[f"{m}_avg_change"] = float(traj[m].iloc[1:].mean() - base[m])
        for year in (1, 2, 3):
            if 52 * year < len(traj):
                out[f"{m}_change_y{year}"] = float(traj[m].iloc[52 * year] - base[m])
    out["trust_high_share_change"] = float(last.trust_high_share - base.trust_high_share)
    out["unsafe_share_change"] = float(last.unsafe_share - base.unsafe_share)
    out["hours_delivered_mean"] = float(traj.hours_delivered.iloc[1:].mean())
    return out


def evaluate(spec: RunSpec, base: Config, keep_trajectories: bool = False) -> dict[str, Any]:
    """Run one spec; never raises: a failure comes back as a row with its error."""
    row: dict[str, Any] = {
        "run_id": spec.run_id,
        "point": spec.point,
        "replication": spec.replication,
        "seed": spec.seed,
        **dict(spec.params),
    }
    t0 = time.perf_counter()
    try:
        cfg = apply_params(base, dict(spec.params))
        tables = run_replication(cfg, spec.seed, spec.replication)
        row.update(outcomes(tables["trajectories"]), status="ok", error="")
        if keep_trajectories:
            row["_trajectories"] = tables["trajectories"].assign(run_id=spec.run_id)
    except Exception as exc:  # recorded, not fatal
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=3))
    row["seconds"] = time.perf_counter() - t0
    return row


def evaluate_batch(specs: list[RunSpec], base: Config, keep_trajectories: bool = False) -> list[dict[str, Any]]:
    """A batch of runs on one worker (fewer round trips than one task per run)."""
    return [evaluate(s, base, keep_trajectories) for s in specs]


class SweepStore:
    """A folder of Parquet shards plus a manifest; the single source of a study's results."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.trajectories = self.root / "trajectories"

    def write_manifest(self, info: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "manifest.json"
        old = json.loads(path.read_text()) if path.exists() else {}
        sessions = old.get("sessions", []) + [info.pop("session")] if "session" in info else old.get("sessions", [])
        merged = {**old, **info, "sessions": sessions}
        _atomic_write(path, json.dumps(merged, indent=2, default=str).encode())

    def write_shard(self, rows: list[dict[str, Any]]) -> None:
        """Write completed rows as one shard (whole, then renamed into place)."""
        if not rows:
            return
        trajs = [r.pop("_trajectories") for r in rows if "_trajectories" in r]
        name = f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"
        self.runs.mkdir(parents=True, exist_ok=True)
        _atomic_parquet(pd.DataFrame(rows), self.runs / name)
        if trajs:
            self.trajectories.mkdir(parents=True, exist_ok=True)
            _atomic_parquet(pd.concat(trajs, ignore_index=True), self.trajectories / name)

    def read(self) -> pd.DataFrame:
        """All stored rows; for each run id the successful row if any, else its latest failure."""
        files = sorted(self.runs.glob("part-*.parquet")) if self.runs.exists() else []
        if not files:
            return pd.DataFrame()
        df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        df["_ok"] = df.status == "ok"
        df = df.sort_values(["_ok"], kind="stable").drop_duplicates("run_id", keep="last").drop(columns="_ok")
        return df.sort_values(["point", "replication"]).reset_index(drop=True)

    def done(self) -> set[str]:
        df = self.read()
        return set(df.run_id[df.status == "ok"]) if len(df) else set()

    def results(self) -> pd.DataFrame:
        df = self.read()
        return (
            df[df.status == "ok"].drop(columns=["error", "traceback"], errors="ignore").reset_index(drop=True)
            if len(df)
            else df
        )

    def failures(self) -> pd.DataFrame:
        df = self.read()
        return df[df.status == "failed"].reset_index(drop=True) if len(df) else df


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _batches(specs: list[RunSpec], size: int) -> list[list[RunSpec]]:
    return [specs[i : i + size] for i in range(0, len(specs), size)]


def _serial(batches, base, keep) -> Iterator[list[dict]]:
    for b in batches:
        yield evaluate_batch(b, base, keep)


def _processes(batches, base, keep, workers) -> Iterator[list[dict]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn, not fork: forking a process that already runs threads (Dask, BLAS) can deadlock
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(evaluate_batch, b, base, keep) for b in batches]
        try:
            for f in as_completed(futures):
                yield f.result()
        finally:
            for f in futures:
                f.cancel()


def _dask(batches, base, keep, workers, scheduler) -> Iterator[list[dict]]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = Client(cluster)
    try:
        base_future = client.scatter(base, broadcast=True)
        futures = client.map(evaluate_batch, batches, base=base_future, keep_trajectories=keep, pure=False)
        for f in as_completed(futures):
            yield f.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(
    specs: list[RunSpec],
    base: Config,
    store: SweepStore,
    executor: str = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int = 8,
    chunk_size: int = 200,
    flush_seconds: float = 20.0,
    keep_trajectories: bool = False,
    progress: bool = True,
    provenance: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Evaluate every spec not yet in the store; write results in chunks as they complete.

    Returns the store's successful rows. Ctrl-C (or a kill) loses at most the runs since the
    last shard; starting again resumes.
    """
    from tqdm.auto import tqdm

    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    done = store.done()
    pending = [s for s in specs if s.run_id not in done]
    from . import __version__

    store.write_manifest(
        {
            **(provenance or {}),
            "package_version": __version__,
            "runs_planned": len(specs),
            "session": {
                "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "executor": executor,
                "already_done": len(specs) - len(pending),
                "to_run": len(pending),
            },
        }
    )
    batches = _batches(pending, batch_size)
    if executor == "serial":
        stream: Iterable[list[dict]] = _serial(batches, base, keep_trajectories)
    elif executor == "processes":
        stream = _processes(batches, base, keep_trajectories, workers or os.cpu_count())
    else:
        stream = _dask(batches, base, keep_trajectories, workers, scheduler)
    buffer: list[dict] = []
    last = time.monotonic()
    bar = tqdm(total=len(pending), desc=f"sweep ({executor})", unit="run", disable=not progress)
    try:
        for rows in stream:
            buffer.extend(rows)
            bar.update(len(rows))
            if len(buffer) >= chunk_size or time.monotonic() - last > flush_seconds:
                store.write_shard(buffer)
                buffer, last = [], time.monotonic()
    finally:
        store.write_shard(buffer)  # also on Ctrl-C: keep what finished
        bar.close()
    return store.results()
