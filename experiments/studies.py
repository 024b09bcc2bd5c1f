"""What every ready-made study shares: settings, paired arms, differences with intervals, figures, the run folder.

Arms of a study share their replication seeds (common random numbers): replication r of
every arm starts from the same world and draws the same random numbers wherever the arms'
rules coincide, so a difference reflects the lever, not the luck of the draw. Studies ask the
API (`sim.run`) for tables; they never reach into the model.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402
from scipy import stats  # noqa: E402

import sim  # noqa: E402
from sim.api import CONFIG_DIR, RunResult, config_error_message  # noqa: E402
from sim.params import ConfigError, register  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LABELS = {
    "trust_mean": "Trust in the police (förtroende)",
    "trust_high_share": "Share with high trust",
    "delaktighet_mean": "Delaktighet (police listen and act)",
    "trygghet_mean": "Perceived safety (trygghet)",
    "unsafe_share": "Share feeling unsafe",
    "participation_rate": "Dialogue participation",
    "recorded_crime": "Recorded crime per week",
    "awareness_share": "Aware of the promise",
}
KEY_OUTCOMES = ["trust_mean", "trust_high_share", "delaktighet_mean", "trygghet_mean", "unsafe_share", "recorded_crime"]


def load_study(name: str, argv: Sequence[str]) -> DictConfig:
    """Compose configs/study.yaml with this study's experiment config and the user's overrides."""
    register()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="study", overrides=[f"experiment@study={name}", *argv])
    except Exception as exc:
        raise ConfigError(config_error_message(exc)) from exc
    if not isinstance(cfg.replications, int) or cfg.replications < 2:
        raise ConfigError(
            f"replications must be a whole number of at least 2 (intervals need it), got {cfg.replications!r}"
        )
    return cfg


def arm_overrides(cfg: DictConfig, arm: str | Sequence[str]) -> list[str]:
    """The sim overrides of one arm: the study's common settings, then the arm's own."""
    own = arm.split() if isinstance(arm, str) else list(arm)
    common = [
        f"area={cfg.area}",
        f"replications={cfg.replications}",
        f"seed={cfg.seed}",
        f"horizon_weeks={cfg.horizon_weeks}",
    ]
    if any(o.startswith("area=") for o in own):
        common = [c for c in common if not c.startswith("area=")]
    residents = [f"area.residents={cfg.residents}"] if cfg.residents is not None else []
    return common + own + residents  # residents last: it must survive an arm's area preset


def check_arms(cfg: DictConfig, arms: Sequence[str | Sequence[str]]) -> list[sim.Config]:
    """Validate every arm before anything runs (ConfigError names the bad parameter)."""
    return [sim.load_config(arm_overrides(cfg, a)) for a in arms]


def run_arms(configs: Sequence[sim.Config], labels: Sequence[str], **tables) -> dict[str, RunResult]:
    """Run each arm with a progress bar; replications share seeds across arms."""
    return {label: sim.run(c, progress=True, **tables) for label, c in zip(labels, configs)}


def per_replication(result: RunResult, metric: str, week: int) -> np.ndarray:
    """Change of a metric from week 0 to `week`, one value per replication (for crime: the mean weekly
    count over the last 52 weeks up to `week` minus that of week 0, so the count's noise averages out)."""
    t = result.trajectories
    if metric == "recorded_crime":
        window = t[(t.week > max(0, week - 52)) & (t.week <= week)].groupby("replication")[metric].mean()
        return (window - t[t.week == 0].set_index("replication")[metric]).to_numpy()
    wide = t[t.week.isin([0, week])].pivot(index="replication", columns="week", values=metric)
    return (wide[week] - wide[0]).to_numpy()


def paired_difference(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Mean of a - b over paired replications, its t-interval, and the probability that a beats b."""
    d = np.asarray(a) - np.asarray(b)
    mean = float(d.mean())
    sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
    half = float(stats.t.ppf((1 + level) / 2, d.size - 1) * sd / np.sqrt(d.size)) if d.size > 1 else float("nan")
    return {
        "difference": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "p_beats": float((d > 0).mean()),
        "p_ties": float((d == 0).mean()),
        "replications": int(d.size),
    }


def differences_table(
    results: dict[str, RunResult], reference: str, week: int, metrics: Sequence[str] = KEY_OUTCOMES
) -> pd.DataFrame:
    """Each arm against the reference arm at `week`, paired by replication."""
    rows = []
    for label, res in results.items():
        if label == reference:
            continue
        for m in metrics:
            rows.append(
                {
                    "arm": label,
                    "versus": reference,
                    "metric": m,
                    "week": week,
                    **paired_difference(per_replication(res, m, week), per_replication(results[reference], m, week)),
                }
            )
    return pd.DataFrame(rows)


def change_table(results: dict[str, RunResult], week: int, metrics: Sequence[str] = KEY_OUTCOMES) -> pd.DataFrame:
    """Each arm's own change from week 0 with its 90% band over replications."""
    rows = []
    for label, res in results.items():
        for m in metrics:
            v = per_replication(res, m, week)
            lo, hi = np.quantile(v, [0.05, 0.95])
            rows.append(
                {
                    "arm": label,
                    "metric": m,
                    "week": week,
                    "change": float(v.mean()),
                    "band_low": float(lo),
                    "band_high": float(hi),
                }
            )
    return pd.DataFrame(rows)


def plot_arms(
    results: dict[str, RunResult], path: Path, metrics: Sequence[str], title: str, fontsize: int = 10, ncols: int = 2
) -> None:
    """Trajectories of each arm (mean and 90% band) on shared axes, one panel per metric."""
    nrows = int(np.ceil(len(metrics) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.5 * ncols, 4.2 * nrows), squeeze=False)
    for ax, m in zip(axes.flat, metrics):
        for label, res in results.items():
            g = res.trajectories.groupby("week")[m]
            q = g.quantile([0.05, 0.95]).unstack()
            (line,) = ax.plot(g.mean(), lw=2.5, label=label)
            ax.fill_between(q.index, q[0.05], q[0.95], color=line.get_color(), alpha=0.18)
        ax.set_title(LABELS.get(m, m), fontsize=fontsize + 2)
        ax.set_xlabel("week", fontsize=fontsize)
        ax.tick_params(labelsize=fontsize)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=fontsize)
    fig.suptitle(title, fontsize=fontsize + 4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def output_dir(cfg: DictConfig) -> Path:
    """results/<study>/<date_time>/ with the resolved config beside what the study writes."""
    root = Path(cfg.output_root)
    root = root if root.is_absolute() else ROOT / root
    out = root / cfg.study.name / dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(f"# promise-sim {sim.__version__}\n" + OmegaConf.to_yaml(cfg, resolve=True))
    return out


def fmt_pp(x: float) -> str:
    """A change on the 0-1 scale in percentage points."""
    return f"{100 * x:+.1f} pp"


def main_wrapper(name: str, body: Callable[[DictConfig], Path], argv: Sequence[str]) -> int:
    """Load and validate (exit 2 on a bad value, nothing written), then run the study."""
    try:
        cfg = load_study(name, argv)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        out = body(cfg)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Wrote {out}")
    return 0
