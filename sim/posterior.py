"""The posterior ensemble: plausible values of the uncertain coefficients, from the calibration.

``experiments/calibrate.py`` fits the uncertain coefficients (role "uncertain" in sim/params.py)
to the targets in configs/targets.yaml with ABC-SMC and writes an equally weighted ensemble
(the weighted particles resampled) to ``sim/data/posterior/ensemble.csv``, with the command,
seed and time that made it in ``provenance.json`` beside it. Under ``uncertainty=posterior``
replication r runs with draw r (modulo the ensemble's size), so every arm of a paired
comparison sees the same world and the same seed in replication r.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from .params import PARAMS, UNCERTAIN, Config, ConfigError
from .space import apply_params, value_of

ENSEMBLE_DIR = Path(__file__).resolve().parent / "data" / "posterior"
ENSEMBLE = ENSEMBLE_DIR / "ensemble.csv"


@lru_cache(maxsize=4)
def _read(path: str, mtime: float) -> pd.DataFrame:
    return pd.read_csv(path)


def load_ensemble(path: Path | str | None = None) -> pd.DataFrame:
    """The ensemble: one row per draw, one column per uncertain coefficient (dotted names)."""
    path = Path(path or ENSEMBLE)
    if not path.exists():
        raise ConfigError(
            f"uncertainty=posterior needs the posterior ensemble {path}, which is missing; "
            "run `python -m experiments.calibrate` or use uncertainty=fixed"
        )
    table = _read(str(path), path.stat().st_mtime)
    missing = [n for n in UNCERTAIN if n not in table.columns]
    if missing:
        raise ConfigError(f"the posterior ensemble {path} lacks {', '.join(missing)}; run the calibration again")
    return table


def provenance(path: Path | str | None = None) -> dict[str, Any]:
    """How the committed ensemble was made (command, seed, time, simulations)."""
    p = Path(path or ENSEMBLE).with_name("provenance.json")
    return json.loads(p.read_text()) if p.exists() else {}


def check_posterior_config(cfg: Config, varied: Sequence[str] = (), given: Sequence[str] = ()) -> None:
    """Under posterior uncertainty the draws set every uncertain coefficient: refuse one set by hand (a value
    other than its default, or one named in ``given``, the overrides' keys, even at its default value), or one a
    sweep varies (``varied``: its design's columns), which the draws would silently overwrite."""
    if cfg.uncertainty != "posterior":
        return
    swept = [n for n in varied if n in UNCERTAIN]
    if swept:
        raise ConfigError(
            f"{swept[0]} is varied but uncertainty=posterior draws it from the calibrated ensemble; "
            "use uncertainty=fixed to vary uncertain coefficients yourself"
        )
    changed = [n for n in given if n in UNCERTAIN] + [n for n in UNCERTAIN if value_of(cfg, n) != PARAMS[n].default]
    if changed:
        raise ConfigError(
            f"{changed[0]} is set by hand but uncertainty=posterior draws it from the calibrated ensemble; "
            "use uncertainty=fixed to set uncertain coefficients yourself"
        )


def draw_values(draw: int, path: Path | str | None = None) -> dict[str, float]:
    """The uncertain coefficients of posterior draw ``draw`` (wrapping round the ensemble)."""
    table = load_ensemble(path)
    row = table.iloc[draw % len(table)]
    return {n: float(row[n]) for n in UNCERTAIN}


def replication_config(cfg: Config, replication: int) -> tuple[Config, int | None]:
    """The config replication r runs with, and the posterior draw it uses (None under fixed uncertainty)."""
    if cfg.uncertainty != "posterior":
        return cfg, None
    table = load_ensemble()
    draw = replication % len(table)
    return apply_params(cfg, draw_values(draw)), draw
