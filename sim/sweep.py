"""The sweep engine: parameter sets x replications on an executor, stored in chunks as they finish.

A run's identity is everything that determines it: the fully resolved base configuration (area,
scenario, horizon, fixed values), the values varied on top of it, its replication and seed, what
is computed from it (the evaluator) and the model's code version (sim/version.py). Runs with
the same identity are computed once, however many design rows name them.

``run_sweep`` computes the runs of a plan that its store (``sim/store.py``) does not hold yet, on an
executor (``sim/executors.py``), and writes their rows to the store in chunks as they finish;
starting the same study again computes only what is missing. Failures never stop a sweep: a run
that raises is stored with its error; a worker that dies twice on a batch has its runs recorded as
failed. SIGTERM (what Slurm and systemd send) and Ctrl-C flush what is done and stop the workers.

Seeds: replication r of every parameter set gets the seed spawned from (study seed, r), so the
parameter sets share their random numbers (common random numbers) and every executor gives
identical results.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import numbers
import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .api import run_replication
from .executors import EXECUTORS, available_cores, interrupt_between_batches, run_dask, run_processes, run_serial
from .params import PARAMS, Config
from .posterior import ENSEMBLE, check_posterior_config, replication_config
from .space import apply_params
from .store import StoreError, SweepStore, atomic_parquet, parse_shard
from .version import code_version

TRACKED = ["trust_mean", "delaktighet_mean", "trygghet_mean"]
STATUS_COLUMNS = ["status", "error", "seconds"]


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
        cfg, _ = replication_config(cfg, spec.replication)
        traj = run_replication(cfg, spec.seed, spec.replication, survey_weeks=())["trajectories"]
        if trajectories_dir is not None:
            atomic_parquet(traj.assign(run_id=spec.run_id), trajectories_dir / f"{spec.run_id}.parquet")
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


# ---- running a plan ------------------------------------------------------------------------------


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

    check_sweep_settings(executor, workers, scheduler, batch_size, chunk_size, cluster)
    specs = plan_or_specs.specs if isinstance(plan_or_specs, Plan) else list(plan_or_specs)
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
        work = functools.partial(
            evaluate_batch, base=base, evaluator=evaluator, trajectories_dir=tdir, version=version
        )  # picklable: it travels to the workers with each batch
        stream = batch_results(executor, batches, work, workers, scheduler, cluster, version)
        buffer: list[dict] = []
        computed = failed = 0
        last = time.monotonic()
        bar = tqdm(total=len(pending), desc=f"sweep ({executor})", unit="run", disable=not progress)
        interrupted = True
        try:
            with interrupt_between_batches() as stop:
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


def check_sweep_settings(
    executor: str, workers: Any, scheduler: Any, batch_size: Any, chunk_size: Any, cluster: Any
) -> None:
    """Refuse, before anything runs, a setting the sweep cannot use (each was once taken and ignored, or failed
    only after the sweep had started)."""
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


def batch_results(
    executor: str,
    batches: Sequence[Sequence[RunSpec]],
    work: Callable,
    workers: int,
    scheduler: str | None,
    cluster: Any,
    version: str,
) -> Iterator[list[dict]]:
    """The executor's stream of finished batches' rows (``sim.executors``); closing it stops the workers."""
    if executor == "serial":
        return run_serial(batches, work)
    if executor == "processes":
        return run_processes(batches, work, failed_rows, workers)
    return run_dask(batches, work, failed_rows, workers, scheduler, cluster, version)


def shard_share(specs: Sequence[RunSpec], shard: str) -> list[RunSpec]:
    """The i-th of N interleaved shares of a plan (every run in exactly one share)."""
    i, n = parse_shard(shard)
    return list(specs[i::n])
