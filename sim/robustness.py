"""Robust decisions over uncertain worlds: robustness measures, regret, the Pareto set, scenario discovery.

Pure functions of a table with one row per (design, condition): the design's gains against no promise in
that condition (higher is better) and its cost (officer hours, lower is better). Scenario discovery uses
PRIM from the EMA workbench (the reference implementation of Friedman & Fisher's patient rule induction)
and a CART tree from scikit-learn; the functions here only state their boxes and rules in words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def robustness(table: pd.DataFrame, design: str, gains: Sequence[str], backfire: Sequence[str]) -> pd.DataFrame:
    """Per design: mean and 10th percentile of each gain, chance of a gain, chance of backfiring (any of the
    ``backfire`` gains below zero), and regret (the best design's gain in the same condition minus this one's)."""
    t = table.copy()
    for g in gains:
        t[f"regret_{g}"] = t.groupby("condition")[g].transform("max") - t[g]
    t["backfires"] = (t[list(backfire)] < 0).any(axis=1)
    agg = {}
    for g in gains:
        agg[f"{g}_mean"] = (g, "mean")
        agg[f"{g}_p10"] = (g, lambda v: float(np.quantile(v, 0.1)))
        agg[f"{g}_p_gain"] = (g, lambda v: float((v > 0).mean()))
        agg[f"regret_{g}_mean"] = (f"regret_{g}", "mean")
        agg[f"regret_{g}_max"] = (f"regret_{g}", "max")
    agg["p_backfire"] = ("backfires", "mean")
    agg["hours"] = ("hours", "mean")
    agg["conditions"] = ("condition", "nunique")
    return t.groupby(design).agg(**agg).reset_index()


def pareto(table: pd.DataFrame, maximise: Sequence[str], minimise: Sequence[str] = ()) -> pd.Series:
    """Whether each row is on the Pareto front: no other row at least as good on every objective and better on one."""
    values = np.column_stack([table[c].to_numpy() for c in maximise] + [-table[c].to_numpy() for c in minimise])
    front = np.ones(len(values), dtype=bool)
    for i, v in enumerate(values):
        dominated = np.all(values >= v, axis=1) & np.any(values > v, axis=1)
        front[i] = not dominated.any()
    return pd.Series(front, index=table.index)


def recommend(summary: pd.DataFrame, objective: str, hours_budget: float | None = None) -> pd.Series:
    """The design to choose when the world is unknown: the best gain in the worst tenth of worlds on
    ``objective`` (ties: the higher mean gain), among designs within the hours budget.

    The worst-decile gain asks "how well does it do when things go badly?", which is what a planner who
    cannot know the area's response needs; regret (how far behind the best design for each world) is
    reported beside it, but the least worst-case regret favours designs that are mediocre everywhere."""
    pool = summary if hours_budget is None else summary[summary.hours <= hours_budget]
    if pool.empty:
        pool = summary.nsmallest(1, "hours")
    order = pool.sort_values([f"{objective}_p10", f"{objective}_mean"], ascending=[False, False])
    return order.iloc[0]


def prim_box(x: pd.DataFrame, y: np.ndarray, min_density: float = 0.75) -> dict:
    """PRIM's box for ``y`` (bool) on ``x``: along the peeling trajectory, the box with the best coverage among
    those at least ``min_density`` dense, the densest of equal coverage (else the densest of all). Returns the
    limits of the restricted dimensions, coverage, density, the trajectory and the box object."""
    import warnings

    with warnings.catch_warnings():  # ema_workbench announces on import an evaluator it lacks, which PRIM never uses
        warnings.filterwarnings("ignore", message="ipyparallel not installed")
        from ema_workbench.analysis import prim

    y = np.asarray(y, dtype=bool)
    if y.sum() == 0 or y.all():
        return {"limits": {}, "coverage": float(y.mean() > 0), "density": float(y.mean()), "trajectory": None}
    p = prim.Prim(x.reset_index(drop=True).astype(float), y)  # PRIM sets fractional limits: floats only
    box = p.find_box()
    traj = box.peeling_trajectory
    ok = traj[traj.density >= min_density]
    # the best coverage; among boxes that cover as much, the densest (the tightest that loses nothing)
    i = (
        int(ok.sort_values(["coverage", "density"], ascending=False).index[0])
        if len(ok)
        else int(traj.density.idxmax())
    )
    box.select(i)
    lims = box.box_lims[i]
    limits = {}
    for col in x.columns:
        lo, hi = float(lims[col].iloc[0]), float(lims[col].iloc[1])
        if lo > float(x[col].min()) + 1e-12 or hi < float(x[col].max()) - 1e-12:
            limits[col] = (lo, hi)
    return {
        "limits": limits,
        "coverage": float(traj.coverage[i]),
        "density": float(traj.density[i]),
        "trajectory": traj,
        "box": box,
        "index": i,
    }


def box_words(result: dict, x: pd.DataFrame, event: str, labels: dict[str, str] | None = None) -> str:
    """A PRIM box in words: 'Backfires when effort is below 0.6 and actions above 3: 74% of such worlds,
    covering 81% of all cases where it backfires' (density, then PRIM's coverage: the share of all the event's
    cases inside the box)."""
    labels = labels or {}
    if not result["limits"]:  # no period: the caller ends the sentence, as for a box
        if result["density"] <= 0:
            return f"No box for '{event}': it did not happen in any of these worlds"
        return f"No box found for '{event}': it is {'everywhere' if result['density'] >= 1 else 'rare or scattered'}"
    parts = []
    for col, (lo, hi) in result["limits"].items():
        name = labels.get(col, col)
        if lo > float(x[col].min()) + 1e-12 and hi < float(x[col].max()) - 1e-12:
            parts.append(f"{name} is between {lo:.3g} and {hi:.3g}")
        elif lo > float(x[col].min()) + 1e-12:
            parts.append(f"{name} is at least {lo:.3g}")
        else:
            parts.append(f"{name} is at most {hi:.3g}")
    return (
        f"{event} when " + " and ".join(parts) + f": {100 * result['density']:.0f}% of such worlds, covering "
        f"{100 * result['coverage']:.0f}% of all cases where it {event.lower()}"
    )


def cart_rules(x: pd.DataFrame, y: np.ndarray, depth: int = 3, seed: int = 0) -> tuple[str, float]:
    """A shallow classification tree (scikit-learn) as a second view: its rules as text, and its accuracy."""
    from sklearn.tree import DecisionTreeClassifier, export_text

    tree = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=max(5, len(x) // 100), random_state=seed)
    tree.fit(x, y)
    return export_text(tree, feature_names=list(x.columns), decimals=3), float(tree.score(x, y))
