"""The knockout suite: switching off any mechanism of the ODD moves a target or pattern statistic beyond
replication noise (paired replications on common random numbers, |z| > 4). A mechanism that moves nothing
would be inert; docs/model.md §4 lists what each knockout moves most.

Also: the knockouts that remove a pattern's explanation break that pattern (attribution and feedback).
"""

import numpy as np
import pytest

import sim
from sim.mechanisms import MECHANISMS, knockout_effects

from .conftest import cfg, change

Z = 4.0


@pytest.fixture(scope="session")  # session, not module: the xdist process may run other modules in between
def effects():
    return knockout_effects(MECHANISMS, replications=10, residents=1000)


@pytest.mark.xdist_group("mechanisms")  # one process computes the knockouts, not each
@pytest.mark.parametrize("mechanism", [m.name for m in MECHANISMS])
def test_switching_a_mechanism_off_moves_a_statistic_beyond_noise(effects, mechanism):
    d = effects[effects.mechanism == mechanism]
    best = d.sort_values("z", ascending=False).iloc[0]
    assert best.z > Z, f"{mechanism} moves nothing beyond noise (best: {best.statistic}, z {best.z:.2f})"


def test_a_no_op_knockout_moves_nothing():
    """The test can fail: switching off nothing gives z = 0 everywhere."""
    from sim.mechanisms import Mechanism

    d = knockout_effects([Mechanism("none", "no change", ("survey.noise=0.1",), "-")], replications=3, residents=400)
    assert (d.z == 0).all()


def test_without_attribution_feedback_no_longer_decides_the_trust_gain():
    """Pattern 3's mechanism: with attribution switched off, no feedback keeps far more of the quarterly gain."""

    def kept(*extra):
        base = ["scenario=full_implementation", "horizon_weeks=104", "replications=6", "area.residents=1500", *extra]
        q = sim.run(cfg(*base, "feedback.interval_weeks=13")).trajectories
        n = sim.run(cfg(*base, "feedback.interval_weeks=0")).trajectories
        return change(n, "trust_mean", 104).mean() / change(q, "trust_mean", 104).mean()

    with_attribution = kept()
    without = kept("behaviour.attribution_unaware=1.0")
    assert without > with_attribution + 0.1, (with_attribution, without)
    assert np.isfinite(without)
