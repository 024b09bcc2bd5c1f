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
    ref = labels[0]
    weeks = sorted({w for w in (52, 104, 156, ctx.horizon) if w <= ctx.horizon})
    rows = []
    for label in labels[1:]:
        for week in weeks:
            for m in KEY_OUTCOMES:
                rows.append(
                    {"arm": label, "versus": ref, "metric": m, "week": week, **ctx.compare(label, ref, m, week)}
                )
    diffs = pd.DataFrame(rows)
    ctx.save("differences.csv", diffs)
    changes = []
    for label in labels:
        for m in KEY_OUTCOMES:
            v = ctx.change(label, m)
            lo, hi = spread(v)
            changes.append(
                {"arm": label, "metric": m, "week": ctx.horizon, "change": v.mean(), "range_low": lo, "range_high": hi}
            )
    ctx.save("changes.csv", pd.DataFrame(changes))
    for label, res in ctx.results.items():
        ctx.save(f"trajectories_{label.replace(' ', '_').replace('=', '-')}.csv", res.trajectories.assign(arm=label))
    plot_arms(ctx, "trajectories.png", PLOTTED, f"{len(labels)} arms, paired")
    pairs = "plausible worlds" if ctx.posterior else "replications"
    ranged = f"; 90% range across {pairs}" if ctx.s.cfg.replications >= RANGE_MIN else ""  # the opening says why not
    lines = [f"## Each arm's change from the start, in survey shares (mean and its 95% interval{ranged})", ""]
    for label in labels:
        parts = []
        for m in SHARES:
            parts.append(change_words(ctx.change(label, m), LABELS[m].lower(), labelled=False))
        given = " ".join(ctx.arms[label]) or "defaults"
        lines.append(f"- `{label}`{'' if given == label else f' ({given})'}: " + "; ".join(parts))
    for label in labels[1:]:
        lines += ["", f"## `{label}` against `{ref}`, week {ctx.horizon}", ""]
        for m in (*SHARES, "trygghet_mean"):
            lines.append(f"- {LABELS[m].lower()}: {ctx.difference_line(label, ref, m)}")
        lines.append(
            f"- recorded crime per week ({crime_window(ctx.horizon)}): "
            f"{ctx.difference_line(label, ref, 'recorded_crime', unit='n')}"
        )
    when = f"week{'s' if len(weeks) > 1 else ''} {joined(weeks)}"  # once "By year" over a table of week 20 alone
    lines += [
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
