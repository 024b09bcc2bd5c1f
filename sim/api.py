"""run(cfg) -> tables: the one way to run the model, for the CLI, notebooks and studies."""

from __future__ import annotations

import numbers
import textwrap
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from .config import as_overrides, config_of, idle_settings_note, to_config
from .intervals import interval, spread
from .model import METRICS, PromiseModel
from .params import PARAMS, Config, ConfigError, accepts, allowed
from .posterior import check_posterior_config, replication_config
from .problems import expected_crime
from .words import counted

OUTCOMES = ["trust_mean", "trust_high_share", "delaktighet_mean", "participation_rate", "trygghet_mean", "unsafe_share"]


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
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)
    feedback_rounds: pd.DataFrame = field(default_factory=pd.DataFrame)
    draws: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        """What ran and which tables it holds, in a few lines (the default would print every table)."""
        c = self.config
        n = len(self.draws) if len(self.draws) else self.trajectories.get("replication", pd.Series()).nunique()
        tables = [f for f in fields(self) if f.type == "pd.DataFrame" or f.type is pd.DataFrame]
        sizes = ", ".join(f"{f.name}={len(getattr(self, f.name))}" for f in tables)
        head = (
            f"RunResult: {c.scenario} on {c.area.name}, {counted(n, 'replication')} of "
            f"{counted(c.horizon_weeks, 'week')}, seed {c.seed}, uncertainty={c.uncertainty}, {self.wall_seconds:.1f} s"
        )
        return "\n".join([head, *textwrap.wrap(f"rows: {sizes}", 100, initial_indent="  ", subsequent_indent="    ")])


MAP_FIELDS = ("trust", "delaktighet", "trygghet")
TABLE_OPTIONS = ("survey_weeks", "survey_sizes", "survey_draws", "map_weeks", "map_fields")


def listed(name: str, value: Any) -> tuple | None:
    """A table request as a tuple, read once here: one value alone (``survey_weeks=52``, ``map_fields="trust"``)
    or any iterable (a list, a range, a NumPy array, or a generator, which every replication would otherwise
    share and the first would use up)."""
    if value is None:
        return None
    if isinstance(value, (str, numbers.Number)):
        return (value,)
    try:
        return tuple(value)
    except TypeError:
        raise ConfigError(f"invalid value for {name}: {value!r} (allowed: a list of values, or one value)") from None


def check_tables(
    horizon_weeks: int,
    survey_weeks: Sequence[int] | None = None,
    survey_sizes: Sequence[int] | None = None,
    survey_draws: int = 1,
    map_weeks: Sequence[int] = (),
    map_fields: Sequence[str] = ("trust",),
) -> None:
    """Refuse, before anything runs, a table request the run could not answer (ConfigError naming it)."""

    def whole(v: Any, low: int, high: int) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool) and low <= v <= high

    for name, values, low, high in (
        ("survey_weeks", () if survey_weeks is None else survey_weeks, 0, horizon_weeks),
        ("map_weeks", map_weeks, 0, horizon_weeks),
        ("survey_sizes", () if survey_sizes is None else survey_sizes, 1, 100_000),
        ("survey_draws", [survey_draws], 1, 10_000),
    ):
        bad = [v for v in values if not whole(v, low, high)]
        if bad:
            raise ConfigError(f"invalid value in {name}: {bad[0]!r} (allowed: whole numbers from {low} to {high:,})")
    bad = [f for f in map_fields if f not in MAP_FIELDS]
    if bad:
        raise ConfigError(f"invalid value in map_fields: {bad[0]!r} (allowed: {', '.join(MAP_FIELDS)})")


def run_replication(
    cfg: Config | Sequence[str] | str | dict,
    seed: int,
    replication: int = 0,
    survey_weeks: Iterable[int] | int | None = None,
    survey_sizes: Iterable[int] | int | None = None,
    survey_draws: int = 1,
    map_weeks: Iterable[int] | int = (),
    map_fields: Iterable[str] | str = ("trust",),
) -> dict[str, pd.DataFrame]:
    """Run one replication over the horizon and return its tables (``cfg``: a Config, or overrides as sim.run
    takes them).

    Surveys (the virtual survey, its own random stream) are taken at ``survey_weeks`` (default:
    week 0 and the horizon) for each sample size in ``survey_sizes`` (default: the configured
    one), ``survey_draws`` times each. ``map_weeks`` asks for per-cell maps of ``map_fields``.
    """
    cfg = config_of(cfg)
    if not isinstance(replication, numbers.Integral) or isinstance(replication, bool) or replication < 0:
        raise ConfigError(
            f"invalid value for replication: {replication!r} (allowed: a whole number from 0, the rows' label)"
        )
    survey_weeks, survey_sizes = listed("survey_weeks", survey_weeks), listed("survey_sizes", survey_sizes)
    map_weeks, map_fields = listed("map_weeks", map_weeks), listed("map_fields", map_fields)
    check_tables(cfg.horizon_weeks, survey_weeks, survey_sizes, survey_draws, map_weeks, map_fields)
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
            surveys += [
                {"replication": replication, "week": week, "sample_size": size, "draw": draw, **model.survey(size)}
                for size in sizes
                for draw in range(survey_draws)
            ]
        if week in map_weeks:
            maps += [map_table(model.cell_map(name), replication, week, name) for name in map_fields]
    traj = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    traj.insert(0, "week", np.arange(len(traj)))
    traj.insert(0, "replication", replication)
    rounds = pd.DataFrame(
        [{"replication": replication, **r} for r in model.feedback_rounds],
        columns=["replication", "week", "reached", "delivered", "trust_change", "delaktighet_change"],
    )
    return {
        "trajectories": traj,
        "neighbourhoods": neighbourhood_table(hoods0, model.neighbourhoods(), replication),
        "surveys": pd.DataFrame(surveys),
        "cycles": pd.DataFrame([{"replication": replication, **vars(r)} for r in model.cycle.records]),
        "maps": pd.concat(maps, ignore_index=True) if maps else pd.DataFrame(),
        "problems": problem_table(model, cfg, replication),
        "feedback_rounds": rounds,
    }


def map_table(grid: np.ndarray, replication: int, week: int, field: str) -> pd.DataFrame:
    """One per-cell map as rows: x, y and the field's value in each cell."""
    ys, xs = np.indices(grid.shape)
    return pd.DataFrame(
        {
            "replication": replication,
            "week": week,
            "field": field,
            "x": xs.ravel(),
            "y": ys.ravel(),
            "value": grid.ravel(),
        }
    )


def neighbourhood_table(before: dict, after: dict, replication: int) -> pd.DataFrame:
    """Each neighbourhood's residents and its outcomes at baseline and at the horizon."""
    hoods = pd.DataFrame(
        {
            "replication": replication,
            "neighbourhood": np.arange(len(before["residents"])),
            "residents": before["residents"],
        }
    )
    for name in ("trust", "delaktighet", "trygghet", "participation"):
        hoods[f"{name}_baseline"] = before[name]
        hoods[f"{name}_horizon"] = after[name]
    return hoods


def problem_table(model: PromiseModel, cfg: Config, replication: int) -> pd.DataFrame:
    """Each problem in each week: severity, the crime it would be expected to bring, the crime recorded, and
    whether it was worked that week."""
    crime = np.array(model.crime_by_problem)
    severity = np.array(model.severity_by_problem)
    expected = expected_crime(severity, model.problems.recordability, cfg.area.residents, cfg.behaviour.crime_rate)
    weeks, problems = np.indices(crime.shape)
    return pd.DataFrame(
        {
            "replication": replication,
            "week": weeks.ravel(),
            "problem": problems.ravel(),
            "severity": severity.ravel(),
            "expected_crime": expected.ravel(),
            "recorded_crime": crime.ravel(),
            "worked": np.array(model.targeted_by_week).ravel(),
        }
    )


def summarize(trajectories: pd.DataFrame) -> pd.DataFrame:
    """Per metric: mean baseline, mean at the horizon, mean change with its 95% t interval (how sure the mean is)
    and the 90% range of what one district could see (from `RANGE_MIN` replications; NaN from fewer), and the
    mean change averaged over the run."""
    horizon = int(trajectories["week"].max())
    base = trajectories[trajectories.week == 0].set_index("replication")
    last = trajectories[trajectories.week == horizon].set_index("replication")
    over = trajectories[trajectories.week > 0].groupby("replication")[METRICS].mean()
    rows = []
    for m in METRICS:
        change = (last[m] - base[m]).to_numpy()
        mean, ci_low, ci_high = interval(change)
        district_low, district_high = spread(change)
        rows.append(
            {
                "metric": m,
                "baseline": base[m].mean(),
                "horizon": last[m].mean(),
                "change": mean,
                "change_ci_low": ci_low,
                "change_ci_high": ci_high,
                "district_low": district_low,
                "district_high": district_high,
                "change_sd": change.std(ddof=1) if change.size > 1 else float("nan"),
                "mean_change_over_run": (over[m] - base[m]).mean(),
                "replications": change.size,
            }
        )
    return pd.DataFrame(rows)


TABLES = ("trajectories", "neighbourhoods", "surveys", "cycles", "maps", "problems", "feedback_rounds")


def run(cfg: Any, progress: bool = False, replications: int | None = None, **tables: Any) -> RunResult:
    """Run all replications of a config and return the tables (trajectories, summary, neighbourhoods, ...).

    ``cfg`` is a Config, a composed Hydra config, or overrides composed as `python -m sim` would (a list, one
    string, or a dict with dotted or nested keys, such as ``{"area": "suburb", "police": {"effort": 0.5}}``).

    Under ``uncertainty=posterior`` replication r runs with posterior draw r (``RunResult.draws``
    says which); under ``fixed`` every replication uses the declared values. Extra keyword
    arguments (survey_weeks, survey_sizes, survey_draws, map_weeks, map_fields) are passed to
    ``run_replication`` (each a list, range, array, generator or one value, read once and used in
    every replication); maps, when asked for, are in ``RunResult.maps``.
    """
    from tqdm.auto import tqdm

    given = as_overrides(cfg) if isinstance(cfg, (str, list, tuple, dict)) else []
    cfg = to_config(cfg)
    note = idle_settings_note(given, [cfg])
    if note:  # as `python -m sim` prints it
        warnings.warn(note, UserWarning, stacklevel=2)
    n = cfg.replications if replications is None else replications
    spec = PARAMS["replications"]
    if not accepts(spec, n):  # NumPy whole numbers count, as they do in a config
        raise ConfigError(f"invalid value for replications: {n!r} (allowed: {allowed(spec)}; unit: {spec.unit})")
    n = int(n)
    check_posterior_config(cfg)
    unknown = sorted(set(tables) - set(TABLE_OPTIONS))
    if unknown:
        name = unknown[0].replace("__", ".")
        where = (  # seed=5 or police__effort=0.6: a setting of the config, given where the tables' options go
            f"; {name} is a setting of the config: put it there, as in sim.run({{..., '{name}': ...}})"
            if name in PARAMS
            else ""
        )
        raise TypeError(
            f"run() got an unexpected keyword argument {unknown[0]!r} (allowed: replications, progress, "
            f"{', '.join(TABLE_OPTIONS)}){where}"
        )
    # Read once here: a generator would otherwise be used up by the first replication.
    tables = {k: v if k == "survey_draws" else listed(k, v) for k, v in tables.items()}
    seeds = replication_seeds(cfg.seed, n)
    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in TABLES}
    seconds, draws = [], []
    start = time.perf_counter()
    for r, s in enumerate(tqdm(seeds, desc=f"{cfg.scenario} / {cfg.area.name}", unit="rep", disable=not progress)):
        t0 = time.perf_counter()
        rep_cfg, draw = replication_config(cfg, r)
        out = run_replication(rep_cfg, s, r, **tables)
        seconds.append(time.perf_counter() - t0)
        draws.append({"replication": r, "seed": s, "draw": draw})
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
        t["problems"],
        t["feedback_rounds"],
        pd.DataFrame(draws),
    )
