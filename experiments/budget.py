"""The planner's budget question: with these hours and this expected effort, what should we promise?

    python -m experiments.budget area=suburb study.hours_per_week=40 'study.effort=[0.5,0.7]'

Each promise design (actions, cycle length, feedback interval and reach) runs at the given planned hours for
every expected effort value (a range of plausible conditions, pooled), paired with no promise on the same
seed and posterior draw. Designs are ranked by the gain in the high-confidence share at the horizon; the
report gives each year's gain in survey shares, the interval of the mean, the range one district could see
and the chance of a gain, and how often the first design stays first with the worlds resampled. Writes
ranking.csv, heatmaps, runs.csv and report.md.
"""

from __future__ import annotations

import sys

import pandas as pd
from omegaconf import OmegaConf

from experiments.ambition import OUTCOMES, resampled_first, setting_words, year_columns
from experiments.settings import declared, one_or_more, preset
from experiments.studies import (
    RESAMPLES,
    GridContext,
    GridStudy,
    Settings,
    as_well_words,
    fmt_pp,
    heatmaps,
    main_wrapper,
    no_range_words,
    percent,
    range_words,
    summarise_gains,
    tied_with,
    when_and_hours,
)
from sim.params import ConfigError
from sim.words import counted


def base(s: Settings) -> str:
    return f"scenario={s.cfg.study.scenario} police.planned_hours_per_week={s.cfg.study.hours_per_week}"


def grid(s: Settings) -> dict:
    st = s.cfg.study
    designs = OmegaConf.to_container(st.grid) or {}
    if not designs:
        raise ConfigError("study.grid is empty: name at least one promise lever and its values")
    effort = OmegaConf.to_container(st.effort) if OmegaConf.is_list(st.effort) else [st.effort]
    if "police.effort" in designs or "police.planned_hours_per_week" in designs:
        raise ConfigError("study.grid holds promise designs; set study.effort and study.hours_per_week instead")
    return {**designs, "police.effort": effort}


def analyse(ctx: GridContext) -> list[str]:
    dims = [d for d in ctx.points.columns if d != "police.effort"]
    cols = year_columns(ctx)
    runs = ctx.gains(cols)
    gains = [f"gain_{c}" for c in cols]
    agg = summarise_gains(runs, dims, gains)  # pooled over the effort values: each equally plausible
    years = [y for y in (1, 2, 3) if 52 * y <= ctx.horizon]
    last = years[-1]
    key = f"gain_trust_high_share_change_y{last}"
    agg = agg.sort_values(key, ascending=False).reset_index(drop=True)
    agg.insert(0, "rank", range(1, len(agg) + 1))
    ctx.save("ranking.csv", agg)
    pct = agg.assign(**{f"{g}_pp": 100 * agg[g] for g in gains})
    x, y, rows_, cols_ = (dims + [None] * 4)[:4]
    heatmaps(
        ctx,
        pct,
        f"{key}_pp",
        "heatmap_high_confidence.png",
        f"Gain in the high-confidence share after {counted(last, 'year')}, against no promise "
        f"({ctx.s.cfg.study.hours_per_week:g} h/week planned, effort {grid(ctx.s)['police.effort']})",
        "percentage points of residents",
        x,
        y,
        rows_,
        cols_,
    )
    st = ctx.s.cfg.study
    worlds = "plausible worlds" if ctx.posterior else "replications"
    lines = [
        f"Budget: {st.hours_per_week:g} planned officer hours a week; expected effort "
        f"{', '.join(f'{e:g}' for e in grid(ctx.s)['police.effort'])}"
        f" (pooled as equally likely). Scenario `{st.scenario}`. {counted(len(agg), 'promise design')}, each against "
        f"no promise on the same seed and draw. Gains in percentage points of residents, by year"
        f"{when_and_hours(last, ctx.horizon)}.",
        "",
        "## What to promise (ranked by the gain in high confidence)",
        "",
        f"| rank | design | high confidence, year {' / '.join(map(str, years))} | 95% interval of the mean "
        f"(year {last}) | one district could see | chance of a gain | feeling unsafe (95% interval of the mean) | "
        "officer hours |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def district(r: pd.Series) -> str:  # a table cell: the reason for a missing range follows the table
        lo, hi = r[key + "_range_low"], r[key + "_range_high"]
        return range_words(lo, hi) or "—"

    def unsafe(r: pd.Series) -> str:  # the change in feeling unsafe once stood without its interval
        u = f"gain_unsafe_share_change_y{last}"
        return f"{fmt_pp(r[u])} ({fmt_pp(r[u + '_ci_low'])} to {fmt_pp(r[u + '_ci_high'])})"

    for _, r in agg.head(10).iterrows():
        yearly = " / ".join(fmt_pp(r[f"gain_trust_high_share_change_y{y}"]) for y in years)
        lines.append(
            f"| {int(r['rank'])} | {setting_words(r, dims)} | {yearly} | {fmt_pp(r[key + '_ci_low'])} to "
            f"{fmt_pp(r[key + '_ci_high'])} | {district(r)} | "
            f"{percent(r[key + '_p_positive'])} | {unsafe(r)} | "
            f"{r.hours_spent:.0f} |"
        )
    shown = agg.head(10)
    if shown[key + "_range_low"].isna().any():
        lines += ["", no_range_words(int(shown.replications.min()), f"{worlds} per design")]
    lines += ["", f"## Designs to avoid (no gain on average, or a gain in under half the {worlds})", ""]

    def said(r: pd.Series) -> str:
        gain = f"{percent(r[key + '_p_positive'])} of {worlds}"
        return f"{setting_words(r, dims)}: high confidence {fmt_pp(r[key])}, a gain in {gain}"

    avoid = agg[(agg[key] <= 0) | (agg[key + "_p_positive"] < 0.5)].iloc[::-1]
    if avoid.empty:
        lines.append(f"None. The least gain: {said(agg.iloc[-1])}.")
    lines += [f"- {said(r)}" for _, r in avoid.head(5).iterrows()]
    if len(avoid) > 5:
        lines.append(f"- and {len(avoid) - 5} more (ranking.csv)")
    lines += ["", in_short(agg.iloc[0], dims, key, last, worlds, tied_with(agg, agg.iloc[0], [key]))]
    if len(agg) > 1:
        lines[-1] += " " + how_sure(runs, dims, key, agg.iloc[0], worlds, ctx.s.cfg.seed)
    return lines


def how_sure(runs: pd.DataFrame, dims: list[str], key: str, top: pd.Series, worlds: str, seed: int) -> str:
    """How sure the first place is: the worlds (replications, each with every effort) resampled, the designs
    ranked again by their mean gain; how often the same design comes first, and which instead."""
    by_world = runs.groupby([*dims, "replication"])[key].mean().unstack("replication")  # designs x worlds
    again, others = resampled_first(by_world.index, by_world.to_numpy(), dims, top, lambda x: (x.mean(axis=-1),), seed)
    instead = "; ".join(f"`{k}` ({percent(v)})" for k, v in others.items())
    return (
        f"How sure: resampling the {by_world.shape[1]} {worlds} {RESAMPLES:,} times, the same design comes first (or "
        f"one exactly as good) in {percent(again)} of resamples"
        + (f"; most often instead: {instead}." if instead else ".")
    )


def in_short(top: pd.Series, dims: list[str], key: str, last: int, worlds: str, ties: int = 0) -> str:
    """The answer in one sentence, in words that follow the numbers: the best design, whether it gains at all,
    whether its interval leaves room for no gain, and how many designs do exactly as well (``ties``), so that its
    being first says nothing."""
    tied = as_well_words(ties, "in high confidence")
    result = (
        f"high confidence {fmt_pp(top[key])} after {counted(last, 'year')} "
        f"({OUTCOMES['delaktighet_high_share']} "
        f"{fmt_pp(top[f'gain_delaktighet_high_share_change_y{last}'])}), a gain in "
        f"{percent(top[key + '_p_positive'])} of {worlds}"
    )
    if top[key] <= 0:
        return (
            f"**In short:** with this budget no design gains high confidence against no promise; the best, "
            f"`{setting_words(top, dims)}`, gives {result}.{tied}"
        )
    doubt = (
        f"; its 95% interval of the mean reaches {fmt_pp(top[key + '_ci_low'])}, so it may not beat no promise"
        if top[key + "_ci_low"] <= 0
        else ""
    )
    return f"**In short:** with this budget, `{setting_words(top, dims)}` gives the most: {result}{doubt}.{tied}"


STUDY = GridStudy(
    "budget",
    "The budget question: what to promise with the hours we have",
    base,
    grid,
    analyse,
    min_horizon_weeks=52,  # designs are ranked by their gain at a year's end
    settings={
        "study.scenario": preset("scenario"),
        "study.hours_per_week": declared("police.planned_hours_per_week"),
        "study.effort": one_or_more(declared("police.effort")),
    },
    owners={
        "scenario": "study.scenario",
        "police.planned_hours_per_week": "study.hours_per_week",
        "police.effort": "study.effort",
    },
)


def main(argv: list[str]) -> int:
    return main_wrapper(STUDY, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
