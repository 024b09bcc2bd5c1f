"""run(cfg) -> tables: the one way to run the model, for the CLI, notebooks and studies."""

from __future__ import annotations

import numbers
import re
import textwrap
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from .intervals import interval, spread
from .model import METRICS, PromiseModel
from .params import PARAMS, Config, ConfigError, accepts, allowed, register, validate
from .paths import config_dir
from .problems import expected_crime
from .words import counted

CONFIG_DIR = config_dir()
OUTCOMES = ["trust_mean", "trust_high_share", "delaktighet_mean", "participation_rate", "trygghet_mean", "unsafe_share"]


GROUP_KEYS = ("area", "scenario", "experiment")  # config groups: a text value names a preset


def presets(group: str) -> list[str]:
    """The names of the presets in configs/<group>/ (areas, scenarios, studies), sorted; [] for no such group."""
    return sorted(f.stem for f in (CONFIG_DIR / group).glob("*.yaml"))


def unknown_keys(node: Any, prefix: str = "") -> list[str]:
    """Dotted keys of a plain config tree that the declaration does not know (hydra's own are ignored)."""
    from .params import PARAMS

    found = []
    for key, value in node.items():
        name = f"{prefix}{key}"
        if name in ("hydra", "experiment") or name in PARAMS:
            continue
        if isinstance(value, dict) and any(p.startswith(name + ".") for p in PARAMS):
            found += unknown_keys(value, name + ".")
        else:
            found.append(name)
    return found


def leaf_keys(node: dict, prefix: str = "") -> list[str]:
    """The dotted names of a plain config tree's values (police.effort, seed, ...)."""
    found = []
    for key, value in node.items():
        name = f"{prefix}{key}"
        found += leaf_keys(value, name + ".") if isinstance(value, dict) else [name]
    return found


def unknown_message(key: str) -> str:
    """'unknown parameter x' with the closest known names, in one short line."""
    import difflib

    from .params import PARAMS

    group = key.split(".", 1)[0]
    known = sorted(n for n in PARAMS if n.startswith(group + "."))
    if key == group and known:  # police=0.5: a group given a value
        shown = ", ".join(n.split(".", 1)[1] for n in known[:12]) + (", ..." if len(known) > 12 else "")
        return f"{key} is a group, not a parameter: give one of its parameters as {key}.<name>=value ({shown})"
    close = difflib.get_close_matches(key, list(PARAMS), n=3, cutoff=0.6)
    if close:
        return f"unknown parameter {key} (did you mean {' or '.join(close)}?)"
    if known:
        shown = ", ".join(n.split(".", 1)[1] for n in known[:12]) + (", ..." if len(known) > 12 else "")
        return f"unknown parameter {key} (parameters in {group}: {shown}; all are listed in docs/model.md §9)"
    groups = "area, police, promise, feedback, partners, behaviour, survey"
    if "." not in key:
        top = ", ".join(n for n in PARAMS if "." not in n)
        return f"unknown parameter {key} (top level: {top}; groups: {groups}; see docs/model.md §9)"
    return f"unknown parameter {key} (groups: {groups}; see docs/model.md §9)"


def config_of(cfg: Any) -> Any:
    """``cfg`` itself when it has a config's attributes (a Config, or a stand-in with the same ones), else
    ``to_config(cfg)``: overrides, a Hydra config, or a ConfigError naming what was given."""
    return cfg if hasattr(cfg, "horizon_weeks") and not OmegaConf.is_config(cfg) else to_config(cfg)


def to_config(cfg: Any) -> Config:
    """A validated Config from a Hydra/OmegaConf config, overrides (a dict, a list or one string) or a Config;
    raises ConfigError.

    Overrides are composed as `python -m sim` would (``load_config``), so a partial dict gets its scenario's values
    for everything it leaves out, not the schema's defaults, which are no scenario's values; so does a partial
    OmegaConf config (one that leaves out any parameter)."""
    if isinstance(cfg, Config):
        validate(cfg)
        return cfg
    if isinstance(cfg, (str, list, tuple, dict)):  # overrides, as sim.run takes them
        return load_config(cfg)
    if not OmegaConf.is_config(cfg):
        raise ConfigError(
            f"a config is a sim.Config, a Hydra config, or overrides (a dict, a list or one string of key=value), "
            f"not {type(cfg).__name__} {cfg!r}"[:300]
        )
    container = OmegaConf.to_container(cfg, resolve=False) if OmegaConf.is_config(cfg) else cfg
    if isinstance(container, dict):
        if set(PARAMS) - set(leaf_keys(container)):  # a partial config: overrides of its scenario, as a dict is
            return load_config({k: v for k, v in container.items() if k != "hydra"})
        extra = unknown_keys({k: v for k, v in container.items() if k != "hydra"})
        if extra:
            raise ConfigError(unknown_message(extra[0]))
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), cfg)
        obj = OmegaConf.to_object(merged)
    except Exception as exc:  # OmegaConf names the key in its message
        raise ConfigError(config_error_message(exc)) from exc
    validate(obj)
    return obj


def config_error_message(exc: BaseException, known: Sequence[str] | None = None) -> str:
    """One readable line from a Hydra/OmegaConf composition error (``known``: the settings a command takes,
    when it is not the model's own config)."""
    import difflib

    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, InterpolationResolutionError

    from .params import PARAMS, allowed

    cause = exc
    while cause.__cause__ is not None and not getattr(cause, "full_key", None):
        cause = cause.__cause__
    key = getattr(cause, "full_key", None)
    if key and known is not None and isinstance(cause, (ConfigKeyError, ConfigAttributeError)):
        close = difflib.get_close_matches(key, list(known), n=2, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}?" if close else "known: " + ", ".join(known)
        return f"unknown setting {key} ({hint})"
    if (
        key in PARAMS
        and isinstance(cause, (ConfigKeyError, ConfigAttributeError))
        and getattr(cause, "value", 1) is None
    ):
        return f"{key} is not a setting of this command"
    if key and isinstance(cause, InterpolationResolutionError):  # ${...} naming nothing: not an invalid value None
        return f"cannot resolve {key}: {str(cause).splitlines()[0]}"
    if key in PARAMS:
        value = getattr(cause, "value", None)
        spec = PARAMS[key]
        return f"invalid value for {key}: {value!r} (allowed: {allowed(spec)}; unit: {spec.unit})"
    if key and known is not None and key in known:  # a known setting given a mapping for a list, or the like
        given = re.search(r"Error merging override [^=]*=(.*)", str(exc))
        kind = {list: "a list", dict: "a mapping"}.get(getattr(cause, "object_type", None), "another kind of value")
        shown = given.group(1).strip() if given else "this value"
        return f"invalid value for {key}: {shown} (allowed: {kind}, as its default; --help shows it)"
    if key:
        return unknown_message(key)
    missing = re.search(
        r"Could not find '([^/']+)/([^']*)'.*?Available options in '[^']+':\s*(.*?)\s*Config search path",
        str(exc),
        re.S,
    )
    if missing:
        group, name, options = missing.groups()
        what = f"unknown {group} preset {name!r}" if name else f"{group}= needs a preset"
        return f"{what} (available: {', '.join(options.split())})"
    several = re.search(r"(?:Ambiguous value for argument|Sweep parameters) '([^']*)'", str(exc))
    if several:  # Hydra's own words list three ways out, some of which this command does not take
        word = several.group(1)
        return (
            f"{word!r} gives several values where one is needed (a list is key=[a,b]; python -m sim -m {word} sweeps)"
        )
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def flat_items(mapping: dict, prefix: str = "") -> list[tuple[str, Any]]:
    """{"police": {"effort": 0.5}} -> [("police.effort", 0.5)]: nested and dotted keys alike."""
    items = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        items += flat_items(value, name + ".") if isinstance(value, dict) else [(name, value)]
    return items


def as_overrides(overrides: Sequence[str] | str | dict | None) -> list[str]:
    """Overrides as Hydra strings: a list, one string ("a=1 b=2"), or a dict ({"area": "suburb",
    "police.effort": 0.5} or {"police": {"effort": 0.5}}; a group key with a text value picks a preset)."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return checked_words(overrides.split())
    if isinstance(overrides, dict):
        out = []
        for key, value in flat_items(overrides):
            if isinstance(value, bool):
                value = str(value).lower()
            out.append(f"{key}={value}")
        return checked_words(out)
    if not isinstance(overrides, Iterable):
        raise ConfigError(
            f"invalid overrides: {overrides!r} (allowed: a list of 'key=value' strings, one string of them, or a dict)"
        )
    return checked_words([str(o) for o in overrides])


def checked_words(overrides: list[str], otherwise: str = "such as area=suburb or police.effort=0.6") -> list[str]:
    """Overrides as given, once each is known to be key=value that Hydra's parser can read. A bare word such as
    'suburb' is refused naming the preset it may mean (else ``otherwise``), instead of Hydra's 'missing EQUAL' parse
    error; so is Hydra's ~key, which deletes a setting, for any of the model's (every run needs each of them: ~seed
    once ran on the default seed, and crashed python -m sim); anything else the parser cannot read, by
    grammar_message."""
    for word in overrides:
        if word.startswith("~") and not word[1:].startswith(("hydra.", "hydra/")):
            key = word[1:].split("=", 1)[0]
            group = key not in PARAMS and any(name.startswith(f"{key}.") for name in PARAMS)
            hint = f"set its parameters instead ({key}.<name>=...)" if group else f"set it instead ({key}=...)"
            if key in ("area", "scenario"):
                hint = f"choose one instead ({key}={'|'.join(presets(key))})"
            raise ConfigError(f"{word} would remove {key}, which every run needs: {hint}")
        if ("=" not in word and not word.startswith("~")) or word.startswith("="):
            named = re.fullmatch(r"[\w-]+", word) is not None  # a preset's name, not a path
            groups = [g for g in ("area", "scenario") if named and (CONFIG_DIR / g / f"{word}.yaml").is_file()]
            hint = "such as " + " or ".join(f"{g}={word}" for g in groups) if groups else otherwise
            raise ConfigError(f"{word!r} needs a key: give key=value ({hint})")
        key, _, value = word.partition("=")
        if key.lstrip("+") in ("area", "scenario") and value in ("null", "~"):  # Hydra: 'Got NoneType'
            raise ConfigError(f"{word} needs a preset (available: {', '.join(presets(key.lstrip('+')))})")
    unreadable = grammar_message(overrides)
    if unreadable:
        raise ConfigError(unreadable)
    return overrides


def load_config(overrides: Sequence[str] | str | dict = (), config_name: str = "config") -> Config:
    """Compose the project's Hydra config with overrides, as `python -m sim` would, and validate it.

    ``overrides`` may be a list of "key=value" strings, one string of them, or a dict.
    """
    overrides = as_overrides(overrides)
    register()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=list(overrides))
    except Exception as exc:
        raise ConfigError(config_error_message(exc)) from exc
    config = to_config(cfg)
    from .posterior import check_posterior_config

    # an uncertain coefficient named at its default value was once taken, then overwritten by the draws
    check_posterior_config(config, given=[o.split("=", 1)[0].lstrip("+") for o in overrides])
    return config


def grammar_message(overrides: Sequence[str]) -> str | None:
    """The first override Hydra's parser cannot read, named, with what it found there (None: all read); Hydra's own
    message may not name it, and lists the parser's tokens and a link."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for o in overrides:
        try:
            parser.parse_overrides([o])
        except Exception as exc:
            text = " ".join(str(exc).split()).split(" See https://")[0]
            found = re.sub(r" expecting (\{[^}]*\}|\S+)", "", re.sub(r"^Error parsing override '.*?' ", "", text))
            found = "" if found.startswith("LexerNoViableAltException") else f": {found}"
            return f"cannot read the override {o!r}{found} (an override is key=value, a list key=[a,b])"
    return None


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
    cycles = pd.DataFrame([{"replication": replication, **vars(r)} for r in model.cycle.records])
    crime = np.array(model.crime_by_problem)
    targeted = np.array(model.targeted_by_week)
    severity = np.array(model.severity_by_problem)
    expected = expected_crime(severity, model.problems.recordability, cfg.area.residents, cfg.behaviour.crime_rate)
    weeks, problems = np.indices(crime.shape)
    problem_table = pd.DataFrame(
        {
            "replication": replication,
            "week": weeks.ravel(),
            "problem": problems.ravel(),
            "severity": severity.ravel(),
            "expected_crime": expected.ravel(),
            "recorded_crime": crime.ravel(),
            "worked": targeted.ravel(),
        }
    )
    rounds = pd.DataFrame(
        [{"replication": replication, **r} for r in model.feedback_rounds],
        columns=["replication", "week", "reached", "delivered", "trust_change", "delaktighet_change"],
    )
    return {
        "trajectories": traj,
        "neighbourhoods": hoods,
        "surveys": pd.DataFrame(surveys),
        "cycles": cycles,
        "maps": pd.concat(maps, ignore_index=True) if maps else pd.DataFrame(),
        "problems": problem_table,
        "feedback_rounds": rounds,
    }


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

    from .posterior import check_posterior_config, replication_config

    cfg = to_config(cfg)
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
