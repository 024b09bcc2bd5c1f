"""PromiseModel: the world, and the week as an ordered list of the promise cycle's phases."""

from __future__ import annotations

import numbers
from functools import partial
from typing import Any

import mesa
import numpy as np

from .area import build_layout
from .config import config_of
from .feedback import feedback_due, seen_work, staff_feedback
from .officers import acute_demand, bad_contact_probability, learning_rate, recruit, turnover
from .params import ConfigError
from .partners import MAX_ACTIONS, partner_delivery
from .problems import Problems
from .promise_cycle import PromiseCycle, kept_share, problem_picture, split_hours
from .residents import Residents
from .social import build_ties
from .streams import Streams, poisson_quantile
from .survey import run_survey

METRICS = [
    "trust_mean",
    "trust_high_share",
    "delaktighet_mean",
    "delaktighet_high_share",
    "participation_rate",
    "trygghet_mean",
    "unsafe_share",
    "awareness_share",
    "problem_severity",
    "recorded_crime",
    "hours_planned",
    "hours_delivered",
    "delivery_ratio",
    "officer_attitude_mean",
]


def _metric(name: str, model: PromiseModel) -> float:
    return model.metrics[name]


class PromiseModel(mesa.Model):
    """A local police area working (or not) with medborgarlöften, one step a week.

    ``cfg`` is a resolved Config (or anything with the same attributes); ``seed`` overrides
    ``cfg.seed`` (replications pass their own). Every random draw comes from ``self.streams``:
    one substream per stochastic process and week (sim/streams.py), so arms compared on the
    same seed share their random numbers process by process (common random numbers).
    ``streams`` replaces the seed's own (the pairing diagnostic passes streams that hold some
    processes the same in every replication).
    """

    def __init__(self, cfg: Any, seed: int | None = None, streams: Streams | None = None) -> None:
        cfg = config_of(cfg)
        seed = cfg.seed if seed is None else seed
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
            raise ConfigError(f"invalid value for seed: {seed!r} (allowed: a whole number from 0)")
        seed = int(seed)  # a NumPy whole number, as a design table gives, seeds as its value
        super().__init__(rng=seed)
        self.cfg = cfg
        self.streams = Streams(seed) if streams is None else streams
        area, b, s = cfg.area, cfg.behaviour, self.streams
        self.week = 0
        self.layout = build_layout(
            s.week("residents_place", 0),
            s.week("problems_place", 0),
            area.residents,
            area.problems,
            area.cells_per_side,
            area.neighbourhoods_per_side,
            area.problem_reach_cells,
        )
        self.problems = Problems(s.week("problems", 0), area.problems, area)
        self.problems.record(s.week("crime", 0), area.residents, b.crime_rate)  # week 0: the week before the first step
        ties = build_ties(s.week("ties", 0), self.layout.hood, area.ties_per_resident, area.local_tie_share)
        exposure0 = self.problems.exposure(self.layout.kernel)
        self.residents = self.make_residents(ties, exposure0, self.problems.visibility * self.problems.baseline)
        start = s.week("officers", 0).random((area.officers, 3))
        knowledge = cfg.police.starting_knowledge * cfg.police.training
        self.officers = [recruit(self, u, cfg.police, knowledge) for u in start]
        self.cycle = PromiseCycle(cfg.promise.period_weeks, cfg.promise.dialogue_hours, cfg.promise.actions)
        self.work = np.zeros(area.problems)
        self.last_feedback_week: int | None = None
        self.feedback_rounds: list[dict] = []
        self.crime_by_problem: list[np.ndarray] = [self.problems.recorded_last_week.copy()]
        self.severity_by_problem: list[np.ndarray] = [self.problems.severity.copy()]
        self.targeted_by_week: list[np.ndarray] = [np.zeros(area.problems, dtype=bool)]
        self.metrics = self.measure(hours_planned=0.0, hours_delivered=0.0)
        self.datacollector = mesa.DataCollector(model_reporters={m: partial(_metric, m) for m in METRICS})
        self.datacollector.collect(self)

    def make_residents(self, ties: np.ndarray, exposure0: np.ndarray, problem_weights: np.ndarray) -> Residents:
        """The residents, as arrays. A per-agent reference overrides this to dock against it."""
        return Residents(self.streams, self.cfg.area, self.cfg.behaviour, self.layout, ties, exposure0, problem_weights)

    # ---- the week ------------------------------------------------------------------------
    def step(self) -> None:
        """One week, in the order of the promise cycle (docs/model.md §3); each phase says why it sits where it does."""
        self.week += 1
        active = self.cfg.promise.active
        if active and self.cycle.starts_cycle(self.week):
            self.dialogue()  # a cycle opens by listening to residents
        planned, delivered = self.officers_work() if active else (0.0, 0.0)
        self.work = self.implement(delivered) if active else np.zeros(self.problems.count)
        self.problems_week()  # work acts on problems; recorded crime is counted
        self.contacts(delivered)  # work on the street meets residents
        self.residents_week()  # residents see, credit, talk, forget
        if active and feedback_due(self.week, self.cycle.first_promise_week, self.cfg.feedback.interval_weeks):
            self.feedback()  # återkoppling reports what was delivered since the last round
        if active and feedback_due(self.week, self.cycle.first_promise_week, self.cfg.feedback.staff_interval_weeks):
            self.staff_feedback()  # staff hear what the promise achieved, on their own schedule
        if active:
            self.officers_learn()  # learning, attitude and turnover close the week
        if active and self.cycle.starts_cycle(self.week + 1) and self.week > 0:
            self.follow_up()  # the cycle's last week: evaluate before the next dialogue
        self.metrics = self.measure(planned, delivered)
        self.datacollector.collect(self)
        self.running = self.week < self.cfg.horizon_weeks  # Mesa's loops stop at the horizon (once they never did)

    # ---- phases -----------------------------------------------------------------------------
    def dialogue(self) -> None:
        """Medborgardialog: residents take part and name their concern; drafting costs officer hours."""
        self.cycle.open_dialogue(self.week)
        self.problems.recorded_this_cycle[:] = 0
        self.residents.dialogue(self.streams.week("dialogue", self.week), self.cfg.promise.outreach, self.problems.seen)

    def officers_work(self) -> tuple[float, float]:
        """Each officer delivers planned x effort (up to a cap), less acute demand, times engagement."""
        p, b = self.cfg.police, self.cfg.behaviour
        planned_each = p.planned_hours_per_week / len(self.officers)
        u = self.streams.week("acute_demand", self.week).random()
        acute = acute_demand(u, p.competing_demand, p.acute_concentration)
        delivered = sum(
            o.work(planned_each, p.effort, acute, p.priority, p.hours_per_officer, b.engagement_floor)
            for o in self.officers
        )
        return p.planned_hours_per_week, delivered

    def implement(self, delivered: float) -> np.ndarray:
        """Pay the dialogue, issue the promise when it is paid, then work the promised actions."""
        to_dialogue, hours = split_hours(delivered, self.cycle.dialogue_left if self.cycle.phase == "dialogue" else 0.0)
        self.cycle.dialogue_left -= to_dialogue
        if self.cycle.phase == "dialogue" and self.cycle.dialogue_left <= 1e-9:
            self.issue_promise()
            hours = hours if to_dialogue < delivered else 0.0
        work = np.zeros(self.problems.count)
        if self.cycle.phase != "implementation":
            return work
        pr, pa = self.cfg.promise, self.cfg.partners
        per_action = hours / pr.actions
        partner = partner_delivery(
            self.streams.week("partners", self.week).random(MAX_ACTIONS), pr.actions, pa.reliability
        )
        self.cycle.record_week(kept_share(per_action, partner, pa.share, pr.action_hours_per_week))
        action_work = per_action + pa.share * pr.action_hours_per_week * partner
        np.add.at(work, self.cycle.targets, action_work)
        return work

    def issue_promise(self) -> None:
        """Problem picture and promise: combine both pictures, promise the top problems, publish it."""
        citizens = self.residents.citizens_picture(self.problems.count)
        picture = problem_picture(citizens, self.problems.police_picture(), self.cfg.promise.citizen_weight)
        self.cycle.issue_promise(self.week, picture)
        self.residents.hear_of_promise(self.streams.week("publicity", self.week), self.cfg.promise.publicity)

    def problems_week(self) -> None:
        """Severities respond to this week's work, then recorded crime is counted."""
        b = self.cfg.behaviour
        self.problems.step(self.streams.week("problem_noise", self.week), self.work, b)
        self.problems.record(self.streams.week("crime", self.week), self.cfg.area.residents, b.crime_rate)
        self.crime_by_problem.append(self.problems.recorded_last_week.copy())
        self.severity_by_problem.append(self.problems.severity.copy())
        self.targeted_by_week.append(self.work > 0)

    def contacts(self, delivered: float) -> None:
        """Promise work creates contacts near the worked problems; quality depends on the officer.

        How many: Poisson(contacts_per_hour x hours) by inversion of one uniform; each contact then
        takes one row of four uniforms (who, by which officer, bad or good, told of the promise), so
        arms with more or fewer contacts share the contacts they have in common.
        """
        b = self.cfg.behaviour
        police_hours = delivered if self.cycle.phase == "implementation" else 0.0
        if police_hours <= 0 or self.work.sum() <= 0:
            return
        n = int(
            poisson_quantile(self.streams.week("contact_count", self.week).random(), b.contacts_per_hour * police_hours)
        )
        weight = np.cumsum((self.layout.kernel @ self.work.astype(np.float32)).astype(np.float64))
        hours = np.cumsum([o.hours_delivered for o in self.officers])
        if n == 0 or not weight[-1] > 0 or not hours[-1] > 0:
            return  # no one lives within reach of the work (the kernel underflows), or no one worked
        u = self.streams.week("contacts", self.week).random((n, 4))
        who = np.minimum(np.searchsorted(weight, u[:, 0] * weight[-1], side="right"), self.residents.n - 1)
        by = np.minimum(np.searchsorted(hours, u[:, 1] * hours[-1], side="right"), len(self.officers) - 1)
        quality = np.array([o.quality for o in self.officers])
        bad = u[:, 2] < bad_contact_probability(quality[by], b.bad_contact_base, b.contact_quality_slope)
        self.residents.contacts(who, bad, u[:, 3] < b.contact_awareness)

    def residents_week(self) -> None:
        """What residents see this week: problems near home, work on them, and how much of them is gone."""
        k, pr = self.layout.kernel, self.problems
        exposure = pr.exposure(k)
        presence = k @ seen_work(pr.seen, self.work, self.cfg.promise.action_hours_per_week).astype(np.float32)
        improvement = k @ (pr.visibility * (pr.baseline - pr.severity)).astype(np.float32)
        self.residents.week(self.streams.week("awareness", self.week), exposure, presence, improvement)

    def feedback(self) -> None:
        """Återkoppling to citizens: what was delivered since the last round, against the promise."""
        f = self.cfg.feedback
        delivered, targets = self.cycle.report()
        promised = self.cycle.promised_mask(self.problems.count, targets)
        rng = self.streams.week("feedback", self.week)
        effect = self.residents.feedback(rng, f.reach, delivered, f.expectation, promised, self.week)
        self.feedback_rounds.append({"week": self.week, **effect})
        self.last_feedback_week = self.week

    def staff_feedback(self) -> None:
        """Feedback to staff: officers hear what the promise achieved, which lifts attitude."""
        staff_feedback(self.officers, self.cfg.feedback.staff, self.cfg.behaviour.staff_feedback_lift)

    def officers_learn(self) -> None:
        p, b = self.cfg.police, self.cfg.behaviour
        rate = learning_rate(p.training, p.priority, b.learning_training_share, b.officer_learning_weeks)
        for o in self.officers:
            o.learn(rate, p.priority, b)
        leave = self.streams.week("turnover", self.week).random(len(self.officers))
        newcomers = self.streams.week("recruits", self.week).random((len(self.officers), 3))
        self.officers = turnover(self, self.officers, p.turnover_per_year, p, leave, newcomers)

    def follow_up(self) -> None:
        """End of a cycle: results are evaluated and the next cycle starts."""
        self.cycle.follow_up(float(self.residents.participated.mean()))

    # ---- what comes out ------------------------------------------------------------------------
    def measure(self, hours_planned: float, hours_delivered: float) -> dict[str, float]:
        m = self.residents.metrics()
        m.update(
            problem_severity=float(self.problems.severity.mean()),
            recorded_crime=float(self.problems.recorded_last_week.sum()),
            hours_planned=hours_planned,
            hours_delivered=hours_delivered,
            delivery_ratio=self.cycle.delivery_ratio,
            officer_attitude_mean=float(np.mean([o.attitude for o in self.officers])),
        )
        return m

    def survey(self, sample_size: int | None = None) -> dict[str, float]:
        """Run the virtual survey on the current state (its own continuous stream: never changes the run)."""
        s = self.cfg.survey
        sample_size = s.sample_size if sample_size is None else sample_size
        levels = {
            "trust": self.residents.trust,
            "delaktighet": self.residents.delaktighet,
            "trygghet": self.residents.trygghet,
        }
        return run_survey(self.streams.survey, levels, sample_size, s.response_rate, s.noise)

    def cell_map(self, field: str) -> np.ndarray:
        """Mean of a resident outcome (trust, trygghet, delaktighet) per grid cell; NaN where nobody lives."""
        side = self.layout.side
        cell = self.layout.cell
        counts = np.bincount(cell, minlength=side * side)
        sums = np.bincount(cell, weights=getattr(self.residents, field), minlength=side * side)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (sums / counts).reshape(side, side)

    def neighbourhoods(self) -> dict[str, np.ndarray]:
        return self.residents.by_neighbourhood(self.layout.n_hoods)
