"""The sweep engine on a real Slurm: a job array with shard=i/N, and Dask workers started by dask-jobqueue.

A one-node Slurm (scripts/slurm-local) is started when its packages are installed and it is not
running, and stopped afterwards only if this test started it. Where Slurm is not installed the tests
are skipped with the reason; .ci/run installs it, so CI runs them.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
STUDY = [
    "experiment@study=sensitivity_tiny",
    "method=sobol",
    "n=8",
    "noise_points=2",
    "noise_replications=2",
    "bootstrap=50",
]

pytestmark = pytest.mark.xdist_group("slurm")  # one Slurm, one test at a time (pytest -n with --dist loadgroup)

if not shutil.which("slurmctld") or not shutil.which("sbatch"):
    pytest.skip(
        "Slurm tests skipped: slurm-wlm is not installed (apt-get install slurm-wlm munge; .ci/run does this)",
        allow_module_level=True,
    )
if os.geteuid() != 0:
    pytest.skip("Slurm tests skipped: starting a one-node Slurm needs root", allow_module_level=True)


def sensitivity(*args, timeout=900):
    p = subprocess.run(
        [sys.executable, "-m", "experiments.sensitivity", *STUDY, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )
    assert p.returncode == 0, p.stdout[-1500:] + p.stderr[-1500:]
    return p


def runs(folder: Path) -> pd.DataFrame:
    from sim.store import SweepStore

    df = SweepStore(folder / "sweep").results()
    return df.drop(columns=["seconds"]).sort_values("run_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    sensitivity("executor=serial", f"output_dir={out}")
    return out


def test_a_job_array_of_shards_merges_to_the_serial_result(slurm, serial, tmp_path):
    out = tmp_path / "array"
    env = {**os.environ, "PROMISE_PYTHON": sys.executable}
    p = subprocess.run(
        [
            "sbatch",
            "--wait",
            "--array=0-2",
            "-o",
            str(tmp_path / "task-%a.out"),
            str(ROOT / "scripts" / "slurm" / "sweep-array.sbatch"),
            *STUDY,
            f"output_dir={out}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=900,
    )
    assert p.returncode == 0, p.stdout + p.stderr + "".join(f.read_text() for f in tmp_path.glob("task-*.out"))
    shards = sorted((out / "sweep" / "shards").iterdir())
    assert len(shards) == 3
    report = sensitivity("executor=serial", f"output_dir={out}")
    assert "merged 3 shards" in report.stdout and "0 planned runs missing" in report.stdout
    assert not (out / "sweep" / "shards").exists()
    merged = runs(out)
    assert merged.run_id.is_unique
    pd.testing.assert_frame_equal(merged, runs(serial))
    pd.testing.assert_frame_equal(pd.read_csv(out / "indices.csv"), pd.read_csv(serial / "indices.csv"))


def test_dask_workers_started_by_slurm_give_the_serial_result(slurm, serial, tmp_path):
    out = tmp_path / "dask"
    sensitivity(
        "executor=dask",
        "cluster=slurm",
        "cluster.jobs=2",
        "cluster.memory=1GB",
        f"cluster.log_directory={tmp_path / 'logs'}",
        f"output_dir={out}",
    )
    pd.testing.assert_frame_equal(runs(out), runs(serial))
    pd.testing.assert_frame_equal(pd.read_csv(out / "indices.csv"), pd.read_csv(serial / "indices.csv"))
