"""Observed versus possible: Brå 2018:14's finding reproduced, and what each recommendation would change.

    python -m experiments.bra2018 [area=vulnerable_district] [replications=30]

One figure (bra2018.png) and one table (table.csv, in report.md) a police chief can read in two
minutes: for each arm the change after two years in the survey shares (high confidence, agreeing
the police listen and act, feeling unsafe) with its 90% range across plausible worlds, recorded
crime against the counterfactual, and the chance it beats the observed implementation (paired).
"""

from __future__ import annotations

import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import sim
from experiments.settings import preset, whole
from experiments.studies import (
    Context,
    Settings,
    Study,
    bracketed,
    fmt_pp,
    labelled_arms,
    main_wrapper,
    pair_tally,
    percent,
    range_words,
    spread,
)
from sim.params import ConfigError
from sim.words import counted

SHOWN = {
    "trust_high_share": "High confidence in the police",
    "delaktighet_high_share": "'The police listen and act'",
    "unsafe_share": "Feeling unsafe",
}
NO_PROMISE = "No promise"
VERY_SMALL = 0.03  # our reading of Brå's 'very small' change in a survey share (docs/evidence.md, targets T5-T7)


def very_small(arm: pd.Series) -> bool:
    """Whether an arm's mean changes in the three survey shares are all 'very small', as Brå found them."""
    return all(abs(getattr(arm, m)) < VERY_SMALL for m in SHOWN)


def arms(s: Settings) -> dict[str, str]:
    st = s.cfg.study
    given = labelled_arms(st.arms)
    if len(given) < 2:
        raise ConfigError(
            f"study.arms needs at least two arms (the first is the reference, the last the full implementation), "
            f"got {len(given)}"
        )
    try:
        counterfactual = sim.load_config([f"scenario={st.counterfactual}"])
    except ConfigError as exc:
        raise ConfigError(f"study.counterfactual: {exc}") from exc
    if counterfactual.promise.active:  # the report calls it 'no promise at all'
        raise ConfigError(
            f"invalid value for study.counterfactual: {st.counterfactual!r} (allowed: a scenario without a promise, "
            "such as no_promise; crime and its year-to-year change are measured against it)"
        )
    if not sim.load_config([f"scenario={st.reference}"]).promise.active:  # its arms are changes to a promise
        raise ConfigError(
            f"invalid value for study.reference: {st.reference!r} (allowed: a scenario with a promise, such as "
            "observed_2018; each arm changes how its promise is kept, and no promise is the counterfactual)"
        )
    out = {label: f"scenario={st.reference} {own}".strip() for label, own in given.items()}
    out[NO_PROMISE] = f"scenario={st.counterfactual}"
    return out


def span(week: int) -> str:
    """A report week in words: '2 years' from a year on, else '30 weeks' (never 'after 0 years' or '1 years')."""
    return counted(round(week / 52), "year") if week >= 52 else counted(week, "week")


def finding(obs: pd.Series, reference: str, label: str, week: int, replications: int) -> list[str]:
    """The headline: what the reference arm changed, and whether that is Brå's finding (very small changes in the
    survey shares; a crime change one area's statistics would not show). The words follow the numbers."""
    who = (
        "With the implementation Brå observed (less time than planned, rare and thin feedback, unclear priority),"
        if reference == "observed_2018"
        else f"With the reference arm `{label}` (scenario {reference}, not the implementation Brå observed),"
    )
    small = very_small(obs)
    band = range_words(obs.trust_high_share_p05, obs.trust_high_share_p95, "90% range ")
    shares = (
        f"the share with high confidence moves {bracketed(fmt_pp(obs.trust_high_share), band)}, "
        "the share agreeing the police "
        f"listen and act {fmt_pp(obs.delaktighet_high_share)} and the share feeling unsafe {fmt_pp(obs.unsafe_share)}: "
        + ("very small changes" if small else f"not all very small (read as within ±{100 * VERY_SMALL:.0f} pp)")
    )
    crime = (
        f"Recorded crime is {obs.crime_vs_no_promise_pct:+.1f}% against no promise at all on average over "
        f"{replications} simulated areas (95% interval of the mean {obs.crime_ci_low_pct:+.1f}% to "
        f"{obs.crime_ci_high_pct:+.1f}%)"
    )
    if week >= 104:
        seen = abs(obs.crime_vs_no_promise_pct) >= obs.crime_single_area_sd_pct
        crime += (
            f", while one area's count changes from one year to the next by ±{obs.crime_single_area_sd_pct:.1f}% "
            "without any promise (sd across replications): "
            + (
                "large enough to show in one area's crime statistics."
                if seen
                else "an evaluation of one area's crime statistics would not see it."
            )
        )
    else:
        crime += (
            ". How much one area's count changes from one year to the next needs two simulated years "
            f"(horizon_weeks and study.report_week of at least 104; this run reports week {week})."
        )
    heading = "## The finding, reproduced" if small else "## The finding, not reproduced by this run"
    return [heading, "", f"{who} {shares}. {crime}"]


def analyse(ctx: Context) -> list[str]:
    st = ctx.s.cfg.study
    labels = [k for k in ctx.results if k != NO_PROMISE]
    observed, full = labels[0], labels[-1]
    week = min(int(st.report_week), ctx.horizon)
    none = ctx.results[NO_PROMISE]
    base_crime = none.trajectories[none.trajectories.week <= week].recorded_crime.mean()
    rows = []
    for label in labels:
        row = {"arm": label}
        for m in SHOWN:
            v = ctx.change(label, m, week)
            row[m] = v.mean()
            row[f"{m}_p05"], row[f"{m}_p95"] = spread(v)
            against = ctx.compare(label, observed, m, week)
            row[f"{m}_p_higher_than_observed"] = against["p_higher"]
            row[f"{m}_p_same_as_observed"] = against["p_ties"]
            row[f"{m}_vs_observed"] = against["difference"]
            row[f"{m}_vs_observed_ci_low"], row[f"{m}_vs_observed_ci_high"] = against["ci_low"], against["ci_high"]
        row["trust_mean"] = ctx.change(label, "trust_mean", week).mean()
        crime = ctx.compare(label, NO_PROMISE, "recorded_crime", week)
        row["crime_vs_no_promise_pct"] = 100 * crime["difference"] / base_crime
        row["crime_ci_low_pct"] = 100 * crime["ci_low"] / base_crime
        row["crime_ci_high_pct"] = 100 * crime["ci_high"] / base_crime
        # the noise of one area's before/after comparison: the year-on-year change of its count with no promise
        # (two whole simulated years are needed; before week 104 it is not measured)
        t = none.trajectories
        year = t[(t.week > week - 52) & (t.week <= week)].groupby("replication").recorded_crime.mean()
        before = t[(t.week > week - 104) & (t.week <= week - 52)].groupby("replication").recorded_crime.mean()
        sd = 100 * np.std(year - before, ddof=1) / base_crime if week >= 104 else float("nan")
        row["crime_single_area_sd_pct"] = sd
        rows.append(row)
    table = pd.DataFrame(rows)
    ctx.save("table.csv", table)

    fig, axes = plt.subplots(1, 3, figsize=(17, 0.75 * len(labels) + 2.4), sharey=True, layout="constrained")
    y = np.arange(len(labels))[::-1]
    band = "plausible worlds" if ctx.posterior else "replications"
    for ax, (m, title) in zip(axes, SHOWN.items()):
        v = 100 * table[m].to_numpy()
        err = 100 * np.vstack([table[m] - table[f"{m}_p05"], table[f"{m}_p95"] - table[m]])
        colours = ["#999999"] + ["#2166ac"] * (len(labels) - 2) + ["#1a9850"]
        ax.barh(y, v, xerr=err, color=colours, alpha=0.9, capsize=4)
        ax.axvline(0, color="black", lw=1)
        ax.axvspan(-100 * VERY_SMALL, 100 * VERY_SMALL, color="#fee08b", alpha=0.3, lw=0)
        ax.set_title(f"{title}: change after {span(week)}", fontsize=13)
        ax.grid(axis="x", alpha=0.3)
    # one label for the three panels: written under each, the long label ran into its neighbours
    bars = (
        f"bars: 90% range across {band}"
        if np.isfinite(table.trust_high_share_p05).all()
        else f"too few {band} for ranges"
    )
    fig.supxlabel(f"percentage points of residents ({bars})", fontsize=12)
    axes[0].set_yticks(y, labels, fontsize=12)
    fig.suptitle(
        f"What Brå observed, and what its recommendations would change — area {ctx.area()}, "
        f"{ctx.s.cfg.replications} paired replications (shaded: ±{100 * VERY_SMALL:.0f} pp, 'very small')",
        fontsize=14,
    )
    ctx.figure("bra2018.png", fig)

    obs = table.iloc[0]
    fr = table.iloc[-1]
    shown = table[["arm", *SHOWN, "crime_vs_no_promise_pct", "trust_high_share_p_higher_than_observed"]].copy()
    for c in SHOWN:
        shown[c] = shown[c].map(fmt_pp)
    shown["crime_vs_no_promise_pct"] = shown.crime_vs_no_promise_pct.map(lambda v: f"{v:+.1f}%")
    beats = [
        percent(v) + (f" (same {percent(same)})" if same > 0 else "")
        for v, same in zip(table.trust_high_share_p_higher_than_observed, table.trust_high_share_p_same_as_observed)
    ]
    shown["trust_high_share_p_higher_than_observed"] = ["—", *beats[1:]]  # the observed arm against itself
    shown.columns = [
        "arm",
        "high confidence",
        "'listen and act'",
        "feel unsafe",
        "recorded crime vs no promise",
        "beats observed (confidence)",
    ]
    ranked = table.iloc[1:-1].sort_values("trust_high_share", ascending=False)

    def range_of(r: pd.Series) -> str:
        return range_words(r.trust_high_share_p05, r.trust_high_share_p95, "90% range ")

    about = f"about {span(week)}; " if week >= 52 else ""
    lines = [
        f"Changes after {counted(week, 'week')} ({about}Brå looked about two "
        "years in), in percentage points of residents, as the national survey reports them.",
        "",
        *finding(obs, st.reference, observed, week, ctx.s.cfg.replications),
        "",
        "## What would change it",
        "",
        f"Full implementation against the observed one, high confidence: "
        f"{ctx.difference_line(full, observed, 'trust_high_share', week)}.",
        "",
        f"Full implementation on its own: high confidence {fmt_pp(fr.trust_high_share)}, 'listen and act' "
        f"{fmt_pp(fr.delaktighet_high_share)}, feeling unsafe {fmt_pp(fr.unsafe_share)}. One recommendation at a "
        "time, by their effect on the high-confidence share:",
        "",
    ]

    def over_observed(r) -> str:  # what the recommendation adds, paired: the change alone once stood for it
        return (
            f"{fmt_pp(r.trust_high_share_vs_observed)} over the observed implementation (95% interval of the mean "
            f"{fmt_pp(r.trust_high_share_vs_observed_ci_low)} to {fmt_pp(r.trust_high_share_vs_observed_ci_high)})"
        )

    lines += [
        f"- {r.arm}: high confidence {bracketed(fmt_pp(r.trust_high_share), range_of(r))}, {over_observed(r)}, "
        f"'listen and act' {fmt_pp(r.delaktighet_high_share)}, feeling unsafe "
        f"{fmt_pp(r.unsafe_share)}; "
        + pair_tally(
            "",
            "beats the observed implementation",
            "the observed implementation",
            r.trust_high_share_p_higher_than_observed,
            r.trust_high_share_p_same_as_observed,
            f"paired {band}",
        )
        for r in ranked.itertuples()
    ]
    lines += ["", "## Table", "", shown.to_markdown(index=False)]
    return lines


STUDY = Study(
    "bra2018",
    "Observed versus possible (Brå 2018:14)",
    arms,
    analyse,
    settings={
        "study.report_week": whole(1, 1040),  # a week past the horizon reports at the horizon
        "study.reference": preset("scenario"),
        "study.counterfactual": preset("scenario"),
    },
    owners={"scenario": "study.reference, and the arms"},
)


def main(argv: list[str]) -> int:
    return main_wrapper(STUDY, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
