"""Rank the levers by leverage: `python -m experiments.sensitivity method=sobol n=512`.

Settings (configs/sensitivity.yaml; any can be overridden on the command line):
  method=sobol|morris  n=...  seed=...  executor=serial|processes|dask  workers=...
  scheduler=tcp://host:8786  experiment@study=<a study in configs/experiment/>  output_dir=...
Results land in results/sensitivity/<study>_<method>_n<n>/: indices.csv, ranking.csv,
convergence.csv, over_time.csv, noise.csv, failures.csv, PNG figures and report.md. The runs
are stored under sweep/ as they finish; running the same command again resumes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

import sim  # noqa: E402
from sim.api import CONFIG_DIR, config_error_message  # noqa: E402
from sim.params import ConfigError, register  # noqa: E402
from sim.sensitivity import (  # noqa: E402
    METHODS,
    OUTPUTS,
    analyze_all,
    convergence,
    noise_share,
    ranking_sentence,
    sample,
)
from sim.space import apply_params, make_space  # noqa: E402
from sim.sweep import EXECUTORS, SweepStore, plan, run_sweep  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OVER_TIME = ("trust_mean", "delaktighet_mean", "trygghet_mean")


def load_settings(argv: list[str]) -> DictConfig:
    """Compose configs/sensitivity.yaml with overrides and check the settings; raise ConfigError."""
    register()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="sensitivity", overrides=argv)
    except Exception as exc:
        raise ConfigError(config_error_message(exc)) from exc
    checks = [
        (cfg.method in METHODS, f"method must be one of {', '.join(METHODS)}, got {cfg.method!r}"),
        (isinstance(cfg.n, int) and cfg.n >= 4, f"n must be a whole number of at least 4, got {cfg.n!r}"),
        (cfg.method != "sobol" or (cfg.n & (cfg.n - 1)) == 0, f"n must be a power of 2 for sobol, got {cfg.n}"),
        (cfg.executor in EXECUTORS, f"executor must be one of {', '.join(EXECUTORS)}, got {cfg.executor!r}"),
        (isinstance(cfg.replications, int) and cfg.replications >= 1, "replications must be at least 1"),
        (cfg.noise_replications >= 2 and cfg.noise_points >= 2, "noise_points and noise_replications must be >= 2"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
    return cfg


def plot_indices(indices: pd.DataFrame, method: str, path: Path) -> None:
    """One panel per output: levers by leverage with their confidence intervals."""
    outputs = list(OUTPUTS)
    fig, axes = plt.subplots(2, 3, figsize=(16, 9), sharex=True)
    key, conf = ("ST", "ST_conf") if method == "sobol" else ("mu_star", "mu_star_conf")
    for ax, o in zip(axes.flat, outputs):
        d = indices[indices.output == o].sort_values(key)
        ax.barh(d.lever, d[key], xerr=d[conf], color="tab:blue", alpha=0.8, label=key)
        if method == "sobol":
            ax.barh(d.lever, d.S1, xerr=d.S1_conf, color="tab:orange", alpha=0.8, height=0.4, label="S1")
        ax.set_title(OUTPUTS[o], fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes.flat[0].legend(loc="lower right")
    fig.suptitle(f"Leverage of each lever ({method}; bars are 95% intervals)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_over_time(over_time: pd.DataFrame, method: str, path: Path, top: int = 5) -> None:
    key = "ST" if method == "sobol" else "mu_star"
    fig, axes = plt.subplots(1, 3, figsize=(16, 5), sharey=method == "sobol")
    for ax, m in zip(axes, OVER_TIME):
        d = over_time[over_time.outcome == m]
        leaders = d.groupby("lever")[key].max().sort_values(ascending=False).index[:top]
        for lever in leaders:
            s = d[d.lever == lever].sort_values("year")
            ax.plot(s.year, s[key], marker="o", label=lever)
        ax.set_xticks([1, 2, 3])
        ax.set_xlabel("year")
        ax.set_title(f"{m}: leverage by year")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_convergence(conv: pd.DataFrame, method: str, path: Path, output: str = "trust_mean_change") -> None:
    key = "ST" if method == "sobol" else "mu_star"
    d = conv[conv.output == output]
    fig, ax = plt.subplots(figsize=(8, 5))
    for lever, s in d.groupby("lever"):
        ax.plot(s.n, s[key], marker="o", label=lever)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("n")
    ax.set_ylabel(key)
    ax.set_title(f"Convergence of {key} for {output}")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(cfg, indices, verdicts, over_time, noise, failures, runs, wall, n_levers, reused=0) -> str:
    method = cfg.method
    key = "ST" if method == "sobol" else "mu_star"
    lines = [
        f"# Which levers matter? Study `{cfg.study.name}`, {method}, n = {cfg.n}",
        "",
        f"{n_levers} levers varied around `{' '.join(cfg.study.base)}`; {runs} model runs, of which "
        f"{runs - reused} computed in this session in {wall:.0f} s ({(runs - reused) / max(wall, 1e-9):.1f} runs/s, "
        f"executor `{cfg.executor}`) and {reused} found in the store. Outcomes are changes from the start "
        "(week 0). "
        + (
            "Total index ST: the share of output variance a lever accounts for, alone and with others; S1: alone."
            if method == "sobol"
            else "mu*: mean absolute effect of moving a lever one step across its range (screening)."
        ),
        "",
        "## Ranking by leverage",
        "",
    ]
    lines += [f"- {ranking_sentence(indices, method, o)}" for o in OUTPUTS]
    d = indices[indices.output == "trust_mean_change"].sort_values("rank")
    cols = (
        ["rank", "lever", "ST", "ST_conf", "S1", "S1_conf"]
        if method == "sobol"
        else ["rank", "lever", "mu_star", "mu_star_conf", "sigma"]
    )
    lines += ["", "Change in trust at the horizon:", "", d[cols].round(3).to_markdown(index=False), ""]
    stable = verdicts.stable.all()
    notes = [
        f"{r.output} {r.spearman_half_vs_full:.2f}"
        + ("" if r.stable else " (unstable)")
        + ("" if r.same_top3_order else " (top three swap order: tied within their intervals)")
        for r in verdicts.itertuples()
    ]
    lines += [
        "## Convergence",
        "",
        ("The ranking is **stable**" if stable else "The ranking is **not yet stable**")
        + ": indices were computed at n/4, n/2 and n; stable means the same three levers lead at n/2 and at n "
        "and the rank correlation between n/2 and n is at least 0.9. Rank correlation: " + ", ".join(notes) + ".",
        "",
    ]
    lines += ["## How leverage shifts over time", ""]
    for m in OVER_TIME:
        d = over_time[over_time.outcome == m]
        tops = [
            f"year {y}: `{d[d.year == y].sort_values(key, ascending=False).lever.iloc[0]}`"
            for y in (1, 2, 3)
            if (d.year == y).any()
        ]
        lines.append(f"- {m}: the lever with most leverage is " + "; ".join(tops) + ".")
    lines += ["", "## Noise between replications", ""]
    for r in noise.itertuples():
        lines.append(
            f"- {OUTPUTS[r.output]}: {100 * r.noise_share:.1f}% of the output variance is noise between "
            "replications, the rest comes from the levers."
        )
    lines += ["", "## Failures", ""]
    lines.append(
        "None: every run finished."
        if failures.empty
        else f"{len(failures)} runs failed (see failures.csv); the analysis above excludes nothing only "
        "if this list is empty."
    )
    lines += [
        "",
        "Files: indices.csv, ranking.csv, convergence.csv, over_time.csv, noise.csv, failures.csv, "
        "indices.png, over_time.png, convergence.png, config.yaml; runs in sweep/.",
    ]
    return "\n".join(lines) + "\n"


def run_study(cfg: DictConfig, progress: bool = True) -> Path:
    """Sample, run (resumably), analyse and report one study; returns its folder."""
    out = Path(cfg.output_dir)
    if not out.is_absolute():
        out = ROOT / out
    study = cfg.study
    base = sim.load_config(list(study.base) + ["replications=1"])
    space = make_space(OmegaConf.to_container(study.vary), OmegaConf.to_container(study.fixed))
    base = apply_params(base, dict(space.fixed))
    design = sample(space, cfg.method, cfg.n, cfg.seed, cfg.num_levels)
    study_id = f"{study.name}/{cfg.method}/seed{cfg.seed}"
    specs = plan(study_id, design, cfg.replications, cfg.seed)
    noise_specs = plan(study_id, design.iloc[: cfg.noise_points], cfg.noise_replications, cfg.seed)
    ids = {s.run_id for s in specs}
    all_specs = specs + [s for s in noise_specs if s.run_id not in ids]

    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    store = SweepStore(out / "sweep")
    reused = len(store.done() & {sp.run_id for sp in all_specs})
    t0 = time.perf_counter()
    results = run_sweep(
        all_specs,
        base,
        store,
        executor=cfg.executor,
        workers=cfg.workers,
        scheduler=cfg.scheduler,
        batch_size=cfg.batch_size,
        chunk_size=cfg.chunk_size,
        progress=progress,
        provenance={"study": study_id, "config": OmegaConf.to_container(cfg, resolve=True)},
    )
    wall = time.perf_counter() - t0
    failures = store.failures()
    failures.to_csv(out / "failures.csv", index=False)
    main = results[results.replication < cfg.replications]
    y = main.groupby("point")[
        list(OUTPUTS) + [f"{m}_change_y{k}" for m in OVER_TIME for k in (1, 2, 3) if f"{m}_change_y{k}" in main]
    ].mean()
    if len(y) < len(design):
        missing = len(design) - len(y)
        (out / "report.md").write_text(
            f"# Study incomplete\n\n{missing} design points have no result; "
            f"{len(failures)} runs failed (failures.csv). Fix and run again to resume.\n"
        )
        print(f"{missing} design points missing; {len(failures)} failures listed in {out / 'failures.csv'}")
        return out
    y = y.reindex(range(len(design)))
    kw = {"bootstrap": cfg.bootstrap, "conf_level": cfg.conf_level}
    if cfg.method == "morris":
        kw["num_levels"] = cfg.num_levels
    indices = analyze_all(space, cfg.method, design, y, list(OUTPUTS), cfg.seed, **kw)
    conv, verdicts = convergence(space, cfg.method, design, y, cfg.n, list(OUTPUTS), cfg.seed, **kw)
    over = []
    for m in OVER_TIME:
        for k in (1, 2, 3):
            col = f"{m}_change_y{k}"
            if col in y:
                over.append(analyze_all(space, cfg.method, design, y, [col], cfg.seed, **kw).assign(outcome=m, year=k))
    over_time = pd.concat(over, ignore_index=True) if over else pd.DataFrame(columns=["outcome", "year", "lever"])
    noise_runs = results[results.point < cfg.noise_points]
    noise = noise_share(y, noise_runs, list(OUTPUTS))

    indices.to_csv(out / "indices.csv", index=False)
    key = "ST" if cfg.method == "sobol" else "mu_star"
    indices.pivot(index="lever", columns="output", values="rank").to_csv(out / "ranking.csv")
    conv.to_csv(out / "convergence.csv", index=False)
    verdicts.to_csv(out / "convergence_verdict.csv", index=False)
    over_time.to_csv(out / "over_time.csv", index=False)
    noise.to_csv(out / "noise.csv", index=False)
    plot_indices(indices, cfg.method, out / "indices.png")
    plot_over_time(over_time, cfg.method, out / "over_time.png")
    plot_convergence(conv, cfg.method, out / "convergence.png")
    text = report(cfg, indices, verdicts, over_time, noise, failures, len(all_specs), wall, len(space.names), reused)
    (out / "report.md").write_text(text)
    print(text)
    print(f"Wrote {out} ({key} ranking in ranking.csv)")
    return out


def main(argv: list[str]) -> int:
    try:
        cfg = load_settings(argv)
        OmegaConf.resolve(cfg)
        make_space(OmegaConf.to_container(cfg.study.vary), OmegaConf.to_container(cfg.study.fixed))
        sim.load_config(list(cfg.study.base))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run_study(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
