"""The sweep engine: identical results on every executor, no lost, duplicated or stale work, failures recorded,
workers that die or are told to stop handled."""

import dataclasses
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from sim.params import ConfigError
from sim.store import StoreError, SweepStore, compact, shard_store
from sim.sweep import Outcomes, plan, run_seed, run_sweep

from .conftest import cfg

BASE = cfg("area.residents=300", "horizon_weeks=20", "replications=1")
POINTS = pd.DataFrame({"police.effort": [0.3, 0.7, 1.1], "feedback.reach": [0.1, 0.3, 0.5]})


def table(df):
    return df.drop(columns=["seconds"]).sort_values(["run_id"]).reset_index(drop=True)


def test_run_ids_unique_seeds_shared_and_identity_is_the_whole_config():
    p = plan(BASE, POINTS, 2, seed=1)
    assert len(p.specs) == 6 and len(p.run_ids()) == 6
    assert {s.seed for s in p.specs if s.replication == 0} == {run_seed(1, 0)}
    assert plan(BASE, POINTS, 2, seed=1).specs == p.specs
    assert plan(BASE, POINTS, np.int64(2), seed=1).specs == p.specs  # a NumPy count plans the same runs
    other_seed = plan(BASE, POINTS, 2, seed=2).run_ids()
    other_base = plan(cfg("area.residents=300", "horizon_weeks=21"), POINTS, 2, seed=1).run_ids()
    other_area = plan(cfg("area=suburb", "area.residents=300", "horizon_weeks=20"), POINTS, 2, seed=1).run_ids()
    for ids in (other_seed, other_base, other_area):
        assert ids.isdisjoint(p.run_ids())


def test_repeated_design_rows_share_one_run_and_every_row_gets_it():
    """Morris designs with few levers repeat rows; each row must still find its result."""
    design = pd.DataFrame({"promise.actions": [3.0, 3.333, 3.0, 5.0]})  # 3.333 runs as 3 actions
    p = plan(BASE, design, 1, seed=1)
    assert len(p.specs) == 2 and len(p.rows) == 4
    assert p.rows.run_id.nunique() == 2 and p.rows.run_id.iloc[0] == p.rows.run_id.iloc[1] == p.rows.run_id.iloc[2]


def test_under_posterior_uncertainty_a_sweep_refuses_to_set_an_uncertain_coefficient():
    """The draws set every uncertain coefficient after the design's values, so one varied or set by hand
    would be overwritten without a word (a grid over it gave the same result at every value)."""
    posterior = cfg("area.residents=300", "horizon_weeks=20", "uncertainty=posterior")
    with pytest.raises(ConfigError, match="behaviour.broken_promise_ratio is varied but uncertainty=posterior"):
        plan(posterior, pd.DataFrame({"behaviour.broken_promise_ratio": [1.0, 4.0]}), 1, seed=1)
    with pytest.raises(ConfigError, match="behaviour.bad_contact_ratio is set by hand"):  # refused when composed
        cfg("area.residents=300", "uncertainty=posterior", "behaviour.bad_contact_ratio=1.0")
    hand_set = dataclasses.replace(  # a Config made by hand, not composed: the plan refuses it too
        cfg("area.residents=300", "behaviour.bad_contact_ratio=1.0"), uncertainty="posterior"
    )
    with pytest.raises(ConfigError, match="behaviour.bad_contact_ratio is set by hand"):
        plan(hand_set, POINTS, 1, seed=1)
    assert len(plan(posterior, POINTS, 1, seed=1).specs) == 3  # levers may vary under posterior
    fixed = cfg("area.residents=300", "uncertainty=fixed")
    assert len(plan(fixed, pd.DataFrame({"behaviour.broken_promise_ratio": [1.0, 4.0]}), 1, seed=1).specs) == 2


def test_store_records_the_values_the_model_ran(tmp_path):
    rows = run_sweep(
        plan(BASE, pd.DataFrame({"promise.actions": [3.333]}), 1, 1),
        BASE,
        SweepStore(tmp_path),
        executor="serial",
        progress=False,
    )
    assert rows["promise.actions"].tolist() == [3.0]


def test_serial_processes_and_dask_give_identical_tables(tmp_path):
    p = plan(BASE, POINTS, 2, seed=3)
    serial = run_sweep(p, BASE, SweepStore(tmp_path / "serial"), executor="serial", progress=False)
    procs = run_sweep(p, BASE, SweepStore(tmp_path / "procs"), executor="processes", workers=2, progress=False)
    dask = run_sweep(p, BASE, SweepStore(tmp_path / "dask"), executor="dask", workers=2, progress=False, batch_size=2)
    assert len(serial) == 6 and (serial.status == "ok").all()
    pd.testing.assert_frame_equal(table(serial), table(procs))
    pd.testing.assert_frame_equal(table(serial), table(dask))


def test_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    points = pd.DataFrame({"police.effort": [0.5, 9.0, 1.0]})  # 9.0 is out of bounds: that run fails
    store = SweepStore(tmp_path / "s")
    p = plan(BASE, points, 1, seed=1)
    ok = run_sweep(p, BASE, store, executor="serial", progress=False)
    assert sorted(ok["police.effort"]) == [0.5, 1.0]
    failures = store.failures()
    assert len(failures) == 1 and failures["police.effort"].iloc[0] == 9.0
    assert "police.effort" in failures.error.iloc[0]


def test_a_store_refuses_another_study_and_another_seed_gets_its_own_runs(tmp_path):
    store = SweepStore(tmp_path / "s")
    run_sweep(plan(BASE, POINTS, 1, seed=2024), BASE, store, executor="serial", progress=False)
    other = cfg("area=suburb", "area.residents=300", "horizon_weeks=20")
    with pytest.raises(StoreError, match="holds another study"):
        run_sweep(plan(other, POINTS, 1, seed=2024), other, store, executor="serial", progress=False)
    fresh = run_sweep(
        plan(BASE, POINTS, 1, seed=2025), BASE, SweepStore(tmp_path / "f"), executor="serial", progress=False
    )
    again = run_sweep(plan(BASE, POINTS, 1, seed=2025), BASE, store, executor="serial", progress=False)
    pd.testing.assert_frame_equal(table(again), table(fresh))
    sessions = store.manifest()["sessions"]
    assert len(sessions) == 2 and sessions[1]["already_done"] == 0  # history kept, nothing stale reused


def test_merging_a_job_array_keeps_every_task_s_session_and_refuses_another_study_s_shard(tmp_path):
    """A task's manifest goes with its folder when the shards are merged; its sessions were once lost with it."""
    store = SweepStore(tmp_path / "s")
    specs = plan(BASE, POINTS, 1, seed=1).specs
    for i, share in enumerate((specs[:2], specs[2:])):
        run_sweep(share, BASE, shard_store(store, f"{i}/2"), executor="serial", progress=False)
    merged = compact(store, {s.run_id for s in specs})
    assert merged["missing"] == 0
    sessions = store.manifest()["sessions"]
    assert [(s["shard"], s["planned"]) for s in sessions] == [("00000-of-00002", 2), ("00001-of-00002", 1)]
    run_sweep(specs, BASE, store, executor="serial", progress=False)
    assert store.manifest()["sessions"][-1]["already_done"] == 3 and len(store.manifest()["sessions"]) == 3
    other = cfg("area=suburb", "area.residents=300", "horizon_weeks=20")
    stray = shard_store(store, "0/1")
    run_sweep(plan(other, POINTS.head(1), 1, seed=1), other, stray, executor="serial", progress=False)
    before = sorted(p.name for p in store.runs.iterdir())
    with pytest.raises(StoreError, match="holds another study.*move it out") as err:
        compact(store)
    assert "\n" not in str(err.value) and sorted(p.name for p in store.runs.iterdir()) == before
    assert stray.manifest_path.exists()


def test_trajectories_kept_on_request(tmp_path):
    store = SweepStore(tmp_path / "t")
    run_sweep(
        plan(BASE, POINTS.head(1), 1, seed=1), BASE, store, executor="serial", progress=False, keep_trajectories=True
    )
    traj = pd.concat(pd.read_parquet(f) for f in store.trajectories.glob("*.parquet"))
    assert len(traj) == 21 and traj.run_id.nunique() == 1


def test_a_damaged_shard_or_manifest_is_named_with_advice_and_leftovers_are_cleaned(tmp_path):
    store = SweepStore(tmp_path / "s")
    run_sweep(plan(BASE, POINTS, 1, seed=1), BASE, store, executor="serial", progress=False)
    (store.runs / ".part-x.parquet.abc.tmp").write_bytes(b"half")
    bad = store.runs / "part-zzz.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(StoreError, match="part-zzz.parquet cannot be read.*move it out") as err:
        store.read()
    assert "\n" not in str(err.value)
    bad.unlink()
    run_sweep(plan(BASE, POINTS, 1, seed=1), BASE, store, executor="serial", progress=False)
    assert not list(store.runs.glob(".*.tmp"))
    store.manifest_path.write_text("{broken")
    with pytest.raises(StoreError, match="manifest.json is damaged"):
        run_sweep(plan(BASE, POINTS, 1, seed=1), BASE, store, executor="serial", progress=False)


def test_two_sweeps_on_one_store_do_not_race(tmp_path):
    store = SweepStore(tmp_path / "s")
    with store.locked(), pytest.raises(StoreError, match="another sweep is writing"):
        run_sweep(plan(BASE, POINTS, 1, seed=1), BASE, store, executor="serial", progress=False)


class DiesOnSeven(Outcomes):
    """An evaluator whose worker process dies on one parameter value (as a segfault or the OOM killer would)."""

    key = "dies-on-seven"

    def __call__(self, cfg, spec, trajectories_dir):
        if abs(cfg.police.effort - 0.7) < 1e-9:
            os._exit(9)
        return super().__call__(cfg, spec, trajectories_dir)


def test_a_dead_worker_becomes_a_recorded_failure_and_the_sweep_goes_on(tmp_path):
    store = SweepStore(tmp_path / "d")
    ok = run_sweep(
        plan(BASE, POINTS, 2, seed=4),
        BASE,
        store,
        executor="processes",
        workers=2,
        batch_size=1,
        progress=False,
        evaluator=DiesOnSeven(),
    )
    assert sorted(ok["police.effort"].unique()) == [0.3, 1.1] and len(ok) == 4
    failed = store.failures()
    assert len(failed) == 2 and (failed["police.effort"] == 0.7).all()
    assert failed.error.str.contains("WorkerDied").all()


SCRIPT = textwrap.dedent(
    """
    import sys, pandas as pd
    import sim
    from sim.store import SweepStore
    from sim.sweep import plan, run_sweep
    base = sim.load_config(["area.residents=300", "horizon_weeks=120"])  # ~0.1 s a run: room to interrupt
    points = pd.DataFrame({"police.effort": [0.2 + 0.02 * i for i in range(40)]})
    executor = sys.argv[2] if len(sys.argv) > 2 else "serial"
    run_sweep(plan(base, points, 1, seed=9), base, SweepStore(sys.argv[1]), executor=executor,
              workers=None if executor == "serial" else 2, batch_size=1, chunk_size=3, progress=False)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "sigterm", "killed"])
def test_interrupted_sweep_resumes_to_the_uninterrupted_result(tmp_path, sig):
    store = SweepStore(tmp_path / "resumed")
    # a runner started in the background ignores SIGINT and its children inherit that; a terminal's ctrl-c is
    # delivered, so restore the default disposition in the child
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(store.root)],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 60
    while time.time() < deadline and len(store.files()) < 2:
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    partial = store.read()
    assert 0 < len(partial) < 40, "the sweep should have been interrupted part-way"
    if sig != signal.SIGKILL:  # a flush on the way out: the manifest says what was computed, all of it stored
        session = store.manifest()["sessions"][-1]
        assert session["interrupted"] and session["computed"] == len(partial)
    subprocess.run([sys.executable, "-c", SCRIPT, str(store.root)], check=True, timeout=120)
    resumed = store.results()
    reference = SweepStore(tmp_path / "straight")
    subprocess.run([sys.executable, "-c", SCRIPT, str(reference.root)], check=True, timeout=120)
    straight = reference.results()
    assert len(resumed) == 40 and resumed.run_id.is_unique
    all_rows = pd.concat(pd.read_parquet(f) for f in store.files())
    assert all_rows.run_id.is_unique, "no run computed twice"
    pd.testing.assert_frame_equal(table(resumed), table(straight))


def children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(x) for x in out.split()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = open(f"/proc/{pid}/stat").read().split()
    return stat[2] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "killed"])
def test_no_worker_outlives_its_sweep(tmp_path, sig):
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path / "s"), "processes"])
    deadline = time.time() + 60
    workers: set[int] = set()
    while time.time() < deadline and len(workers) < 2:
        workers |= children(proc.pid) - {proc.pid}
        time.sleep(0.1)
    assert workers, "the sweep should have started worker processes"
    time.sleep(1.0)
    workers |= children(proc.pid)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    deadline = time.time() + 15
    while time.time() < deadline and any(alive(w) for w in workers):
        time.sleep(0.2)
    assert not [w for w in workers if alive(w)], "worker processes outlived the sweep"


def test_a_scheduler_that_cannot_be_reached_is_named_with_advice(tmp_path):
    """Once a raw ValueError ('missing port number') or, for an address nobody answers, an OSError after 30 s."""
    from sim.params import ConfigError

    p = plan(BASE, pd.DataFrame({"police.effort": [0.5]}), 1, seed=1)
    with pytest.raises(
        ConfigError, match=r"^scheduler=abc: no Dask scheduler could be reached .*leave scheduler empty"
    ):
        run_sweep(p, BASE, SweepStore(tmp_path / "s"), executor="dask", scheduler="abc", progress=False)


@pytest.mark.parametrize(
    "given, says",
    [
        ({"batch_size": -2}, "batch_size must be None or a whole number of at least 1, got -2"),  # once no rows
        ({"batch_size": 0}, "batch_size must be None or a whole number of at least 1, got 0"),  # once range()'s error
        ({"workers": 0}, "workers must be None or a whole number of at least 1, got 0"),
        ({"chunk_size": 0}, "chunk_size must be a whole number of at least 1, got 0"),
        ({"workers": 2.5}, "workers must be None or a whole number of at least 1, got 2.5"),
        ({"scheduler": "tcp://127.0.0.1:9"}, "scheduler is used only by executor='dask', got executor='serial'"),
        ({"cluster": object()}, "cluster is used only by executor='dask', got executor='serial'"),
        ({"workers": 4}, "workers=4 is used only by executor='processes' or 'dask', got executor='serial'"),
    ],
)
def test_a_sweep_refuses_a_setting_it_cannot_use_before_it_runs(tmp_path, given, says):
    """Each was taken: a negative batch size planned no batch and returned an empty table, a scheduler or cluster
    without executor='dask' was ignored and the sweep ran here, workers=4 with executor='serial' ran one at a time."""
    p = plan(BASE, pd.DataFrame({"police.effort": [0.5]}), 1, seed=1)
    with pytest.raises(ValueError, match="^" + re.escape(says) + "$"):
        run_sweep(p, BASE, SweepStore(tmp_path / "s"), executor="serial", progress=False, **given)
    assert not (tmp_path / "s").exists() or not SweepStore(tmp_path / "s").done()
