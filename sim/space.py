"""One parameter space: which parameters vary (bounds from the declaration, optionally narrowed)
and which are fixed, by dotted name. Feeds sampling (SALib problem) and the sweep engine."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .params import PARAMS, Config, ConfigError, _lookup, allowed, validate


def value_of(cfg: Config, name: str) -> Any:
    """The value of a dotted parameter name in a config."""
    return _lookup(cfg, name)


@dataclass(frozen=True)
class ParameterSpace:
    """Varying parameters with their sampling bounds, and fixed values, by dotted name."""

    names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def problem(self) -> dict:
        """The SALib problem: the whole space as one piece of data."""
        return {"num_vars": len(self.names), "names": list(self.names), "bounds": [list(b) for b in self.bounds]}


RUN_SETTINGS = ("seed", "replications", "horizon_weeks")  # how a study runs, set once for all its runs


def check_variable(name: str, label: str) -> None:
    """Refuse a run setting as a study's varied parameter (ConfigError): a sweep sets each run's seed and runs one
    replication a point, and its outputs are read at one horizon, so varying these ran and reported nonsense."""
    if name in RUN_SETTINGS:
        raise ConfigError(
            f"{name} cannot be varied in {label}: it sets how the study runs, for all its runs "
            f"(give {name}=... on the command line)"
        )


def make_space(
    vary: Mapping[str, Any], fixed: Mapping[str, Any] | None = None, label: str = "study.vary"
) -> ParameterSpace:
    """Build a space. ``vary`` maps a parameter to None (its declared bounds) or [low, high] inside them;
    ``label`` names the list in error messages (e.g. study.conditions)."""
    names, bounds = [], []
    for name, narrowed in vary.items():
        if name not in PARAMS:
            raise ConfigError(f"unknown parameter {name} in {label}")
        check_variable(name, label)
        spec = PARAMS[name]
        if spec.type not in (int, float):
            raise ConfigError(f"{name} is {spec.type.__name__} and cannot be varied continuously")
        if narrowed is not None and not is_pair(narrowed):
            raise ConfigError(
                f"bounds for {name} in {label}: {narrowed!r} must be [low, high], two numbers inside "
                f"the declared {spec.low:g} to {spec.high:g} (or null for all of it)"
            )
        lo, hi = (spec.low, spec.high) if narrowed is None else (float(narrowed[0]), float(narrowed[1]))
        if not (spec.low <= lo < hi <= spec.high):
            raise ConfigError(
                f"bounds for {name} in {label}: [{lo:g}, {hi:g}] must be increasing and inside "
                f"the declared {spec.low:g} to {spec.high:g}"
            )
        names.append(name)
        bounds.append((lo, hi))
    fixed = dict(fixed or {})
    for name in fixed:
        if name not in PARAMS:
            raise ConfigError(f"unknown parameter {name} in study.fixed")
        if name in vary:
            raise ConfigError(f"{name} is both varied and fixed")
    return ParameterSpace(tuple(names), tuple(bounds), fixed)


def is_pair(value: Any) -> bool:
    """Whether a value is [low, high]: a list of two numbers."""
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
    )


def apply_params(cfg: Config, values: Mapping[str, Any]) -> Config:
    """A copy of ``cfg`` with dotted-name values set (whole numbers rounded for int parameters), validated."""
    groups: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for name, value in values.items():
        if name not in PARAMS:
            raise ConfigError(f"unknown parameter {name}")
        spec = PARAMS[name]
        try:
            if spec.type is int:
                value = int(round(float(value)))
            elif spec.type is float:
                value = float(value)
            elif spec.type is bool and not isinstance(value, bool):
                value = bool(round(float(value)))
        except (TypeError, ValueError):
            raise ConfigError(
                f"invalid value for {name}: {value!r} (allowed: {allowed(spec)}; unit: {spec.unit})"
            ) from None
        group, _, key = name.partition(".")
        if key:
            groups.setdefault(group, {})[key] = value
        else:
            top[group] = value
    new = dataclasses.replace(cfg, **top, **{g: dataclasses.replace(getattr(cfg, g), **kv) for g, kv in groups.items()})
    validate(new)
    return new
