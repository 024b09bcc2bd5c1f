"""Slow studies, outside the default suite: `make test-slow` (pytest -m slow)."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import sim

from .conftest import cfg, change

pytestmark = pytest.mark.slow


def test_morris_screening_of_the_fifteen_levers(tmp_path):
    """The full lever study, screened with Morris on all cores, separates the levers the direct Sobol study finds
    leading from those it finds without detectable influence (README, 'Measured here'). It once asked effort or
    planned hours to rank in the top three for trust; with 16 trajectories the top five (feedback interval,
    actions, reach, effort, planned hours) lie within each other's intervals, so their order is not a finding."""
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.sensitivity",
            "method=morris",
            "n=16",
            "noise_points=4",
            "noise_replications=3",
            f"output_dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=3000,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    m = pd.read_csv(tmp_path / "indices.csv")
    leading = ["feedback.interval_weeks", "police.planned_hours_per_week", "feedback.reach", "police.effort"]
    inert = [
        "promise.citizen_weight",
        "promise.outreach",
        "police.training",
        "feedback.staff",
        "police.turnover_per_year",
    ]
    for output in ("trust_mean_change", "delaktighet_mean_change"):
        rank = m[m.output == output].set_index("lever")["rank"]
        assert rank[leading].max() < rank[inert].min(), (output, rank.sort_values().to_dict())
    assert "sigma" in (tmp_path / "report.md").read_text()


def test_patterns_hold_at_fifty_replications_and_in_other_areas():
    """Patterns 1 and 2 on every area preset, 50 paired replications each."""
    for area in ("default", "vulnerable_district", "suburb", "small_town"):
        obs = sim.run(cfg(f"area={area}", "scenario=observed_2018", "replications=50", "horizon_weeks=104"))
        full = sim.run(cfg(f"area={area}", "scenario=full_implementation", "replications=50", "horizon_weeks=104"))
        for col in ("trust_mean", "delaktighet_mean", "trygghet_mean"):
            assert abs(change(obs.trajectories, col, 104).mean()) <= 0.03, (area, col)
        d = change(full.trajectories, "trust_mean", 104) - change(obs.trajectories, "trust_mean", 104)
        assert d.mean() > 0 and np.mean(d > 0) >= 0.95, area


def test_the_emulators_ranking_matches_the_direct_sobol_study(tmp_path):
    """Issue goal: the emulator's top three levers (from 2,000 runs) match the direct n = 1024 Sobol study's
    (17,361 runs) for the changes in trust and delaktighet."""
    direct = tmp_path / "direct"
    p = subprocess.run(
        [sys.executable, "-m", "experiments.sensitivity", "method=sobol", "n=1024", f"output_dir={direct}"],
        capture_output=True,
        text=True,
        timeout=5400,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.emulator",
            "sensitivity",
            f"direct={direct}",
            f"output_dir={tmp_path / 'fast'}",
        ],
        capture_output=True,
        text=True,
        timeout=3000,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    agree = pd.read_csv(tmp_path / "fast" / "agreement.csv").set_index("output")
    assert (
        agree.loc["trust_mean_change", "same_within_ties"] and agree.loc["delaktighet_mean_change", "same_within_ties"]
    )
