"""Rank the levers by leverage: `python -m experiments.sensitivity method=sobol n=512`.

Settings (configs/sensitivity.yaml; any can be overridden on the command line):
  method=sobol|morris  n=...  seed=...  executor=serial|processes|dask  workers=...
  scheduler=tcp://host:8786  experiment@study=<a study in configs/experiment/>  output_dir=...
Results land in results/sensitivity/<study>_<method>_n<n>/: indices.csv, ranking.csv,
convergence.csv, over_time.csv, noise.csv, failures.csv, PNG figures and report.md. The runs
are stored under sweep/ as they finish; running the same command again resumes.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib

from experiments.interrupted import RESUMES, command, says_when_interrupted
from experiments.settings import make_output_folder

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

import sim  # noqa: E402
from experiments.studies import override_key  # noqa: E402
from sim.cluster import make_cluster  # noqa: E402
from sim.executors import EXECUTORS, available_cores  # noqa: E402
from sim.params import ConfigError  # noqa: E402
from sim.paths import output_path  # noqa: E402
from sim.sensitivity import (  # noqa: E402
    METHODS,
    OUTPUTS,
    analyze_all,
    convergence,
    no_influence,
    noise_share,
    ranking_sentence,
    sample,
)
from sim.space import apply_params, make_space  # noqa: E402
from sim.store import SweepStore, compact, parse_shard, shard_store  # noqa: E402
from sim.sweep import Outcomes, auto_batch_size, base_key, plan, run_sweep, shard_share  # noqa: E402
from sim.words import counted  # noqa: E402

OVER_TIME = ("trust_mean", "delaktighet_mean", "trygghet_mean")
DEFAULT_NOISE_POINTS = 32  # design points rerun for the noise check unless the study is smaller


def check_cluster(cfg: DictConfig) -> None:
    """cluster=slurm's settings (configs/cluster/slurm.yaml), checked before any job is submitted: dask-jobqueue
    would take jobs=0 or memory=abc and fail, or wait, only once the sweep starts. A Slurm cluster serves only
    executor=dask: with another executor it would be taken and ignored."""
    from experiments.settings import check_settings, optional, text, whole

    if cfg.cluster.get("kind") != "slurm":
        return
    if cfg.executor != "dask":
        raise ConfigError(f"cluster=slurm starts Dask workers: add executor=dask (executor is {cfg.executor})")

    def memory(v: Any) -> bool:
        from dask.utils import parse_bytes  # how dask-jobqueue reads it

        try:
            return isinstance(v, str) and parse_bytes(v) > 0
        except ValueError:
            return False

    slurm_time = r"\d+(:\d{2}){0,2}|\d+-\d+(:\d{2}){0,2}"  # minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS
    walltime = (
        (
            lambda v: (
                isinstance(v, (str, int)) and not isinstance(v, bool) and re.fullmatch(slurm_time, str(v)) is not None
            )
        ),
        "Slurm's time format, such as 02:00:00, 90 (minutes) or 1-12:00:00",
    )
    check_settings(
        cfg,
        {
            "cluster.jobs": whole(1),
            "cluster.cores": whole(1),
            "cluster.processes": optional(whole(1)),
            "cluster.memory": (memory, "a size, such as 2GB or 500MB"),
            "cluster.walltime": walltime,
            "cluster.adaptive": ((lambda v: isinstance(v, bool)), "true or false"),
            "cluster.minimum_jobs": whole(0),
            "cluster.maximum_jobs": whole(1),
            **{f"cluster.{k}": optional(text()) for k in ("queue", "account", "interface", "log_directory")},
        },
    )
    if cfg.cluster.minimum_jobs > cfg.cluster.maximum_jobs:
        raise ConfigError(
            f"invalid value for cluster.minimum_jobs: {cfg.cluster.minimum_jobs} (allowed: at most "
            f"cluster.maximum_jobs = {cfg.cluster.maximum_jobs})"
        )


def load_settings(argv: list[str]) -> DictConfig:
    """Compose configs/sensitivity.yaml with overrides and check every setting; raise ConfigError."""
    from experiments.settings import (
        check_settings,
        check_sobol_size,
        compose_settings,
        fraction,
        one_of,
        optional,
        overrides_list,
        text,
        whole,
    )

    cfg = compose_settings("sensitivity", argv)
    check_settings(
        cfg,
        {
            "method": one_of(*METHODS),
            "n": whole(4, 1 << 20),
            "seed": whole(0, 2**31 - 1),
            "replications": whole(1, 1000),
            "noise_points": optional(whole(2)),
            "noise_replications": whole(2),
            "bootstrap": whole(10),
            "conf_level": fraction(),
            "num_levels": whole(2, 100),
            "executor": one_of(*EXECUTORS),
            "workers": optional(whole(1)),
            "scheduler": optional(text()),
            "batch_size": optional(whole(1)),
            "chunk_size": whole(1),
            "output_dir": optional(text()),
            "shard": optional(text()),
            "dry_run": ((lambda v: isinstance(v, bool)), "true or false"),
            "cores": optional(whole(1)),
            "study.base": overrides_list(),
        },
    )
    if cfg.shard is not None:
        try:
            parse_shard(cfg.shard)
        except ValueError as exc:
            raise ConfigError(f"invalid value for shard: {cfg.shard!r} ({exc})") from None
    check_cluster(cfg)
    if cfg.method == "sobol":
        check_sobol_size("n", cfg.n)
    if cfg.method == "morris" and cfg.num_levels % 2:
        raise ConfigError(f"invalid value for num_levels: {cfg.num_levels} (allowed: an even number for morris)")
    if cfg.noise_points is None:  # a small trial study (n=16) should run without asking for this
        cfg.noise_points = min(DEFAULT_NOISE_POINTS, cfg.n)
    elif cfg.noise_points > cfg.n:
        raise ConfigError(f"invalid value for noise_points: {cfg.noise_points} (allowed: at most n = {cfg.n})")
    return cfg


def plot_indices(indices: pd.DataFrame, method: str, path: Path) -> plt.Figure:
    """One panel per output: levers by leverage with their confidence intervals. Sobol's indices are shares of
    each output's variance and share one axis; Morris's mu* is in each output's own units (trygghet moves far
    less than trust), so each panel has its own axis and the ranking within every output stays visible."""
    outputs = list(OUTPUTS)
    fig, axes = plt.subplots(2, 3, figsize=(16, 9), sharex=method == "sobol")
    key, conf = ("ST", "ST_conf") if method == "sobol" else ("mu_star", "mu_star_conf")
    for ax, o in zip(axes.flat, outputs):
        d = indices[indices.output == o].sort_values(key)
        ax.barh(d.lever, d[key], xerr=d[conf], color="tab:blue", alpha=0.8, label=key)
        if method == "sobol":
            ax.barh(d.lever, d.S1, xerr=d.S1_conf, color="tab:orange", alpha=0.8, height=0.4, label="S1")
        ax.set_title(OUTPUTS[o], fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel("share of the output's variance" if method == "sobol" else "mean absolute effect (0-1 scale)")
    axes.flat[0].legend(loc="lower right")
    fig.suptitle(f"Leverage of each lever ({method}; bars are 95% intervals)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return fig


def plot_over_time(over_time: pd.DataFrame, method: str, path: Path, top: int = 5) -> None:
    key = "ST" if method == "sobol" else "mu_star"
    if over_time.empty or key not in over_time:  # horizons shorter than a year have no yearly leverage
        fig, ax = plt.subplots(figsize=(8, 2))
        ax.text(0.5, 0.5, "no year-end within the horizon: leverage by year not computed", ha="center", va="center")
        ax.axis("off")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return
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


def plot_morris(indices: pd.DataFrame, path: Path) -> None:
    """mu* against sigma per output: levers above the diagonal act mostly through interactions or non-linearly."""
    outputs = list(OUTPUTS)
    fig, axes = plt.subplots(2, 3, figsize=(16, 9), layout="constrained")
    for ax, o in zip(axes.flat, outputs):
        d = indices[indices.output == o]
        ax.scatter(d.mu_star, d.sigma, color="tab:blue")
        for r in d.itertuples():
            ax.annotate(
                r.lever.split(".")[-1], (r.mu_star, r.sigma), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
        top = max(float(d.mu_star.max()), float(d.sigma.max()), 1e-12) * 1.1
        ax.plot([0, top], [0, top], color="grey", ls="--", lw=1, label="sigma = mu*")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel("mu* (mean absolute effect)")
        ax.set_ylabel("sigma (spread of effects)")
        ax.set_title(OUTPUTS[o], fontsize=10)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(loc="upper left")
    fig.suptitle("Morris screening: above the dashed line a lever's effect depends on the others (interactions)")
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


def reaching(d: pd.DataFrame, key: str) -> int:
    """How many levers' intervals (index ± its ``_conf`` half-width) reach the leader's lower bound, the leader
    included: the levers the study cannot tell apart from the first at this n. A lever with no detectable influence
    is not counted: the report names it as such, and once also counted it as "not told apart" from a faint leader."""
    d = d[~no_influence(d, key)]
    if d.empty:
        return 0
    top = d.loc[d[key].idxmax()]
    return int((d[key] + d[f"{key}_conf"] >= top[key] - top[f"{key}_conf"]).sum())


def overlap_words(indices: pd.DataFrame, output: str, key: str) -> str:
    """When other levers' intervals reach the leading lever's, the ranking cannot tell them apart at this n; the
    report says how many (a tiny study once ranked ST 0.88 ± 1.52 above 0.15 ± 0.36 without a word)."""
    tied = reaching(indices[indices.output == output], key)
    if tied < 2:
        return ""
    return (
        f" The first {'two' if tied == 2 else tied} are not told apart at this n: their {key} intervals reach the "
        "first's."
    )


def leader_words(d: pd.DataFrame, key: str, when: str) -> str:
    """``year 1: `lever` (ST 0.41 ± 0.10; 2 others reach its interval)``: the leader of one year's indices, with how
    many it is not told apart from, so that a "shift" between years is not read into levers that are tied."""
    live = d[~no_influence(d, key)]
    if live.empty:
        return f"{when}: none (no lever has a detectable influence)"
    top = live.loc[live[key].idxmax()]  # the leader reaching() counts from
    others = reaching(live, key) - 1
    tied = f"; {counted(others, 'other')} {'reaches' if others == 1 else 'reach'} its interval" if others else ""
    return f"{when}: `{top.lever}` ({key} {top[key]:.2f} ± {top[f'{key}_conf']:.2f}{tied})"


def caution_words(low: float, what: str) -> str:
    """A ranking whose output varies mostly by chance says so: at least half its variance, at the low end of the
    noise share's 95% interval, is ``what`` (a tiny study's trygghet was ranked as firmly as its trust)."""
    if low < 0.5:
        return ""
    return f" Careful: at least {100 * low:.0f}% of its variance is {what} (see below), so this ranking says little."


def noise_words(r, what: str) -> str:
    """One output's noise share in words, with its 95% interval (Bonett's, `sim.sensitivity.noise_share`)."""
    if pd.isna(r.total_variance) or r.total_variance == 0:
        return "the same in every run, so there is no variance to share out."
    if pd.isna(r.noise_share):
        return "too few noise runs to share out the variance (at least two points of two runs each)."
    interval = f"95% interval {100 * r.noise_share_low:.1f}-{100 * r.noise_share_high:.1f}%"
    if r.noise_share_low >= 1:  # the whole interval clipped to 100% (it once read "100.0-100.0%")
        interval = "95% interval: 100% at both ends"
    if r.noise_share >= 1:
        return (
            f"the {what} is as large as the whole design's variation ({interval}): these runs cannot tell the "
            "levers from noise; more design points (`n=`) or replications per point (`replications=`) would."
        )
    return f"{100 * r.noise_share:.1f}% ({interval}) of the output variance is {what}, the rest comes from the levers."


def report(cfg, indices, verdicts, over_time, noise, failures, runs, wall, n_levers, reused=0) -> str:
    method = cfg.method
    key = "ST" if method == "sobol" else "mu_star"
    posterior = "uncertainty=posterior" in " ".join(cfg.study.base)  # replication r runs with posterior draw r
    lines = [
        f"# Which levers matter? Study `{cfg.study.name}`, {method}, n = {cfg.n}",
        "",
        f"{n_levers} levers varied around `{' '.join(cfg.study.base)}`; {runs} model runs, of which "
        f"{runs - reused} computed in this session in {wall:.0f} s ({(runs - reused) / max(wall, 1e-9):.1f} runs/s, "
        f"executor `{cfg.executor}`) and {reused} found in the store. Outcomes are changes from the start "
        "(week 0). Each run uses the base's coefficients ("
        + ("posterior draw r for replication r" if posterior else "the declared, calibrated values")
        + "; which behavioural assumptions decide the answers is `python -m experiments.assumptions`). "
        + (
            "Total index ST: the share of output variance a lever accounts for, alone and with others; S1: alone."
            if method == "sobol"
            else "mu*: mean absolute effect of moving a lever one step across its range (screening)."
        )
        # what "±" covers: it was shown beside every index without a word
        + f" Each ± is the half-width of the {100 * cfg.conf_level:g}% bootstrap interval ({cfg.bootstrap:,} resamples "
        "of the design points): the uncertainty of estimating the index from this many runs.",
        "",
        "## Ranking by leverage",
        "",
    ]
    moved = {o: bool((indices[indices.output == o][key].fillna(0) > 0).any()) for o in OUTPUTS}
    what = "variation between replications (noise and coefficients)" if posterior else "noise between replications"
    noisy = noise.set_index("output").noise_share_low.fillna(0)  # at least half noise, at the interval's low end
    lines += [
        f"- {ranking_sentence(indices, method, o)}"
        + overlap_words(indices, o, key)
        + caution_words(noisy.get(o, 0.0), what)
        if moved[o]
        else f"- For the {OUTPUTS[o]}, no lever moves it here ({key} 0 for each lever)."
        for o in OUTPUTS
    ]
    d = indices[indices.output == "trust_mean_change"].sort_values("rank")
    cols = (
        ["rank", "lever", "ST", "ST_conf", "S1", "S1_conf"]
        if method == "sobol"
        else ["rank", "lever", "mu_star", "mu_star_conf", "sigma"]
    )
    lines += ["", "Change in trust at the horizon:", "", d[cols].round(3).to_markdown(index=False), ""]
    ranked = verdicts[verdicts.output.map(moved)]  # an output no lever moves has no ranking to converge
    stable = ranked.stable.all()
    notes = [
        f"{r.output} {r.spearman_half_vs_full:.2f}"
        + ("" if r.stable else " (unstable)")
        + ("" if r.same_top3_order else " (top three swap order: tied within their intervals)")
        for r in ranked.itertuples()
    ]
    unmoved = [o for o in OUTPUTS if not moved[o]]
    lines += [
        "## Convergence",
        "",
        (
            ("The ranking is **stable**" if stable else "The ranking is **not yet stable**")
            + ": indices were computed at n/4, n/2 and n; stable means the same three levers lead at n/2 and at n "
            "and the rank correlation between n/2 and n is at least 0.9. Rank correlation: " + ", ".join(notes) + "."
            if notes
            else "Nothing to rank: no lever moves any output in this study."
        )
        + (f" Not ranked, as no lever moves them: {', '.join(unmoved)}." if notes and unmoved else ""),
        "",
    ]
    lines += ["## How leverage shifts over time", ""]
    by_year = not over_time.empty and key in over_time  # horizons shorter than a year have no yearly leverage
    if not by_year:
        lines.append("No year-end within the horizon: leverage by year not computed.")
    for m in OVER_TIME if by_year else ():
        d = over_time[over_time.outcome == m]
        tops = [leader_words(d[d.year == y], key, f"year {y}") for y in (1, 2, 3) if (d.year == y).any()]
        lines.append(f"- {m}, the lever with most leverage in " + "; ".join(tops) + ".")
    lines += ["", "## Noise between replications", ""]
    if posterior:  # replication r also draws its coefficients: the spread between them is not noise alone
        lines += [
            "Under `uncertainty=posterior` replication r also runs with posterior draw r, so the variation between "
            "replications below is replication noise *and* parameter uncertainty.",
            "",
        ]
    for r in noise.itertuples():
        lines.append(f"- {OUTPUTS[r.output]}: " + noise_words(r, what))
    lines += ["", "## Failures", ""]
    lines.append(
        "None: every run finished."
        if failures.empty
        else f"{counted(len(failures), 'run')} failed (see failures.csv); the analysis above excludes nothing only "
        "if this list is empty."
    )
    lines += [
        "",
        "Files: indices.csv, ranking.csv, convergence.csv, over_time.csv, noise.csv, failures.csv, "
        "indices.png, over_time.png, convergence.png, config.yaml; runs in sweep/.",
    ]
    return "\n".join(lines) + "\n"


def study_space(cfg: DictConfig):
    """The study's base config (fixed values applied) and its parameter space; ConfigError on a bad one."""
    study = cfg.study
    if not study.vary:
        raise ConfigError("study.vary is empty: name at least one parameter and its range ([low, high] or null)")
    space = make_space(OmegaConf.to_container(study.vary), OmegaConf.to_container(study.fixed))
    for override in study.base:  # base partners.share=0.3 under fixed 0.0 once ran 0.0 "around" 0.3
        key = override_key(str(override))
        if key in space.names or key in space.fixed:
            where = "study.vary varies it" if key in space.names else "study.fixed holds it"
            raise ConfigError(f"study.base sets {override}, but {where}: give {key} in one place")
    base = apply_params(sim.load_config(list(study.base) + ["replications=1"]), dict(space.fixed))
    return base, space


def study_identity(cfg: DictConfig, base, space) -> tuple[str, dict]:
    """What makes a study: base config, space, method, seed and replications (not n: Sobol and Morris designs
    of a larger n start with the smaller one's rows, so a larger study reuses a smaller one's runs)."""
    info = {
        "name": cfg.study.name,
        "method": cfg.method,
        "seed": cfg.seed,
        "replications": cfg.replications,
        "num_levels": cfg.num_levels if cfg.method == "morris" else None,
        "vary": dict(zip(space.names, space.bounds)),
        "base": list(cfg.study.base),
        "fixed": dict(space.fixed),
    }
    text = json.dumps({**info, "base_key": base_key(base, Outcomes())}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12], info


def output_folder(cfg: DictConfig, key: str) -> Path:
    out = (
        Path(cfg.output_dir)
        if cfg.output_dir
        else Path("results/sensitivity") / (f"{cfg.study.name}_{cfg.method}_n{cfg.n}_{key[:8]}")
    )
    return output_path(out)


def run_study(cfg: DictConfig, progress: bool = True) -> Path:
    """Sample, run (resumably), analyse and report one study; returns its folder."""
    base, space = study_space(cfg)
    key, info = study_identity(cfg, base, space)
    out = output_folder(cfg, key)
    design = sample(space, cfg.method, cfg.n, cfg.seed, cfg.num_levels)
    main_plan = plan(base, design, cfg.replications, cfg.seed)
    noise_plan = plan(base, design.iloc[: cfg.noise_points], cfg.noise_replications, cfg.seed)
    ids = main_plan.run_ids()
    specs = main_plan.specs + [s for s in noise_plan.specs if s.run_id not in ids]
    store = SweepStore(out / "sweep")
    if cfg.dry_run:
        return dry_run(cfg, specs, base, out)
    make_output_folder(out)  # marked before the store is made in it, so a rerun may resume there
    study = {**info, "key": key}
    if cfg.shard is not None:
        run_shard(cfg, specs, base, store, study, progress)
        return out
    merge_shards(store, specs)
    reused = len(store.done() & {sp.run_id for sp in specs})  # a job array's merged runs count as found
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = sweep(cfg, specs, base, store, study, progress)
    (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    wall = time.perf_counter() - t0
    failures = store.failures({sp.run_id for sp in specs})
    failures.to_csv(out / "failures.csv", index=False)
    outputs = list(OUTPUTS) + [c for c in results.columns if "_change_y" in c and c.split("_change_y")[0] in OVER_TIME]
    per_run = results.set_index("run_id")[outputs]
    y = main_plan.rows.join(per_run, on="run_id").groupby("point")[outputs].mean()
    missing = int(y[list(OUTPUTS)].isna().any(axis=1).sum() + (len(design) - len(y)))
    if missing:
        return report_incomplete(out, missing, failures)
    y = y.reindex(range(len(design)))
    noise_rows = noise_plan.rows.join(per_run, on="run_id")
    indices, verdicts, over_time, noise = analyse_and_save(cfg, space, design, y, noise_rows, out)
    text = report(cfg, indices, verdicts, over_time, noise, failures, len(specs), wall, len(space.names), reused)
    (out / "report.md").write_text(text)
    print(text)
    print(f"Wrote {out} ({'ST' if cfg.method == 'sobol' else 'mu_star'} ranking in ranking.csv)")
    return out


def sweep_settings(cfg: DictConfig) -> dict[str, Any]:
    """The study's settings for `run_sweep`: executor, workers, scheduler, batch and chunk sizes."""
    names = ("executor", "workers", "scheduler", "batch_size", "chunk_size")
    return {name: cfg[name] for name in names}


def run_shard(cfg: DictConfig, specs, base, store: SweepStore, study: dict, progress: bool) -> None:
    """One task of a job array: its share of the runs, into a store of its own; the report waits for the merge."""
    share = shard_share(specs, cfg.shard)
    sub = shard_store(store, cfg.shard)
    run_sweep(share, base, sub, **sweep_settings(cfg), progress=progress, study=study)
    print(
        f"shard {cfg.shard}: {counted(len(share), 'run')} stored in {sub.root}; when every shard is done, run the "
        "same command without shard= to merge them and report"
    )


def merge_shards(store: SweepStore, specs) -> None:
    """Merge the stores of a job array's tasks, if any, into the study's store, and say what is still missing."""
    if not (store.root / "shards").exists():
        return
    merged = compact(store, {sp.run_id for sp in specs})
    print(
        f"merged {counted(merged['shards_merged'], 'shard')}: {counted(merged['runs'], 'run')} in "
        f"{counted(merged['files_after'], 'file')} (from {merged['files_before']}); "
        f"{counted(merged['missing'], 'planned run')} missing"
    )


def sweep(cfg: DictConfig, specs, base, store: SweepStore, study: dict, progress: bool) -> pd.DataFrame:
    """Run what the store lacks, on the study's executor; a Dask cluster made here is closed here."""
    cluster = make_cluster(OmegaConf.to_container(cfg.cluster)) if cfg.executor == "dask" else None
    try:
        return run_sweep(specs, base, store, **sweep_settings(cfg), progress=progress, study=study, cluster=cluster)
    finally:
        if cluster is not None:
            cluster.close()


def report_incomplete(out: Path, missing: int, failures: pd.DataFrame) -> Path:
    """A report that says the study cannot be analysed yet, and how to resume it."""
    (out / "report.md").write_text(
        f"# Study incomplete\n\n{counted(missing, 'design point')} {'has' if missing == 1 else 'have'} no result; "
        f"{counted(len(failures), 'run')} failed (failures.csv). Fix and run again to resume.\n"
    )
    print(
        f"{counted(missing, 'design point')} missing; {counted(len(failures), 'failure')} listed in "
        f"{out / 'failures.csv'}"
    )
    return out


def analyse_and_save(
    cfg: DictConfig, space, design: pd.DataFrame, y: pd.DataFrame, noise_rows: pd.DataFrame, out: Path
):
    """The indices, their convergence, the indices year by year and the replication-noise share, each saved as a
    table and, where people would rather look, a figure; returns (indices, verdicts, over_time, noise)."""
    kw = {"bootstrap": cfg.bootstrap, "conf_level": cfg.conf_level}
    if cfg.method == "morris":
        kw["num_levels"] = cfg.num_levels
    indices = analyze_all(space, cfg.method, design, y, list(OUTPUTS), cfg.seed, **kw)
    conv, verdicts = convergence(space, cfg.method, design, y, cfg.n, list(OUTPUTS), cfg.seed, **kw)
    over_time = indices_over_time(cfg, space, design, y, kw)
    noise = noise_share(y, noise_rows, list(OUTPUTS), replications=cfg.replications)
    indices.to_csv(out / "indices.csv", index=False)
    indices.pivot(index="lever", columns="output", values="rank").to_csv(out / "ranking.csv")
    conv.to_csv(out / "convergence.csv", index=False)
    verdicts.to_csv(out / "convergence_verdict.csv", index=False)
    over_time.to_csv(out / "over_time.csv", index=False)
    noise.to_csv(out / "noise.csv", index=False)
    plot_indices(indices, cfg.method, out / "indices.png")
    plot_over_time(over_time, cfg.method, out / "over_time.png")
    plot_convergence(conv, cfg.method, out / "convergence.png")
    if cfg.method == "morris":
        plot_morris(indices, out / "morris_mu_sigma.png")
    return indices, verdicts, over_time, noise


def indices_over_time(cfg: DictConfig, space, design: pd.DataFrame, y: pd.DataFrame, kw: dict) -> pd.DataFrame:
    """The indices of each outcome's change after one, two and three years, for the years every run reached."""
    over = []
    for m in OVER_TIME:
        for k in (1, 2, 3):
            col = f"{m}_change_y{k}"
            if col in y and y[col].notna().all():
                over.append(analyze_all(space, cfg.method, design, y, [col], cfg.seed, **kw).assign(outcome=m, year=k))
    return pd.concat(over, ignore_index=True) if over else pd.DataFrame(columns=["outcome", "year", "lever"])


def dry_run(cfg: DictConfig, specs, base, out: Path) -> Path:
    """Print what the study would cost: runs, core-hours (one run timed here), files, wall time on N cores."""
    t0 = time.perf_counter()
    n_timed = 3
    for spec in specs[:n_timed]:
        Outcomes()(apply_params(base, dict(spec.params)), spec, None)
    per_run = (time.perf_counter() - t0) / min(n_timed, len(specs))
    cores = cfg.cores or available_cores()
    core_hours = per_run * len(specs) / 3600
    batch = cfg.batch_size or auto_batch_size(specs[:1], base, Outcomes())
    print(
        f"dry run of {cfg.study.name} ({cfg.method}, n = {cfg.n}): {len(specs):,} runs, {per_run:.3f} s a run "
        f"(timed here) = {core_hours:.2f} core-hours; on {cores} cores about {core_hours / cores * 60:.1f} min; "
        f"{-(-len(specs) // cfg.chunk_size):,} result files of {cfg.chunk_size} runs before compaction, "
        f"{-(-len(specs) // 100_000)} after; batches of {batch} runs; output {out}"
    )
    return out


@says_when_interrupted(RESUMES)
def main(argv: list[str]) -> int:
    return command(lambda: checked(load_settings(argv)), run_study, says_where=False)


def checked(cfg: DictConfig) -> DictConfig:
    """The settings, resolved, with the study's space checked before anything runs."""
    OmegaConf.resolve(cfg)
    study_space(cfg)
    return cfg


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
