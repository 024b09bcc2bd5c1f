"""Robust promise design: `python -m experiments.robust`.

Which promise works across plausible worlds, and when does it backfire? A grid of promise designs (actions,
planned hours, cycle length, feedback interval and reach, citizens' weight, outreach) is crossed with
conditions a planner cannot set (effort actually delivered, competing demand, partner reliability, turnover,
the area's baseline levels), sampled by Latin hypercube, each with its own posterior draw of the behavioural
coefficients and its own seed. Every design and the counterfactual (no promise) run in every condition, so a
design's gain and its regret are paired within the condition.

For each design: the chance of a gain, the chance of backfiring (high confidence or 'listen and act' below no
promise), the 10th percentile gain, regret against the best design in each condition, officer hours; the
Pareto set over the robust objectives; PRIM boxes (and a CART tree) on the conditions and designs for
"backfires" and for "gains at least X"; and a plain recommendation for the hours budget, with how often the
same rule chooses it on the worlds resampled (how sure it is). Runs go through the
sweep engine (resume, any executor, clusters). Writes designs.csv, runs.csv, boxes.csv, figures and report.md.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

from experiments.interrupted import RESUMES, command, says_when_interrupted

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

import sim  # noqa: E402
from experiments.settings import (
    check_grid,
    check_settings,
    compose_settings,
    declared,
    make_output_folder,
    number,
    one_of,
    optional,
    preset,
    text,
    whole,
)
from experiments.studies import (
    RESAMPLES,
    as_well_words,
    check_a_promise_to_vary,
    chosen_instead,
    fmt_pp,
    percent,
    resampled_choice,
    tied_with,
)
from sim.executors import EXECUTORS  # noqa: E402
from sim.params import UNCERTAINTY_MODES, ConfigError  # noqa: E402
from sim.paths import output_path  # noqa: E402
from sim.robustness import box_words, cart_rules, pareto, prim_box, recommend, robustness  # noqa: E402
from sim.space import apply_params, make_space  # noqa: E402
from sim.store import SweepStore  # noqa: E402
from sim.sweep import plan, run_sweep  # noqa: E402
from sim.words import counted  # noqa: E402

GAINS = {
    "trust_high_share_change": "high confidence",
    "delaktighet_high_share_change": "'listen and act'",
    "safety_change": "feeling safe (fewer unsafe)",
}
BACKFIRE = ["trust_high_share_change", "delaktighet_high_share_change"]
OBJECTIVE = "trust_high_share_change"


def short(name: str) -> str:
    return name.split(".")[-1].replace("_", " ")


def load_settings(argv: list[str]) -> DictConfig:
    cfg = compose_settings("robust", argv)
    check_settings(
        cfg,
        {
            "conditions": whole(2, 100_000),
            "uncertainty": one_of(*UNCERTAINTY_MODES),
            "residents": whole(100, 100_000),
            "horizon_weeks": whole(1, 1040),
            "area": text(),
            "seed": whole(0, 2**31 - 1),
            "min_density": ((lambda v: isinstance(v, (int, float)) and 0 < v <= 1), "a number above 0, at most 1"),
            "executor": one_of(*EXECUTORS),
            "workers": optional(whole(1)),
            "scheduler": optional(text()),
            "output_dir": optional(text()),
            "study.scenario": preset("scenario"),
            "study.gain_at_least": number(-1, 1),
            "study.hours_budget": declared("police.planned_hours_per_week"),
        },
    )
    return cfg


def designs(cfg: DictConfig) -> pd.DataFrame:
    grid = OmegaConf.to_container(cfg.study.designs) or {}
    if not grid:
        raise ConfigError("study.designs is empty: name at least one promise lever and its values")
    check_grid(grid, "study.designs")
    names = list(grid)
    return pd.DataFrame(list(itertools.product(*[grid[n] for n in names])), columns=names)


def conditions(cfg: DictConfig) -> pd.DataFrame:
    """Latin hypercube over the condition ranges (scipy's qmc)."""
    from scipy.stats import qmc

    space = make_space(OmegaConf.to_container(cfg.study.conditions) or {}, label="study.conditions")
    if not space.names:
        raise ConfigError("study.conditions is empty: name at least one condition and its range")
    u = qmc.LatinHypercube(d=len(space.names), seed=cfg.seed).random(cfg.conditions)
    lo, hi = np.array(space.bounds, dtype=float).T
    return pd.DataFrame(lo + u * (hi - lo), columns=list(space.names))


def base_config(cfg: DictConfig) -> sim.Config:
    return sim.load_config(
        [
            f"scenario={cfg.study.scenario}",
            f"area={cfg.area}",
            f"area.residents={cfg.residents}",
            f"horizon_weeks={cfg.horizon_weeks}",
            f"uncertainty={cfg.uncertainty}",
            f"seed={cfg.seed}",
        ]
    )


def prepare(cfg: DictConfig):
    base = base_config(cfg)
    d, c = designs(cfg), conditions(cfg)
    check_a_promise_to_vary(base, d.columns, "robust")
    overlap = set(d.columns) & set(c.columns)
    if overlap:
        raise ConfigError(f"{', '.join(sorted(overlap))} is both a design lever and a condition")
    for row in d.to_dict("records"):
        apply_params(base, {**row, **c.iloc[0].to_dict()})
    return base, d, c


def run(cfg: DictConfig, progress: bool = True) -> Path:
    base, d, c = prepare(cfg)
    rows, reps = [], []
    for k, cond in c.iterrows():  # every design, and no promise, in every condition (condition k = replication k)
        for _, des in d.iterrows():
            rows.append({**des.to_dict(), **cond.to_dict(), "promise.active": 1.0})
            reps.append(k)
        rows.append({**d.iloc[0].to_dict(), **cond.to_dict(), "promise.active": 0.0})
        reps.append(k)
    design = pd.DataFrame(rows)
    p = plan(base, design, 1, cfg.seed, row_replications=reps)
    out = output_path(cfg.output_dir or f"results/robust/{dt.datetime.now():%Y-%m-%d_%H-%M-%S}_{uuid.uuid4().hex[:6]}")
    store_root = output_path("results/robust") / "sweep" if cfg.output_dir is None else out / "sweep"
    if cfg.output_dir is not None:  # the store is inside it: mark it before the runs, so a rerun may resume
        make_output_folder(out)
    results = run_sweep(
        p,
        base,
        SweepStore(store_root),
        executor=cfg.executor,
        workers=cfg.workers,
        scheduler=cfg.scheduler,
        progress=progress,
        study={"name": "robust"},
    )
    make_output_folder(out)
    table = p.rows.join(results.drop(columns=["replication"]).set_index("run_id"), on="run_id")
    table["condition"] = table.replication
    table["design"] = np.where(table["promise.active"] > 0.5, table.point % (len(d) + 1), -1)
    table["safety_change"] = -table["unsafe_share_change"]
    table["hours"] = table.hours_delivered_mean * cfg.horizon_weeks
    none = table[table.design == -1].set_index("condition")
    runs = table[table.design >= 0].copy()
    for g in GAINS:
        runs[g] = runs[g].to_numpy() - none.loc[runs.condition, g].to_numpy()
    runs = runs.join(d.add_prefix("design:"), on="design")
    runs = runs.join(c.add_prefix("condition:"), on="condition")
    runs.to_csv(out / "runs.csv", index=False)
    return analyse(cfg, base, runs, d, c, out)


def recommendation_words(choice: pd.Series, within: bool, budget: float, planned: pd.Series) -> str:
    """Why this design, in words that follow the numbers: within the budget or not (none fits), and whether its
    worst tenth of worlds still gains or loses."""
    worst = choice[f"{OBJECTIVE}_p10"]
    pool = (
        "Among the designs within the budget it"
        if within
        else f"No design plans {budget:g} hours a week or fewer (the fewest: {planned.min():g}); of all designs it"
    )
    if worst > 0:
        bad = f"it still gains {fmt_pp(worst)} in high confidence"
    elif worst < 0:
        bad = f"high confidence falls by {-100 * worst:.1f} pp against no promise"
    else:
        bad = "high confidence is where it would be with no promise"
    regret = choice[f"regret_{OBJECTIVE}_max"]
    behind = (
        f"falls at most {100 * regret:.1f} pp behind the best design for a world (on average "
        f"{100 * choice[f'regret_{OBJECTIVE}_mean']:.1f} pp)"
        if regret > 0
        else "is the best design in every world"
    )
    return (
        f"{pool} does best when things go badly: in the worst 10% of worlds {bad}. On average it changes high "
        f"confidence by {fmt_pp(choice[f'{OBJECTIVE}_mean'])}; it gains in "
        f"{percent(choice[f'{OBJECTIVE}_p_gain'])} of worlds, backfires in {percent(choice['p_backfire'])}, "
        f"{behind}, and costs about {choice.hours:,.0f} officer hours delivered over the horizon."
    )


def losing_words(
    choice: pd.Series, pool: pd.DataFrame, summary: pd.DataFrame, words: Callable[[pd.Series], str]
) -> str:
    """When the design chosen for its worst worlds loses ground on average, say so, and what does better on
    average: another design of the ``pool`` it was chosen from, or no promise, and then the best of the designs
    over the budget, if one gains."""
    mean = f"{OBJECTIVE}_mean"
    if choice[mean] >= 0:
        return ""
    top = pool.loc[pool[mean].idxmax()]
    if top[mean] >= 0:
        return (
            f" It loses high confidence on average: {words(top)} gains most on average ({fmt_pp(top[mean])}), at the "
            "price of worse worst worlds."
        )
    within = len(pool) < len(summary)
    over = summary[~summary.design.isin(pool.design)]
    said = (
        f" Every design {'within the budget' if within else 'here'} loses high confidence on average over these "
        "worlds: on average no promise does better"
    )
    if within and (over[mean] > 0).any():
        best = over.loc[over[mean].idxmax()]
        return said + f"; over the budget, {words(best)} gains most ({fmt_pp(best[mean])} on average)."
    return said + "."


def choice_stability(runs: pd.DataFrame, designs: Sequence[int], chosen: int, seed: int) -> dict:
    """How sure the choice is, from the worlds at hand: resample them with replacement and choose again among the
    same ``designs`` by the same rule (``sim.robustness.recommend``: the best worst-10% gain, then the best mean).
    Returns the share of resamples that choose ``chosen`` (or a design exactly as good on both), the shares of the
    designs chosen instead, and the 95% percentile interval of the chosen design's worst-10% gain over the
    resamples. The choice is the best of many designs on the same worlds, so its own worst-10% gain leans high;
    the interval shows how far the worlds alone could move it."""
    gains = runs.pivot(index="design", columns="condition", values=OBJECTIVE).loc[list(designs)]
    best, p10 = resampled_choice(gains.to_numpy(), lambda x: (np.quantile(x, 0.1, axis=-1), x.mean(axis=-1)), seed)
    i = gains.index.get_loc(chosen)
    low, high = np.percentile(p10[i], [2.5, 97.5])
    return {
        "again": float(best[i].mean()),
        "instead": chosen_instead(best, i, gains.index),
        "p10_low": float(low),
        "p10_high": float(high),
    }


def stability_words(s: dict, worlds: int, words: Callable[[pd.Series], str], d: pd.DataFrame) -> str:
    """The choice's stability in a sentence: how often the worlds, resampled, choose it again, and what instead."""
    instead = "; ".join(f"{words(d.loc[k])} ({percent(v)})" for k, v in s["instead"].head(2).items())
    return (
        f"How sure: resampling the {worlds} worlds {RESAMPLES:,} times, the same rule chooses this design (or one "
        f"exactly as good) in {percent(s['again'])} of resamples"
        + (f"; most often instead: {instead}" if instead else "")
        + f". Its worst-10% gain moves from {fmt_pp(s['p10_low'])} to {fmt_pp(s['p10_high'])} over them (95%), "
        "and as the best of many designs on the same worlds it leans high: more worlds (`conditions=`) settle it."
    )


def tie_words(pool: pd.DataFrame, choice: pd.Series) -> str:
    """How many other designs do exactly as well as the choice on both things it is chosen by (the worst tenth of
    worlds, then the mean), so the study cannot choose between them; empty when none does."""
    others = tied_with(pool, choice, [f"{OBJECTIVE}_p10", f"{OBJECTIVE}_mean"])
    return as_well_words(others, "in the worst 10% of worlds and on average, so the study cannot choose between them")


def pareto_table(front: pd.DataFrame, words: Callable[[pd.Series], str]) -> list[str]:
    """The Pareto set's first 15 designs as a markdown table, with every objective in its column (with high
    confidence alone, a design could look beaten by its neighbour)."""
    lines = [
        "| design | high confidence: mean / worst 10% | worst 10%: 'listen and act' / feeling safe | chance of a gain "
        "| chance of backfiring | max regret | hours |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in front.head(15).iterrows():
        others = " / ".join(fmt_pp(r[f"{g}_p10"]) for g in GAINS if g != OBJECTIVE)
        lines.append(
            f"| {words(r)} | {fmt_pp(r[f'{OBJECTIVE}_mean'])} / {fmt_pp(r[f'{OBJECTIVE}_p10'])} | {others} | "
            f"{percent(r[f'{OBJECTIVE}_p_gain'])} | {percent(r.p_backfire)} | "
            f"{100 * r[f'regret_{OBJECTIVE}_max']:.1f} pp "
            f"| {r.hours:,.0f} |"
        )
    if len(front) > 15:
        lines.append(f"| ... {len(front) - 15} more in designs.csv (column pareto) | | | | | | |")
    return lines


def analyse(cfg: DictConfig, base: sim.Config, runs: pd.DataFrame, d: pd.DataFrame, c: pd.DataFrame, out: Path) -> Path:
    summary = robustness(runs, "design", list(GAINS), BACKFIRE).join(d, on="design")
    objectives = [f"{g}_p10" for g in GAINS]
    summary["pareto"] = pareto(summary, objectives, ["hours"])
    summary.to_csv(out / "designs.csv", index=False)
    planned = (  # a design's planned hours: its own, or the scenario's when the designs do not vary them
        summary["police.planned_hours_per_week"]
        if "police.planned_hours_per_week" in summary
        else pd.Series(base.police.planned_hours_per_week, index=summary.index)
    )
    pool = summary[planned <= cfg.study.hours_budget]
    candidates = pool if len(pool) else summary  # the designs within the budget, or all when none is
    choice = recommend(candidates, OBJECTIVE)
    stability = choice_stability(runs, candidates.design, choice.design, cfg.seed)

    def words(r) -> str:
        return ", ".join(f"{short(n)} {r[n]:g}" for n in d.columns)

    # scenario discovery over the design levers and the conditions
    x = pd.concat(
        [
            runs[[f"design:{n}" for n in d.columns]].set_axis(list(d.columns), axis=1),
            runs[[f"condition:{n}" for n in c.columns]].set_axis(list(c.columns), axis=1),
        ],
        axis=1,
    )
    labels = {n: short(n) for n in x.columns}
    backfires = (runs[BACKFIRE] < 0).any(axis=1).to_numpy()
    gains_x = (runs[OBJECTIVE] >= cfg.study.gain_at_least).to_numpy()
    boxes = {}
    for event, y in (("backfires", backfires), (f"gains at least {100 * cfg.study.gain_at_least:.0f} pp", gains_x)):
        boxes[event] = prim_box(x, y, cfg.min_density)
    rows = [
        {"event": e, "dimension": k, "low": lo, "high": hi, "coverage": b["coverage"], "density": b["density"]}
        for e, b in boxes.items()
        for k, (lo, hi) in b["limits"].items()
    ]
    pd.DataFrame(rows, columns=["event", "dimension", "low", "high", "coverage", "density"]).to_csv(
        out / "boxes.csv", index=False
    )
    cart, accuracy = cart_rules(x, backfires)
    (out / "cart_backfires.txt").write_text(cart)

    fig, axes = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
    for ax, (event, b) in zip(axes, boxes.items()):
        if b.get("trajectory") is not None:
            t = b["trajectory"]
            sc = ax.scatter(t.coverage, t.density, c=t.res_dim, cmap="viridis", s=25)
            ax.scatter(
                [b["coverage"]], [b["density"]], s=160, facecolors="none", edgecolors="red", lw=2, label="chosen box"
            )
            fig.colorbar(sc, ax=ax, label="dimensions restricted")
            ax.legend()
        ax.set_xlabel("coverage (share of all the event's cases inside the box)")
        ax.set_ylabel("density (share of the box's worlds with the event)")
        ax.set_title(f"PRIM peeling trajectory: '{event}'")
        ax.grid(alpha=0.3)
    fig.savefig(out / "prim_tradeoff.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 6.5), layout="constrained")
    sc = ax.scatter(
        100 * summary[f"{OBJECTIVE}_p10"],
        100 * summary["p_backfire"],
        c=summary.hours,
        cmap="plasma",
        s=np.where(summary.pareto, 70, 18),
        alpha=0.85,
    )
    ax.scatter(
        [100 * choice[f"{OBJECTIVE}_p10"]],
        [100 * choice["p_backfire"]],
        s=300,
        facecolors="none",
        edgecolors="black",
        lw=2,
        label="recommended for the budget",
    )
    fig.colorbar(sc, ax=ax, label="officer hours delivered over the horizon")
    ax.set_xlabel("high confidence: gain in the worst 10% of worlds (pp)")
    ax.set_ylabel("chance of backfiring (%)")
    ax.set_title("Promise designs across plausible worlds (large dots: the Pareto set)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.savefig(out / "designs.png", dpi=100)
    plt.close(fig)

    front = summary[summary.pareto].sort_values(f"{OBJECTIVE}_p10", ascending=False)
    alike = bool((runs.groupby("condition")[list(GAINS)].nunique() <= 1).all().all())  # all designs, every world
    worlds = "plausible worlds (posterior draws x conditions)" if cfg.uncertainty == "posterior" else "conditions"
    lines = [
        f"# Robust promise design: area `{cfg.area}`, {counted(cfg.horizon_weeks, 'week')}",
        "",
        f"{len(d)} promise designs x {len(c)} {worlds}, each design paired with no promise in the same world. "
        f"Gains in percentage points of residents. Conditions sampled (Latin hypercube) from: "
        + "; ".join(f"{short(k)} {v[0]:g} to {v[1]:g}" for k, v in OmegaConf.to_container(cfg.study.conditions).items())
        + ".",
        "",
        f"## What to promise with {cfg.study.hours_budget:g} planned officer hours a week, not knowing your area",
        "",
        f"None: no design changes high confidence in any world within {counted(cfg.horizon_weeks, 'week')}, too "
        "short for a promise to show; a longer `horizon_weeks` lets the designs differ."
        if (runs[OBJECTIVE] == 0).all()
        else f"**{words(choice)}.** {recommendation_words(choice, len(pool) > 0, cfg.study.hours_budget, planned)}"
        + tie_words(candidates, choice)
        + losing_words(choice, candidates, summary, words)
        + " "
        + stability_words(stability, len(c), words, d),
        "",
        "## What to watch for",
        "",
    ]
    for event, b in boxes.items():
        lines.append(f"- {box_words(b, x, event.capitalize(), labels)}.")
    lines += [
        f"- A classification tree (depth 3, {100 * accuracy:.0f}% accurate) gives a second view of when designs "
        "backfire: cart_backfires.txt."
        if backfires.any()
        else "- No design backfired in any world, so a classification tree has nothing to separate.",
        "",
        "## Designs no other beats on every objective (the Pareto set)",
        "",
        "Objectives: the worst-10% gain in high confidence, in 'listen and act' and in feeling safe (higher is "
        "better), and officer hours (lower is better).",
        "",
    ]
    if alike:  # every design ties on every gain in each world: the set is only the cheapest (once 15 of them)
        lines.append(
            f"None to speak of: in each world every design gains the same in all three, so the set is only the "
            f"{counted(len(front), 'design')} with the fewest officer hours (column pareto in designs.csv)."
        )
    else:
        lines += pareto_table(front, words)
    worst = summary.sort_values("p_backfire", ascending=False).head(3)
    lines += ["", "## Designs most likely to backfire", ""]
    lines += [
        f"- {words(r)}: backfires in {percent(r.p_backfire)} of worlds, high confidence "
        f"{fmt_pp(r[f'{OBJECTIVE}_mean'])} on average"
        for _, r in worst[worst.p_backfire > 0].iterrows()
    ] or ["None: no design backfired in any of these worlds."]
    lines += [
        "",
        "Files: designs.csv (one row per design), runs.csv (one row per design and world), boxes.csv, "
        "cart_backfires.txt, designs.png, prim_tradeoff.png, config.yaml, report.md.",
    ]
    (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return out


@says_when_interrupted(RESUMES)
def main(argv: list[str]) -> int:
    return command(lambda: prepared(load_settings(argv)), run)


def prepared(cfg: DictConfig) -> DictConfig:
    prepare(cfg)
    return cfg


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
