"""Instant what-if for planners: `sim.whatif(area="suburb", police__effort=0.6)`.

Answers from the emulator shipped in sim/data/emulator/ (built by `python -m experiments.emulator build
install=true`): the gain against no promise after one, two and three years, in percentage points of
residents. The emulator is asked once for each of 64 posterior draws of the behavioural coefficients; the answer
is the mean over the draws (the gain expected across the plausible worlds, what simulating them estimates; the
gains are skewed, and in vulnerable_district their median sat 2.1 to 3.7 standard errors below the simulated
mean of the trust gain, docs/emulator.md). Its 90% interval is that of the mixture of the draws' predictive
distributions, each taken as normal with the emulator's own 90% interval for that draw, so it covers the plausible
worlds, replication noise and the emulator's own error. Simulated, it held 86-94% of the worlds it asks about in
eight settings and 88-93% at three corners of the training box (docs/emulator.md). Levers not given take the
full-implementation scenario's values; a lever outside the emulator's training box is refused with its range; a
setting with three or more levers near an end of their range is named as one to check (`attrs["corner"]`): the
emulator errs more there, and its interval is wider. `sim.run` checks any answer with real simulations. An
emulator trained on other model code (a rule changed since) still answers, with a warning naming both versions.
"""

from __future__ import annotations

import numbers
import textwrap
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

from .config import load_config, presets
from .emulator import LEVEL, Emulator, OutsideTrainingBox
from .params import PARAMS, UNCERTAIN, ConfigError
from .posterior import load_ensemble
from .space import RUN_SETTINGS, value_of
from .version import code_version
from .words import joined

OUTCOMES = {
    "trust_high_share": "high confidence in the police",
    "delaktighet_high_share": "'the police listen and act'",
    "unsafe_share": "feeling unsafe",
}


def stale_message(recorded: str | None, current: str) -> str | None:
    """What to tell a user whose model code differs from the code the emulator was trained on (None: the same)."""
    if recorded == current:
        return None
    return (
        f"the emulator was trained on model code {recorded}, this is {current}: its answers describe the model as it "
        "was; rebuild it with `python -m experiments.emulator build install=true`"
    )


@lru_cache(maxsize=1)
def emulator() -> Emulator:
    """The shipped emulator, loaded once; a warning if the model's code has changed since it was trained."""
    em = Emulator.load()
    message = stale_message(em.info.get("code_version"), code_version())
    if message:
        warnings.warn(message, stacklevel=2)
    return em


# Posterior draws a what-if asks the emulator about, evenly through the 256: each costs time on every slider
# move. Against all 256, the answer moved by 0.13 pp in the median and the interval's ends by at most 15% of its
# width in 6 of 10 random settings, 25% at worst (docs/emulator.md).
DRAWS = 64


@lru_cache(maxsize=1)
def _draws() -> pd.DataFrame:
    """The posterior draws of the coefficients the emulator takes as inputs (one row per draw): every
    ``len(ensemble) // DRAWS``-th one, evenly through the ensemble."""
    names = [n for n in emulator().inputs if n in UNCERTAIN]
    ensemble = load_ensemble()
    return ensemble[names].iloc[:: max(1, len(ensemble) // DRAWS)].reset_index(drop=True)


@lru_cache(maxsize=16)
def _defaults(area: str) -> tuple[tuple[str, float], ...]:
    em = emulator()
    cfg = load_config([f"scenario={em.info.get('scenario', 'full_implementation')}", f"area={area}"])
    return tuple((n, float(value_of(cfg, n))) for n in em.inputs if n != "area" and n not in _draws().columns)


def defaults(area: str = "default") -> dict[str, float]:
    """The emulator's levers at the scenario it was trained on (composed once per area)."""
    if not isinstance(area, str) or "=" in area:  # whatif({"police.effort": 0.6}) or whatif("police.effort=0.6")
        names = ", ".join(presets("area"))
        raise ConfigError(
            f"area must name an area preset ({names}), not {area!r}; levers are keyword arguments, "
            "such as whatif('suburb', **{'police.effort': 0.6})"
        )
    return dict(_defaults(area))


SHORT = {  # the outcomes' names in the printed answer, short enough for three years in 80 columns
    "trust_high_share": "high confidence",
    "delaktighet_high_share": "'listen and act'",
    "unsafe_share": "feeling unsafe",
}


def indented(text: str) -> list[str]:
    """A printed what-if's paragraph: lines of at most 80 columns, indented by two."""
    return textwrap.wrap(text, width=80, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)


class WhatIf(pd.DataFrame):
    """`whatif`'s answer: a table, one row per outcome and year, that prints as a short report.

    Printed as a plain table it would be cut to its first and last columns in a terminal, hiding the gain and
    its interval; anything computed from it (a selection, `.round()`) is a plain DataFrame again.
    """

    @property
    def _constructor(self):
        return pd.DataFrame

    def __repr__(self) -> str:
        a = self.attrs
        if not {"area", "given", "worlds"} <= set(a) or len(self) != len(OUTCOMES) * 3:
            return pd.DataFrame(self).__repr__()
        covers = joined(self.covers.iloc[0].split(" + "))
        given = ", ".join(f"{k}={v:g}" for k, v in a["given"].items()) or "none"
        lines = [
            f"What-if in {a['area']}: gain against no promise, percentage points of residents",
            *indented(f"set: {given}; other levers at {a['scenario']}"),
            f"  mean over {a['worlds']} plausible worlds; in brackets the 90% interval, covering",
            f"  {covers}",
            f"{'':18}" + "".join(f"{'year ' + str(y):>20}" for y in (1, 2, 3)),
        ]
        for metric, d in self.groupby("outcome", sort=False):
            cells = "".join(f"{f'{r.gain_pp:+.1f} [{r.low_pp:+.1f}, {r.high_pp:+.1f}]':>20}" for r in d.itertuples())
            lines.append(f"{SHORT[metric]:18}{cells}")
        if a.get("corner"):  # a corner of the training box: named, as one to check
            text = (
                f"Near an end of their range: {joined(a['corner'])}. In such a corner of its training box the "
                "emulator errs more and its interval is wider: check this setting with sim.run."
            )
            lines += indented(text)
        return "\n".join(lines)

    __str__ = __repr__


def untrained_area(area: str, trained: list[str], scenario: str = "full_implementation") -> str:
    """Why `whatif` cannot answer for an area preset the emulator was not built on, with the study that simulates
    the same answer (the scenario against no promise, paired) for it."""
    arms = f'\'study.arms=["scenario=no_promise","scenario={scenario}"]\''
    return (
        f"area {area} is not one the emulator was built on ({', '.join(trained)}); simulate its gain against no "
        f"promise instead: python -m experiments.compare area={area} {arms} (levers as overrides, such as "
        "police.effort=0.6)"
    )


def not_a_lever(name: str, levers: list[str], scenario: str = "full_implementation") -> str:
    """Why `whatif` cannot set ``name``, in one line: a near miss of a lever's name, a coefficient the answer already
    spans, or a parameter the emulator holds as the area and scenario set it (a simulation can set any of them)."""
    import difflib

    close = difflib.get_close_matches(name, levers, n=2, cutoff=0.6)
    if close:
        return f"{name} is not one of the emulator's levers (did you mean {' or '.join(close)}?)"
    by_end = [p for p in PARAMS if p.endswith("." + name)]  # a name without its group: trust_memory_weeks
    full = by_end[0] if name not in PARAMS and len(by_end) == 1 else name
    shown = name if full == name else f"{name} ({full})"

    def simulate(more: str = "") -> str:
        # one key each: it once suggested {'scenario': 'full_implementation', ..., 'scenario': ...}
        if full == "scenario":
            return f"sim.run({{'scenario': ..., 'area': ...{more}}})"
        return f"sim.run({{'scenario': '{scenario}', 'area': ..., '{full}': ...{more}}})"

    if full == "scenario":
        return (
            f"scenario is not one of the emulator's levers: its answers are for {scenario} against no promise; "
            f"for another scenario, simulate: {simulate()}"
        )
    # a run's setting was once "held as the area and full_implementation set it", which no area does
    if full in (*RUN_SETTINGS, "uncertainty"):
        return (
            f"{full} is how a simulation runs, not a lever: the emulator answers years 1 to 3 over {DRAWS} plausible "
            f"worlds, its interval already holding replication noise; to set it, simulate: {simulate()}"
        )
    if full in UNCERTAIN:
        return (
            f"{shown} is a behavioural coefficient, not a lever: the answer already spans its plausible values "
            f"({DRAWS} posterior draws); to set it, simulate: {simulate(", 'uncertainty': 'fixed'")}"
        )
    if full in PARAMS:
        return (
            f"{shown} is not one of the emulator's levers (it is held as the area and {scenario} set it); "
            f"to set it, simulate: {simulate()}"
        )
    return f"{name} is not one of the emulator's levers ({', '.join(levers)})"


def mixture_interval(means: np.ndarray, halves: np.ndarray, level: float = 0.9) -> tuple[float, float]:
    """Central `level` interval of an equal mixture of normals, one per posterior draw, each with the draw's mean
    and the emulator's 90% (`LEVEL`) half-width: what a simulation of a world drawn at random could show.

    Normal is an assumption about shape only; the emulator's conformal half-widths fix each draw's 90% spread. On
    the emulator's build runs its scaled errors' 90th/50th percentile ratio was 2.4-2.55 (a normal's: 2.44).
    The percentiles of the draws' own ends, used before, held 96-98% of simulated worlds in eight settings.
    """
    sd = np.asarray(halves, dtype=float) / ndtri(0.5 + LEVEL / 2)
    means = np.asarray(means, dtype=float)

    def below(x: float, q: float) -> float:
        return float(np.mean(ndtr((x - means) / sd))) - q

    lo, hi = float(np.min(means - 6 * sd)), float(np.max(means + 6 * sd))
    tail = (1 - level) / 2
    return brentq(below, lo, hi, args=(tail,), xtol=1e-9), brentq(below, lo, hi, args=(1 - tail,), xtol=1e-9)


def whatif(area: str = "default", **levers: float) -> WhatIf:
    """Gain against no promise by year and outcome (percentage points), with the 90% interval.

    A table (outcome, what, year, gain_pp, low_pp, high_pp, covers) that prints as a short report (`WhatIf`).

    Levers are given by dotted name, e.g. ``whatif("suburb", **{"police.effort": 0.6, "promise.actions": 2})``
    or with underscores for the dot (``police__effort=0.6``).
    """
    em = emulator()
    scenario = em.info.get("scenario", "full_implementation")  # what the emulator's gains are for
    values = defaults(area)
    trained = [str(a) for a in em.categories.get("area", ())]
    if area not in trained:  # an area preset of one's own: once only "area=my_town was not in training (...)"
        raise OutsideTrainingBox(untrained_area(area, trained, scenario))
    given = {}
    for key, value in levers.items():
        name = key.replace("__", ".")
        if name not in values:
            raise ValueError(not_a_lever(name, list(values), scenario))
        whole = PARAMS[name].type is int  # actions, weeks: a slider's 2.0 is fine, 2.5 is not
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or (whole and not float(value).is_integer()):
            raise ValueError(f"{name} must be {'a whole number' if whole else 'a number'}, not {value!r}")
        values[name] = given[name] = float(value)
    worlds = _draws().assign(area=area, **values)
    pred = em.predict_arrays(worlds)
    rows = []
    for metric, words in OUTCOMES.items():
        for year in (1, 2, 3):
            col = f"gain_{metric}_change_y{year}"
            low, high = mixture_interval(pred[col], (pred[f"{col}_high"] - pred[f"{col}_low"]) / 2)
            rows.append(
                {
                    "outcome": metric,
                    "what": words,
                    "year": year,
                    "gain_pp": 100 * float(np.mean(pred[col])),
                    "low_pp": 100 * low,
                    "high_pp": 100 * high,
                    "covers": "parameter uncertainty + replication noise + emulator error",
                }
            )
    answer = WhatIf(rows)
    answer.attrs.update(
        area=area,
        given=given,
        scenario=scenario,
        worlds=len(worlds),
        corner=em.corner_of(values),
    )
    return answer
