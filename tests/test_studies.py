"""The ready-made studies at a tiny size: outputs exist and are consistent."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from experiments import ambition, bra2018, compare, evaluation_power, feedback_demo
from experiments.studies import load_study

TINY = ["replications=3", "residents=400"]


def run(module, name, tmp_path, *extra):
    cfg = load_study(name, [*TINY, f"output_root={tmp_path}", *extra])
    return module.study(cfg)


def test_compare_a_scenario_with_itself_shows_no_difference(tmp_path):
    out = run(
        compare,
        "compare",
        tmp_path,
        "horizon_weeks=40",
        'study.arms=["scenario=observed_2018","scenario=observed_2018"]',
    )
    d = pd.read_csv(out / "differences.csv")
    assert len(d) == 6
    assert (d.difference == 0).all() and (d.ci_low == 0).all() and (d.ci_high == 0).all()
    assert (d.p_beats == 0).all() and (d.p_ties == 1).all()
    for name in ("trajectories.png", "report.md", "config.yaml", "changes.csv"):
        assert (out / name).exists()


def test_compare_full_beats_observed(tmp_path):
    out = run(
        compare,
        "compare",
        tmp_path,
        "horizon_weeks=104",
        'study.arms=["scenario=observed_2018","scenario=full_implementation"]',
    )
    d = pd.read_csv(out / "differences.csv").set_index("metric")
    assert d.loc["trust_mean", "ci_low"] > 0 and d.loc["trust_mean", "p_beats"] == 1
    assert "95% interval" in (out / "report.md").read_text()


def test_ambition_grid_heatmaps_and_report(tmp_path):
    out = run(
        ambition,
        "ambition",
        tmp_path,
        "horizon_weeks=52",
        "study.executor=serial",
        "study.grid={promise.actions:[1,8],police.planned_hours_per_week:[20,60],"
        "promise.period_weeks:[52],police.effort:[0.3,1.0]}",
    )
    grid = pd.read_csv(out / "grid.csv")
    assert len(grid) == 8 and grid.replications.eq(3).all()
    assert np.isfinite(grid.trust_mean_per_100h).all()
    for name in ("heatmap_trust.png", "heatmap_delaktighet.png", "heatmap_trygghet.png", "trust_per_100_hours.png"):
        assert (out / name).exists()
    text = (out / "report.md").read_text()
    assert "Most gain for the hours spent" in text and "backfire" in text


def test_feedback_demo_no_feedback_never_beats_monthly(tmp_path):
    out = run(feedback_demo, "feedback_demo", tmp_path, "horizon_weeks=60", "study.gif_every_weeks=10")
    for name in ("feedback_matters.png", "feedback_matters.gif", "maps_horizon.png", "report.md", "levels.csv"):
        assert (out / name).exists(), name
    levels = pd.read_csv(out / "levels.csv")
    t = levels[(levels.metric == "trust_mean") & (levels.staff == "with staff feedback")].set_index(["arm", "week"])
    for week in t.index.get_level_values("week").unique():
        assert t.loc[("No feedback", week), "mean_level"] <= t.loc[("Monthly feedback", week), "mean_level"] + 1e-12


def test_evaluation_power_rises_with_sample_size(tmp_path):
    out = run(
        evaluation_power,
        "evaluation_power",
        tmp_path,
        "horizon_weeks=104",
        "residents=3000",
        "study.sample_sizes=[100,400,1600]",
        "study.draws=4",
    )
    p = pd.read_csv(out / "power.csv")
    full = p[(p.arm == "full_implementation") & (p.outcome == "trust") & (p.year == 2)].sort_values("sample_size")
    assert full.power.is_monotonic_increasing and full.power.iloc[-1] > full.power.iloc[0]
    null = p[p.arm == "no_promise"]
    assert null.power.mean() < 0.2  # false alarms stay near alpha
    assert (out / "power_curves.png").exists()


def test_bra2018_headline(tmp_path):
    out = run(bra2018, "bra2018", tmp_path, "horizon_weeks=104")
    t = pd.read_csv(out / "table.csv").set_index("arm")
    assert len(t) == 7
    assert abs(t.loc["Observed 2018", "trust_mean"]) < 0.03
    assert t.loc["Full implementation", "trust_mean"] > t.loc["Observed 2018", "trust_mean"]
    assert (out / "bra2018.png").exists() and "reproduced" in (out / "report.md").read_text()


@pytest.mark.parametrize("module", ["compare", "ambition", "feedback_demo", "evaluation_power", "bra2018"])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, module):
    p = subprocess.run(
        [sys.executable, "-m", f"experiments.{module}", "replications=1", f"output_root={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and "replications" in p.stderr
    assert list(tmp_path.iterdir()) == []
