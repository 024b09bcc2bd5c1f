"""Scenario comparison: two or more arms side by side, paired by replication (and posterior draw).

    python -m experiments.compare                         # observed_2018 vs full_implementation vs no_promise
    python -m experiments.compare area=suburb replications=40
    python -m experiments.compare \
        'study.arms={Today: "scenario=observed_2018", Suburb: "scenario=observed_2018 area=suburb"}'

Arms are a list of override strings (labelled by themselves) or a mapping label -> overrides; the
first is the reference. Writes trajectories.png, differences.csv (each arm minus the first, per
year, in survey shares and means), changes.csv and report.md.
"""

from __future__ import annotations

import sys

import pandas as pd

from experiments.studies import (
    KEY_OUTCOMES,
    LABELS,
    RANGE_MIN,
    SHARES,
    Context,
    Settings,
    Study,
    change_words,
    labelled_arms,
    main_wrapper,
    plot_arms,
    spread,
)
from sim.params import ConfigError
from sim.words import joined

PLOTTED = ["trust_high_share", "delaktighet_high_share", "unsafe_share", "participation_rate"]


def arms(s: Settings) -> dict[str, str]:
    out = labelled_arms(s.cfg.study.arms)
    if len(out) < 2:
        raise ConfigError(f"study.arms needs at least two arms, got {len(out)}")
    return out


def analyse(ctx: Context) -> list[str]:
    labels = list(ctx.results)
    weeks = sorted({w for w in (52, 104, 156, ctx.horizon) if w <= ctx.horizon})
    diffs = differences(ctx, weeks)
    ctx.save("differences.csv", diffs)
    ctx.save("changes.csv", changes(ctx))
    for label, res in ctx.results.items():
        ctx.save(f"trajectories_{label.replace(' ', '_').replace('=', '-')}.csv", res.trajectories.assign(arm=label))
    plot_arms(ctx, "trajectories.png", PLOTTED, f"{len(labels)} arms, paired")
    return change_lines(ctx) + difference_lines(ctx) + table_lines(ctx, diffs, weeks)


def differences(ctx: Context, weeks: list[int]) -> pd.DataFrame:
    """Each arm minus the first, paired, for every key outcome at each of ``weeks``."""
    labels = list(ctx.results)
    ref = labels[0]
    rows = [
        {"arm": label, "versus": ref, "metric": m, "week": week, **ctx.compare(label, ref, m, week)}
        for label in labels[1:]
        for week in weeks
        for m in KEY_OUTCOMES
    ]
    return pd.DataFrame(rows)


def changes(ctx: Context) -> pd.DataFrame:
    """Each arm's change from the start at the horizon, with its range across replications."""
    rows = []
    for label in ctx.results:
        for m in KEY_OUTCOMES:
            v = ctx.change(label, m)
            lo, hi = spread(v)
            rows.append(
                {"arm": label, "metric": m, "week": ctx.horizon, "change": v.mean(), "range_low": lo, "range_high": hi}
            )
    return pd.DataFrame(rows)


def change_lines(ctx: Context) -> list[str]:
    """The report's first section: each arm's change from the start, in survey shares."""
    pairs = "plausible worlds" if ctx.posterior else "replications"
    ranged = f"; 90% range across {pairs}" if ctx.s.cfg.replications >= RANGE_MIN else ""  # the opening says why not
    lines = [f"## Each arm's change from the start, in survey shares (mean and its 95% interval{ranged})", ""]
    for label in ctx.results:
        parts = [change_words(ctx.change(label, m), LABELS[m].lower(), labelled=False) for m in SHARES]
        given = " ".join(ctx.arms[label]) or "defaults"
        lines.append(f"- `{label}`{'' if given == label else f' ({given})'}: " + "; ".join(parts))
    return lines


def difference_lines(ctx: Context) -> list[str]:
    """One section an arm: its paired difference from the first arm at the horizon."""
    labels = list(ctx.results)
    ref = labels[0]
    lines = []
    for label in labels[1:]:
        lines += ["", f"## `{label}` against `{ref}`, week {ctx.horizon}", ""]
        for m in (*SHARES, "trygghet_mean"):
            lines.append(f"- {LABELS[m].lower()}: {ctx.difference_line(label, ref, m)}")
        lines.append(
            f"- recorded crime per week ({crime_window(ctx.horizon)}): "
            f"{ctx.difference_line(label, ref, 'recorded_crime', unit='n')}"
        )
    return lines


def table_lines(ctx: Context, diffs: pd.DataFrame, weeks: list[int]) -> list[str]:
    """The high-confidence share against the first arm by year, as a table."""
    ref = next(iter(ctx.results))
    when = f"week{'s' if len(weeks) > 1 else ''} {joined(weeks)}"  # once "By year" over a table of week 20 alone
    lines = [
        "",
        f"At {when}, the high-confidence share against `{ref}` in percentage points of residents (ci_low, ci_high: "
        "the 95% interval of the mean difference; p_higher: the share of paired replications in which the arm is "
        "higher):",
        "",
    ]
    shown = diffs[diffs.metric == "trust_high_share"][["arm", "week", "difference", "ci_low", "ci_high", "p_higher"]]
    shown = shown.assign(
        **{c: (100 * shown[c]).round(1) for c in ("difference", "ci_low", "ci_high")}, p_higher=shown.p_higher.round(2)
    )
    lines.append(shown.to_markdown(index=False))
    return lines


def crime_window(horizon: int) -> str:
    """The weeks whose mean recorded crime is compared: the last 52 up to the horizon, or all of a shorter run
    (`per_replication`)."""
    first = max(1, horizon - 51)
    return f"week {horizon}" if first == horizon else f"mean of weeks {first}-{horizon}"


STUDY = Study("compare", "Comparison of arms", arms, analyse)


def main(argv: list[str]) -> int:
    return main_wrapper(STUDY, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
