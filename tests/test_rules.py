"""Unit tests of the update rules, one mechanism at a time (pure functions)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from sim.feedback import attribution, feedback_due
from sim.officers import attitude_target, bad_contact_probability, engagement, learning_rate
from sim.params import AreaParams, BehaviourParams
from sim.problems import Problems, expected_crime, severity_step
from sim.promise_cycle import choose_targets, kept_share, problem_picture, split_hours
from sim.residents import contact_effect, fade, judged_gap, keep_in_range, participation_probability
from sim.social import awareness_spread, build_ties, word_of_mouth
from sim.survey import run_survey

B = BehaviourParams()


# residents ---------------------------------------------------------------------------------
def test_broken_promise_weighs_more_than_kept():
    assert judged_gap(0.9, 0.6, 2.0) == pytest.approx(0.3)
    assert judged_gap(0.3, 0.6, 2.0) == pytest.approx(-0.6)


def test_bad_contact_weighs_ratio_times_good():
    eff = contact_effect(np.array([False, True]), 0.02, 5.0)
    assert eff[0] == pytest.approx(0.02) and eff[1] == pytest.approx(-0.1)


def test_fade_decays_toward_baseline():
    d = np.array([0.1, -0.1])
    out = fade(d, 10.0)
    assert np.all(np.abs(out) < np.abs(d)) and np.all(np.sign(out) == np.sign(d))


@given(st.floats(-2, 2), st.floats(0, 1))
def test_keep_in_range(dev, base):
    v = base + keep_in_range(np.array([dev]), np.array([base]))[0]
    assert -1e-12 <= v <= 1 + 1e-12


def test_participation_rises_with_outreach_trust_and_delaktighet():
    lo = participation_probability(np.array([0.2]), np.array([0.2]), 0.5, B)
    assert participation_probability(np.array([0.8]), np.array([0.2]), 0.5, B) > lo
    assert participation_probability(np.array([0.2]), np.array([0.8]), 0.5, B) > lo
    assert participation_probability(np.array([0.2]), np.array([0.2]), 1.0, B) > lo
    assert participation_probability(np.array([0.9]), np.array([0.9]), 0.0, B) == 0


def test_attribution_higher_when_aware():
    a = attribution(np.array([True, False]), B)
    assert a[0] > a[1]


# social ------------------------------------------------------------------------------------
def test_ties_have_no_self_ties_and_mostly_local(rng):
    hood = rng.integers(0, 9, 3000)
    ties = build_ties(rng, hood, 6, 0.8)
    assert ties.shape == (3000, 6)
    assert not np.any(ties == np.arange(3000)[:, None])
    local = (hood[ties] == hood[:, None]).mean()
    assert 0.8 <= local <= 0.86  # 80% local by construction plus 1/9 of the rest by chance


def test_word_of_mouth_pulls_toward_ties_and_keeps_zero(rng):
    ties = build_ties(rng, np.zeros(500, dtype=int), 5, 1.0)
    assert np.all(word_of_mouth(np.zeros(500), ties, 0.1) == 0)
    d = rng.normal(0, 1, 500)
    assert word_of_mouth(d, ties, 0.2).var() < d.var()


def test_awareness_only_spreads(rng):
    ties = build_ties(rng, np.zeros(1000, dtype=int), 5, 1.0)
    aware = rng.random(1000) < 0.3
    new = awareness_spread(aware, ties, 0.5, rng.random(1000))
    assert np.all(new[aware]) and new.sum() > aware.sum()
    assert not awareness_spread(np.zeros(1000, bool), ties, 0.5, rng.random(1000)).any()


# problems ----------------------------------------------------------------------------------
def test_severity_reverts_and_work_lowers_it_with_diminishing_returns():
    base = np.array([0.4])
    assert severity_step(np.array([0.6]), base, np.zeros(1), 10, 0.01, 20, np.zeros(1))[0] < 0.6
    assert severity_step(np.array([0.2]), base, np.zeros(1), 10, 0.01, 20, np.zeros(1))[0] > 0.2
    s = [severity_step(base, base, np.array([h]), 10, 0.05, 20, np.zeros(1))[0] for h in (0, 20, 40)]
    assert s[0] > s[1] > s[2]
    assert (s[0] - s[1]) > (s[1] - s[2])  # second 20 hours do less than the first


def test_expected_crime_scales_with_severity_and_population():
    assert expected_crime(np.array([0.5]), np.array([1.0]), 2000, 2.0)[0] == pytest.approx(2.0)


# promise cycle -----------------------------------------------------------------------------
def test_problem_picture_weights_citizens():
    c, p = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert problem_picture(c, p, 1.0)[0] == 1 and problem_picture(c, p, 0.0)[1] == 1


def test_police_picture_is_the_crime_recorded_since_the_dialogue_opened(rng):
    problems = Problems(rng, 4, AreaParams())
    problems.recorded_this_cycle[:] = [0, 3, 1, 0]
    assert problems.police_picture().tolist() == [0.0, 0.75, 0.25, 0.0]
    problems.recorded_this_cycle[:] = 0  # nothing recorded yet: the expected shares, not 0/0
    expected = problems.baseline * problems.recordability
    assert np.allclose(problems.police_picture(), expected / expected.sum())
    # in the model the count starts again when a dialogue opens: after week 14 of 13-week cycles it holds
    # week 14's crime only (the dialogue opens before the week's crime is recorded), not weeks 1-14's
    model = sim.PromiseModel(sim.load_config(["scenario=full_implementation", "promise.period_weeks=13"]))
    for _ in range(14):
        model.step()
    since_week_1 = np.sum(model.crime_by_problem[1:], axis=0)
    assert since_week_1.sum() > model.crime_by_problem[-1].sum()  # the test can tell the two apart
    assert model.problems.recorded_this_cycle.tolist() == model.crime_by_problem[-1].tolist()


def test_choose_targets_top_first_and_round_again():
    assert choose_targets(np.array([0.1, 0.5, 0.4]), 2).tolist() == [1, 2]
    assert choose_targets(np.array([0.1, 0.5, 0.4]), 4).tolist() == [1, 2, 0, 1]


def test_dialogue_paid_first():
    assert split_hours(30, 50) == (30, 0)
    assert split_hours(30, 10) == (10, 20)


def test_kept_share_bounds_and_partner():
    full = kept_share(100.0, np.array([True]), 0.3, 12.0)
    assert full[0] == pytest.approx(1.0)
    half_police = kept_share(0.5 * 0.7 * 12.0, np.array([False]), 0.3, 12.0)
    assert half_police[0] == pytest.approx(0.35)


# feedback ----------------------------------------------------------------------------------
def test_feedback_schedule():
    due = [w for w in range(1, 60) if feedback_due(w, 3, 13)]
    assert due == [16, 29, 42, 55]
    assert not any(feedback_due(w, 3, 0) for w in range(100))
    assert not feedback_due(20, None, 13)


# officers ----------------------------------------------------------------------------------
@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))
def test_engagement_between_floor_and_one(att, pri, floor):
    assert floor - 1e-12 <= engagement(att, pri, floor) <= 1.0
    assert engagement(att, 1.0, floor) == pytest.approx(1.0) and engagement(1.0, pri, floor) == pytest.approx(1.0)
    assert engagement(0.0, 0.0, floor) == pytest.approx(floor)


def test_better_officers_have_fewer_bad_contacts():
    p = bad_contact_probability(np.array([0.0, 1.0]), 0.15, 0.6)
    assert p[0] == pytest.approx(0.15) and p[1] == pytest.approx(0.06)


def test_attitude_target_rises_with_knowledge_and_priority():
    assert attitude_target(0.4, 0.9, 0.5, 0.3, 0.3) > attitude_target(0.4, 0.1, 0.5, 0.3, 0.3)
    assert attitude_target(0.4, 0.5, 0.9, 0.3, 0.3) > attitude_target(0.4, 0.5, 0.1, 0.3, 0.3)
    assert attitude_target(0.4, 0.9, 0.9, 0.0, 0.0) == pytest.approx(0.4)


def test_learning_rate_and_switching_learning_off():
    assert learning_rate(1.0, 0.0, 0.7, 10.0) == pytest.approx(0.07)
    assert learning_rate(0.0, 1.0, 0.7, 10.0) == pytest.approx(0.03)
    assert learning_rate(1.0, 1.0, 0.7, 0.0) == 0.0


class _Stub:
    """The least of a model that turnover needs: a layout side, and agents that can be removed."""

    class layout:
        side = 10


class _Officer:
    def __init__(self, knowledge):
        self.knowledge, self.removed = knowledge, False

    def remove(self):
        self.removed = True


def test_turnover_replaces_leavers_with_newcomers_who_do_not_know_the_method(monkeypatch):
    import sim.officers as officers

    made = []
    monkeypatch.setattr(
        officers, "Officer", lambda model, attitude, knowledge, x, y: made.append(knowledge) or _Officer(knowledge)
    )
    staff = [_Officer(1.0), _Officer(1.0), _Officer(1.0)]
    police = type("P", (), {"attitude": 0.5, "attitude_concentration": 6.0})
    out = officers.turnover(_Stub(), staff, 52.0, police, np.array([0.5, 2.0, 0.1]), np.full((3, 3), 0.5))
    assert [o.removed for o in staff] == [True, False, True]
    assert out[1] is staff[1] and out[0] is not staff[0]
    assert made == [0.0, 0.0] and out[0].knowledge == 0.0 and out[2].knowledge == 0.0


# survey ------------------------------------------------------------------------------------
def test_survey_is_unbiased_and_respects_response_rate(rng):
    levels = {"trust": rng.beta(5, 5, 20000)}
    out = [run_survey(rng, levels, 1000, 0.4, 0.1) for _ in range(200)]
    assert np.mean([o["respondents"] for o in out]) == pytest.approx(400, rel=0.03)
    assert np.mean([o["trust_mean"] for o in out]) == pytest.approx(levels["trust"].mean(), abs=0.003)


def test_feedback_novelty_habituates_and_zero_switches_it_off():
    from sim.residents import novelty

    n = novelty(np.array([np.inf, 52.0, 13.0, 1.0]), 13.0)
    assert n[0] == 1.0 and n[0] > n[1] > n[2] > n[3] > 0
    assert (novelty(np.array([1.0, 4.0]), 0.0) == 1.0).all()


def test_feedback_counts_most_for_residents_whose_concern_was_promised():
    from sim.residents import relevance

    assert relevance(np.array([True, False]), 0.4).tolist() == [1.0, 0.4]


def test_seen_work_saturates_and_follows_what_residents_see():
    from sim.feedback import seen_work

    seen = np.array([0.2, 0.2, 0.4])
    w = seen_work(seen, np.array([12.0, 120.0, 12.0]), 12.0)
    assert w[0] == pytest.approx(0.1) and w[2] == pytest.approx(0.2)  # half the need met: half the seen severity
    assert w[1] < 0.2 and w[1] / w[0] < 2  # ten times the work: less than twice the credit
