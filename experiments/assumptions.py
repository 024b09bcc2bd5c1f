"""Which assumptions decide the answers? `python -m experiments.assumptions [method=sobol n=64] [space=prior]`.

A global sensitivity analysis over the uncertain behavioural coefficients (not the levers): each design point
sets every coefficient, runs every arm of configs/assumptions.yaml on the same seed, and records the key
answers as paired differences (full minus observed implementation, monthly minus quarterly feedback, an
ambitious promise minus a modest one). The report names the few assumptions whose uncertainty moves each
answer most: what an evaluator should measure next. Runs go through the sweep engine (resumable, any executor).
Writes indices.csv, answers.csv (the spread of each answer over the design points), indices.png, report.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

from experiments.interrupted import RESUMES, command, says_when_interrupted

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

import sim  # noqa: E402
from experiments.settings import (  # noqa: E402
    check_settings,
    check_sobol_size,
    compose_settings,
    make_output_folder,
    one_of,
    optional,
    text,
    whole,
)
from experiments.studies import fmt_pp, percent  # noqa: E402
from sim.executors import EXECUTORS  # noqa: E402
from sim.model import METRICS  # noqa: E402
from sim.params import PARAMS, UNCERTAIN, ConfigError  # noqa: E402
from sim.paths import output_path  # noqa: E402
from sim.sensitivity import METHODS, analyze  # noqa: E402
from sim.sensitivity import sample as design_sample  # noqa: E402
from sim.space import RUN_SETTINGS, ParameterSpace, apply_params  # noqa: E402
from sim.store import SweepStore  # noqa: E402
from sim.sweep import plan, run_sweep  # noqa: E402
from sim.targets import base_config  # noqa: E402
from sim.words import counted  # noqa: E402

WHAT_TO_MEASURE = {
    "feedback.expectation": "what share of a promise residents expect to see delivered (a survey question)",
    "behaviour.feedback_trust": "how much a feedback round moves confidence among those it reaches (a trial)",
    "behaviour.feedback_delaktighet": "how much a round moves 'the police listen and act' (a trial)",
    "behaviour.feedback_novelty_weeks": "whether a second round soon after a first still moves opinions",
    "behaviour.visible_work_trust": "how much visible police work near home moves confidence",
    "behaviour.attribution_unaware": "whether residents who do not know of the promise credit the work",
    "behaviour.trust_memory_weeks": "how long a gain in confidence lasts without renewal (a panel)",
    "behaviour.broken_promise_ratio": "how much worse a shortfall is judged than a surplus",
    "behaviour.good_contact": "the effect of one good contact with an officer",
    "behaviour.bad_contact_base": "how often contacts go badly",
    "behaviour.contacts_per_hour": "how many residents officers meet in an hour of promise work (time-use logs)",
}


def arm_settings(name: str, overrides: str) -> tuple[str, dict[str, float]]:
    """An arm of this study: its scenario and numeric parameter values (the area is the default one; residents
    and horizon are the study's). Anything else is refused by name, and so is what pairs the arms (seed,
    replications, horizon_weeks, area.residents: `horizon_weeks=52` in one arm once set its horizon alone, so its
    answer mixed a one-year change with three-year ones)."""
    scenario, values = "observed_2018", {}
    for item in overrides.split():
        key, _, value = item.partition("=")
        if key == "scenario":
            scenario = value
            continue
        if key in UNCERTAIN:  # the arm's value once won over the design's, so its answers ignored the coefficient
            raise ConfigError(
                f"arms.{name}: {item} cannot be set in one arm: the study varies {key} over its range at every "
                "design point (an arm is a scenario and levers)"
            )
        if key in (*RUN_SETTINGS, "area.residents"):
            setting = {"area.residents": "residents", "replications": None}.get(key, key)
            raise ConfigError(
                f"arms.{name}: {item} cannot be set in one arm: it is the study's, the same for every arm so that "
                "the arms are paired "
                + (f"(give {setting}=... on the command line)" if setting else "(each design point runs once)")
            )
        try:
            values[key] = float(value)
        except ValueError:
            raise ConfigError(
                f"arms.{name}: {item} cannot be set here (an arm is a scenario and numeric parameter values; "
                "the area is the default one)"
            ) from None
    return scenario, values


class Contrasts:
    """Sweep evaluator: every arm on one seed with the point's coefficients; the answers as paired differences."""

    def __init__(self, arms: dict[str, str], answers: dict[str, list[str]], residents: int, horizon: int) -> None:
        self.arms, self.answers, self.residents, self.horizon = arms, answers, residents, horizon
        answer_key = sorted((k, tuple(v)) for k, v in answers.items())
        self.key = f"contrasts/{sorted(arms.items())}/{answer_key}/{residents}/{horizon}"

    def __call__(self, cfg, spec, trajectories_dir) -> dict[str, float]:
        from sim.api import run_replication

        values = {n: v for n, v in spec.params}
        change = {}
        for name, overrides in self.arms.items():
            scenario, extra = arm_settings(name, overrides)
            c = apply_params(base_config(scenario, "default", self.residents, self.horizon), {**values, **extra})
            t = run_replication(c, spec.seed, spec.replication, survey_weeks=())["trajectories"]
            change[name] = t.iloc[-1] - t.iloc[0]
        return {a: float(change[x][m] - change[y][m]) for a, (x, y, m) in self.answers.items()}


SHAPES = {
    "arms": "a mapping name: scenario and overrides, such as {full: scenario=full_implementation}",
    "answers": "a mapping name: [arm, minus arm, outcome], such as {gain: [full, observed, trust_high_share]}",
}


def load_settings(argv: list[str]) -> DictConfig:
    cfg = compose_settings("assumptions", argv)
    check_settings(
        cfg,
        {
            "method": one_of(*METHODS),
            "n": whole(2, 1 << 16),
            "space": one_of("prior", "posterior"),
            "seed": whole(0, 2**31 - 1),
            "residents": whole(100, 100_000),
            "horizon_weeks": whole(1, 1040),
            "num_levels": whole(2, 100),
            "bootstrap": whole(10),
            "executor": one_of(*EXECUTORS),
            "workers": optional(whole(1)),
            "scheduler": optional(text()),
            "output_dir": optional(text()),
        },
    )
    if cfg.method == "sobol":
        check_sobol_size("n", cfg.n)
    for key, shape in SHAPES.items():  # Hydra lets a whole mapping be replaced by a number or a list
        if not OmegaConf.is_dict(cfg[key]) or not cfg[key]:
            shown = OmegaConf.to_container(cfg[key]) if OmegaConf.is_config(cfg[key]) else cfg[key]
            raise ConfigError(f"invalid value for {key}: {shown!r} (allowed: {shape})")
    arms = OmegaConf.to_container(cfg.arms)
    for name, answer in OmegaConf.to_container(cfg.answers).items():
        if not isinstance(answer, list) or len(answer) != 3:
            raise ConfigError(f"answers.{name}: {answer!r} must be [arm, minus arm, outcome]")
        a, b, metric = answer
        if a not in arms or b not in arms:
            raise ConfigError(f"answer {name} names an arm that is not in arms: {a}, {b}")
        if metric not in METRICS:
            raise ConfigError(f"answers.{name}: unknown outcome {metric!r} (outcomes: {', '.join(METRICS)})")
    for name, overrides in arms.items():
        scenario, values = arm_settings(name, overrides)
        apply_params(base_config(scenario, "default", cfg.residents, cfg.horizon_weeks), values)
    return cfg


def coefficient_space(kind: str) -> ParameterSpace:
    """The uncertain coefficients with their prior ranges, or the posterior ensemble's 5-95% ranges."""
    bounds = []
    if kind == "posterior":
        from sim.posterior import load_ensemble

        ens = load_ensemble()
    for name in UNCERTAIN:
        p = PARAMS[name].prior
        if kind == "prior":
            bounds.append((p.low, p.high))
        else:
            lo, hi = np.quantile(ens[name], [0.05, 0.95])
            bounds.append((float(lo), float(hi) if hi > lo else float(lo) + 1e-9))
    return ParameterSpace(tuple(UNCERTAIN), tuple(bounds))


def leading_lines(indices: pd.DataFrame, answers: list[str], key: str, bootstrap: int) -> list[str]:
    """The report's top three coefficients for each answer, each index with the half-width of its 95% bootstrap
    interval (they once stood alone), and the ones an evaluator should measure next. A coefficient with no effect
    on an answer (index 0) is not among its leaders, however the ranking orders ties."""
    lines = [
        "",
        "## The assumptions that matter most",
        "",
        f"Each ± is the half-width of the 95% bootstrap interval ({bootstrap:,} resamples of the design points): the "
        "uncertainty of estimating the index from this many points.",
        "",
    ]
    moving = indices[indices[key] > 0]
    for a in answers:
        d = moving[moving.answer == a].sort_values("rank").head(3)
        names = ", ".join(
            f"`{c}` ({key} {v:.3g} ± {ci:.2g})" for c, v, ci in zip(d.coefficient, d[key], d[f"{key}_conf"])
        )
        lines.append(f"- **{a.replace('_', ' ')}**: {names or f'none moves it here (every {key} is 0)'}.")
    tops = moving[moving["rank"] <= 3].coefficient.value_counts()
    lines += ["", "## What an evaluator should measure next", ""]
    for c, count in tops.head(4).items():
        what = WHAT_TO_MEASURE.get(c, "its size (no measurement found; docs/evidence.md)")
        lines.append(f"- `{c}` (among the top three for {count} of {len(answers)} answers): {what}.")
    if tops.empty:
        lines.append("Nothing yet: no answer moves with the coefficients in this study (a longer horizon may).")
    return lines


def run(cfg: DictConfig, progress: bool = True) -> Path:
    space = coefficient_space(cfg.space)
    design = design_sample(space, cfg.method, cfg.n, cfg.seed, cfg.num_levels)
    arms = OmegaConf.to_container(cfg.arms)
    answers = OmegaConf.to_container(cfg.answers)
    evaluator = Contrasts(arms, answers, cfg.residents, cfg.horizon_weeks)
    base = sim.load_config(["uncertainty=fixed"])
    p = plan(base, design, 1, cfg.seed, evaluator, row_is_replication=True)
    out = output_path(cfg.output_dir or f"results/assumptions/{cfg.method}_{cfg.space}_n{cfg.n}")
    make_output_folder(out)
    t0 = time.perf_counter()
    rows = run_sweep(
        p,
        base,
        SweepStore(out / "sweep"),
        executor=cfg.executor,
        workers=cfg.workers,
        scheduler=cfg.scheduler,
        progress=progress,
        evaluator=evaluator,
        study={"name": "assumptions", "method": cfg.method, "space": cfg.space},
    )
    wall = time.perf_counter() - t0
    y = p.rows.join(rows.drop(columns=["replication"]).set_index("run_id"), on="run_id").sort_values("point")
    if y[list(answers)].isna().any().any():
        raise ConfigError(f"{int(y[list(answers)].isna().any(axis=1).sum())} design points failed; see {out / 'sweep'}")
    parts = []
    for a in answers:
        parts.append(
            analyze(
                space,
                cfg.method,
                design.to_numpy(),
                y[a].to_numpy(),
                cfg.seed,
                bootstrap=cfg.bootstrap,
                **({"num_levels": cfg.num_levels} if cfg.method == "morris" else {}),
            ).assign(answer=a)
        )
    indices = pd.concat(parts, ignore_index=True).rename(columns={"lever": "coefficient"})
    indices.to_csv(out / "indices.csv", index=False)
    spread = pd.DataFrame(
        [
            {
                "answer": a,
                "mean": y[a].mean(),
                "p05": y[a].quantile(0.05),
                "p95": y[a].quantile(0.95),
                "share_positive": (y[a] > 0).mean(),
            }
            for a in answers
        ]
    )
    spread.to_csv(out / "answers.csv", index=False)
    key = "ST" if cfg.method == "sobol" else "mu_star"
    fig, axes = plt.subplots(1, len(answers), figsize=(5.2 * len(answers), 7), layout="constrained", squeeze=False)
    for ax, a in zip(axes[0], answers):
        d = indices[indices.answer == a].sort_values(key).tail(12)
        ax.barh([c.split(".")[-1] for c in d.coefficient], d[key], color="tab:blue")
        ax.set_title(a.replace("_", " "), fontsize=11)
        ax.set_xlabel(f"{key} (" + ("share of the answer's variance" if key == "ST" else "mean absolute effect") + ")")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Which assumptions decide the answers ({cfg.method}, coefficients over their {cfg.space} range)")
    fig.savefig(out / "indices.png", dpi=100)
    plt.close(fig)
    lines = [
        f"# Which assumptions decide the answers? ({cfg.method}, n = {cfg.n}, coefficients over their "
        f"{cfg.space} range)",
        "",
        f"{len(UNCERTAIN)} uncertain coefficients vary together; each of {len(design)} design points runs "
        f"{len(arms)} arms on one seed ({cfg.residents:,} residents, {counted(cfg.horizon_weeks, 'week')}) and records "
        f"each answer as a paired difference in survey shares. {counted(len(rows), 'point')} in {wall:.0f} s this "
        "session.",
        "",
        "## The answers, and how much they move with the assumptions",
        "",
        # what the range covers: the design spreads the coefficients evenly over their ranges, one seed a point
        f"Each range is the 5-95% spread over the design points. It covers the coefficients set across their "
        f"{cfg.space} ranges (each independently, not drawn together from the posterior) and replication noise (a "
        "seed per point): it shows how far the assumptions can move an answer, not a predictive interval.",
        "",
    ]
    for r in spread.itertuples():
        arm, minus, metric = answers[r.answer]
        lines.append(
            f"- {r.answer.replace('_', ' ')} (change in `{metric}`, arm `{arm}` minus `{minus}`): "
            f"{fmt_pp(r.mean)} on average; 5-95% over the design points "
            f"{fmt_pp(r.p05)} to {fmt_pp(r.p95)}; positive at {percent(r.share_positive)} of points"
        )
    lines += leading_lines(indices, list(answers), key, cfg.bootstrap)
    lines += ["", "Files: indices.csv, answers.csv, indices.png, report.md; runs in sweep/."]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return out


@says_when_interrupted(RESUMES)
def main(argv: list[str]) -> int:
    return command(lambda: checked(load_settings(argv)), run)


def checked(cfg: DictConfig) -> DictConfig:
    """The settings, resolved, with the coefficients' space checked before anything runs."""
    OmegaConf.resolve(cfg)
    coefficient_space(cfg.space)
    return cfg


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
