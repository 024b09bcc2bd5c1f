"""Officers: the community officers who work the promise, as Mesa agents.

Each officer has a share of the team's planned hours, an attitude toward the promise work
(Brå 2018:14 found negative attitudes), knowledge of the method (training) and tenure.
Turnover replaces an officer with a newcomer who does not know the method.
"""

from __future__ import annotations

import mesa
import numpy as np

from .streams import beta_quantile


def engagement(attitude: float, priority: float, floor: float) -> float:
    """Share of available hours actually put into the promise: a clear priority overrides a poor attitude.

    1 - (1 - floor)(1 - priority)(1 - attitude): at full priority or full attitude all available
    hours are used; at neither, ``floor`` of them (behaviour.engagement_floor; after Brå
    2018:14 recommendations 1-2).
    """
    return 1.0 - (1.0 - floor) * (1.0 - priority) * (1.0 - attitude)


def attitude_target(
    base: float, knowledge: float, priority: float, knowledge_slope: float, priority_slope: float
) -> float:
    """Where an officer's attitude drifts: up with knowledge of the method and a clear priority (Brå 2018:14)."""
    return min(1.0, max(0.0, base + knowledge_slope * (knowledge - 0.5) + priority_slope * (priority - 0.5)))


def bad_contact_probability(quality: np.ndarray, base: float, slope: float) -> np.ndarray:
    """Procedural justice: a knowledgeable, committed officer has fewer bad contacts (contact_quality_slope)."""
    return base * (1.0 - slope * quality)


def acute_demand(u: float, mean: float, concentration: float) -> float:
    """Share of this week's promise hours lost to acute demand: Beta with the given mean, from one uniform."""
    if mean <= 0:
        return 0.0
    return float(beta_quantile(u, mean, concentration))


def learning_rate(training: float, priority: float, training_share: float, learning_weeks: float) -> float:
    """Weekly share of the remaining method an officer learns; 0 when learning is switched off (0 weeks)."""
    if learning_weeks <= 0:
        return 0.0
    return (training_share * training + (1.0 - training_share) * priority) / learning_weeks


class Officer(mesa.Agent):
    """A community officer working the promise."""

    def __init__(self, model: mesa.Model, attitude: float, knowledge: float, x: int, y: int) -> None:
        super().__init__(model)
        self.base_attitude = attitude  # the officer's own leaning, before method and priority
        self.attitude = attitude
        self.knowledge = knowledge
        self.tenure_weeks = 0
        self.x, self.y = x, y  # home cell, for the map
        self.hours_available = 0.0
        self.hours_delivered = 0.0

    @property
    def quality(self) -> float:
        """Quality of this officer's contacts with residents (procedural justice), 0-1."""
        return 0.5 * (self.knowledge + self.attitude)

    def work(self, planned: float, effort: float, acute: float, priority: float, cap: float, floor: float) -> float:
        """Deliver this week's promise hours: planned x effort up to the officer's cap, less acute demand,
        times engagement."""
        self.hours_available = min(planned * effort, cap) * (1.0 - acute)
        self.hours_delivered = self.hours_available * engagement(self.attitude, priority, floor)
        return self.hours_delivered

    def learn(self, rate: float, priority: float, behaviour) -> None:
        """Weekly learning: knowledge grows at ``rate``; attitude follows knowledge and priority."""
        b = behaviour
        self.knowledge += rate * (1.0 - self.knowledge)
        target = attitude_target(
            self.base_attitude, self.knowledge, priority, b.attitude_knowledge_slope, b.attitude_priority_slope
        )
        self.attitude += (target - self.attitude) / b.officer_attitude_weeks
        self.tenure_weeks += 1

    def hear_staff_feedback(self, intensity: float, lift: float) -> None:
        """Feedback to staff on what the promise achieved lifts attitude (Brå 2018:14)."""
        self.attitude += intensity * lift * (1.0 - self.attitude)


def recruit(model: mesa.Model, u: np.ndarray, police, knowledge: float) -> Officer:
    """A new officer from three uniforms: attitude drawn around the area's mean (Beta), and a home cell."""
    side = model.layout.side
    attitude = float(beta_quantile(u[0], police.attitude, police.attitude_concentration))
    return Officer(model, attitude, knowledge, int(u[1] * side), int(u[2] * side))


def turnover(
    model: mesa.Model, officers: list[Officer], per_year: float, police, leave_u: np.ndarray, recruit_u: np.ndarray
) -> list[Officer]:
    """Each officer leaves with weekly chance per_year/52 and is replaced by a newcomer who does not know
    the method (knowledge 0). ``leave_u`` holds one uniform per officer, ``recruit_u`` a row of three."""
    leaving = leave_u < per_year / 52.0
    if not leaving.any():
        return officers
    staff = []
    for i, (officer, leaves) in enumerate(zip(officers, leaving)):
        if leaves:
            officer.remove()
            officer = recruit(model, recruit_u[i], police, knowledge=0.0)
        staff.append(officer)
    return staff
