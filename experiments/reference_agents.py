"""The resident rules written the plain Mesa way: one Agent per resident, each with its own methods.

This is the readable, per-agent statement of the rules in ``sim/residents.py`` (and the
resident side of ``sim/feedback.py`` and ``sim/social.py``), and the baseline a Mesa user
would otherwise write. It is kept beside the benchmark and the docking test, not in the model
package. Its code is written independently of the array version (scalar arithmetic, one agent
at a time), drawing from the same per-process random streams (sim/streams.py), each agent
taking its own number in turn, so the docking test (``tests/test_docking.py``) fails when a
rule is changed in one and not the other.

``ReferenceModel`` is ``PromiseModel`` with these agents standing in for the resident arrays;
everything else (officers, problems, promise cycle) is shared.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from sim.model import PromiseModel

HIGH = 0.5


def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


class ResidentAgent(mesa.Agent):
    """One resident: trust, trygghet, delaktighet as baseline + deviation, awareness, concern, ties."""

    def __init__(
        self,
        model: mesa.Model,
        index: int,
        hood: int,
        kernel_row: list[float],
        exposure0: float,
        trust0: float,
        delaktighet0: float,
        trygghet0: float,
    ) -> None:
        super().__init__(model)
        self.index, self.hood, self.kernel_row, self.exposure0 = index, hood, kernel_row, exposure0
        self.trust0, self.delaktighet0, self.trygghet0 = trust0, delaktighet0, trygghet0
        self.d_trust = self.d_delaktighet = self.d_trygghet = 0.0
        self.aware = False
        self.participated = False
        self.last_heard = float("-inf")  # week this resident last heard a feedback round
        self.concern = 0
        self.ties: list[ResidentAgent] = []
        self._next: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self._hears = False

    # levels
    @property
    def trust(self) -> float:
        return self.trust0 + self.d_trust

    @property
    def delaktighet(self) -> float:
        return self.delaktighet0 + self.d_delaktighet

    @property
    def trygghet(self) -> float:
        return self.trygghet0 + self.d_trygghet

    def clip(self) -> None:
        """Keep every level on [0, 1]."""
        self.d_trust = _clamp(self.d_trust, -self.trust0, 1 - self.trust0)
        self.d_delaktighet = _clamp(self.d_delaktighet, -self.delaktighet0, 1 - self.delaktighet0)
        self.d_trygghet = _clamp(self.d_trygghet, -self.trygghet0, 1 - self.trygghet0)

    def credit(self, b) -> float:
        """Attribution: a resident who knows of the promise credits the police for visible work."""
        return b.attribution_aware if self.aware else b.attribution_unaware

    def pick_concern(self, weights: list[float]) -> None:
        """The problem this resident sees most of."""
        seen = [k * w for k, w in zip(self.kernel_row, weights)]
        self.concern = seen.index(max(seen))

    # events
    def take_part_in_dialogue(self, u: float, outreach: float, weights: list[float], b) -> None:
        """Rule: take part with chance outreach x (base + a x delaktighet + b x trust); if so, name a concern,
        learn of the promise, gain a little delaktighet."""
        p = _clamp(
            outreach
            * (
                b.participation_base
                + b.participation_delaktighet * self.delaktighet
                + b.participation_trust * self.trust
            ),
            0.0,
            1.0,
        )
        self.participated = u < p
        if self.participated:
            self.pick_concern(weights)
            self.aware = True
            self.d_delaktighet += b.participation_bonus
            self.clip()

    def meet_officer(self, bad: bool, told: bool, b) -> None:
        """Rule: a good contact adds good_contact to trust; a bad one takes bad_contact_ratio times as much."""
        self.d_trust += -b.bad_contact_ratio * b.good_contact if bad else b.good_contact
        if told:
            self.aware = True
        self.clip()

    def hear_feedback(
        self, u: float, reach: float, delivered: float, expected: float, promised: list[bool], b, week: int
    ) -> bool:
        """Rule: if reached, learn of the promise and judge delivered against expected (shortfalls weigh more);
        a resident who heard a round recently responds less (habituation), and one whose own concern was
        not promised less again (relevance)."""
        if not u < reach:
            return False
        gap = delivered - expected
        if gap < 0:
            gap *= b.broken_promise_ratio
        scale = 1.0
        if b.feedback_novelty_weeks > 0:
            scale = 1.0 - math.exp(-(week - self.last_heard) / b.feedback_novelty_weeks)
        own = promised[self.concern]
        if not own:
            scale *= b.feedback_relevance
        self.last_heard = week
        self.aware = True
        self.d_trust += scale * b.feedback_trust * gap
        self.d_delaktighet += scale * (b.feedback_delaktighet * gap + b.feedback_information)
        if self.participated and own:
            self.d_delaktighet += scale * b.heard_bonus * delivered
        self.clip()
        return True

    # the week, in synchronous phases (everyone reads last phase's values of their ties)
    def see(self, severity_seen: list[float], work_seen: list[float], improvement_seen: list[float], b) -> None:
        """Phase 1: credit visible work and improvement; trygghet moves toward what the resident is exposed to."""
        exposure = sum(k * s for k, s in zip(self.kernel_row, severity_seen))
        presence = sum(k * w for k, w in zip(self.kernel_row, work_seen))
        improvement = sum(k * v for k, v in zip(self.kernel_row, improvement_seen))
        credit = self.credit(b)
        self.d_trust += b.visible_work_trust * credit * (presence + improvement)
        target = (
            -b.exposure_trygghet * (exposure - self.exposure0)
            + b.visible_work_trygghet * credit * presence
            + b.trust_trygghet * self.d_trust
        )
        self.d_trygghet += (target - self.d_trygghet) / b.trygghet_inertia_weeks

    def listen_to_ties(self, b) -> None:
        """Phase 2: word of mouth — move toward the ties' mean change (computed, not yet applied)."""
        if not self.ties or b.word_of_mouth == 0:
            self._next = (self.d_trust, self.d_delaktighet, self.d_trygghet)
            return
        k = len(self.ties)
        mt = sum(t.d_trust for t in self.ties) / k
        md = sum(t.d_delaktighet for t in self.ties) / k
        ms = sum(t.d_trygghet for t in self.ties) / k
        w = b.word_of_mouth
        self._next = (
            self.d_trust + w * (mt - self.d_trust),
            self.d_delaktighet + w * (md - self.d_delaktighet),
            self.d_trygghet + w * (ms - self.d_trygghet),
        )

    def remember(self, u_forget: float, b) -> None:
        """Phase 3: apply word of mouth; trust and delaktighet changes fade; the promise may be forgotten."""
        t, d, s = self._next
        self.d_trust = t * (1 - 1 / b.trust_memory_weeks)
        self.d_delaktighet = d * (1 - 1 / b.delaktighet_memory_weeks)
        self.d_trygghet = s
        if self.aware and u_forget < 1 / b.awareness_memory_weeks:
            self.aware = False

    def hear_of_it_from_ties(self, u_hear: float, b) -> None:
        """Phase 4: an unaware resident learns of the promise with chance rate x share of aware ties."""
        self._hears = False
        if not self.aware and self.ties and b.word_of_mouth_awareness > 0:
            share = sum(t.aware for t in self.ties) / len(self.ties)
            self._hears = u_hear < b.word_of_mouth_awareness * share

    def settle(self) -> None:
        """Phase 5: apply what was heard; keep levels in range."""
        if self._hears:
            self.aware = True
        self.clip()


class AgentResidents:
    """The same interface as ``sim.residents.Residents``, backed by one Mesa agent per resident."""

    def __init__(
        self,
        model: mesa.Model,
        area,
        behaviour,
        layout,
        ties: np.ndarray,
        exposure0: np.ndarray,
        problem_weights: np.ndarray,
        agent_cls: type[ResidentAgent] = ResidentAgent,
    ) -> None:
        self.b = behaviour
        self.n = area.residents
        self.streams = model.streams
        conc = area.heterogeneity
        baseline_streams = {k: model.streams.week(k, 0) for k in ("trust0", "delaktighet0", "trygghet0")}

        def beta(stream: str, mean: float) -> float:
            m = _clamp(mean, 0.02, 0.98)
            return float(baseline_streams[stream].beta(m * conc, (1 - m) * conc))

        mean_exposure = float(np.mean(exposure0))
        self.agents: list[ResidentAgent] = []
        trust0 = [beta("trust0", area.baseline_trust) for _ in range(self.n)]
        delaktighet0 = [beta("delaktighet0", area.baseline_delaktighet) for _ in range(self.n)]
        for i in range(self.n):
            local_trygghet = area.baseline_trygghet - behaviour.exposure_trygghet * (
                float(exposure0[i]) - mean_exposure
            )
            self.agents.append(
                agent_cls(
                    model,
                    i,
                    int(layout.hood[i]),
                    [float(k) for k in layout.kernel[i]],
                    float(exposure0[i]),
                    trust0[i],
                    delaktighet0[i],
                    beta("trygghet0", local_trygghet),
                )
            )
        for agent, row in zip(self.agents, ties):
            agent.ties = [self.agents[j] for j in row]
        weights = [float(w) for w in problem_weights]
        for agent in self.agents:
            agent.pick_concern(weights)
        self.set = model.agents_by_type[agent_cls]  # Mesa keeps an AgentSet per agent class
        self.n_problems = len(weights)

    # arrays the rest of the model and the survey read
    @property
    def trust(self) -> np.ndarray:
        return np.array([a.trust for a in self.agents])

    @property
    def delaktighet(self) -> np.ndarray:
        return np.array([a.delaktighet for a in self.agents])

    @property
    def trygghet(self) -> np.ndarray:
        return np.array([a.trygghet for a in self.agents])

    @property
    def participated(self) -> np.ndarray:
        return np.array([a.participated for a in self.agents])

    def dialogue(self, rng, outreach: float, problem_weights: np.ndarray) -> np.ndarray:
        weights = [float(w) for w in problem_weights]
        for agent, u in zip(self.agents, rng.random(self.n)):
            agent.take_part_in_dialogue(float(u), outreach, weights, self.b)
        return self.participated

    def citizens_picture(self, problems: int) -> np.ndarray:
        counts = [0.0] * problems
        for a in self.agents:
            if a.participated:
                counts[a.concern] += 1
        total = sum(counts)
        return np.array(counts) / total if total else np.full(problems, 1.0 / problems)

    def hear_of_promise(self, rng, share: float) -> None:
        for a, u in zip(self.agents, rng.random(self.n)):
            if u < share:
                a.aware = True

    def contacts(self, who: np.ndarray, bad: np.ndarray, told: np.ndarray) -> None:
        for i, is_bad, is_told in zip(who, bad, told):
            self.agents[int(i)].meet_officer(bool(is_bad), bool(is_told), self.b)

    def feedback(
        self, rng, reach: float, delivered: float, expected: float, promised: np.ndarray, week: int = 0
    ) -> dict[str, float]:
        promised_list = [bool(p) for p in promised]
        us = rng.random(self.n)
        reached = sum(
            a.hear_feedback(float(u), reach, delivered, expected, promised_list, self.b, week)
            for a, u in zip(self.agents, us)
        )
        return {
            "reached": float(reached),
            "delivered": float(delivered),
            "trust_change": 0.0,
            "delaktighet_change": 0.0,
        }

    def week(self, rng, exposure: np.ndarray, presence: np.ndarray, improvement: np.ndarray) -> None:
        # The array model hands per-resident sums; each agent recomputes its own from the problems instead.
        model = self.agents[0].model
        pr = model.problems
        need = model.cfg.promise.action_hours_per_week
        severity_seen = [float(s * v) for s, v in zip(pr.severity, pr.visibility)]
        work_seen = [s * (1.0 - 2.0 ** (-float(w) / need)) for s, w in zip(severity_seen, model.work)]
        improvement_seen = [float(v * (b0 - s)) for v, b0, s in zip(pr.visibility, pr.baseline, pr.severity)]
        u = rng.random(2 * self.n)
        self.set.do("see", severity_seen, work_seen, improvement_seen, self.b)
        self.set.do("listen_to_ties", self.b)
        for agent, u_forget in zip(self.agents, u[: self.n]):
            agent.remember(float(u_forget), self.b)
        for agent, u_hear in zip(self.agents, u[self.n :]):
            agent.hear_of_it_from_ties(float(u_hear), self.b)
        self.set.do("settle")

    def metrics(self) -> dict[str, float]:
        n = self.n
        return {
            "trust_mean": sum(a.trust for a in self.agents) / n,
            "trust_high_share": sum(a.trust > HIGH for a in self.agents) / n,
            "delaktighet_mean": sum(a.delaktighet for a in self.agents) / n,
            "delaktighet_high_share": sum(a.delaktighet > HIGH for a in self.agents) / n,
            "participation_rate": sum(a.participated for a in self.agents) / n,
            "trygghet_mean": sum(a.trygghet for a in self.agents) / n,
            "unsafe_share": sum(a.trygghet < HIGH for a in self.agents) / n,
            "awareness_share": sum(a.aware for a in self.agents) / n,
        }

    def by_neighbourhood(self, n_hoods: int) -> dict[str, np.ndarray]:
        out = {k: np.zeros(n_hoods) for k in ("residents", "trust", "delaktighet", "trygghet", "participation")}
        for a in self.agents:
            out["residents"][a.hood] += 1
            out["trust"][a.hood] += a.trust
            out["delaktighet"][a.hood] += a.delaktighet
            out["trygghet"][a.hood] += a.trygghet
            out["participation"][a.hood] += a.participated
        with np.errstate(invalid="ignore", divide="ignore"):
            for k in ("trust", "delaktighet", "trygghet", "participation"):
                out[k] = np.where(out["residents"] > 0, out[k] / out["residents"], np.nan)
        return out


class ReferenceModel(PromiseModel):
    """PromiseModel with one Mesa agent per resident (the per-agent reference)."""

    agent_cls: type[ResidentAgent] = ResidentAgent

    def make_residents(self, ties, exposure0, problem_weights):
        return AgentResidents(
            self, self.cfg.area, self.cfg.behaviour, self.layout, ties, exposure0, problem_weights, self.agent_cls
        )
