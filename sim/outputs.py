"""What a run leaves behind: the readable summary, the run folder's tables, figure and provenance."""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from .api import RunResult  # noqa: E402
from .intervals import RANGE_MIN, by_week, no_range_words  # noqa: E402
from .model import METRICS  # noqa: E402
from .params import Config  # noqa: E402
from .version import code_version  # noqa: E402
from .words import counted, signed  # noqa: E402

TRAJECTORY_COLUMNS = ["replication", "week", *METRICS]  # week 0 is the state before the first step
PLOTTED = {
    "trust_mean": "Trust in the police (förtroende)",
    "delaktighet_mean": "Delaktighet (police listen and act)",
    "trygghet_mean": "Perceived safety (trygghet)",
    "participation_rate": "Dialogue participation",
}
DISTRICT = "one district could see (90%)"
SUMMARY_ORDER = [
    "trust_mean",
    "trust_high_share",
    "delaktighet_mean",
    "participation_rate",
    "trygghet_mean",
    "unsafe_share",
    "awareness_share",
    "recorded_crime",
    "delivery_ratio",
]


def config_yaml(cfg: Config) -> str:
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


def config_hash(cfg: Config) -> str:
    """Short, stable hash of the resolved config (seed included)."""
    return hashlib.sha256(config_yaml(cfg).encode()).hexdigest()[:12]


def summary_text(result: RunResult) -> str:
    """The readable summary printed at the end of a run: each change with how sure its mean is and, from
    `RANGE_MIN` replications, what one district could see."""
    cfg = result.config
    s = result.summary.set_index("metric")
    n = len(result.seconds)
    lines = [
        f"Scenario {run_label(cfg)} on area {cfg.area.name}: {cfg.area.residents:,} residents, "
        f"{counted(cfg.horizon_weeks, 'week')}, {counted(n, 'replication')}, seed {cfg.seed}",
        f"{interval_words(cfg).capitalize()}."
        if n > 1
        else "Intervals: none; one replication shows no spread (run at least 2).",
        f"{'outcome':<22}{'baseline':>10}{'horizon':>10}{'change':>10}   {'95% interval of the mean':<27}{DISTRICT}",
    ]
    for m in SUMMARY_ORDER:
        r = s.loc[m]
        lines.append(
            f"{m:<22}{r.baseline:>10.3f}{r.horizon:>10.3f}{signed(r.change):>10}   "
            f"{bounds(r.change_ci_low, r.change_ci_high):<27}{bounds(r.district_low, r.district_high)}"
        )
    if 1 < n < RANGE_MIN:
        lines.append(no_range_words(n, "replications"))
    lines.append(
        f"Time per replication: {np.median(result.seconds):.3f} s (median); wall time {result.wall_seconds:.1f} s"
    )
    return "\n".join(lines)


def bounds(low: float, high: float) -> str:
    """``[-0.002, +0.004]``, or a dash where there is no interval (too few replications)."""
    return f"[{signed(low)}, {signed(high)}]" if np.isfinite(low) and np.isfinite(high) else "—"


def plot_trajectories(trajectories: pd.DataFrame, path: Path, title: str) -> plt.Figure:
    """The four outcomes over time, on the scale of summary.csv: the mean across replications with its 95%
    interval and, from `RANGE_MIN` replications, the 90% range of what one district could see."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    n = trajectories.replication.nunique()
    for ax, (col, label) in zip(axes.flat, PLOTTED.items()):
        w = by_week(trajectories, col)
        if n >= RANGE_MIN:
            ax.fill_between(w.week, w.district_low, w.district_high, alpha=0.12, color="C0", label=DISTRICT)
        if n > 1:  # one replication has no spread to draw
            ax.fill_between(w.week, w.ci_low, w.ci_high, alpha=0.35, color="C0", label="95% interval of the mean")
        ax.plot(w.week, w["mean"], lw=2, color="C0", label="mean")
        ax.set_title(label)
        ax.set_ylabel("share of residents (0-1)" if col == "participation_rate" else "mean (0-1 scale)")
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("week")
    axes[0, 0].legend(loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return fig


IDENTITY = ["run", "scenario", "area"]  # every table a run writes starts with these columns


def run_label(cfg: Config) -> str:
    """What was run, for folder names and titles: the scenario, marked when its promise work was switched off."""
    if not cfg.promise.active and cfg.scenario != "no_promise":
        return f"{cfg.scenario}-promise_off"
    return cfg.scenario


def with_identity(table: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """The table with the run's identity in front: config hash, scenario label, area."""
    ident = pd.DataFrame(
        {"run": config_hash(cfg), "scenario": run_label(cfg), "area": cfg.area.name}, index=table.index
    )
    return pd.concat([ident, table.drop(columns=[c for c in IDENTITY if c in table], errors="ignore")], axis=1)


def write_run(result: RunResult, out: Path, version: str) -> None:
    """Write the run folder: tables, figure, resolved config, and run.json last, as the mark of a whole run.

    Everything is written into a hidden staging folder inside ``out`` and then moved into place; an
    older run's run.json is removed first, so a folder is whole exactly when its run.json says so.
    """
    import shutil
    import uuid

    cfg = result.config
    out.mkdir(parents=True, exist_ok=True)
    stage = out / f".partial-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        tables = {
            "trajectories.csv": result.trajectories[TRAJECTORY_COLUMNS],
            "summary.csv": result.summary,
            "neighbourhoods.csv": result.neighbourhoods,
            "surveys.csv": result.surveys,
            "cycles.csv": result.cycles,
            "feedback_rounds.csv": result.feedback_rounds,
            "draws.csv": result.draws,
        }
        for name, table in tables.items():
            with_identity(table, cfg).to_csv(stage / name, index=False)
        (stage / "config.yaml").write_text(f"# promise-sim {version}, seed {cfg.seed}\n" + config_yaml(cfg))
        plot_trajectories(
            result.trajectories,
            stage / "trajectories.png",
            f"{run_label(cfg)} on {cfg.area.name} — {counted(len(result.seconds), 'replication')} "
            f"({interval_words(cfg)})",
        )
        (out / "run.json").unlink(missing_ok=True)
        for f in stage.iterdir():
            f.replace(out / f.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    run_info = {
        "complete": True,
        "config_hash": config_hash(cfg),
        "seed": cfg.seed,
        "scenario": run_label(cfg),
        "area": cfg.area.name,
        "uncertainty": cfg.uncertainty,
        "intervals": interval_words(cfg),
        "package_version": version,
        "code_version": code_version(),
        "python": platform.python_version(),
        "wall_seconds": round(result.wall_seconds, 4),
        "replication_seconds": [round(t, 4) for t in result.seconds],
    }
    tmp = out / ".run.json.tmp"
    tmp.write_text(json.dumps(run_info, indent=2) + "\n")
    tmp.replace(out / "run.json")


def interval_words(cfg: Config) -> str:
    """What the intervals and ranges of a run cover, in words."""
    if cfg.uncertainty == "posterior":
        return "intervals cover parameter and replication uncertainty: replication r uses posterior draw r"
    return "intervals cover replication noise only, at the declared coefficients"
