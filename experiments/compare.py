"""Scenario comparison: any two or more scenario/area presets side by side, paired by replication.

    python -m experiments.compare                      # observed_2018 vs full_implementation vs no_promise
    python -m experiments.compare 'study.arms=["scenario=observed_2018","scenario=observed_2018 area=suburb"]'

Writes trajectories.png (all arms, shared axes, 90% bands), differences.csv (each arm minus the
first at the horizon, 95% interval, probability of beating it), changes.csv and report.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from experiments.studies import (
    LABELS,
    change_table,
    check_arms,
    differences_table,
    fmt_pp,
    main_wrapper,
    output_dir,
    plot_arms,
    run_arms,
)
from sim.params import ConfigError

PLOTTED = ["trust_mean", "delaktighet_mean", "trygghet_mean", "participation_rate"]


def study(cfg: DictConfig) -> Path:
    arms = list(cfg.study.arms)
    if len(arms) < 2:
        raise ConfigError(f"study.arms needs at least two arms, got {len(arms)}")
    configs = check_arms(cfg, arms)
    arms = [a if arms.count(a) == 1 else f"{a} #{arms[: i + 1].count(a)}" for i, a in enumerate(arms)]  # unique labels
    out = output_dir(cfg)
    results = run_arms(configs, arms)
    week = cfg.horizon_weeks
    diffs = differences_table(results, arms[0], week)
    changes = change_table(results, week)
    diffs.to_csv(out / "differences.csv", index=False)
    changes.to_csv(out / "changes.csv", index=False)
    for label, res in results.items():
        res.trajectories.assign(arm=label).to_csv(
            out / f"trajectories_{label.replace(' ', '_').replace('=', '-')}.csv", index=False
        )
    plot_arms(results, out / "trajectories.png", PLOTTED, f"{len(arms)} arms, {cfg.replications} paired replications")
    lines = [
        f"# Comparison: {' vs '.join(f'`{a}`' for a in arms)}",
        "",
        f"Area `{cfg.area}`, {cfg.horizon_weeks} weeks, {cfg.replications} replications per arm. The arms share "
        "their replication seeds, so each difference below is paired: it reflects the settings, not the luck of the "
        "draw. Intervals are 95% intervals of the mean paired difference; 'beats' is the share of replications in "
        "which the arm came out higher.",
        "",
        "## Each arm's change from the start (mean, 90% band over replications)",
        "",
    ]
    for label in arms:
        c = changes[changes.arm == label].set_index("metric")
        lines.append(
            f"- `{label}`: trust {fmt_pp(c.loc['trust_mean', 'change'])}, delaktighet "
            f"{fmt_pp(c.loc['delaktighet_mean', 'change'])}, trygghet {fmt_pp(c.loc['trygghet_mean', 'change'])} "
            f"(band {fmt_pp(c.loc['trust_mean', 'band_low'])} to {fmt_pp(c.loc['trust_mean', 'band_high'])} for trust)"
        )
    lines += ["", f"## Differences against `{arms[0]}` at week {week}", ""]
    for label in arms[1:]:
        d = diffs[diffs.arm == label].set_index("metric")
        for m in ("trust_mean", "delaktighet_mean", "trygghet_mean"):
            r = d.loc[m]
            lines.append(
                f"- `{label}`, {LABELS[m].lower()}: {fmt_pp(r.difference)} "
                f"(95% interval {fmt_pp(r.ci_low)} to {fmt_pp(r.ci_high)}); higher in "
                f"{100 * r.p_beats:.0f}% of replications"
            )
        r = d.loc["recorded_crime"]
        lines.append(
            f"- `{label}`, recorded crime per week (last year): {r.difference:+.2f} "
            f"(95% interval {r.ci_low:+.2f} to {r.ci_high:+.2f})"
        )
    lines += [
        "",
        "## Table",
        "",
        diffs.round(4).to_markdown(index=False),
        "",
        "Files: trajectories.png, differences.csv, changes.csv, trajectories_<arm>.csv, config.yaml.",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[: 12 + 4 * len(arms)]))
    return out


def main(argv: list[str]) -> int:
    return main_wrapper("compare", study, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
