"""Do common random numbers hold? The paired variance ratio of three lever changes.

    python -m experiments.crn [pairs=24] [residents=2000] [horizon_weeks=156] [seed=2018] [hold=world,crime]
                              [output_dir=results/crn]

For each lever change (full implementation as the base), both arms run on the same replication
seeds. The ratio var(paired difference) / (var(arm A) + var(arm B)) compares the spread of the
paired difference in trust change with what independent seeds would give: 1 means pairing buys
nothing, 0 that the difference is all lever and no luck. The goal is at most 0.3 for each.
Each ratio comes with a 90% bootstrap interval over the pairs (replication noise of the measurement
itself: with 24 pairs a true ratio of 0.3 is measured anywhere from about 0.17 to 0.50).
``hold=`` is a diagnostic: the named random processes (``world`` = the eight that draw the area) draw
the same numbers in every pair, so the table shows what pairing leaves once they no longer vary.
Writes ratios.csv and provenance.json (the settings, the seed, the code version) and prints the table;
a goal not met is said in words (the exit status stays 0: this is a measurement, and
tests/test_streams.py holds what pairing must achieve).
"""

from __future__ import annotations

import datetime as dt
import json
import sys

import numpy as np
import pandas as pd

import sim
from experiments.interrupted import NOTHING, says_when_interrupted
from sim.api import replication_seeds
from sim.model import PromiseModel
from sim.params import PARAMS, ConfigError
from sim.paths import output_path
from sim.streams import PROCESSES, WORLD, Streams
from sim.version import code_version
from sim.words import counted

CHANGES = {
    "police.effort 1.0 -> 0.8": ("police.effort=1.0", "police.effort=0.8"),
    "feedback.interval_weeks 13 -> 4": ("feedback.interval_weeks=13", "feedback.interval_weeks=4"),
    "promise.actions 3 -> 1": ("promise.actions=3", "promise.actions=1"),
}
GOAL = 0.3
LIMITS = {  # default, lowest, highest: the model parameter's own range (pairs: at least 3 for a variance)
    "pairs": (24, 3, int(PARAMS["replications"].high)),
    "residents": (2000, int(PARAMS["area.residents"].low), int(PARAMS["area.residents"].high)),
    "horizon_weeks": (156, int(PARAMS["horizon_weeks"].low), int(PARAMS["horizon_weeks"].high)),
    "seed": (2018, int(PARAMS["seed"].low), int(PARAMS["seed"].high)),
}


def held_processes(text: str) -> tuple[str, ...]:
    """``world,crime`` -> the processes to hold; ``world`` stands for the eight that draw the area."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    held = [p for n in names for p in (WORLD if n == "world" else (n,))]
    unknown = [n for n in held if n not in PROCESSES]
    if unknown:
        raise ValueError(f"hold={text}: {unknown[0]!r} is not a random process; use world or " + ", ".join(PROCESSES))
    return tuple(held)


def hold_label(hold: tuple[str, ...]) -> str:
    """The held processes as the user would write them: ``world`` for the eight that draw the area."""
    if not hold:
        return "none"
    if set(WORLD) <= set(hold):
        return ",".join(["world", *[p for p in hold if p not in WORLD]])
    return ",".join(hold)


def trust_changes(overrides: list[str], hold: tuple[str, ...] = ()) -> np.ndarray:
    """Change in mean trust from week 0 to the horizon, one value per replication (pair)."""
    cfg = sim.load_config(overrides)
    if not hold:
        res = sim.run(cfg)
        s = res.trajectories.set_index(["replication", "week"]).trust_mean
        return (s.xs(cfg.horizon_weeks, level="week") - s.xs(0, level="week")).to_numpy()
    changes = []
    for seed in replication_seeds(cfg.seed, cfg.replications):  # the seeds sim.run gives its replications
        model = PromiseModel(cfg, seed=seed, streams=Streams(seed, held=hold, held_seed=cfg.seed))
        start = model.metrics["trust_mean"]
        for _ in range(cfg.horizon_weeks):
            model.step()
        changes.append(model.metrics["trust_mean"] - start)
    return np.array(changes)


def paired_ratio(a: np.ndarray, b: np.ndarray) -> float:
    """var(a - b) over var(a) + var(b): the paired difference's variance against independent arms'."""
    return float(np.var(a - b, ddof=1) / (np.var(a, ddof=1) + np.var(b, ddof=1)))


def ratio_interval(a: np.ndarray, b: np.ndarray, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """90% bootstrap interval of `paired_ratio`, resampling whole pairs."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), (resamples, len(a)))
    with np.errstate(invalid="ignore", divide="ignore"):  # a resample of one repeated pair has no spread: NaN,
        ratios = [paired_ratio(a[i], b[i]) for i in idx]  # which nanpercentile leaves out
    low, high = np.nanpercentile(ratios, [5, 95])
    return float(low), float(high)


def measure(
    pairs: int = 24, residents: int = 2000, horizon: int = 156, seed: int = 2018, hold: tuple[str, ...] = ()
) -> pd.DataFrame:
    base = ["scenario=full_implementation", f"replications={pairs}", f"area.residents={residents}"]
    base += [f"horizon_weeks={horizon}", f"seed={seed}"]
    rows = []
    for name, (a, b) in CHANGES.items():
        x, y = trust_changes([*base, a], hold), trust_changes([*base, b], hold)
        ratio, (low, high) = paired_ratio(x, y), ratio_interval(x, y)
        acted = bool(np.any(x != y))  # a change that made no difference in any pair has nothing to pair
        rows.append(
            {
                "change": name,
                "pairs": pairs,
                "held": hold_label(hold),
                "mean_difference_pp": 100 * float(np.mean(y - x)),
                "sd_first_arm_pp": 100 * float(np.std(x, ddof=1)),
                "sd_second_arm_pp": 100 * float(np.std(y, ddof=1)),
                "sd_difference_pp": 100 * float(np.std(y - x, ddof=1)),
                "paired_variance_ratio": ratio,
                "ratio_low_90": low,
                "ratio_high_90": high,
                "goal": GOAL,
                "lever_acted": acted,
                "met": acted and ratio <= GOAL,
            }
        )
    return pd.DataFrame(rows)


@says_when_interrupted(NOTHING)
def main(argv: list[str]) -> int:
    from experiments.settings import key_values

    try:
        values = key_values(argv, LIMITS, {"hold": "", "output_dir": "results/crn"}, __doc__ or "")
        hold = held_processes(values["hold"])
    except (ConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    table = measure(values["pairs"], values["residents"], values["horizon_weeks"], values["seed"], hold)
    from experiments.settings import make_output_folder

    out = output_path(values["output_dir"])
    make_output_folder(out)
    table.to_csv(out / "ratios.csv", index=False)
    provenance = {
        "command": " ".join(["python -m experiments.crn", *argv]),
        "settings": {**values, "hold": hold_label(hold)},
        "changes": {name: list(arms) for name, arms in CHANGES.items()},
        "base": "scenario=full_implementation",
        "code_version": code_version(),
        "made": dt.datetime.now().isoformat(timespec="seconds"),
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    idle = table[~table.lever_acted]
    missed = table[~table.met & table.lever_acted]
    if len(idle):
        says = "its ratio says" if len(idle) == 1 else "their ratios say"
        print(
            f"not measured: {', '.join(idle.change)} made no difference in any pair within "
            f"{counted(values['horizon_weeks'], 'week')}, so {says} nothing about pairing (a longer horizon_weeks lets "
            "the levers act)"
        )
    if hold:
        print(f"held in every pair: {hold_label(hold)} (a diagnostic; the goal is for nothing held)")
    elif len(missed):
        print(f"goal (ratio at most {GOAL}) not met for: {', '.join(missed.change)}")
    elif len(idle) == 0:
        print(f"goal (ratio at most {GOAL}) met for all {len(table)} changes")
    print(f"Wrote {out} (ratios.csv, provenance.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
