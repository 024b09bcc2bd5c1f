"""run(cfg) -> tables: the one way to run the model, for the CLI, notebooks and studies."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from .model import METRICS, PromiseModel
from .params import Config, ConfigError, register, validate

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
OUTCOMES = ["trust_mean", "trust_high_share", "delaktighet_mean", "participation_rate", "trygghet_mean", "unsafe_share"]


def to_config(cfg: Any) -> Config:
    """A validated Config from a Hydra/OmegaConf config, a dict or a Config; raises ConfigError."""
    if isinstance(cfg, Config):
        validate(cfg)
        return cfg
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), cfg)
        obj = OmegaConf.to_object(merged)
    except Exception as exc:  # OmegaConf names the key in its message
        raise ConfigError(config_error_message(exc)) from exc
    validate(obj)
    return obj


def config_error_message(exc: BaseException) -> str:
    """One readable line from a Hydra/OmegaConf composition error."""
    from .params import PARAMS, allowed

    cause = exc
    while cause.__cause__ is not None and not getattr(cause, "full_key", None):
        cause = cause.__cause__
    key = getattr(cause, "full_key", None)
    if key in PARAMS:
        value = getattr(cause, "value", None)
        spec = PARAMS[key]
        return f"invalid value for {key}: {value!r} (allowed: {allowed(spec)}; unit: {spec.unit})"
    if key:
        group = key.rsplit(".", 1)[0] if "." in key else ""
        known = sorted(n for n in PARAMS if n.startswith(group + ".")) if group else sorted(PARAMS)
        return f"unknown parameter {key} (known parameters{' in ' + group if group else ''}: {', '.join(known)})"
    missing = re.search(
        r"Could not find '([^/']+)/([^']+)'.*?Available options in '[^']+':\s*(.*?)\s*Config search path",
        str(exc),
        re.S,
    )
    if missing:
        group, name, options = missing.groups()
        return f"unknown {group} preset {name!r} (available: {', '.join(options.split())})"
    return " ".join(str(exc).split())


def load_config(overrides: Sequence[str] = (), config_name: str = "config") -> Config:
    """Compose the project's Hydra config with overrides, as `python -m sim` would, and validate it."""
    register()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=list(overrides))
    except Exception as exc:
        raise ConfigError(config_error_message(exc)) from exc
    return to_config(cfg)


def replication_seeds(seed: int, replications: int) -> list[int]:
    """Independent seeds per replication, spawned from the master seed (numpy SeedSequence).

    Replication r gets the same seed in every scenario run with the same master seed, so
    arms compared at the same seed share their random numbers where their rules coincide.
    """
    children = np.random.SeedSequence(seed).spawn(replications)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


@dataclass
class RunResult:
    """Everything one scenario run produced, as tables."""

    config: Config
    trajectories: pd.DataFrame
    summary: pd.DataFrame
    neighbourhoods: pd.DataFrame
    surveys: pd.DataFrame
    cycles: pd.DataFrame
    seconds: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    maps: pd.DataFrame = field(default_factory=pd.DataFrame)


def run_replication(
    cfg: Config,
    seed: int,
    replication: int = 0,
    survey_weeks: Sequence[int] | None = None,
    survey_sizes: Sequence[int] | None = None,
    survey_draws: int = 1,
    map_weeks: Sequence[int] = (),
    map_fields: Sequence[str] = ("trust",),
) -> dict[str, pd.DataFrame]:
    """Run one replication over the horizon and return its tables.

    Surveys (the virtual survey, its own random stream) are taken at ``survey_weeks`` (default:
    week 0 and the horizon) for each sample size in ``survey_sizes`` (default: the configured
    one), ``survey_draws`` times each. ``map_weeks`` asks for per-cell maps of ``map_fields``.
    """
    model = PromiseModel(cfg, seed=seed)
    survey_weeks = {0, cfg.horizon_weeks} if survey_weeks is None else set(survey_weeks)
    sizes = [cfg.survey.sample_size] if survey_sizes is None else list(survey_sizes)
    map_weeks = set(map_weeks)
    hoods0 = model.neighbourhoods()
    surveys, maps = [], []
    for week in range(cfg.horizon_weeks + 1):
        if week > 0:
            model.step()
        if week in survey_weeks:
            for size in sizes:
                for draw in range(survey_draws):
                    surveys.append(
                        {
                            "replication": replication,
                            "week": week,
                            "sample_size": size,
                            "draw": draw,
                            **model.survey(size),
                        }
                    )
        if week in map_weeks:
            for name in map_fields:
                grid = model.cell_map(name)
                ys, xs = np.indices(grid.shape)
                maps.append(
                    pd.DataFrame(
                        {
                            "replication": replication,
                            "week": week,
                            "field": name,
                            "x": xs.ravel(),
                            "y": ys.ravel(),
                            "value": grid.ravel(),
                        }
                    )
                )
    traj = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    traj.insert(0, "week", np.arange(len(traj)))
    traj.insert(0, "replication", replication)
    hoods1 = model.neighbourhoods()
    hoods = pd.DataFrame(
        {
            "replication": replication,
            "neighbourhood": np.arange(len(hoods0["residents"])),
            "residents": hoods0["residents"],
        }
    )
    for name in ("trust", "delaktighet", "trygghet", "participation"):
        hoods[f"{name}_baseline"] = hoods0[name]
        hoods[f"{name}_horizon"] = hoods1[name]
    cycles = pd.DataFrame(
        [{"replication": replication, **vars(r), "targets": " ".join(map(str, r.targets))} for r in model.cycle.records]
    )
    return {
        "trajectories": traj,
        "neighbourhoods": hoods,
        "surveys": pd.DataFrame(surveys),
        "cycles": cycles,
        "maps": pd.concat(maps, ignore_index=True) if maps else pd.DataFrame(),
    }


def band(values: np.ndarray, level: float = 0.90) -> tuple[float, float]:
    """Central band across replications (default 90%)."""
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def summarize(trajectories: pd.DataFrame) -> pd.DataFrame:
    """Per metric: mean baseline, mean at the horizon, mean change and its 90% band over replications,
    and the mean change averaged over the run."""
    horizon = int(trajectories["week"].max())
    base = trajectories[trajectories.week == 0].set_index("replication")
    last = trajectories[trajectories.week == horizon].set_index("replication")
    over = trajectories[trajectories.week > 0].groupby("replication")[METRICS].mean()
    rows = []
    for m in METRICS:
        change = (last[m] - base[m]).to_numpy()
        lo, hi = band(change)
        rows.append(
            {
                "metric": m,
                "baseline": base[m].mean(),
                "horizon": last[m].mean(),
                "change": change.mean(),
                "change_p05": lo,
                "change_p95": hi,
                "change_sd": change.std(ddof=1) if change.size > 1 else 0.0,
                "mean_change_over_run": (over[m] - base[m]).mean(),
                "replications": change.size,
            }
        )
    return pd.DataFrame(rows)


def run(cfg: Any, progress: bool = False, replications: int | None = None, **tables: Any) -> RunResult:
    """Run all replications of a config and return the tables (trajectories, summary, neighbourhoods, ...).

    Extra keyword arguments (survey_weeks, survey_sizes, survey_draws, map_weeks, map_fields) are
    passed to ``run_replication``; maps, when asked for, are in ``RunResult.maps``.
    """
    from tqdm.auto import tqdm

    cfg = to_config(cfg)
    n = cfg.replications if replications is None else replications
    seeds = replication_seeds(cfg.seed, n)
    parts: dict[str, list[pd.DataFrame]] = {
        k: [] for k in ("trajectories", "neighbourhoods", "surveys", "cycles", "maps")
    }
    seconds = []
    start = time.perf_counter()
    for r, s in enumerate(tqdm(seeds, desc=f"{cfg.scenario} / {cfg.area.name}", unit="rep", disable=not progress)):
        t0 = time.perf_counter()
        out = run_replication(cfg, s, r, **tables)
        seconds.append(time.perf_counter() - t0)
        for k, v in out.items():
            parts[k].append(v)
    t = {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}
    return RunResult(
        cfg,
        t["trajectories"],
        summarize(t["trajectories"]),
        t["neighbourhoods"],
        t["surveys"],
        t["cycles"],
        seconds,
        time.perf_counter() - start,
        t["maps"],
    )
