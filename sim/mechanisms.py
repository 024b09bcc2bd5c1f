"""The model's mechanisms and how to switch each off: the knockout suite's one list.

Each mechanism of the ODD (docs/model.md §7) is switched off by overrides that remove its effect
and nothing else (run under uncertainty=fixed, since they set coefficients). ``knockout_effects``
compares the pattern and target statistics with and without a mechanism, paired on the same seeds:
a mechanism that moves none of them beyond replication noise is inert, and the ODD must say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .api import replication_seeds
from .config import load_config
from .params import UNCERTAIN
from .space import value_of
from .targets import Target, load_targets, simulate


@dataclass(frozen=True)
class Mechanism:
    name: str
    what: str
    off: tuple[str, ...]  # overrides that switch it off
    odd: str  # where the ODD states the rule


MECHANISMS = (
    Mechanism(
        "attribution", "aware residents credit visible work more", ("behaviour.attribution_unaware=1.0",), "§7.7"
    ),
    Mechanism(
        "contact_asymmetry", "a bad contact weighs more than a good one", ("behaviour.bad_contact_ratio=1.0",), "§7.6"
    ),
    Mechanism(
        "contact_quality",
        "skilled, committed officers have fewer bad contacts",
        ("behaviour.contact_quality_slope=0.0",),
        "§7.6",
    ),
    Mechanism(
        "broken_promise_asymmetry",
        "a shortfall weighs more than a surplus",
        ("behaviour.broken_promise_ratio=1.0",),
        "§7.8",
    ),
    Mechanism(
        "habituation", "frequent feedback rounds count less each", ("behaviour.feedback_novelty_weeks=0.0",), "§7.8"
    ),
    Mechanism(
        "feedback_relevance",
        "feedback counts most about a resident's own concern",
        ("behaviour.feedback_relevance=1.0",),
        "§7.8",
    ),
    Mechanism("work_on_problems", "work lowers problem severity", ("behaviour.work_effect=0.0",), "§7.5"),
    Mechanism(
        "visible_work",
        "residents credit work and improvement they see",
        ("behaviour.visible_work_trust=0.0", "behaviour.visible_work_trygghet=0.0"),
        "§7.7",
    ),
    Mechanism(
        "word_of_mouth",
        "changes and awareness spread along ties",
        ("behaviour.word_of_mouth=0.0", "behaviour.word_of_mouth_awareness=0.0"),
        "§7.7",
    ),
    Mechanism("staff_feedback", "feedback to staff lifts officers' attitude", ("feedback.staff=0.0",), "§7.8"),
    Mechanism("officer_learning", "officers learn the method", ("behaviour.officer_learning_weeks=0",), "§7.9"),
    Mechanism("turnover", "newcomers replace leavers, without the method", ("police.turnover_per_year=0.0",), "§7.9"),
    Mechanism("partners", "the municipality owns part of each action", ("partners.share=0.0",), "§7.4"),
    Mechanism(
        "dialogue",
        "taking part and being heard build delaktighet",
        ("behaviour.participation_bonus=0.0", "behaviour.heard_bonus=0.0"),
        "§7.1",
    ),
)


def pattern_statistics() -> tuple[Target, ...]:
    """The fitted targets plus the pattern statistics of docs/model.md §1 that the targets do not already hold."""
    extra = []
    for scenario, metric in (
        ("full_implementation", "trust_high_share"),
        ("full_implementation", "delaktighet_high_share"),
        ("full_implementation", "unsafe_share"),
        ("observed_2018", "delaktighet_mean"),
        ("full_implementation", "awareness_share"),
        ("over_promising", "trust_high_share"),
        ("over_promising", "delaktighet_high_share"),
    ):
        extra.append(
            Target(
                f"P:{scenario}:{metric}",
                f"change in {metric}, {scenario}, two years",
                0.0,
                -1.0,
                1.0,
                "share",
                scenario,
                "default",
                {"kind": "change", "metric": metric, "week": 104},
                False,
                "pattern",
                "-",
                ((scenario, "default"),),
            )
        )
    extra.append(
        Target(
            "P:full:hours",
            "hours delivered / planned, full implementation",
            1.0,
            0.0,
            2.0,
            "ratio",
            "full_implementation",
            "default",
            {"kind": "hours_ratio", "weeks": [1, 104]},
            False,
            "pattern",
            "-",
            (("full_implementation", "default"),),
        )
    )
    extra.append(
        Target(
            "P:full:attitude",
            "officer attitude, full implementation, year 2",
            0.5,
            0.0,
            1.0,
            "0-1",
            "full_implementation",
            "default",
            {"kind": "mean", "metric": "officer_attitude_mean", "weeks": [53, 104]},
            False,
            "pattern",
            "-",
            (("full_implementation", "default"),),
        )
    )
    return tuple(t for t in load_targets() if t.fit) + tuple(extra)


def knockout_effects(
    mechanisms: Iterable[Mechanism], replications: int = 6, residents: int = 1000, seed: int = 7
) -> pd.DataFrame:
    """For each mechanism and statistic: the mean paired change when it is switched off, its standard error
    over replications and z = mean / se (one row per mechanism and statistic)."""
    stats = pattern_statistics()
    seeds = replication_seeds(seed, replications)
    base_cfg = load_config(["uncertainty=fixed"])

    def values(overrides: tuple[str, ...]) -> dict[str, float]:
        cfg = load_config(["uncertainty=fixed", *overrides])
        names = set(UNCERTAIN) | {o.split("=")[0] for o in overrides}
        return {n: value_of(cfg, n) for n in names}

    base_values = {n: value_of(base_cfg, n) for n in UNCERTAIN}
    base = [simulate(base_values, s, stats, residents) for s in seeds]
    rows = []
    for m in mechanisms:
        off = [simulate(values(m.off), s, stats, residents) for s in seeds]
        for t in stats:
            d = np.array([o[t.id] - b[t.id] for o, b in zip(off, base)])
            se = d.std(ddof=1) / np.sqrt(d.size)
            z = abs(d.mean()) / se if se > 0 else (np.inf if d.mean() != 0 else 0.0)
            rows.append(
                {"mechanism": m.name, "statistic": t.id, "name": t.name, "mean_change": d.mean(), "se": se, "z": z}
            )
    return pd.DataFrame(rows)
