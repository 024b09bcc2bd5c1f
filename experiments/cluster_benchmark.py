"""What the engine costs at cluster scale: `python -m experiments.cluster_benchmark [runs=200] [plan_runs=1000000]
[output_dir=results/benchmark]`.

Prints and writes results/benchmark/cluster.csv:
- planning: time to plan `plan_runs` runs (15 levers, one replication);
- reading: time to read the done-set and the results of a store of 100,000 runs in 500 files;
- compaction: time to merge those 500 files into one;
- throughput: runs a second of the same 200-run sweep on 2 local processes and, where Slurm runs
  (scripts/slurm-local), on 2 Dask workers started as Slurm jobs (dask-jobqueue), start-up included.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from experiments.interrupted import NOTHING, says_when_interrupted
from sim.params import ConfigError
from sim.paths import output_path
from sim.store import SweepStore, compact
from sim.sweep import plan, run_sweep

LEVERS = [
    "police.effort",
    "police.planned_hours_per_week",
    "police.training",
    "police.priority",
    "police.turnover_per_year",
    "police.competing_demand",
    "promise.period_weeks",
    "promise.actions",
    "promise.citizen_weight",
    "promise.outreach",
    "feedback.interval_weeks",
    "feedback.reach",
    "feedback.staff",
    "partners.share",
    "partners.reliability",
]


def planning(n: int) -> float:
    base = sim.load_config(["area.residents=2000"])
    rng = np.random.default_rng(0)
    design = pd.DataFrame(rng.random((n, len(LEVERS))), columns=LEVERS)
    t0 = time.perf_counter()
    p = plan(base, design, 1, 1)
    assert len(p.specs) == n
    return time.perf_counter() - t0


def store_io(root: Path, runs: int = 100_000, files: int = 500) -> tuple[float, float, float]:
    store = SweepStore(root)
    store.claim("benchmark", {"name": "benchmark"})
    store.runs.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    per = runs // files
    for f in range(files):
        rows = pd.DataFrame(
            {
                "run_id": [f"r{f}-{i}" for i in range(per)],
                "replication": 0,
                "seed": 1,
                **{name: rng.random(per) for name in LEVERS},
                **{f"out{k}": rng.random(per) for k in range(30)},
                "status": "ok",
                "error": "",
                "seconds": 0.1,
            }
        )
        rows.to_parquet(store.runs / f"part-{f:05d}.parquet", index=False)
    t0 = time.perf_counter()
    done = store.done()
    read_done = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = store.results()
    read_all = time.perf_counter() - t0
    assert len(done) == len(res) == per * files
    t0 = time.perf_counter()
    compact(store)
    merge = time.perf_counter() - t0
    assert len(store.files()) == 1 and len(store.done()) == per * files
    return read_done, read_all, merge


def throughput(root: Path, runs: int) -> dict[str, float]:
    base = sim.load_config(["area.residents=2000", "horizon_weeks=156"])
    design = pd.DataFrame({"police.effort": np.linspace(0.2, 1.2, runs)})
    p = plan(base, design, 1, 3)
    out = {}
    t0 = time.perf_counter()
    run_sweep(p, base, SweepStore(root / "processes"), executor="processes", workers=2, progress=False)
    out["processes_2"] = runs / (time.perf_counter() - t0)
    if (
        shutil.which("sbatch")
        and subprocess.run(
            [str(Path(__file__).resolve().parent.parent / "scripts" / "slurm-local"), "start"], capture_output=True
        ).returncode
        == 0
    ):
        from sim.cluster import make_cluster

        t0 = time.perf_counter()
        cluster = make_cluster(
            {"kind": "slurm", "cores": 1, "memory": "1GB", "jobs": 2, "log_directory": str(root / "logs")}
        )
        try:
            run_sweep(p, base, SweepStore(root / "slurm"), executor="dask", progress=False, cluster=cluster)
        finally:
            cluster.close()
        out["slurm_dask_2"] = runs / (time.perf_counter() - t0)
    return out


@says_when_interrupted(NOTHING)
def main(argv: list[str]) -> int:
    from experiments.settings import key_values

    try:
        values = key_values(
            argv,
            {"runs": (200, 2, 100_000), "plan_runs": (1_000_000, 1, 100_000_000)},
            {"output_dir": "results/benchmark"},
            __doc__ or "",
        )
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    runs, plan_runs = values["runs"], values["plan_runs"]
    rows = []
    seconds = planning(plan_runs)
    rows.append({"measure": f"plan {plan_runs:,} runs", "value": seconds, "unit": "s"})
    with tempfile.TemporaryDirectory() as tmp:
        read_done, read_all, merge = store_io(Path(tmp) / "store")
        rows += [
            {"measure": "read done-set of a 100,000-run store in 500 files", "value": read_done, "unit": "s"},
            {"measure": "read all results of that store", "value": read_all, "unit": "s"},
            {"measure": "compact 500 files into 1", "value": merge, "unit": "s"},
        ]
        for name, rate in throughput(Path(tmp), runs).items():
            rows.append(
                {"measure": f"sweep of {runs} runs: {name.replace('_', ' ')} workers", "value": rate, "unit": "runs/s"}
            )
    table = pd.DataFrame(rows)
    out = output_path(values["output_dir"])
    from experiments.settings import make_output_folder

    make_output_folder(out)
    table.to_csv(out / "cluster.csv", index=False)
    for r in table.itertuples():
        print(f"benchmark: {r.measure}: {r.value:.2f} {r.unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
