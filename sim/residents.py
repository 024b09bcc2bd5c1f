"""Residents: trust (förtroende), trygghet, delaktighet and awareness, held as arrays.

Every resident has a baseline level of each outcome, drawn once from a Beta distribution
(heterogeneity is real), and a deviation from it that events move and memory fades. The
level is baseline + deviation, kept on [0, 1]. With nothing happening the deviation stays
zero, so the counterfactual stays where it starts. The update rules are the pure functions
at the top; the class only holds the state and applies them to all residents at once.
"""

from __future__ import annotations

import numpy as np

from .feedback import attribution
from .social import awareness_spread, word_of_mouth

# The survey cut, structural rather than a parameter: NTU's "very or fairly high" confidence is an
# answer above the middle of the scale and "very or fairly unsafe" one below it; the shares the
# model reports are defined the same way so they compare with the survey's.
HIGH = 0.5


# ---- pure update rules --------------------------------------------------------------------


def beta_draw(rng: np.random.Generator, mean: np.ndarray | float, concentration: float, n: int) -> np.ndarray:
    """Baseline levels: Beta with the given mean and concentration (assumption)."""
    m = np.clip(np.broadcast_to(mean, (n,)), 0.02, 0.98)
    return rng.beta(m * concentration, (1.0 - m) * concentration)


def fade(deviation: np.ndarray, memory_weeks: float) -> np.ndarray:
    """Memory: a change decays toward the resident's baseline with time constant memory_weeks."""
    return deviation * (1.0 - 1.0 / memory_weeks)


def judged_gap(delivered: float, expected: float, broken_ratio: float) -> float:
    """How a resident judges a promise: delivered minus expected; shortfalls weigh broken_ratio times more."""
    gap = delivered - expected
    return gap if gap >= 0 else broken_ratio * gap


def novelty(weeks_since_heard: np.ndarray, novelty_weeks: float) -> np.ndarray:
    """Habituation to feedback: 1 - exp(-weeks since the last round heard / novelty_weeks); 1 if never heard,
    and 1 always when novelty_weeks is 0 (no habituation)."""
    if novelty_weeks <= 0:
        return np.ones_like(weeks_since_heard, dtype=float)
    return 1.0 - np.exp(-weeks_since_heard / novelty_weeks)


def relevance(concern_promised: np.ndarray, weight_other: float) -> np.ndarray:
    """Weight of a feedback round for a resident: 1 if its own concern was promised, else ``weight_other``
    ("you said, we did" counts most when it is about what you said; behaviour.feedback_relevance)."""
    return np.where(concern_promised, 1.0, weight_other)


def contact_effect(bad: np.ndarray, good_size: float, bad_ratio: float) -> np.ndarray:
    """Trust change of a contact: +good_size if good, -bad_ratio x good_size if bad (Skogan 2006)."""
    return np.where(bad, -bad_ratio * good_size, good_size)


def participation_probability(trust: np.ndarray, delaktighet: np.ndarray, outreach: float, b) -> np.ndarray:
    """Chance of taking part in the dialogue: rises with outreach, delaktighet and trust (assumption)."""
    p = outreach * (b.participation_base + b.participation_delaktighet * delaktighet + b.participation_trust * trust)
    return np.clip(p, 0.0, 1.0)


def trygghet_target(
    exposure_change: np.ndarray, credited_presence: np.ndarray, trust_change: np.ndarray, b
) -> np.ndarray:
    """Where trygghet is heading: less with more problems near home, more with credited presence and trust."""
    return (
        -b.exposure_trygghet * exposure_change
        + b.visible_work_trygghet * credited_presence
        + b.trust_trygghet * trust_change
    )


def keep_in_range(deviation: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Keep baseline + deviation on [0, 1]."""
    return np.clip(deviation, -baseline, 1.0 - baseline)


# ---- state --------------------------------------------------------------------------------


class Residents:
    """All residents of the area as arrays indexed by resident."""

    def __init__(
        self,
        streams,
        area,
        behaviour,
        layout,
        ties: np.ndarray,
        exposure0: np.ndarray,
        problem_weights: np.ndarray,
    ) -> None:
        n = area.residents
        self.n = n
        self.b = behaviour
        self.hood = layout.hood
        self.kernel = layout.kernel
        self.ties = ties
        self.exposure0 = exposure0
        # Each baseline from its own stream, so changing one area level leaves the others' draws alone.
        self.trust0 = beta_draw(streams.week("trust0", 0), area.baseline_trust, area.heterogeneity, n)
        self.delaktighet0 = beta_draw(streams.week("delaktighet0", 0), area.baseline_delaktighet, area.heterogeneity, n)
        # Residents living near the worst problems start less safe (assumption).
        local = area.baseline_trygghet - behaviour.exposure_trygghet * (exposure0 - exposure0.mean())
        self.trygghet0 = beta_draw(streams.week("trygghet0", 0), local, area.heterogeneity, n)
        self.d_trust = np.zeros(n)
        self.d_delaktighet = np.zeros(n)
        self.d_trygghet = np.zeros(n)
        self.aware = np.zeros(n, dtype=bool)
        self.participated = np.zeros(n, dtype=bool)
        self.last_heard = np.full(n, -np.inf)  # week the resident last heard a feedback round
        self.concern = self.most_concerning(problem_weights)

    # levels ---------------------------------------------------------------------------------
    @property
    def trust(self) -> np.ndarray:
        return self.trust0 + self.d_trust

    @property
    def delaktighet(self) -> np.ndarray:
        return self.delaktighet0 + self.d_delaktighet

    @property
    def trygghet(self) -> np.ndarray:
        return self.trygghet0 + self.d_trygghet

    def most_concerning(self, problem_weights: np.ndarray, who: np.ndarray | None = None) -> np.ndarray:
        """The problem each resident (or each of ``who``) is most concerned about: the one it sees most of."""
        kernel = self.kernel if who is None else self.kernel[who]
        return np.argmax(kernel * problem_weights.astype(np.float32), axis=1)

    # events ---------------------------------------------------------------------------------
    def dialogue(self, rng: np.random.Generator, outreach: float, problem_weights: np.ndarray) -> np.ndarray:
        """Medborgardialog: who takes part, their concern; taking part builds delaktighet and awareness."""
        p = participation_probability(self.trust, self.delaktighet, outreach, self.b)
        self.participated = rng.random(self.n) < p
        who = np.flatnonzero(self.participated)
        self.concern[who] = self.most_concerning(problem_weights, who)
        self.aware[who] = True
        self.d_delaktighet[who] += self.b.participation_bonus
        self._clip()
        return self.participated

    def citizens_picture(self, problems: int) -> np.ndarray:
        """The citizens' problem picture: share of participants naming each problem."""
        counts = np.bincount(self.concern[self.participated], minlength=problems).astype(float)
        return counts / counts.sum() if counts.sum() > 0 else np.full(problems, 1.0 / problems)

    def hear_of_promise(self, rng: np.random.Generator, share: float) -> None:
        """A published promise reaches a share of residents."""
        self.aware |= rng.random(self.n) < share

    def contacts(self, who: np.ndarray, bad: np.ndarray, told: np.ndarray) -> None:
        """Contacts with officers doing promise work: trust moves; those ``told`` learn of the promise."""
        np.add.at(self.d_trust, who, contact_effect(bad, self.b.good_contact, self.b.bad_contact_ratio))
        self.aware[who[told]] = True
        self._clip()

    def feedback(
        self,
        rng: np.random.Generator,
        reach: float,
        delivered: float,
        expected: float,
        promised: np.ndarray,
        week: int = 0,
    ) -> dict[str, float]:
        """A feedback round (återkoppling): reached residents learn what was delivered against what was promised.

        The effect is scaled by novelty (a resident who heard a round recently responds less) and by
        relevance (less for a resident whose own concern was not promised). Returns the round's direct
        effect: how many were reached and their mean change in trust and delaktighet.
        """
        b = self.b
        reached = np.flatnonzero(rng.random(self.n) < reach)
        before_t, before_d = self.trust[reached], self.delaktighet[reached]
        gap = judged_gap(delivered, expected, b.broken_promise_ratio)
        own = promised[self.concern[reached]]
        scale = novelty(week - self.last_heard[reached], b.feedback_novelty_weeks) * relevance(
            own, b.feedback_relevance
        )
        self.last_heard[reached] = week
        self.aware[reached] = True
        self.d_trust[reached] += scale * b.feedback_trust * gap
        self.d_delaktighet[reached] += scale * (b.feedback_delaktighet * gap + b.feedback_information)
        heard = self.participated[reached] & own
        self.d_delaktighet[reached[heard]] += scale[heard] * b.heard_bonus * delivered
        self._clip()
        return {
            "reached": float(reached.size),
            "delivered": float(delivered),
            "trust_change": float((self.trust[reached] - before_t).mean()) if reached.size else 0.0,
            "delaktighet_change": float((self.delaktighet[reached] - before_d).mean()) if reached.size else 0.0,
        }

    def week(
        self, rng: np.random.Generator, exposure: np.ndarray, presence: np.ndarray, improvement: np.ndarray
    ) -> None:
        """The weekly drift: credit for visible work, trygghet, word of mouth, memory, forgetting."""
        b = self.b
        credit = attribution(self.aware, b)
        self.d_trust += b.visible_work_trust * credit * (presence + improvement)
        target = trygghet_target(exposure - self.exposure0, credit * presence, self.d_trust, b)
        self.d_trygghet += (target - self.d_trygghet) / b.trygghet_inertia_weeks
        self.d_trust = fade(word_of_mouth(self.d_trust, self.ties, b.word_of_mouth), b.trust_memory_weeks)
        self.d_delaktighet = fade(
            word_of_mouth(self.d_delaktighet, self.ties, b.word_of_mouth), b.delaktighet_memory_weeks
        )
        self.d_trygghet = word_of_mouth(self.d_trygghet, self.ties, b.word_of_mouth)
        u = rng.random(2 * self.n)
        self.aware = awareness_spread(
            self.aware & (u[: self.n] >= 1.0 / b.awareness_memory_weeks),
            self.ties,
            b.word_of_mouth_awareness,
            u[self.n :],
        )
        self._clip()

    def _clip(self) -> None:
        self.d_trust = keep_in_range(self.d_trust, self.trust0)
        self.d_delaktighet = keep_in_range(self.d_delaktighet, self.delaktighet0)
        self.d_trygghet = keep_in_range(self.d_trygghet, self.trygghet0)

    # what comes out ----------------------------------------------------------------------------
    def metrics(self) -> dict[str, float]:
        """Area-level outcomes, defined like the national survey's shares (cut at the scale's middle)."""
        trust, trygghet = self.trust, self.trygghet
        return {
            "trust_mean": float(trust.mean()),
            "trust_high_share": float((trust > HIGH).mean()),
            "delaktighet_mean": float(self.delaktighet.mean()),
            "delaktighet_high_share": float((self.delaktighet > HIGH).mean()),
            "participation_rate": float(self.participated.mean()),
            "trygghet_mean": float(trygghet.mean()),
            "unsafe_share": float((trygghet < HIGH).mean()),
            "awareness_share": float(self.aware.mean()),
        }

    def by_neighbourhood(self, n_hoods: int) -> dict[str, np.ndarray]:
        """The four outcomes averaged per neighbourhood; NaN where nobody lives."""
        counts = np.bincount(self.hood, minlength=n_hoods)

        def mean(v: np.ndarray) -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(counts > 0, np.bincount(self.hood, weights=v, minlength=n_hoods) / counts, np.nan)

        return {
            "residents": counts,
            "trust": mean(self.trust),
            "delaktighet": mean(self.delaktighet),
            "trygghet": mean(self.trygghet),
            "participation": mean(self.participated.astype(float)),
        }
