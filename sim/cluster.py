"""Dask clusters for the sweep engine: `cluster=local` (the default) or `cluster=slurm` (dask-jobqueue).

A Slurm cluster's workers are batch jobs running this interpreter (so they run the same code; the
sweep engine checks); each pins its numeric libraries to one thread, since the workers fill the cores.
"""

from __future__ import annotations

import sys
from typing import Any

KINDS = ("local", "slurm")


def make_cluster(settings: Any):
    """A dask-jobqueue SLURMCluster from the cluster settings, scaled or adaptive; None for `local`."""
    kind = settings.get("kind", "local") if settings else "local"
    if kind == "local":
        return None
    if kind != "slurm":
        raise ValueError(f"cluster kind must be one of {', '.join(KINDS)}, got {kind!r}")
    from dask_jobqueue import SLURMCluster

    kw = {
        "queue": settings.get("queue"),
        "account": settings.get("account"),
        "cores": int(settings.get("cores", 1)),
        "memory": str(settings.get("memory", "2GB")),
        "walltime": str(settings.get("walltime", "02:00:00")),
        "python": sys.executable,
        "job_script_prologue": [
            f"export {v}=1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        ],
        "scheduler_options": {"dashboard_address": ":0"},
        "worker_extra_args": ["--nthreads", "1"],
    }
    if settings.get("processes"):
        kw["processes"] = int(settings["processes"])
    else:
        kw["processes"] = kw["cores"]
    if settings.get("interface"):
        kw["interface"] = settings["interface"]
    if settings.get("log_directory"):
        kw["log_directory"] = settings["log_directory"]
    cluster = SLURMCluster(**{k: v for k, v in kw.items() if v is not None})
    if settings.get("adaptive"):
        cluster.adapt(
            minimum_jobs=int(settings.get("minimum_jobs", 1)), maximum_jobs=int(settings.get("maximum_jobs", 16))
        )
    else:
        cluster.scale(jobs=int(settings.get("jobs", 2)))
    return cluster
