"""Docking (model alignment): the array residents against the per-agent reference.

Both models run the full_implementation scenario (every resident rule active) with 800
residents for 78 weeks, 16 replications each, on independent seeds. For trust, delaktighet,
trygghet and participation, the mean change from week 0 at weeks 26, 52 and 78 must agree
within 3.5 standard errors of the difference (|z| < 3.5; twelve comparisons, so a false
alarm has a chance of about 0.6%). With the calibrated rules, changing one rule in the
reference alone (feedback relevance ignored) gave a largest |z| of 7.4: the second test keeps
that power in view.
"""

import numpy as np
import pytest

import sim
from experiments.reference_agents import ReferenceModel, ResidentAgent
from sim.api import replication_seeds
from sim.model import PromiseModel

N, WEEKS, REPS, TOLERANCE = 800, 78, 16, 3.5
COLUMNS = ["trust_mean", "delaktighet_mean", "trygghet_mean", "participation_rate"]
CHECK_WEEKS = [26, 52, WEEKS]


def changes(model_cls, seed):
    cfg = sim.load_config(["scenario=full_implementation", f"area.residents={N}", f"horizon_weeks={WEEKS}"])
    out = []
    for s in replication_seeds(seed, REPS):
        m = model_cls(cfg, seed=s)
        for _ in range(WEEKS):
            m.step()
        d = m.datacollector.get_model_vars_dataframe()[COLUMNS]
        out.append((d - d.iloc[0]).to_numpy()[CHECK_WEEKS])
    return np.array(out)  # replications x weeks x columns


def z_scores(a, b):
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    return (a.mean(axis=0) - b.mean(axis=0)) / np.maximum(se, 1e-12)


@pytest.fixture(scope="module")
def array_changes():
    return changes(PromiseModel, seed=101)


def test_array_model_docks_with_per_agent_reference(array_changes):
    z = z_scores(array_changes, changes(ReferenceModel, seed=202))
    assert np.abs(z).max() < TOLERANCE, dict(zip(COLUMNS, np.abs(z).max(axis=0).round(2)))


class IgnoresRelevance(ResidentAgent):
    """A reference whose residents weigh every feedback round fully, whatever problem it is about."""

    def hear_feedback(self, u, reach, delivered, expected, promised, b, week):
        return super().hear_feedback(u, reach, delivered, expected, [True] * len(promised), b, week)


class IgnoresRelevanceModel(ReferenceModel):
    agent_cls = IgnoresRelevance


def test_docking_fails_when_one_rule_changes(array_changes):
    z = z_scores(array_changes, changes(IgnoresRelevanceModel, seed=202))
    assert np.abs(z).max() > TOLERANCE
