"""Instant what-if for planners: `sim.whatif(area="suburb", **{"police.effort": 0.6})`.

Answers from the emulator shipped in sim/data/emulator/ (built by `python -m experiments.emulator build
install=true`): the gain against no promise after one, two and three years, in percentage points of
residents, with a 90% interval that covers plausible worlds, replication noise and the emulator's own error.
Levers not given take the full-implementation scenario's values; a lever outside the emulator's training box
is refused with its range. `sim.run` checks any answer with real simulations.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from .emulator import Emulator

OUTCOMES = {
    "trust_high_share": "high confidence in the police",
    "delaktighet_high_share": "'the police listen and act'",
    "unsafe_share": "feeling unsafe",
}


@lru_cache(maxsize=1)
def emulator() -> Emulator:
    return Emulator.load()


def defaults(area: str = "default") -> dict[str, float]:
    """The emulator's levers at the scenario it was trained on."""
    from .api import load_config
    from .space import value_of

    em = emulator()
    cfg = load_config([f"scenario={em.info.get('scenario', 'full_implementation')}", f"area={area}"])
    return {n: float(value_of(cfg, n)) for n in em.inputs if n != "area"}


def whatif(area: str = "default", **levers: float) -> pd.DataFrame:
    """Gain against no promise by year and outcome (percentage points), with the 90% interval.

    Levers are given by dotted name, e.g. ``whatif("suburb", **{"police.effort": 0.6, "promise.actions": 2})``
    or with underscores for the dot (``police__effort=0.6``).
    """
    em = emulator()
    values = defaults(area)
    for key, value in levers.items():
        name = key.replace("__", ".")
        if name not in values:
            raise ValueError(f"{name} is not one of the emulator's levers ({', '.join(values)})")
        values[name] = float(value)
    pred = em.predict(pd.DataFrame([{**values, "area": area}]))
    rows = []
    for metric, words in OUTCOMES.items():
        for year in (1, 2, 3):
            col = f"gain_{metric}_change_y{year}"
            rows.append(
                {
                    "outcome": metric,
                    "what": words,
                    "year": year,
                    "gain_pp": 100 * pred[col].iloc[0],
                    "low_pp": 100 * pred[f"{col}_low"].iloc[0],
                    "high_pp": 100 * pred[f"{col}_high"].iloc[0],
                }
            )
    return pd.DataFrame(rows)
