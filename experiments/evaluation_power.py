"""Would an evaluation notice? Power of the before/after survey an evaluator would run.

    python -m experiments.evaluation_power [survey.response_rate is set in the scenario/area config]

For each scenario the model's virtual survey (a random sample of invited residents, a response
rate, measurement noise) is taken at week 0 and after one, two and three years, several times
per replication. Each before/after pair is tested with Welch's t-test; power is the share of
pairs significant at alpha (two-sided), with a 95% interval over whole replications (Wilson's,
widened by how much the replications differ: a replication's surveys share its world); the
no-promise arm's share is the false-alarm rate, with its interval the same way. Writes power.csv,
power_curves.png and report.md.
"""

from __future__ import annotations

import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullLocator
from omegaconf import OmegaConf
from scipy import stats

from experiments.settings import fraction, list_of, whole
from experiments.studies import (
    Context,
    Settings,
    Study,
    clustered_share_interval,
    fmt_pp,
    interval,
    main_wrapper,
    percent,
)
from sim.params import ConfigError
from sim.words import counted, joined

OUTCOMES = {"trust": "trust (förtroende)", "delaktighet": "delaktighet", "trygghet": "trygghet"}


def welch_p(m1, s1, n1, m2, s2, n2) -> np.ndarray:
    """Two-sided p-values of Welch's t-test from summary statistics (arrays)."""
    v1, v2 = s1**2 / n1, s2**2 / n2
    t = (m2 - m1) / np.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    return 2 * stats.t.sf(np.abs(t), df)


def survey_tests(surveys: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """One row per before/after test of an outcome: its replication, sample size, week, whether it was significant
    at alpha, whether it could be tested at all, and the change it measured."""
    before = surveys[surveys.week == 0].set_index(["replication", "sample_size", "draw"])
    rows = []
    for week in sorted(w for w in surveys.week.unique() if w > 0):
        after = surveys[surveys.week == week].set_index(["replication", "sample_size", "draw"])
        a, b = after.align(before, join="inner")
        for name in OUTCOMES:
            p = welch_p(
                b[f"{name}_mean"], b[f"{name}_sd"], b.respondents, a[f"{name}_mean"], a[f"{name}_sd"], a.respondents
            )
            rows.append(
                pd.DataFrame(
                    {
                        "sample_size": a.index.get_level_values("sample_size"),
                        "replication": a.index.get_level_values("replication"),
                        "significant": p < alpha,
                        "tested": np.isfinite(p),  # a wave with fewer than two answers has no spread to test
                        "measured_change": a[f"{name}_mean"].to_numpy() - b[f"{name}_mean"].to_numpy(),
                        "week": week,
                        "outcome": name,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def power_table(tests: pd.DataFrame) -> pd.DataFrame:
    """Power by sample size, year and outcome, from the tests of all replications, with its 95% interval over
    replications (a replication's surveys share its world, so they are not independent)."""
    rows = []
    for (week, name), df in tests.groupby(["week", "outcome"], sort=False):
        g = (
            df.groupby("sample_size")
            .agg(
                power=("significant", "mean"),
                measured_change=("measured_change", "mean"),
                surveys=("significant", "size"),
                tested=("tested", "sum"),
            )
            .reset_index()
        )
        g[["power_low", "power_high"]] = power_interval(df)
        rows.append(g.assign(week=week, year=week // 52, outcome=name))
    return pd.concat(rows, ignore_index=True)


def power_interval(df: pd.DataFrame) -> np.ndarray:
    """95% interval of each sample size's power: clustered_share_interval over the replications, whose surveys share
    their world; NaN with fewer than two replications."""
    per = df.groupby(["sample_size", "replication"]).significant.agg(["sum", "size"])
    return np.array([clustered_share_interval(g["sum"], g["size"]) for _, g in per.groupby(level="sample_size")])


def arms(s: Settings) -> dict[str, str]:
    given = s.cfg.study.arms
    if not OmegaConf.is_list(given) or not all(isinstance(a, str) for a in given):
        shown = OmegaConf.to_container(given) if OmegaConf.is_config(given) else given
        raise ConfigError(
            f"invalid value for study.arms: {shown!r} (allowed: a list of scenario names, such as "
            "[observed_2018, no_promise])"
        )
    return {a: f"scenario={a}" for a in s.cfg.study.arms}


def run_kwargs(s: Settings) -> dict:
    weeks = [0] + [52 * y for y in (1, 2, 3) if 52 * y <= s.cfg.horizon_weeks]
    return {"survey_weeks": weeks, "survey_sizes": list(s.cfg.study.sample_sizes), "survey_draws": s.cfg.study.draws}


def analyse(ctx: Context) -> list[str]:
    """Power by sample size for each arm: the table, the power curves, then the report."""
    power, tests = power_and_truth(ctx)
    ctx.save("power.csv", power)
    plot_power(ctx, power)
    return report_lines(ctx, power, tests)


def power_and_truth(ctx: Context) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Each arm's power by outcome, year and sample size beside the true change the survey tries to see, and
    each arm's survey tests."""
    s = ctx.s.cfg.study
    weeks = run_kwargs(ctx.s)["survey_weeks"]
    tables, truths, tests = [], [], {}
    for arm in ctx.results:
        res, c = ctx.results[arm], ctx.configs[arm]
        tests[arm] = survey_tests(res.surveys, s.alpha)
        table = power_table(tests[arm])
        table["invited"] = np.minimum(table.sample_size, c.area.residents)  # all residents when asked for more
        tables.append(table.assign(arm=arm, response_rate=c.survey.response_rate))
        t = res.trajectories
        for w in weeks[1:]:
            for name in OUTCOMES:
                col = f"{name}_mean"
                true, low, high = interval(t[t.week == w][col].to_numpy() - t[t.week == 0][col].to_numpy())
                truths.append(
                    {
                        "arm": arm,
                        "week": w,
                        "outcome": name,
                        "true_change": true,
                        "true_change_ci_low": low,
                        "true_change_ci_high": high,
                    }
                )
    power = pd.concat(tables, ignore_index=True).merge(pd.DataFrame(truths), on=["arm", "week", "outcome"])
    return power, tests


def plot_power(ctx: Context, power: pd.DataFrame) -> None:
    """power_curves.png: power by residents invited, one panel per outcome and arm, a line per year."""
    s = ctx.s.cfg.study
    arms = list(ctx.results)
    fig, axes = plt.subplots(
        len(OUTCOMES),
        len(arms),
        figsize=(5 * len(arms), 3.6 * len(OUTCOMES)),
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    worlds = "plausible worlds" if ctx.posterior else "replications"
    sizes = sorted(power.invited.unique())  # the sizes tried, in plain numbers: log ticks ran together
    for i, name in enumerate(OUTCOMES):
        for j, arm in enumerate(arms):
            ax = axes[i, j]
            for year, d in power[(power.outcome == name) & (power.arm == arm)].groupby("year"):
                line = ax.plot(d.invited, d.power, marker="o", lw=2, label=f"after {counted(year, 'year')}")[0]
                ax.fill_between(d.invited, d.power_low, d.power_high, color=line.get_color(), alpha=0.15, lw=0)
            ax.axhline(0.8, color="grey", ls=":", lw=1)
            ax.axhline(s.alpha, color="grey", ls="--", lw=1)
            ax.set_xscale("log")
            ax.set_xticks(sizes, [f"{v:,}" for v in sizes])
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_ylim(0, 1.02)
            ax.set_title(f"{arm}: {OUTCOMES[name]}", fontsize=10)
            if i == len(OUTCOMES) - 1:
                ax.set_xlabel("residents invited to the survey")
            if j == 0:
                ax.set_ylabel("chance the survey detects it")
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(
        f"Would a before/after survey notice? (alpha {s.alpha}; bands: 95% interval over {worlds}; dotted: 80% power; "
        "dashed: false-alarm rate)"
    )
    ctx.figure("power_curves.png", fig)


def report_lines(ctx: Context, power: pd.DataFrame, tests: dict[str, pd.DataFrame]) -> list[str]:
    """The report: how the survey is made, then each arm's power and true change, untested surveys and the
    false-alarm rate."""
    s = ctx.s.cfg.study
    arms = list(ctx.results)
    configs = [ctx.configs[a] for a in arms]
    weeks = run_kwargs(ctx.s)["survey_weeks"]
    worlds = "plausible worlds" if ctx.posterior else "replications"
    rr = configs[0].survey.response_rate
    years = [w // 52 for w in weeks[1:]]  # once "one, two and three years" after a two-year run
    after = counted(1, "year") if years == [1] else f"{joined(years)} years"
    lines = [
        f"A before/after survey: residents invited at random, {100 * rr:.0f}% answer, each answer with measurement "
        f"error (sd {configs[0].survey.noise}). Before = week 0; after = {after}. Welch's t-test at "
        f"alpha {s.alpha}, two-sided; {ctx.s.cfg.replications} replications x {s.draws} surveys per size. Power is "
        f"the share of surveys that detect the change, across {worlds}. {interval_words(ctx.posterior)}",
        "",
    ]
    residents = configs[0].area.residents
    if max(s.sample_sizes) > residents:
        lines += [
            f"The area has {residents:,} residents, so a sample size above that invites every one of them "
            "(power.csv: column invited).",
            "",
        ]

    def invited(size: int) -> str:
        return f"{size:,} invited" if size <= residents else f"{size:,} asked for (all {residents:,} residents invited)"

    for arm in arms:
        promise = ctx.configs[arm].promise.active
        lines += [f"## {arm}", ""]
        if not promise:
            lines += [
                "No promise, so nothing to detect: what the survey 'detects' here is false alarms and the "
                "arm's own drift.",
                "",
            ]
        for name in OUTCOMES:
            d = power[(power.arm == arm) & (power.outcome == name)]
            y2 = d[d.year == min(2, d.year.max())]
            years = counted(int(y2.year.iloc[0]), "year")
            one_size = y2.sample_size.nunique() == 1  # "across the sample sizes", "even": only with several
            if not promise:
                low, high = 100 * y2.power.min(), 100 * y2.power.max()
                share = f"{high:.0f}%" if one_size else f"{low:.0f}–{high:.0f}%"
                sizes = f"with {invited(int(y2.sample_size.iloc[0]))}" if one_size else "across the sample sizes"
                need = f"detected in {share} of surveys after {years}, {sizes}"
            else:
                row, enough = headline(y2)
                shown = f"{invited(int(row.sample_size))} give"
                need = (
                    f"{shown} {percent_with_interval(row)} power after {years}, enough for 80%"
                    if enough
                    else f"{'' if one_size else 'even '}{shown} only {percent_with_interval(row)} power after {years}"
                )
            true = y2.iloc[0]  # the area's own change, which the survey tries to see, over the worlds
            lines.append(
                f"- {OUTCOMES[name]}: true change {fmt_pp(true.true_change)} (95% interval of the mean "
                f"{fmt_pp(true.true_change_ci_low)} to {fmt_pp(true.true_change_ci_high)}); {need}."
            )
        lines.append("")
    untested = int((power.surveys - power.tested).sum())
    if untested:  # once counted silently as "not detected", and the false-alarm rate then judged on them too
        lines += [
            f"{untested:,} of {int(power.surveys.sum()):,} surveys had fewer than two answers in a wave, so no test "
            "could be made: they count as not detecting (power.csv: columns surveys, tested). Invite more residents "
            "or raise survey.response_rate.",
            "",
        ]
    if "no_promise" in tests:
        drift = float(power[power.arm == "no_promise"].true_change.abs().max())
        lines.append(false_alarm_line(tests["no_promise"], drift, s.alpha, worlds))
    return lines


def headline(sizes: pd.DataFrame) -> tuple[pd.Series, bool]:
    """The row a report line speaks of: the smallest sample size with 80% power, or else the largest size tried
    (once the largest power of any size, so '4,000 invited give only 8%' when 4,000 gave 7% and 2,000 gave 8%)."""
    enough = sizes[sizes.power >= 0.8]
    if len(enough):
        return enough.loc[enough.sample_size.idxmin()], True
    return sizes.loc[sizes.sample_size.idxmax()], False


def interval_words(posterior: bool) -> str:
    """What the powers' intervals cover: replications at the declared coefficients leave those as declared;
    plausible worlds carry their uncertainty too."""
    if posterior:
        return (
            "Each power's 95% interval counts whole plausible worlds, widened by how much they differ, so it covers "
            "parameter uncertainty and replication noise (the survey's sampling included)."
        )
    return (
        "Each power's 95% interval counts whole replications, widened by how much they differ, so it covers "
        "replication noise (the survey's sampling included) at the declared coefficients, not their uncertainty."
    )


def percent_with_interval(row: pd.Series) -> str:
    """'84% (95% interval 78–90%)', or the bare share when there is no interval (a single replication); a power of
    0.996 reads '>99%', not '100%' (studies.percent)."""
    if not np.isfinite(row.power_low):
        return f"{percent(row.power)} (no interval: one replication)"
    return f"{percent(row.power)} (95% interval {100 * row.power_low:.0f}–{100 * row.power_high:.0f}%)"


def false_alarm_line(tests: pd.DataFrame, drift: float, alpha: float, worlds: str = "replications") -> str:
    """What the no-promise arm's 'detections' (``tests``, its survey_tests) say, with the arm's largest true change
    ``drift`` beside them: a false-alarm rate close to alpha, as it should be, when alpha lies in the rate's 95%
    interval over whole replications (clustered_share_interval); once judged by binomial standard errors, as if
    the tries, which share their replications, were independent."""
    per = tests.groupby("replication")[["significant", "tested"]].sum()
    per = per[per.tested > 0]  # only surveys that could be tested can raise a false alarm, or fail to
    tries = int(per.tested.sum())
    if tries == 0:
        return (
            "With no promise at all no survey could be tested (fewer than two answers in a wave): no false-alarm rate."
        )
    rate = per.significant.sum() / tries
    head = f"With no promise at all the survey 'detects' a change in {100 * rate:.1f}% of {tries:,} tries"
    changes = f"its true changes are at most {100 * drift:.1f} pp"
    if len(per) < 2:
        return f"{head} ({changes}; no interval: the tries come from one replication)."
    low, high = clustered_share_interval(per.significant, per.tested)
    head += f" (95% interval {100 * low:.1f}–{100 * high:.1f}%, over whole {worlds}; {changes})"
    if low <= alpha <= high:
        return f"{head} — the false-alarm rate, close to alpha = {alpha} as it should be."
    if rate < alpha:
        return (
            f"{head} — below alpha = {alpha}, outside that interval: the test is cautious here, most likely because "
            "each wave asks a large share of the area's own residents, and Welch's test, made for samples from an "
            "endless population, does not count on that; the powers above lean low, if anything."
        )
    return (
        f"{head} — above alpha = {alpha}, outside that interval: a drifting no-promise arm is detected for real, so "
        "read the powers above with that in mind."
    )


STUDY = Study(
    "evaluation_power",
    "Would an evaluation notice? (Brå's fifth recommendation)",
    arms,
    analyse,
    run_kwargs,
    noise_runs=False,
    min_horizon_weeks=52,  # the after-waves are at one, two and three years
    settings={
        "study.sample_sizes": list_of(whole(1, 100_000)),
        "study.draws": whole(1, 10_000),
        "study.alpha": fraction(),
    },
    owners={"survey.sample_size": "study.sample_sizes"},  # survey.sample_size=500 once ran the study's sizes
)


def main(argv: list[str]) -> int:
    return main_wrapper(STUDY, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
