"""The sweep engine: identical results on every executor, no lost or duplicated work, failures recorded."""

import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from sim.sweep import SweepStore, plan, run_seed, run_sweep

from .conftest import cfg

BASE = cfg("area.residents=300", "horizon_weeks=20", "replications=1")
POINTS = pd.DataFrame({"police.effort": [0.3, 0.7, 1.1], "feedback.reach": [0.1, 0.3, 0.5]})


def table(df):
    return df.drop(columns=["seconds"]).sort_values(["point", "replication"]).reset_index(drop=True)


def test_run_ids_unique_and_seeds_shared_across_points():
    specs = plan("s", POINTS, 2, seed=1)
    assert len({s.run_id for s in specs}) == 6
    assert {s.seed for s in specs if s.replication == 0} == {run_seed(1, 0)}
    assert plan("s", POINTS, 2, seed=1) == specs
    assert {s.run_id for s in plan("other", POINTS, 2, seed=1)}.isdisjoint({s.run_id for s in specs})


def test_serial_processes_and_dask_give_identical_tables(tmp_path):
    specs = plan("exec", POINTS, 2, seed=3)
    serial = run_sweep(specs, BASE, SweepStore(tmp_path / "serial"), executor="serial", progress=False)
    procs = run_sweep(specs, BASE, SweepStore(tmp_path / "procs"), executor="processes", workers=2, progress=False)
    dask = run_sweep(
        specs, BASE, SweepStore(tmp_path / "dask"), executor="dask", workers=2, progress=False, batch_size=2
    )
    assert len(serial) == 6 and (serial.status == "ok").all()
    pd.testing.assert_frame_equal(table(serial), table(procs))
    pd.testing.assert_frame_equal(table(serial), table(dask))


def test_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    points = pd.DataFrame({"police.effort": [0.5, 9.0, 1.0]})  # 9.0 is out of bounds: that run fails
    store = SweepStore(tmp_path / "s")
    ok = run_sweep(plan("fail", points, 1, seed=1), BASE, store, executor="serial", progress=False)
    assert sorted(ok.point) == [0, 2]
    failures = store.failures()
    assert len(failures) == 1 and failures.point.iloc[0] == 1
    assert "police.effort" in failures.error.iloc[0]


def test_trajectories_kept_on_request(tmp_path):
    store = SweepStore(tmp_path / "t")
    run_sweep(
        plan("traj", POINTS.head(1), 1, seed=1), BASE, store, executor="serial", progress=False, keep_trajectories=True
    )
    traj = pd.concat(pd.read_parquet(f) for f in store.trajectories.glob("*.parquet"))
    assert len(traj) == 21 and traj.run_id.nunique() == 1


SCRIPT = textwrap.dedent(
    """
    import sys, pandas as pd
    import sim
    from sim.sweep import SweepStore, plan, run_sweep
    base = sim.load_config(["area.residents=300", "horizon_weeks=30"])
    points = pd.DataFrame({"police.effort": [0.2 + 0.02 * i for i in range(40)]})
    run_sweep(plan("resume", points, 1, seed=9), base, SweepStore(sys.argv[1]), executor="serial",
              chunk_size=3, progress=False)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_interrupted_sweep_resumes_to_the_uninterrupted_result(tmp_path, sig):
    store = SweepStore(tmp_path / "resumed")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(store.root)])
    deadline = time.time() + 60
    while time.time() < deadline and len(list(store.runs.glob("part-*.parquet"))) < 2:
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    partial = store.read()
    assert 0 < len(partial) < 40, "the sweep should have been interrupted part-way"
    assert not list(store.runs.glob(".*.tmp")) or sig == signal.SIGKILL
    subprocess.run([sys.executable, "-c", SCRIPT, str(store.root)], check=True, timeout=120)
    resumed = store.results()
    reference = SweepStore(tmp_path / "straight")
    subprocess.run([sys.executable, "-c", SCRIPT, str(reference.root)], check=True, timeout=120)
    straight = reference.results()
    assert len(resumed) == 40 and resumed.run_id.is_unique
    all_rows = pd.concat(pd.read_parquet(f) for f in store.runs.glob("part-*.parquet"))
    assert all_rows.run_id.is_unique, "no run computed twice"
    pd.testing.assert_frame_equal(table(resumed), table(straight))
