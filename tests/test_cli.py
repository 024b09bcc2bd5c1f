"""The main job as a user runs it: `python -m sim ...`."""

import json
import subprocess
import sys

import pandas as pd
import pytest


def run_sim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_main_job_writes_the_run_folder(tmp_path):
    out = tmp_path / "run"
    p = run_sim(
        "scenario=observed_2018",
        "area=suburb",
        "replications=3",
        "seed=7",
        "feedback.interval_weeks=4",
        "area.residents=600",
        "horizon_weeks=30",
        f"hydra.run.dir={out}",
    )
    assert p.returncode == 0, p.stderr
    assert "trust_mean" in p.stdout and "90% band" in p.stdout
    for name in (
        "trajectories.csv",
        "summary.csv",
        "trajectories.png",
        "neighbourhoods.csv",
        "run.json",
        "config.yaml",
    ):
        assert (out / name).exists(), name
    traj = pd.read_csv(out / "trajectories.csv")
    expected = """replication week trust_mean trust_high_share delaktighet_mean participation_rate trygghet_mean
        unsafe_share awareness_share problem_severity recorded_crime hours_planned hours_delivered delivery_ratio
        officer_attitude_mean""".split()  # the columns the issue asks for, in order
    assert list(traj.columns) == expected
    assert len(traj) == 3 * 31 and traj.week.min() == 0
    hoods = pd.read_csv(out / "neighbourhoods.csv")
    assert {"trust_baseline", "trust_horizon", "trygghet_horizon", "delaktighet_horizon"} <= set(hoods.columns)
    info = json.loads((out / "run.json").read_text())
    assert info["seed"] == 7 and len(info["replication_seconds"]) == 3 and info["config_hash"]
    config = (out / "config.yaml").read_text()
    assert "interval_weeks: 4" in config and "name: suburb" in config and "seed: 7" in config


@pytest.mark.parametrize(
    "arg,needle",
    [
        ("police.effort=3", "police.effort: 3"),
        ("area.residents=many", "area.residents: 'many'"),
        ("promise.colour=red", "unknown parameter promise.colour"),
        ("scenario=utopia", "unknown scenario preset 'utopia'"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, arg, needle):
    out = tmp_path / "never"
    p = run_sim(arg, f"hydra.run.dir={out}", cwd=tmp_path)
    assert p.returncode == 2
    assert needle in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_multirun_checks_every_point_first(tmp_path):
    p = run_sim("-m", "feedback.interval_weeks=0,4,400", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert p.returncode == 2 and "feedback.interval_weeks: 400" in p.stderr
    assert not (tmp_path / "sweep").exists()


def test_multirun_grid_runs(tmp_path):
    p = run_sim(
        "-m",
        "feedback.interval_weeks=0,13",
        "police.effort=0.5,1.0",
        "replications=1",
        "horizon_weeks=10",
        "area.residents=300",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )
    assert p.returncode == 0, p.stderr
    assert len(list((tmp_path / "sweep").glob("*/summary.csv"))) == 4
