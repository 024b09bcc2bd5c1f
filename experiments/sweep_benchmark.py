"""Sweep throughput: runs per second at the default size, serial versus all cores (and Dask), and the
per-run overhead of the sweep engine over calling the model directly.

    python -m experiments.sweep_benchmark [--runs 48]     # or: make sweep-benchmark

Writes results/benchmark/sweep.csv.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time

import pandas as pd

import sim
from experiments.interrupted import NOTHING, says_when_interrupted
from experiments.settings import count_arg, folder_arg, make_output_folder
from sim.api import run_replication
from sim.executors import available_cores
from sim.paths import output_path
from sim.space import apply_params
from sim.store import SweepStore
from sim.sweep import plan, run_seed, run_sweep

OUT = output_path("results/benchmark")


@says_when_interrupted(NOTHING)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=count_arg(1, 100_000), default=48, help="runs per measurement (default 48)")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster measurement")
    parser.add_argument("--out", type=folder_arg, default=None, help="folder for sweep.csv (default results/benchmark)")
    args = parser.parse_args(argv)
    base = sim.load_config(["replications=1"])  # default scenario and area
    points = pd.DataFrame({"police.effort": [0.5 + 0.5 * i / args.runs for i in range(args.runs)]})
    cores = available_cores()

    t0 = time.perf_counter()
    for spec in plan(base, points, 1, seed=1).specs:
        run_replication(apply_params(base, dict(spec.params)), run_seed(1, 0), 0, survey_weeks=())
    direct = time.perf_counter() - t0

    rows = [{"how": "direct loop (no engine)", "workers": 1, "seconds": direct}]
    measurements = [("serial", 1), ("processes", cores)] + ([] if args.no_dask else [("dask", cores)])
    for executor, workers in measurements:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            run_sweep(
                plan(base, points, 1, seed=1),
                base,
                SweepStore(tmp),
                executor=executor,
                workers=workers,
                batch_size=8,
                progress=False,
            )
            rows.append({"how": f"sweep engine, {executor}", "workers": workers, "seconds": time.perf_counter() - t0})
    table = pd.DataFrame(rows)
    table["runs"] = args.runs
    table["runs_per_second"] = table.runs / table.seconds
    serial = table.loc[table.how == "sweep engine, serial", "seconds"].iloc[0]
    procs = table.loc[table.how == "sweep engine, processes", "seconds"].iloc[0]
    overhead_ms = 1000 * (serial - direct) / args.runs
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    out = output_path(args.out) if args.out else OUT
    make_output_folder(out)
    table.assign(date=stamp).to_csv(out / "sweep.csv", index=False)
    print(f"\nSweep benchmark {stamp}: {args.runs} runs of the default scenario (5,000 residents, 156 weeks)\n")
    print(table.round(3).to_string(index=False))
    print(f"\nAll cores ({cores}) vs serial: {serial / procs:.2f}x")
    print(
        f"Engine overhead per run (serial engine minus direct loop): {overhead_ms:.1f} ms "
        f"({100 * (serial - direct) / direct:.1f}% of a run)"
    )
    print(f"Wrote {out / 'sweep.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
