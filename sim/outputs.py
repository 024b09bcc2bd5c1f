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
from .model import METRICS  # noqa: E402
from .params import Config  # noqa: E402

TRAJECTORY_COLUMNS = ["replication", "week", *METRICS]  # week 0 is the state before the first step
PLOTTED = {
    "trust_mean": "Trust in the police (förtroende)",
    "delaktighet_mean": "Delaktighet (police listen and act)",
    "trygghet_mean": "Perceived safety (trygghet)",
    "participation_rate": "Dialogue participation",
}
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
    """The readable summary printed at the end of a run."""
    cfg = result.config
    s = result.summary.set_index("metric")
    lines = [
        f"Scenario {cfg.scenario} on area {cfg.area.name}: {cfg.area.residents} residents, "
        f"{cfg.horizon_weeks} weeks, {len(result.seconds)} replications, seed {cfg.seed}",
        f"{'outcome':<22}{'baseline':>10}{'horizon':>10}{'change':>10}   90% band of change",
    ]
    for m in SUMMARY_ORDER:
        r = s.loc[m]
        lines.append(
            f"{m:<22}{r.baseline:>10.3f}{r.horizon:>10.3f}{r.change:>+10.3f}   "
            f"[{r.change_p05:+.3f}, {r.change_p95:+.3f}]"
        )
    lines.append(
        f"Time per replication: {np.median(result.seconds):.3f} s (median); wall time {result.wall_seconds:.1f} s"
    )
    return "\n".join(lines)


def plot_trajectories(trajectories: pd.DataFrame, path: Path, title: str) -> None:
    """The four outcomes over time: mean across replications with a 90% band."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    grouped = trajectories.groupby("week")
    for ax, (col, label) in zip(axes.flat, PLOTTED.items()):
        q = grouped[col].quantile([0.05, 0.95]).unstack()
        ax.fill_between(q.index, q[0.05], q[0.95], alpha=0.25, label="90% band")
        ax.plot(grouped[col].mean(), lw=2, label="mean")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("week")
    axes[0, 0].legend(loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_run(result: RunResult, out: Path, version: str) -> None:
    """Write the run folder: tables, figure, resolved config and run.json."""
    out.mkdir(parents=True, exist_ok=True)
    cfg = result.config
    result.trajectories[TRAJECTORY_COLUMNS].to_csv(out / "trajectories.csv", index=False)
    result.summary.to_csv(out / "summary.csv", index=False)
    result.neighbourhoods.to_csv(out / "neighbourhoods.csv", index=False)
    result.surveys.to_csv(out / "surveys.csv", index=False)
    result.cycles.to_csv(out / "cycles.csv", index=False)
    (out / "config.yaml").write_text(f"# promise-sim {version}, seed {cfg.seed}\n" + config_yaml(cfg))
    plot_trajectories(
        result.trajectories,
        out / "trajectories.png",
        f"{cfg.scenario} on {cfg.area.name} — {len(result.seconds)} replications",
    )
    run_info = {
        "config_hash": config_hash(cfg),
        "seed": cfg.seed,
        "scenario": cfg.scenario,
        "area": cfg.area.name,
        "package_version": version,
        "python": platform.python_version(),
        "wall_seconds": round(result.wall_seconds, 4),
        "replication_seconds": [round(t, 4) for t in result.seconds],
    }
    (out / "run.json").write_text(json.dumps(run_info, indent=2) + "\n")
