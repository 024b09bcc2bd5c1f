"""Why feedback matters, for trainers: the same delivered work with no, quarterly and monthly feedback.

    python -m experiments.feedback_demo [area=suburb] [replications=20]

Writes a projector figure (feedback_matters.png: large type, plain English with the Swedish
terms), an animation of the three runs unfolding week by week (feedback_matters.gif), a map
of residents' trust at the horizon in each arm (maps_horizon.png), tables and report.md.
Solid lines: with feedback to staff; dashed: without (the title says how far apart they lie, since staff feedback
moves the shares so little that the dashed lines can hide under the solid ones).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.animation import FuncAnimation, PillowWriter

import sim
from experiments.settings import preset, text, whole
from experiments.studies import (
    Context,
    Settings,
    Study,
    arm_overrides,
    change_words,
    fmt_pp,
    labelled_arms,
    main_wrapper,
    pair_tally,
    ratio_interval,
)
from experiments.studies import per_replication as changes
from sim.params import ConfigError

PANELS = {
    "trust_mean": "Trust in the police\n(förtroende)",
    "delaktighet_mean": "'The police listen and act'\n(delaktighet)",
    "trygghet_mean": "Feeling safe\n(trygghet)",
}
COLOURS = ["#b2182b", "#2166ac", "#1a9850"]
OFF = " (no staff feedback)"


def grid(maps, week: int, replication: int = 0) -> np.ndarray:
    d = maps[(maps.week == week) & (maps.replication == replication) & (maps.field == "trust")]
    side = int(d.x.max()) + 1
    g = np.full((side, side), np.nan)
    g[d.y.to_numpy(), d.x.to_numpy()] = d.value.to_numpy()
    return g


def curve(result, metric: str) -> pd.Series:
    """A projector line: the mean across replications by week, on a 0-100 scale."""
    return 100 * result.trajectories.groupby("week")[metric].mean()


def staff_gap_points(on, off, labels) -> float:
    """How far apart, at most, the lines with and without feedback to staff lie in the projector figure (points on
    its 0-100 scale): staff feedback moves these averages so little that the dashed lines can hide under the solid
    ones."""
    return max((curve(on[k], m) - curve(off[k], m)).abs().max() for k in labels for m in PANELS)


def projector_figure(on, off, labels, path: Path, horizon: int) -> str:
    """The trainers' figure; returns its title, which says how far the dashed lines lie from the solid ones."""
    plt.rcParams.update({"font.size": 18})
    fig, axes = plt.subplots(1, 3, figsize=(21, 7.5))
    for ax, (m, title) in zip(axes, PANELS.items()):
        for colour, label in zip(COLOURS, labels):
            ax.plot(curve(on[label], m), color=colour, lw=4, label=label)
            ax.plot(curve(off[label], m), color=colour, lw=2.5, ls="--")
        ax.set_title(title, fontsize=22)
        ax.set_xlabel("week", fontsize=18)
        ax.set_xlim(0, horizon)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("average, on a 0-100 scale", fontsize=18)
    axes[0].legend(fontsize=17, loc="upper left")
    gap = staff_gap_points(on, off, labels)
    gap_text = f"{gap:.{2 if gap < 0.1 else 1}f}"
    title = (
        "Same police work, different feedback to residents (återkoppling).\n"
        f"Dashed: no feedback to staff either; it lies at most {gap_text} points from the solid line."
    )
    fig.suptitle(title, fontsize=22)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    plt.rcParams.update(plt.rcParamsDefault)
    return title


def maps_figure(on, labels, path: Path, week: int) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(18, 6.4), layout="constrained")
    grids = [grid(on[label].maps, week) for label in labels]
    lo = np.nanmin([np.nanmin(g) for g in grids])
    hi = np.nanmax([np.nanmax(g) for g in grids])
    for ax, label, g in zip(axes, labels, grids):
        im = ax.imshow(g, cmap="viridis", vmin=lo, vmax=hi, origin="lower")
        ax.set_title(f"{label}: mean trust {np.nanmean(g):.2f}", fontsize=17)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.85, label="trust in the police (0-1), average per cell")
    fig.suptitle(f"Residents' trust at week {week}, one replication, same area and seed", fontsize=19)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def animation(on, labels, path: Path, horizon: int, every: int) -> None:
    weeks = list(range(0, horizon + 1, every))
    if weeks[-1] != horizon:
        weeks.append(horizon)
    grids = {label: {w: grid(on[label].maps, w) for w in weeks} for label in labels}
    lo = np.nanmin([np.nanmin(g) for d in grids.values() for g in d.values()])
    hi = np.nanmax([np.nanmax(g) for d in grids.values() for g in d.values()])
    fig = plt.figure(figsize=(13, 8))
    map_axes = [fig.add_subplot(2, 3, i + 1) for i in range(3)]
    line_ax = fig.add_subplot(2, 1, 2)
    images = []
    for ax, label in zip(map_axes, labels):
        images.append(ax.imshow(grids[label][0], cmap="viridis", vmin=lo, vmax=hi, origin="lower"))
        ax.set_title(label, fontsize=15)
        ax.set_xticks([])
        ax.set_yticks([])
    means = {
        label: on[label].trajectories[on[label].trajectories.replication == 0].set_index("week").trust_mean * 100
        for label in labels
    }
    lines = [line_ax.plot([], [], color=c, lw=3, label=label)[0] for c, label in zip(COLOURS, labels)]
    line_ax.set_xlim(0, horizon)
    all_values = np.concatenate([m.to_numpy() for m in means.values()])
    line_ax.set_ylim(all_values.min() - 0.5, all_values.max() + 0.5)
    line_ax.set_xlabel("week", fontsize=14)
    line_ax.set_ylabel("trust (förtroende), 0-100", fontsize=14)
    line_ax.legend(loc="upper left", fontsize=13)
    line_ax.grid(alpha=0.3)
    title = fig.suptitle("", fontsize=17)

    def draw(i):
        w = weeks[i]
        for image, label in zip(images, labels):
            image.set_data(grids[label][w])
        for line, label in zip(lines, labels):
            m = means[label].loc[:w]
            line.set_data(m.index, m.to_numpy())
        title.set_text(f"Week {w}: trust on the map (top) and over time (bottom)")
        return [*images, *lines, title]

    anim = FuncAnimation(fig, draw, frames=len(weeks), blit=False)
    anim.save(path, writer=PillowWriter(fps=6), dpi=60)
    plt.close(fig)


def arms(s: Settings) -> dict[str, str]:
    st = s.cfg.study
    given = labelled_arms(st.arms)
    labels = list(given)
    if len(labels) != 3:
        raise ConfigError(f"study.arms must name three arms (none, quarterly, monthly), got {len(labels)}")
    if not sim.load_config(arm_overrides(s, f"scenario={st.scenario}")).promise.active:
        raise ConfigError(
            f"feedback_demo compares feedback about a promise, but scenario={st.scenario} with these settings has "
            "none (promise.active=false); choose a scenario with a promise (full_implementation, observed_2018)"
        )
    out = {label: f"scenario={st.scenario} {given[label]} {st.staff_on}" for label in labels}
    out.update({f"{label}{OFF}": f"scenario={st.scenario} {given[label]} {st.staff_off}" for label in labels})
    return out


def kept_line(ctx: Context, quarterly: str, none: str) -> str:
    """How much of quarterly feedback's gain in high confidence the same work keeps without feedback, in words
    that follow the numbers: no gain to keep (a short run, a regime that loses), little kept, or most of it."""
    gain_q = ctx.change(quarterly, "trust_high_share")
    gain_none = ctx.change(none, "trust_high_share")
    pairs = "plausible worlds" if ctx.posterior else "replications"
    beats = pair_tally(
        "quarterly", "beats none", "none", (gain_q > gain_none).mean(), (gain_q == gain_none).mean(), f"paired {pairs}"
    )
    if gain_q.mean() <= 0:
        return (
            f"Quarterly feedback brings no gain in high confidence here ({fmt_pp(gain_q.mean())}), so there is no gain "
            f"for the same work without feedback to keep; {beats}."
        )
    kept = gain_none.mean() / gain_q.mean()
    why = (
        "residents who do not know about the promise give the police little credit for what they see"
        if kept < 0.5
        else "here most of the gain comes from the work residents see, not from telling them about it"
    )
    interval = kept_interval(gain_none, gain_q, pairs)
    return (
        f"Without feedback the same work keeps {100 * kept:.0f}% {interval}of the gain in high confidence that "
        f"quarterly feedback brings: {why}; {beats}."
    )


def kept_interval(gain_none: np.ndarray, gain_q: np.ndarray, pairs: str = "replications") -> str:
    """The kept share's 90% interval, Fieller's for a ratio of paired means (the share once stood alone), in words
    ending in a space; or why there is none: fewer than three pairs, or a quarterly gain not clearly above zero (the
    interval would then have no bounds)."""
    if len(gain_q) < 3:
        return f"(too few paired {pairs} for an interval) "
    lo, hi = ratio_interval(gain_none, gain_q, 0.90)
    if not np.isfinite(lo):
        return f"(no interval: quarterly feedback's gain is not clearly above zero over these paired {pairs}) "
    bounds = f"{100 * lo:.0f}–{100 * hi:.0f}%" if lo >= 0 else f"{100 * lo:.0f}% to {100 * hi:.0f}%"  # not "-457–52%"
    return f"(90% interval {bounds}, over the paired {pairs}) "


def analyse(ctx: Context) -> list[str]:
    st = ctx.s.cfg.study
    labels = [k for k in ctx.results if not k.endswith(OFF)]
    horizon = ctx.horizon
    on = {k: ctx.results[k] for k in labels}
    off = {k: ctx.results[k + OFF] for k in labels}
    map_weeks = sorted(set(range(0, horizon + 1, st.gif_every_weeks)) | {horizon})
    maps = {k: sim.run(ctx.configs[k], replications=1, map_weeks=map_weeks) for k in labels}  # replication 0
    projector_figure(on, off, labels, ctx.out / "feedback_matters.png", horizon)
    maps_figure(maps, labels, ctx.out / "maps_horizon.png", horizon)
    animation(maps, labels, ctx.out / "feedback_matters.gif", horizon, st.gif_every_weeks)
    ctx.files += ["feedback_matters.png", "maps_horizon.png", "feedback_matters.gif"]

    rows = []
    for staff, group in (("with staff feedback", on), ("without staff feedback", off)):
        for label in labels:
            t = group[label].trajectories
            for year in (1, 2, 3):
                w = min(52 * year, horizon)
                for m in PANELS:
                    rows.append(
                        {
                            "staff": staff,
                            "arm": label,
                            "week": w,
                            "metric": m,
                            "mean_level": t[t.week == w][m].mean(),
                            "change": changes(group[label], m, w).mean(),
                        }
                    )
    ctx.save("levels.csv", pd.DataFrame(rows).drop_duplicates(["staff", "arm", "week", "metric"]))
    none, quarterly, monthly = labels
    lines = [
        f"Scenario `{st.scenario}`: the same promise work (hours, actions, partners) in every arm; only the "
        f"feedback to residents differs ({', '.join(f'{k}: `{v}`' for k, v in labelled_arms(st.arms).items())}), "
        "with and without feedback to staff.",
        "",
        f"## What happens to confidence in the police by week {horizon}",
        "",
    ]
    for label in labels:  # each arm's change with its interval (once alone)
        lines.append(
            f"- {label}: {change_words(ctx.change(label, 'trust_high_share'), 'share with high confidence')}; "
            + change_words(ctx.change(label, "delaktighet_high_share"), "share agreeing the police listen and act")
        )
    for label in (quarterly, monthly):
        for m, word in (("trust_high_share", "high confidence"), ("delaktighet_high_share", "'listen and act'")):
            lines.append(f"- {label} minus {none.lower()}, {word}: {ctx.difference_line(label, none, m)}")
    lines += [
        "",
        kept_line(ctx, quarterly, none),
        "",
        # the pathway first: it once followed the number, so a null result read "the same ..., through ..."
        "Feedback to staff acts only through officers (their attitude, hence their hours and contacts); with minus "
        "without (both with quarterly feedback to residents), high confidence: "
        f"{ctx.difference_line(quarterly, quarterly + OFF, 'trust_high_share', who='with staff feedback')}.",
    ]
    return lines


STUDY = Study(
    "feedback_demo",
    "Why feedback matters (återkoppling)",
    arms,
    analyse,
    settings={
        "study.gif_every_weeks": whole(1, 1040),
        "study.scenario": preset("scenario"),
        # empty, an 'off' arm ran on the scenario's own staff feedback, still labelled as without it
        "study.staff_on": (text()[0], "overrides that turn staff feedback on, such as feedback.staff=0.8"),
        "study.staff_off": (text()[0], "overrides that turn staff feedback off, such as feedback.staff=0.0"),
    },
    owners={"scenario": "study.scenario", "feedback.staff": "study.staff_on and study.staff_off"},
)


def main(argv: list[str]) -> int:
    return main_wrapper(STUDY, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
