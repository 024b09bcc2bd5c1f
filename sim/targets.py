"""Calibration targets: the published figures of configs/targets.yaml and the model statistic for each.

A target names a scenario and area, a statistic and a band. ``statistics`` computes every
target's statistic from the tables of runs of those scenarios (``sim.run`` results or one
replication's tables), averaged over replications; paired statistics ("versus" no promise)
pair replications by index, which share their seeds. ``simulate`` runs what a set of targets
needs for one parameter set and one seed: the calibration's model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .api import run_replication
from .config import load_config
from .params import Config
from .paths import config_dir
from .space import apply_params

TARGETS_FILE = config_dir() / "targets.yaml"
KINDS = ("level", "change", "mean", "hours_ratio", "crime_versus", "round_effect", "gain_versus")


@dataclass(frozen=True)
class Target:
    """One published figure: its value and band, where the model statistic is computed, and its source."""

    id: str
    name: str
    value: float
    low: float
    high: float
    unit: str
    scenario: str
    area: str
    statistic: Mapping[str, Any]
    fit: bool
    source: str
    sureness: str
    runs: tuple[tuple[str, str], ...] = field(default=())

    def horizon(self) -> int:
        s = self.statistic
        weeks = [s.get("week", 0), *s.get("weeks", [])]
        return max(1, *weeks)

    def scaled_error(self, statistic: float) -> float:
        """How far a statistic is from the value, in units of the band on that side (inside the band: < 1)."""
        half = (self.high - self.value) if statistic >= self.value else (self.value - self.low)
        return abs(statistic - self.value) / max(half, 1e-12)

    def inside(self, statistic: float) -> bool:
        return self.low <= statistic <= self.high


def _target(tid: str, d: Mapping[str, Any]) -> Target:
    stat = dict(d["statistic"])
    if stat["kind"] not in KINDS:
        raise ValueError(f"target {tid}: statistic kind must be one of {', '.join(KINDS)}, got {stat['kind']!r}")
    if not d["low"] <= d["value"] <= d["high"]:
        raise ValueError(f"target {tid}: value {d['value']} outside its band [{d['low']}, {d['high']}]")
    runs = [(d["scenario"], d["area"])]
    if "versus" in stat:
        runs.append((stat["versus"], d["area"]))
    return Target(
        tid,
        d["name"],
        float(d["value"]),
        float(d["low"]),
        float(d["high"]),
        d["unit"],
        d["scenario"],
        d["area"],
        stat,
        bool(d["fit"]),
        d["source"],
        d["sureness"],
        tuple(runs),
    )


@lru_cache(maxsize=2)
def load_targets(path: str | None = None) -> tuple[Target, ...]:
    """All targets of configs/targets.yaml, in file order."""
    data = yaml.safe_load(Path(path or TARGETS_FILE).read_text())
    return tuple(_target(tid, d) for tid, d in data.items())


# ---- statistics, per replication, averaged -------------------------------------------------------


def _per_rep(t: pd.DataFrame, metric: str, week: int) -> pd.Series:
    return t[t.week == week].set_index("replication")[metric]


def _window(t: pd.DataFrame, weeks: list[int]) -> pd.DataFrame:
    return t[(t.week >= weeks[0]) & (t.week <= weeks[1])]


def _crime_versus(run: Mapping[str, pd.DataFrame], ref: Mapping[str, pd.DataFrame], weeks, worked_only: bool) -> float:
    """Relative change in the crime rate (expected recorded crime: what the counts estimate, without their
    Poisson noise), on all problems or only those the run worked on, against the reference run."""
    p, q = _window(run["problems"], weeks), _window(ref["problems"], weeks)
    if worked_only:
        worked = run["problems"][run["problems"].worked].groupby(["replication", "problem"]).size().index
        key = pd.MultiIndex.from_frame(p[["replication", "problem"]])
        p, q = p[key.isin(worked)], q[pd.MultiIndex.from_frame(q[["replication", "problem"]]).isin(worked)]
    a = p.groupby("replication").expected_crime.sum()
    b = q.groupby("replication").expected_crime.sum().reindex(a.index)
    ok = b > 0
    return float((a[ok] / b[ok] - 1.0).mean()) if ok.any() else float("nan")


def statistic(target: Target, runs: Mapping[tuple[str, str], Mapping[str, pd.DataFrame]]) -> float:
    """The model statistic of one target from the tables of the runs it needs (mean over replications)."""
    s = target.statistic
    run = runs[(target.scenario, target.area)]
    t = run["trajectories"]
    kind = s["kind"]
    if kind == "level":
        return float(_per_rep(t, s["metric"], s["week"]).mean())
    if kind == "change":
        return float((_per_rep(t, s["metric"], s["week"]) - _per_rep(t, s["metric"], 0)).mean())
    if kind == "mean":
        return float(_window(t, s["weeks"]).groupby("replication")[s["metric"]].mean().mean())
    if kind == "hours_ratio":
        w = _window(t, s["weeks"]).groupby("replication")[["hours_delivered", "hours_planned"]].sum()
        return float((w.hours_delivered / w.hours_planned.where(w.hours_planned > 0)).mean())
    if kind == "round_effect":
        r = _window(run["feedback_rounds"], s["weeks"])
        return float(r.groupby("replication")[s["metric"]].mean().mean()) if len(r) else float("nan")
    ref = runs[(s["versus"], target.area)]
    if kind == "crime_versus":
        return _crime_versus(run, ref, s["weeks"], bool(s.get("worked_only", False)))
    if kind == "gain_versus":
        u = ref["trajectories"]
        gain = _per_rep(t, s["metric"], s["week"]) - _per_rep(t, s["metric"], 0)
        base = _per_rep(u, s["metric"], s["week"]) - _per_rep(u, s["metric"], 0)
        return float((gain - base).mean())
    raise ValueError(f"unknown statistic kind {kind!r}")


def statistics(
    targets: Iterable[Target], runs: Mapping[tuple[str, str], Mapping[str, pd.DataFrame]]
) -> dict[str, float]:
    return {t.id: statistic(t, runs) for t in targets}


def needed_runs(targets: Iterable[Target]) -> dict[tuple[str, str], int]:
    """(scenario, area) -> the horizon in weeks the targets need of it."""
    need: dict[tuple[str, str], int] = {}
    for t in targets:
        for key in t.runs:
            need[key] = max(need.get(key, 1), t.horizon())
    return need


def distance(targets: Iterable[Target], stats: Mapping[str, float]) -> float:
    """Root mean square of the scaled errors (each target's band is one unit): below 1 on average inside."""
    errors = [t.scaled_error(stats[t.id]) for t in targets]
    errors = [e if np.isfinite(e) else 1e3 for e in errors]
    return float(np.sqrt(np.mean(np.square(errors))))


# ---- running what the targets need -----------------------------------------------------------


@lru_cache(maxsize=32)
def base_config(scenario: str, area: str, residents: int, horizon: int) -> Config:
    """The scenario on the area preset, shrunk to ``residents``, run for ``horizon`` weeks (cached: composing
    a Hydra config takes tens of milliseconds)."""
    return load_config(
        [f"scenario={scenario}", f"area={area}", f"area.residents={residents}", f"horizon_weeks={horizon}"]
    )


def simulate(values: Mapping[str, float], seed: int, targets: Iterable[Target], residents: int) -> dict[str, float]:
    """Run every (scenario, area) the targets need with one parameter set and one seed; return the statistics."""
    targets = list(targets)
    runs = {}
    for (scenario, area), horizon in needed_runs(targets).items():
        cfg = apply_params(base_config(scenario, area, residents, horizon), values)
        runs[(scenario, area)] = run_replication(cfg, seed, 0, survey_weeks=())
    return statistics(targets, runs)
