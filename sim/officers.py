"""Officers: the community officers who work the promise, as Mesa agents.

Each officer has a share of the team's planned hours, an attitude toward the promise work
(Brå 2018:14 found negative attitudes), knowledge of the method (training) and tenure.
Turnover replaces an officer with a newcomer who does not know the method.
"""

from __future__ import annotations

import mesa
import numpy as np


def engagement(attitude: float, priority: float) -> float:
    """Share of available hours actually put into the promise: a clear priority overrides a poor attitude.

    1 - 0.5 (1 - priority)(1 - attitude): at full priority or full attitude all available hours
    are used; at neither, half (assumption, after Brå 2018:14 recommendations 1-2).
    """
    return 1.0 - 0.5 * (1.0 - priority) * (1.0 - attitude)


def attitude_target(base: float, knowledge: float, priority: float) -> float:
    """Where an officer's attitude drifts: up with knowledge of the method and a clear priority (assumption)."""
    return float(np.clip(base + 0.3 * (knowledge - 0.5) + 0.3 * (priority - 0.5), 0.0, 1.0))


def bad_contact_probability(quality: np.ndarray, base: float) -> np.ndarray:
    """Procedural justice: a knowledgeable, committed officer has fewer bad contacts (assumption)."""
    return base * (1.0 - 0.6 * quality)


def acute_demand(rng: np.random.Generator, mean: float) -> float:
    """Share of this week's promise hours lost to acute demand: Beta with the given mean (assumption)."""
    if mean <= 0:
        return 0.0
    return float(rng.beta(5.0 * mean, 5.0 * (1.0 - mean)))


class Officer(mesa.Agent):
    """A community officer working the promise."""

    def __init__(self, model: mesa.Model, attitude: float, knowledge: float) -> None:
        super().__init__(model)
        self.base_attitude = attitude  # the officer's own leaning, before method and priority
        self.attitude = attitude
        self.knowledge = knowledge
        self.tenure_weeks = 0
        side = model.layout.side
        self.x, self.y = int(model.rng.integers(side)), int(model.rng.integers(side))
        self.hours_available = 0.0
        self.hours_delivered = 0.0

    @property
    def quality(self) -> float:
        """Quality of this officer's contacts with residents (procedural justice), 0-1."""
        return 0.5 * (self.knowledge + self.attitude)

    def work(self, planned: float, effort: float, acute: float, priority: float) -> float:
        """Deliver this week's promise hours: planned x effort, less acute demand, times engagement."""
        self.hours_available = planned * effort * (1.0 - acute)
        self.hours_delivered = self.hours_available * engagement(self.attitude, priority)
        return self.hours_delivered

    def learn(self, training: float, priority: float, learning_weeks: float, attitude_weeks: float) -> None:
        """Weekly learning: knowledge grows with training and priority; attitude follows knowledge and priority."""
        rate = (0.7 * training + 0.3 * priority) / learning_weeks
        self.knowledge += rate * (1.0 - self.knowledge)
        target = attitude_target(self.base_attitude, self.knowledge, priority)
        self.attitude += (target - self.attitude) / attitude_weeks
        self.tenure_weeks += 1

    def hear_staff_feedback(self, intensity: float, lift: float) -> None:
        """Feedback to staff on what the promise achieved lifts attitude (Brå 2018:14)."""
        self.attitude += intensity * lift * (1.0 - self.attitude)


def recruit(model: mesa.Model, mean_attitude: float, knowledge: float) -> Officer:
    """A new officer with an attitude drawn around the area's mean (Beta, concentration 6; assumption)."""
    a = float(model.rng.beta(6.0 * max(mean_attitude, 0.01), 6.0 * max(1.0 - mean_attitude, 0.01)))
    return Officer(model, attitude=a, knowledge=knowledge)


def turnover(model: mesa.Model, officers: list[Officer], per_year: float, mean_attitude: float) -> list[Officer]:
    """Each officer leaves with weekly chance per_year/52 and is replaced by a newcomer without the method."""
    leaving = model.rng.random(len(officers)) < per_year / 52.0
    if not leaving.any():
        return officers
    staff = []
    for officer, leaves in zip(officers, leaving):
        if leaves:
            officer.remove()
            officer = recruit(model, mean_attitude, knowledge=0.0)
        staff.append(officer)
    return staff
