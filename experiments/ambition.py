"""Ambition and periodicity for planners (Brå 2018:14, recommendation 4): which promise size and cycle give the
most for the hours?

    python -m experiments.ambition [area=suburb] [replications=10] ['study.grid.police.effort=[0.6]']

For the chosen area and scenario, a grid over promised actions, planned hours a week, promise periodicity and
effort runs through the sweep engine; every run is paired with the counterfactual (no promise) on the same seed
and posterior draw. Gains are in percentage points of residents (the national survey's shares) after one, two
and three years, with the 95% interval of the mean and the range one district could see; gains per 100 officer
hours with Fieller's interval; and each dimension's average effect over the rest of the grid. When a setting
backfires, the worst one runs again at fixed coefficients with each of the model's ways to lose ground
switched off in turn, to measure which one causes the loss. Writes heatmaps, grid.csv, runs.csv,
why_it_backfires.csv (when a setting backfires) and report.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

import sim
from experiments.settings import preset
from experiments.studies import (
    LABELS,
    RESAMPLES,
    GridContext,
    GridStudy,
    Settings,
    arm_overrides,
    bracketed,
    chosen_instead,
    fmt_pp,
    heatmaps,
    interval,
    main_wrapper,
    no_range_words,
    percent,
    range_words,
    ratio_interval,
    resampled_choice,
    summarise_gains,
    sweep_design,
    when_and_hours,
)
from sim.words import counted

OUTCOMES = {
    "trust_high_share": "high confidence",
    "delaktighet_high_share": "'the police listen and act'",
    "unsafe_share": "feeling unsafe",
}


def setting_words(r, dims) -> str:
    parts = []
    for d in dims:
        v = r[d]
        short = d.split(".")[-1].replace("_", " ")
        parts.append(f"{short} {v:g}")
    return ", ".join(parts)


def year_columns(ctx: GridContext) -> list[str]:
    years = [y for y in (1, 2, 3) if 52 * y <= ctx.horizon]
    return [f"{o}_change_y{y}" for o in OUTCOMES for y in years]


def analyse(ctx: GridContext) -> list[str]:
    dims = list(ctx.points.columns)
    cols = year_columns(ctx)
    runs = ctx.gains(cols)
    gains = [f"gain_{c}" for c in cols]
    agg = summarise_gains(runs, dims, gains)
    last = max(y for y in (1, 2, 3) if 52 * y <= ctx.horizon)
    key = f"gain_trust_high_share_change_y{last}"
    agg = agg.merge(per_100_hours(runs, dims, key), on=dims)
    ctx.save("grid.csv", agg)
    pct = agg.assign(**{f"{g}_pp": 100 * agg[g] for g in gains})
    x, y = dims[0], dims[1] if len(dims) > 1 else None
    facets = dims[2:4]
    rows_, cols_ = (facets + [None, None])[:2]
    for o in OUTCOMES:
        # the study's shared labels ("the share high confidence" once); less feeling unsafe is no loss
        what = f"{'Change' if o == 'unsafe_share' else 'Gain'} in the {LABELS[o][0].lower()}{LABELS[o][1:]}"
        heatmaps(
            ctx,
            pct,
            f"gain_{o}_change_y{last}_pp",
            f"heatmap_{o}.png",
            f"{what} after {counted(last, 'year')}, against no promise",
            "percentage points of residents (mean over replications)",
            x,
            y,
            rows_,
            cols_,
        )
    heatmaps(
        ctx,
        pct,
        "trust_pp_per_100h",
        "high_confidence_per_100_hours.png",
        "Gain in the high-confidence share per 100 officer hours actually spent",
        "percentage points per 100 hours",
        x,
        y,
        rows_,
        cols_,
        fmt="{:+.2f}",
    )

    def line(r) -> str:
        mean = f"95% interval of the mean {fmt_pp(r[key + '_ci_low'])} to {fmt_pp(r[key + '_ci_high'])}"
        district = range_words(r[key + "_range_low"], r[key + "_range_high"], "one district could see ")
        return (
            f"{setting_words(r, dims)}: high confidence {bracketed(fmt_pp(r[key]), mean, district)}, "
            f"feeling unsafe {fmt_pp(r[f'gain_unsafe_share_change_y{last}'])}, {r.hours_spent:.0f} officer hours"
        )

    worlds = "plausible worlds" if ctx.posterior else "replications"
    no_ranges = agg[key + "_range_low"].isna().any()
    best = agg.dropna(subset=["trust_pp_per_100h"]).sort_values("trust_pp_per_100h", ascending=False).head(3)
    most = agg.sort_values(key, ascending=False).head(3)
    backfire = agg[agg[key + "_ci_high"] < 0].sort_values(key)
    lines = [
        f"Scenario `{ctx.s.cfg.study.scenario}`; a grid of {counted(len(agg), 'setting')} "
        f"({'; '.join(f'{k} in {list(v)}' for k, v in OmegaConf.to_container(ctx.s.cfg.study.grid).items())}), every "
        f"run paired with no promise on the same seed and draw. Gains are percentage points of residents after "
        f"{counted(last, 'year')}{when_and_hours(last, ctx.horizon)}."
        + (f" {no_range_words(int(agg.replications.min()), f'{worlds} per setting')}" if no_ranges else ""),
        "",
        "## Most gain for the hours spent (high confidence)",
        "",
        *[f"- {line(r)}: {per_100_hours_words(r)}" for _, r in best.iterrows()],
        *first_per_hour_words(runs, dims, key, best, worlds, ctx.s.cfg.seed),
        *idle_words(agg, dims),
        "",
        "## Largest gains regardless of hours",
        "",
        *[f"- {line(r)}" for _, r in most.iterrows()],
        "",
        "## Settings that backfire (the whole interval below no promise)",
        "",
    ]
    if not backfire.empty:  # the model's two ways to lose ground; which one acts is not measured per setting here
        lines += [
            "In the model a promise loses ground when feedback reports less kept than residents expected "
            "(`behaviour.broken_promise_ratio`), or when its street contacts go badly more often than well.",
            "",
        ]
    lines += [f"- {line(r)}" for _, r in backfire.iterrows()]
    # losing on average without a clear interval: too few replications to tell, but a planner should see it
    losing = agg[(agg[key] < 0) & (agg[key + "_ci_high"] >= 0)].sort_values(key)
    if backfire.empty:
        lines.append("None in this grid." if losing.empty else "None in this grid whose whole interval is below.")
    if not losing.empty:
        lines += [
            "",
            f"Losing ground on average, with an interval that reaches above no promise (more replications would "
            f"tell; now {ctx.s.cfg.replications}):",
            "",
            *[f"- {line(r)}" for _, r in losing.iterrows()],
        ]
    effects = what_each_setting_does(runs, dims, key, last)  # none for a grid of one setting
    lines += ["", *effects] if effects else []
    if not backfire.empty:
        worst = backfire.iloc[0]
        lines += ["", *why_it_backfires(ctx, {d: worst[d] for d in dims}, dims, f"trust_high_share_change_y{last}")]
    yearly = [c for c in gains if c.startswith("gain_trust_high_share")]
    best = "the best setting" if len(most) == 1 else f"the {len(most)} best settings"
    lines += ["", f"## By year (high confidence, {best}; 95% interval of the mean)", ""]
    for _, r in most.iterrows():
        lines.append(
            f"- {setting_words(r, dims)}: "
            + ", ".join(
                f"year {c[-1]} {fmt_pp(r[c])} ({fmt_pp(r[c + '_ci_low'])} to {fmt_pp(r[c + '_ci_high'])})"
                for c in yearly
            )
        )
    return lines


def what_each_setting_does(runs: pd.DataFrame, dims: list[str], key: str, last: int) -> list[str]:
    """Each grid dimension's average effect: in every plausible world (replication), the mean gain over the other
    settings at the dimension's highest value minus that at its lowest (the grid is a full product, so both
    means cover the same mix of the others), with the t interval over the worlds. It answers "does the period
    matter?" at a glance; the heatmaps show where an effect turns, since the settings interact."""
    varied = [d for d in dims if runs[d].nunique() > 1]
    if not varied:
        return []
    lines = [f"## What each setting does on average in this grid (high confidence, after {counted(last, 'year')})", ""]
    for d in varied:
        low, high = runs[d].min(), runs[d].max()
        by_world = runs[runs[d].isin([low, high])].groupby(["replication", d])[key].mean().unstack(d)
        mean, lo, hi = interval((by_world[high] - by_world[low]).to_numpy())
        others = len(runs[dims].drop_duplicates()) // runs[d].nunique()
        lines.append(
            f"- {d.split('.')[-1].replace('_', ' ')} {high:g} instead of {low:g}: {fmt_pp(mean)} "
            f"(95% interval of the mean {fmt_pp(lo)} to {fmt_pp(hi)}), averaged over the "
            f"{counted(others, 'combination')} of the other settings"
        )
    return lines


def per_100_hours(runs: pd.DataFrame, dims: list[str], key: str) -> pd.DataFrame:
    """Per setting: the gain in ``key`` (pp) per 100 officer hours spent, mean gain over mean hours, with Fieller's
    95% interval for that ratio of paired means (each run's gain beside its own hours; `ratio_interval`). A
    setting that spent no hours has no gain per hour: NaN, and the report says so."""
    rows = []
    for k, g in runs.groupby(dims):
        gain, hours = 100 * g[key].to_numpy(), g.hours_delivered_mean.to_numpy() * g.weeks.to_numpy() / 100
        spent = hours.mean() > 0
        lo, hi = ratio_interval(gain, hours, 0.95) if spent and len(g) > 1 else (float("nan"), float("nan"))
        rows.append(
            {
                **dict(zip(dims, k if isinstance(k, tuple) else (k,))),
                "trust_pp_per_100h": gain.mean() / hours.mean() if spent else float("nan"),
                "trust_pp_per_100h_ci_low": lo,
                "trust_pp_per_100h_ci_high": hi,
            }
        )
    return pd.DataFrame(rows)


def first_per_hour_words(
    runs: pd.DataFrame, dims: list[str], key: str, best: pd.DataFrame, worlds: str, seed: int
) -> list[str]:
    """How sure the first place for gain per hour is: the worlds (replications) resampled RESAMPLES times, every
    setting that spent hours ranked again by its mean gain over its mean hours; how often the same one comes first,
    and which instead. The first few settings often lie within each other's intervals."""
    spent = runs.groupby(dims).hours_delivered_mean.transform("mean") > 0
    by = runs[spent].pivot_table(index=dims, columns="replication", values=[key, "hours_delivered_mean"])
    if best.empty or len(by) < 2 or by.shape[1] < 4:  # nothing to rank, or one world (two columns per world)
        return []
    values = np.stack([by[key].to_numpy(), by["hours_delivered_mean"].to_numpy()], axis=-1)
    again, instead = resampled_first(
        by.index, values, dims, best.iloc[0], lambda x: (x[..., 0].mean(axis=-1) / x[..., 1].mean(axis=-1),), seed
    )
    instead_words = "; ".join(f"{k} ({percent(v)})" for k, v in instead.items())
    return [
        "",
        f"How sure: resampling the {by[key].shape[1]} {worlds} {RESAMPLES:,} times, the first of these gives the "
        f"most per hour (or as much) in {percent(again)} of resamples"
        + (f"; most often instead: {instead_words}." if instead_words else "."),
    ]


def resampled_first(
    index: pd.Index, values: np.ndarray, dims: list[str], top: pd.Series, scores: Callable, seed: int
) -> tuple[float, pd.Series]:
    """How sure a first place is: ``values`` (settings in ``index`` x worlds, ...) resampled over the worlds by
    `resampled_choice` and scored by ``scores``; the share of resamples in which the setting ``top`` comes first (or
    one exactly as good), and the two settings, in words, most often first instead, with their shares."""
    chosen, _ = resampled_choice(values, scores, seed)
    first = index.get_loc(tuple(top[d] for d in dims) if len(dims) > 1 else top[dims[0]])
    names = [setting_words(pd.Series(dict(zip(dims, k if len(dims) > 1 else (k,)))), dims) for k in index]
    return float(chosen[first].mean()), chosen_instead(chosen, first, names).head(2)


def per_100_hours_words(r: pd.Series) -> str:
    """'+0.20 pp per 100 hours (95% interval of the mean +0.05 to +0.35)', or the reason for no interval."""
    lo, hi = r.trust_pp_per_100h_ci_low, r.trust_pp_per_100h_ci_high
    if pd.isna(lo):
        why = "one replication" if r.replications < 2 else "the hours are too uncertain to bound it"
        return f"{r.trust_pp_per_100h:+.2f} pp per 100 hours (no interval: {why})"
    return f"{r.trust_pp_per_100h:+.2f} pp per 100 hours (95% interval of the mean {lo:+.2f} to {hi:+.2f})"


def idle_words(agg: pd.DataFrame, dims: list[str]) -> list[str]:
    """The settings that spent no officer hours (effort 0, no planned hours): no gain per hour to rank."""
    idle = agg[agg.trust_pp_per_100h.isna() & (agg.hours_spent <= 0)]
    if idle.empty:
        return []
    return [
        "",
        "Spent no officer hours, so no gain per hour: "
        + "; ".join(setting_words(r, dims) for _, r in idle.iterrows())
        + ".",
    ]


# The model's ways for a promise to lose ground (docs/model.md §7.6, §7.8), each with the overrides that switch
# it off; the study switches them off one at a time for the setting that backfires worst.
WAYS_TO_LOSE_GROUND = (
    ("residents hear no feedback", {"feedback.reach": 0.0}),
    ("a shortfall weighs no more than a surplus", {"behaviour.broken_promise_ratio": 1.0}),
    ("a bad street contact weighs no more than a good one", {"behaviour.bad_contact_ratio": 1.0}),
)


def why_it_backfires(ctx: GridContext, setting: dict, dims: list[str], outcome: str) -> list[str]:
    """Run ``setting`` again at fixed coefficients with each way to lose ground switched off, every
    variant paired with no promise on the same seeds, and say which switch takes the loss away (measured, not
    assumed). Runs go through the study's executor and store, so the same command resumes them."""
    from sim.space import value_of

    fixed = sim.load_config(arm_overrides(ctx.s, base(ctx.s), "fixed"))
    variants = [("as it runs", {})] + [(w, dict(o)) for w, o in WAYS_TO_LOSE_GROUND]
    switched = sorted({n for _, o in WAYS_TO_LOSE_GROUND for n in o})
    as_is = {n: setting.get(n, value_of(fixed, n)) for n in switched}
    rows = [{**setting, **as_is, **off, "promise.active": active} for _, off in variants for active in (1.0, 0.0)]
    runs, store = sweep_design(ctx.s, "ambition", "why", fixed, pd.DataFrame(rows), ctx.progress)
    by = runs.pivot_table(index="replication", columns="point", values=outcome)
    gains = {w: (by[2 * i] - by[2 * i + 1]).to_numpy() for i, (w, _) in enumerate(variants)}
    ctx.save("why_it_backfires.csv", pd.DataFrame({"replication": by.index, **gains}))

    def pp(v) -> str:
        mean, lo, hi = interval(v)
        return f"{fmt_pp(mean)} (95% interval of the mean {fmt_pp(lo)} to {fmt_pp(hi)})"

    lines = [
        "## Why the worst of them backfires (measured)",
        "",
        f"`{setting_words(pd.Series(setting), dims)}` again at fixed coefficients (the declared values unless set "
        "on the command line; these intervals "
        f"cover replication noise only), {len(by)} replications, with each of the model's ways to lose ground "
        "switched off in turn; every variant is paired with no promise on the same seeds. High confidence:",
        "",
    ]
    for w, off in variants:
        how = " (" + ", ".join(f"`{n}={v:g}`" for n, v in off.items()) + ")" if off else ""
        lines.append(f"- {w}{how}: {pp(gains[w])}")
    recovered = {w: interval(gains[w] - gains["as it runs"]) for w, _ in variants[1:]}
    best = max(recovered, key=lambda w: recovered[w][0])
    mean, lo, _ = recovered[best]
    lines.append("")
    if interval(gains["as it runs"])[2] >= 0:
        lines.append(
            "At fixed coefficients this setting does not clearly backfire"
            + ("; its loss above comes with the plausible worlds of the posterior." if ctx.posterior else ".")
        )
    elif lo > 0:
        lines.append(
            f"Switching off one way at a time, the loss shrinks most when {best}: by {fmt_pp(mean)} "
            f"(95% interval of the mean {fmt_pp(lo)} to {fmt_pp(recovered[best][2])}, paired)."
        )
    else:
        lines.append("No single switch takes the loss away beyond replication noise.")
    lines.append(f"Runs are stored in {store.root}.")
    return lines


def base(s: Settings) -> str:
    return f"scenario={s.cfg.study.scenario}"


def grid(s: Settings) -> dict:
    return OmegaConf.to_container(s.cfg.study.grid) or {}


STUDY = GridStudy(
    "ambition",
    "Ambition and periodicity (Brå 2018:14, recommendation 4)",
    base,
    grid,
    analyse,
    min_horizon_weeks=52,
    settings={"study.scenario": preset("scenario")},
)


def main(argv: list[str]) -> int:
    return main_wrapper(STUDY, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
