"""The promise cycle: dialogue -> problem picture -> promise -> implementation -> follow-up.

A cycle lasts ``promise.period_weeks``. It opens with a dialogue whose overhead
(``promise.dialogue_hours``) is paid from the first hours delivered, so short cycles buy
more dialogue at the price of implementation time, and a team that delivers little may
take weeks to issue its promise. Feedback rounds are in feedback.py; what a round reports
comes from here (``PromiseCycle.report``): the share kept since the previous round.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def problem_picture(citizens: np.ndarray, police: np.ndarray, citizen_weight: float) -> np.ndarray:
    """Combine the citizens' and the police's problem pictures (Brå 2018:14, recommendation 2)."""
    return citizen_weight * citizens + (1.0 - citizen_weight) * police


def choose_targets(picture: np.ndarray, actions: int) -> np.ndarray:
    """The promise: one action per top-ranked problem, going round again when actions exceed problems."""
    order = np.argsort(-picture, kind="stable")
    return order[np.arange(actions) % picture.size]


def split_hours(delivered: float, dialogue_left: float) -> tuple[float, float]:
    """Delivered hours pay the dialogue overhead first; what is left goes to implementation."""
    to_dialogue = min(delivered, dialogue_left)
    return to_dialogue, delivered - to_dialogue


def kept_share(
    police_hours: float, partner_delivered: np.ndarray, partner_share: float, action_hours: float
) -> np.ndarray:
    """How much of each action was kept this week: the police part, up to what it needs, plus the partner part."""
    police_needed = (1.0 - partner_share) * action_hours
    police_part = np.minimum(1.0, police_hours / police_needed) if police_needed > 0 else 1.0
    return (1.0 - partner_share) * police_part + partner_share * partner_delivered


@dataclass
class CycleRecord:
    """What the follow-up records of one cycle."""

    cycle: int
    start_week: int
    promise_week: int | None
    targets: list[int]
    participation: float
    delivery_ratio: float


@dataclass
class PromiseCycle:
    """Where the area is in the cycle, and the accounting of what was promised and kept."""

    period_weeks: int
    dialogue_hours: float
    actions: int
    cycle: int = 0
    start_week: int = 0
    phase: str = "not started"
    dialogue_left: float = 0.0
    targets: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    promise_week: int | None = None
    first_promise_week: int | None = None
    kept_sum: float = 0.0
    kept_weeks: int = 0
    last_delivery_ratio: float = 0.0
    records: list[CycleRecord] = field(default_factory=list)
    kept_log: list[float] = field(default_factory=list)  # every implementation week's kept share
    kept_cycle: list[int] = field(default_factory=list)  # ... and the cycle it belonged to
    targets_by_cycle: dict[int, np.ndarray] = field(default_factory=dict)
    reported_upto: int = 0  # implementation weeks already reported to residents
    last_report: tuple[float, np.ndarray] = (0.0, np.zeros(0, dtype=np.int64))

    def starts_cycle(self, week: int) -> bool:
        """A new cycle (and its dialogue) opens at week 1 and every period_weeks after."""
        return (week - 1) % self.period_weeks == 0

    def open_dialogue(self, week: int) -> None:
        self.cycle += 1
        self.start_week = week
        self.phase = "dialogue"
        self.dialogue_left = self.dialogue_hours
        self.targets = np.zeros(0, dtype=np.int64)
        self.promise_week = None
        self.kept_sum, self.kept_weeks = 0.0, 0

    def issue_promise(self, week: int, picture: np.ndarray) -> None:
        self.targets = choose_targets(picture, self.actions)
        self.targets_by_cycle[self.cycle] = self.targets
        self.phase = "implementation"
        self.promise_week = week
        if self.first_promise_week is None:
            self.first_promise_week = week

    def record_week(self, kept: np.ndarray) -> None:
        share = float(kept.mean())
        self.kept_sum += share
        self.kept_weeks += 1
        self.kept_log.append(share)
        self.kept_cycle.append(self.cycle)

    def report(self) -> tuple[float, np.ndarray]:
        """What a feedback round tells residents: the share kept over the implementation weeks since the
        previous round, and the targets of the promise those weeks mostly belonged to.

        A round in the week a new promise is issued therefore reports the weeks of the old one, not
        the new promise's first week; with nothing new since the last round it repeats the last report.
        """
        window = self.kept_log[self.reported_upto :]
        if not window:
            return self.last_report
        cycles = self.kept_cycle[self.reported_upto :]
        main = max(set(cycles), key=cycles.count)
        self.reported_upto = len(self.kept_log)
        self.last_report = (float(np.mean(window)), self.targets_by_cycle[main])
        return self.last_report

    @property
    def delivery_ratio(self) -> float:
        """Share of the promise kept so far this cycle; the last cycle's result while none is under way."""
        return self.kept_sum / self.kept_weeks if self.kept_weeks else self.last_delivery_ratio

    def promised_mask(self, problems: int, targets: np.ndarray | None = None) -> np.ndarray:
        """Which problems the promise (the current one, or ``targets``) names."""
        mask = np.zeros(problems, dtype=bool)
        mask[self.targets if targets is None else targets] = True
        return mask

    def follow_up(self, participation: float) -> CycleRecord:
        """End of cycle: record the result; the next cycle starts with a new dialogue."""
        if self.kept_weeks:
            self.last_delivery_ratio = self.kept_sum / self.kept_weeks
        record = CycleRecord(
            self.cycle, self.start_week, self.promise_week, self.targets.tolist(), participation, self.delivery_ratio
        )
        self.records.append(record)
        self.phase = "follow-up"
        return record
