"""Benchmark: seconds per replication and peak memory by size, speed against the per-agent reference,
growth with residents, and where a default run spends its time.

    python -m experiments.benchmark          # or: make benchmark
    python -m experiments.benchmark --quick  # fewer repeats, no 10,000-resident reference

Each measurement runs in a fresh worker process (so peak memory is that run's own) on one
core (BLAS threads pinned to 1). Figures go to results/benchmark/ as CSV.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from experiments.interrupted import NOTHING, says_when_interrupted
from experiments.settings import folder_arg, make_output_folder
from sim.paths import output_path

OUT = output_path("results/benchmark")
WEEKS = 156
TARGETS = {
    "default_seconds": 0.3,  # about 5,000 residents, 156 weeks
    "100k_seconds": 6.0,
    "100k_peak_mib": 1536.0,
    "speedup_10k": 30.0,
    "growth_100k_over_10k": 12.0,
}


def time_replications(impl: str, residents: int, reps: int) -> dict:
    """Worker: build and run `reps` replications of `residents` for 156 weeks; return timings and peak RSS."""
    import sim
    from sim.api import replication_seeds

    if impl == "array":
        from sim.model import PromiseModel as Model
    else:
        from experiments.reference_agents import ReferenceModel as Model
    cfg = sim.load_config([f"area.residents={residents}", f"horizon_weeks={WEEKS}"])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds = []
    for seed in replication_seeds(cfg.seed, reps):
        t0 = time.perf_counter()
        model = Model(cfg, seed=seed)
        for _ in range(WEEKS):
            model.step()
        model.datacollector.get_model_vars_dataframe()
        seconds.append(time.perf_counter() - t0)
        del model
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "impl": impl,
        "residents": residents,
        "reps": reps,
        "seconds": seconds,
        "peak_mib": peak,
        "baseline_mib": rss_before,
    }


def measure(impl: str, residents: int, reps: int) -> dict:
    """Run one measurement in a fresh single-threaded process."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "experiments.benchmark", "--worker", impl, str(residents), str(reps)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def profile_default(top: int = 12) -> pd.DataFrame:
    """Where a default run (default scenario and area, one replication) spends its time."""
    import sim
    from sim.model import PromiseModel

    cfg = sim.load_config([])
    prof = cProfile.Profile()
    prof.enable()
    model = PromiseModel(cfg, seed=1)
    for _ in range(cfg.horizon_weeks):
        model.step()
    prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO())
    total = stats.total_tt
    rows = []
    for (file, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():
        where = f"{Path(file).name}:{line}({func})" if line else func
        rows.append(
            {
                "function": where,
                "calls": ncalls,
                "self_seconds": tottime,
                "cumulative_seconds": cumtime,
                "self_share": tottime / total,
            }
        )
    return pd.DataFrame(rows).sort_values("self_seconds", ascending=False).head(top).reset_index(drop=True)


@says_when_interrupted(NOTHING)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats; reference only at 1,000 residents")
    parser.add_argument(
        "--out", type=folder_arg, default=None, help="folder for the CSV files (default results/benchmark)"
    )
    parser.add_argument("--worker", nargs=3, metavar=("IMPL", "RESIDENTS", "REPS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        impl, residents, reps = args.worker
        print(json.dumps(time_replications(impl, int(residents), int(reps))))
        return 0

    from tqdm import tqdm

    plan = [
        ("array", 1_000, 7),
        ("array", 5_000, 7),
        ("array", 10_000, 5),
        ("array", 100_000, 3),
        ("reference", 1_000, 3),
        ("reference", 10_000, 1),
    ]
    if args.quick:
        plan = [
            ("array", 1_000, 3),
            ("array", 5_000, 3),
            ("array", 10_000, 3),
            ("array", 100_000, 1),
            ("reference", 1_000, 1),
        ]
    rows = []
    for impl, n, reps in tqdm(plan, desc="benchmark", unit="size"):
        r = measure(impl, n, reps)
        rows.append(
            {
                "impl": impl,
                "residents": n,
                "reps": reps,
                "median_seconds": statistics.median(r["seconds"]),
                "min_seconds": min(r["seconds"]),
                "max_seconds": max(r["seconds"]),
                "peak_mib": round(r["peak_mib"], 1),
                "interpreter_mib": round(r["baseline_mib"], 1),
            }
        )
    timings = pd.DataFrame(rows)
    t = {(r.impl, r.residents): r.median_seconds for r in timings.itertuples()}
    peak = {(r.impl, r.residents): r.peak_mib for r in timings.itertuples()}
    figures = [
        ("default_seconds", t[("array", 5_000)], "s per replication, 5,000 residents, 156 weeks", "<="),
        ("100k_seconds", t[("array", 100_000)], "s per replication, 100,000 residents", "<="),
        ("100k_peak_mib", peak[("array", 100_000)], "MiB peak memory (whole process), 100,000 residents", "<="),
        ("speedup_1k", t[("reference", 1_000)] / t[("array", 1_000)], "x faster than per-agent, 1,000", None),
    ]
    if ("reference", 10_000) in t:
        figures.append(
            ("speedup_10k", t[("reference", 10_000)] / t[("array", 10_000)], "x faster than per-agent, 10,000", ">=")
        )
    figures.append(
        ("growth_100k_over_10k", t[("array", 100_000)] / t[("array", 10_000)], "time at 100,000 / time at 10,000", "<=")
    )
    summary = pd.DataFrame(
        [
            {
                "figure": k,
                "value": round(v, 4),
                "meaning": meaning,
                "target": TARGETS.get(k),
                "met": None if op is None else (v <= TARGETS[k] if op == "<=" else v >= TARGETS[k]),
            }
            for k, v, meaning, op in figures
        ]
    )
    profile = profile_default()

    out = output_path(args.out) if args.out else OUT
    make_output_folder(out)
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    timings.assign(date=stamp).to_csv(out / "timings.csv", index=False)
    summary.assign(date=stamp).to_csv(out / "summary.csv", index=False)
    profile.to_csv(out / "profile.csv", index=False)

    pd.set_option("display.width", 160)
    print(f"\nBenchmark {stamp}, {WEEKS} weeks, one core per run\n")
    print(timings.to_string(index=False))
    print("\nFigures against targets")
    print(summary.to_string(index=False))
    print("\nWhere a default run spends its time (self time, top functions)")
    print(profile.assign(self_share=profile.self_share.round(3)).to_string(index=False))
    print(f"\nWrote {out}/timings.csv, summary.csv, profile.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
