"""Local problems (hot spots): true severity, what residents see, what police records show.

Each problem has a baseline severity it reverts toward, a visibility to residents and a
recordability in police statistics. The two differ on purpose: they are the citizens' and
the police's problem pictures (problembilder) that Brå says should be combined.
"""

from __future__ import annotations

import numpy as np

from .streams import poisson_quantile


def severity_step(
    severity: np.ndarray,
    baseline: np.ndarray,
    work_hours: np.ndarray,
    memory_weeks: float,
    work_effect: float,
    half_hours: float,
    noise: np.ndarray,
) -> np.ndarray:
    """One week of a problem's severity.

    Reverts toward baseline over ``memory_weeks``; work removes up to ``work_effect`` of the
    severity a week with diminishing returns, 1 - 2^(-hours/half_hours) (assumption; the size
    is fitted to hot-spot and problem-oriented effects, target T9 in docs/evidence.md);
    ``noise`` is a multiplicative shock with mean zero.
    """
    returns = 1.0 - np.exp2(-work_hours / half_hours)
    new = severity + (baseline - severity) / memory_weeks - work_effect * returns * severity
    return np.clip(new * (1.0 + noise), 0.0, 1.0)


def expected_crime(severity: np.ndarray, recordability: np.ndarray, residents: int, rate: float) -> np.ndarray:
    """Expected recorded crimes a week per problem: rate per 1000 residents x severity x recordability."""
    return rate * residents / 1000.0 * severity * recordability


class Problems:
    """State of the area's local problems, held as arrays indexed by problem."""

    def __init__(self, rng: np.random.Generator, count: int, area) -> None:
        spread = np.clip(1.0 + area.problem_spread * rng.standard_normal(count), 0.4, 1.6)
        self.baseline = np.clip(area.problem_severity * spread, 0.01, 1.0)
        self.severity = self.baseline.copy()
        self.visibility = rng.uniform(area.visibility_min, 1.0, count)  # how much residents notice it
        self.recordability = rng.uniform(area.recordability_min, 1.0, count)  # how well it shows in police records
        self.recorded_this_cycle = np.zeros(count)
        self.recorded_last_week = np.zeros(count, dtype=np.int64)

    def record(self, rng: np.random.Generator, residents: int, crime_rate: float) -> None:
        """Count this week's recorded crime: Poisson around rate x severity x recordability (by inversion,
        so a lower severity never records more crime from the same random numbers)."""
        expected = expected_crime(self.severity, self.recordability, residents, crime_rate)
        self.recorded_last_week = poisson_quantile(rng.random(self.count), expected)
        self.recorded_this_cycle += self.recorded_last_week

    @property
    def count(self) -> int:
        return self.severity.size

    def step(self, noise_rng: np.random.Generator, work_hours: np.ndarray, behaviour) -> None:
        """Update severity under this week's work."""
        noise = behaviour.severity_noise * noise_rng.standard_normal(self.count)
        self.severity = severity_step(
            self.severity,
            self.baseline,
            work_hours,
            behaviour.problem_memory_weeks,
            behaviour.work_effect,
            behaviour.work_half_hours,
            noise,
        )

    @property
    def seen(self) -> np.ndarray:
        """How much of each problem residents see: severity x visibility."""
        return self.severity * self.visibility

    def exposure(self, kernel: np.ndarray) -> np.ndarray:
        """What each resident sees of the problems: sum over problems of kernel x severity x visibility."""
        return kernel @ self.seen.astype(np.float32)

    def police_picture(self) -> np.ndarray:
        """The police's problem picture: shares of the crime recorded since the dialogue opened; while none
        is recorded (a dialogue paid for within its first week, or a quiet spell), the expected shares."""
        total = self.recorded_this_cycle.sum()
        if total == 0:
            return self.baseline * self.recordability / (self.baseline * self.recordability).sum()
        return self.recorded_this_cycle / total
