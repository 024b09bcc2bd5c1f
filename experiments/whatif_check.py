"""Does the what-if's interval hold what simulation gives? `sim.whatif` against simulations of its own worlds.

    python -m experiments.whatif_check [worlds=64] [output_dir=results/whatif_check]

For each setting below (the four areas at full implementation, two lever changes, and three corners of the
emulator's training box, each with its own seed), runs the plausible worlds `sim.whatif` asks the emulator
about (every fourth of the 256 posterior draws) with the promise and without it, on the same seeds, at the
emulator's residents and three years. Per outcome and year it records the what-if's mean gain and 90%
interval, the simulated mean gain and its standard error, the share of the worlds whose gain the interval
holds, and z = (what-if mean - simulated mean) / standard error. `worlds` takes the first of those worlds
only (a quicker, rougher check).

Writes cells.csv (one row per setting, outcome and year), settings.csv (pooled over each setting's nine
answers: the share held, its range over the answers, the root mean square of z, the answer furthest off)
and provenance.json (settings, seeds, the emulator's and the model's code version), and prints the
settings' table. docs/emulator.md gives the table at 64 worlds. A measurement: the exit status is 0 whatever
the shares are; tests/test_emulator.py holds the shares that matter.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import warnings

import numpy as np
import pandas as pd

import sim
from experiments.interrupted import NOTHING, says_when_interrupted
from sim import planner
from sim.api import replication_seeds, run_replication
from sim.params import ConfigError
from sim.paths import output_path
from sim.posterior import load_ensemble, replication_config
from sim.version import code_version

# area, the seed of its simulations, the levers set (the rest at full implementation); the last three put three
# or four levers near an end of their range (docs/emulator.md, "At the corners of the training box")
SETTINGS: list[tuple[str, int, dict[str, float]]] = [
    ("vulnerable_district", 2026, {}),
    ("vulnerable_district", 1, {}),
    ("vulnerable_district", 7, {}),
    ("default", 2026, {}),
    ("suburb", 5, {}),
    ("small_town", 3, {}),
    ("suburb", 11, {"police.effort": 0.6, "promise.actions": 1}),
    ("default", 12, {"feedback.interval_weeks": 26, "feedback.reach": 0.2}),
    ("vulnerable_district", 21, {"police.effort": 0.3, "promise.actions": 6, "feedback.interval_weeks": 52}),
    (
        "small_town",
        22,
        {
            "police.effort": 1.2,
            "police.planned_hours_per_week": 80,
            "feedback.reach": 0.6,
            "feedback.interval_weeks": 4,
        },
    ),
    (
        "default",
        23,
        {
            "promise.period_weeks": 13,
            "feedback.staff": 0.0,
            "feedback.reach": 0.05,
            "police.planned_hours_per_week": 10,
        },
    ),
]
LIMITS = {"worlds": (planner.DRAWS, 2, planner.DRAWS)}  # default, lowest, highest


def simulated_gains(area: str, levers: dict[str, float], seed: int, worlds: int) -> dict[tuple[str, int], np.ndarray]:
    """The gain against no promise (percentage points) in each of the what-if's first ``worlds`` worlds, by outcome
    and year: world i is posterior draw i * step run on the i-th replication seed, with and without the promise."""
    step = len(load_ensemble()) // planner.DRAWS
    base = [
        "scenario=full_implementation",
        f"area={area}",
        f"area.residents={planner.emulator().info['residents']}",
        "uncertainty=posterior",
        "horizon_weeks=156",
        *(f"{k}={v}" for k, v in levers.items()),
    ]
    arms = {"on": sim.load_config(base), "off": sim.load_config([*base, "promise.active=false"])}
    gains: dict[tuple[str, int], list[float]] = {}
    for i, s in enumerate(replication_seeds(seed, planner.DRAWS)[:worlds]):
        draw = i * step
        weeks = {
            arm: run_replication(replication_config(cfg, draw)[0], s, draw)["trajectories"].set_index("week")
            for arm, cfg in arms.items()
        }
        for metric in planner.OUTCOMES:
            for year in (1, 2, 3):
                change = {arm: t[metric][52 * year] - t[metric][0] for arm, t in weeks.items()}
                gains.setdefault((metric, year), []).append(100 * (change["on"] - change["off"]))
    return {key: np.array(v) for key, v in gains.items()}


def compare(answer: pd.DataFrame, gains: dict[tuple[str, int], np.ndarray]) -> pd.DataFrame:
    """One row per outcome and year: the what-if's answer beside the simulated worlds' gains."""
    rows = []
    for r in answer.itertuples():
        g = gains[(r.outcome, r.year)]
        se = g.std(ddof=1) / np.sqrt(len(g))
        rows.append(
            {
                "outcome": r.outcome,
                "year": r.year,
                "whatif_pp": r.gain_pp,
                "low_pp": r.low_pp,
                "high_pp": r.high_pp,
                "simulated_pp": g.mean(),
                "simulated_se_pp": se,
                "held": float(np.mean((g >= r.low_pp) & (g <= r.high_pp))),
                "z": (r.gain_pp - g.mean()) / se if se > 1e-9 else np.nan,  # worlds alike: no standard error
            }
        )
    return pd.DataFrame(rows)


def summary(cells: pd.DataFrame) -> dict[str, object]:
    """A setting's nine answers pooled: share held, its range, root mean square of z, the answer furthest off."""
    worst = cells.loc[cells.z.abs().idxmax()]
    return {
        "held": cells.held.mean(),
        "held_min": cells.held.min(),
        "held_max": cells.held.max(),
        "rms_z": float(np.sqrt(np.mean(np.square(cells.z)))),
        "worst": f"{planner.SHORT[worst.outcome].strip()}, year {worst.year}: "
        f"{worst.whatif_pp:+.1f} against {worst.simulated_pp:+.1f} ({worst.simulated_se_pp:.2f})",
    }


def check(worlds: int, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every setting's cells and summary."""
    from tqdm import tqdm

    cells, rows = [], []
    for area, seed, levers in tqdm(SETTINGS, desc="settings", disable=not progress):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an emulator of other code: said once, in provenance
            answer = sim.whatif(area, **{k.replace(".", "__"): v for k, v in levers.items()})
        c = compare(answer, simulated_gains(area, levers, seed, worlds))
        label = ", ".join(f"{k}={v:g}" for k, v in levers.items()) or "full implementation"
        cells.append(c.assign(area=area, seed=seed, levers=label))
        corner = answer.attrs.get("corner", [])
        rows.append({"area": area, "seed": seed, "levers": label, "corner": bool(corner), **summary(c)})
    return pd.concat(cells, ignore_index=True), pd.DataFrame(rows)


@says_when_interrupted(NOTHING)
def main(argv: list[str]) -> int:
    from experiments.settings import key_values, make_output_folder

    try:
        values = key_values(argv, LIMITS, {"output_dir": "results/whatif_check"}, __doc__ or "")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cells, table = check(values["worlds"])
    out = output_path(values["output_dir"])
    make_output_folder(out)
    cells.to_csv(out / "cells.csv", index=False)
    table.to_csv(out / "settings.csv", index=False)
    em = planner.emulator()
    provenance = {
        "command": " ".join(["python -m experiments.whatif_check", *argv]),
        "settings": values,
        "cases": [{"area": a, "seed": s, "levers": lv} for a, s, lv in SETTINGS],
        "emulator_code_version": em.info.get("code_version"),
        "code_version": code_version(),
        "made": dt.datetime.now().isoformat(timespec="seconds"),
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    shown = table.assign(
        held=lambda t: [
            f"{100 * h:.1f}% ({100 * lo:.0f}-{100 * hi:.0f}%)" for h, lo, hi in zip(t.held, t.held_min, t.held_max)
        ]
    ).drop(columns=["held_min", "held_max"])
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(
        f"held: the share of {values['worlds']} simulated worlds whose gain the what-if's 90% interval holds, pooled "
        "over the nine answers (their range in brackets); rms_z: how far the what-if's mean is from the simulated "
        "mean, in standard errors of that mean"
    )
    print(f"Wrote {out} (cells.csv, settings.csv, provenance.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
