"""Feedback (återkoppling) to citizens and to staff, and why it matters: attribution.

A feedback round reaches a share of residents, makes them aware of the promise and tells
them what was delivered against what was promised (docs/model.md §7.8; Hohl, Bradford & Stanko
2010, evidence.md §4). Residents aware of the promise credit the police for visible work
far more than those who are not: that is why feedback matters.
"""

from __future__ import annotations

import numpy as np


def feedback_due(week: int, first_promise_week: int | None, interval_weeks: int) -> bool:
    """A round is due every interval_weeks after the first promise was issued (0 = never)."""
    if interval_weeks == 0 or first_promise_week is None or week <= first_promise_week:
        return False
    return (week - first_promise_week) % interval_weeks == 0


def seen_work(seen_severity: np.ndarray, work: np.ndarray, need: float) -> np.ndarray:
    """How much police work residents see at each problem: the problem's seen severity x (1 - 2^(-work/need)).

    Work shows in proportion to how much of the problem residents notice (severe, visible problems
    draw attention to the work on them), with diminishing returns once the action's weekly need is
    met (assumption): trust from visible work does not grow without limit with the hours.
    """
    return seen_severity * (1.0 - np.exp2(-work / need))


def attribution(aware: np.ndarray, behaviour) -> np.ndarray:
    """Credit a resident gives the police for visible work: attribution_aware if it knows of the promise."""
    return np.where(aware, behaviour.attribution_aware, behaviour.attribution_unaware)


def staff_feedback(officers, intensity: float, lift: float) -> None:
    """Feedback to staff: every officer hears what the promise achieved, which lifts attitude."""
    if intensity <= 0:
        return
    for officer in officers:
        officer.hear_staff_feedback(intensity, lift)
