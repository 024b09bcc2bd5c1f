"""Random streams: one independent substream per stochastic process and week.

Common random numbers only hold if a lever that changes how many numbers one process draws
leaves every other process's numbers alone. Each process therefore draws from its own
counter-based stream (Philox, Salmon et al. 2011): the key comes from the replication seed,
the counter from (week, process). A process fetches its generator for a week once; what it
draws that week never shifts what it, or any other process, draws in another week. Fetching
a stream is a state reset (a few microseconds), not a new generator.

Within a week, draws are laid out so that a lever changes as few of them as possible: counts
and Beta shares come from one uniform each through the inverse distribution function
(monotone coupling: more hours give at least as many contacts), and per-item draws come in
fixed-size blocks (one row of uniforms per contact, one uniform per resident or per slot).
"""

from __future__ import annotations

import numpy as np
from scipy import special

PROCESSES = (
    "residents_place",  # where residents live
    "problems_place",  # where the hot spots are
    "problems",  # problem baselines, visibility, recordability
    "ties",  # the social network
    "trust0",  # baseline trust
    "delaktighet0",  # baseline delaktighet
    "trygghet0",  # baseline trygghet
    "officers",  # starting officers: attitude, home cell
    "dialogue",  # who takes part in a dialogue
    "publicity",  # who hears of a published promise
    "acute_demand",  # share of the week lost to acute demand
    "partners",  # whether partners deliver each action slot
    "contact_count",  # how many contacts promise work makes
    "contacts",  # who is met, by which officer, good or bad
    "feedback",  # who a feedback round reaches
    "awareness",  # forgetting the promise and hearing of it from ties
    "problem_noise",  # weekly variation of problem severity
    "crime",  # recorded crime counts
    "turnover",  # which officers leave
    "recruits",  # attitude of newcomers
    "survey",  # the virtual survey (one continuous stream, never reset)
)
WORLD = (  # the processes that draw the area itself, once, at week 0
    "residents_place",
    "problems_place",
    "problems",
    "ties",
    "trust0",
    "delaktighet0",
    "trygghet0",
    "officers",
)


class Streams:
    """The replication's random streams: ``streams.week("contacts", w)`` is the generator for that process and week."""

    def __init__(self, seed: int, held: tuple[str, ...] = (), held_seed: int = 0) -> None:
        """``held`` processes draw from ``held_seed`` instead, so they draw the same numbers in every
        replication: a diagnostic of what a paired difference keeps when those processes no longer
        vary (``python -m experiments.crn hold=...``); the model itself never holds any."""
        unknown = sorted(set(held) - set(PROCESSES))
        if unknown:
            raise ValueError(f"no random process named {unknown[0]!r}; the processes: {', '.join(PROCESSES)}")
        key = np.random.SeedSequence(seed).generate_state(2, dtype=np.uint64)
        held_key = np.random.SeedSequence(held_seed).generate_state(2, dtype=np.uint64)
        self._keys = {name: held_key if name in held else key for name in PROCESSES}
        self._index = {name: i for i, name in enumerate(PROCESSES)}
        self._bits = {name: np.random.Philox(key=self._keys[name]) for name in PROCESSES}
        self._gens = {name: np.random.Generator(bits) for name, bits in self._bits.items()}
        self._last: dict[str, int] = {}
        self._reset("survey", 0)

    def _reset(self, process: str, week: int) -> np.random.Generator:
        counter = np.array([0, 0, week, self._index[process]], dtype=np.uint64)
        self._bits[process].state = {
            "bit_generator": "Philox",
            "state": {"counter": counter, "key": self._keys[process]},
            "buffer": np.zeros(4, dtype=np.uint64),
            "buffer_pos": 4,
            "has_uint32": 0,
            "uinteger": 0,
        }
        return self._gens[process]

    def week(self, process: str, week: int) -> np.random.Generator:
        """The generator of ``process`` for ``week`` (0 = initialisation); each may be fetched once."""
        if self._last.get(process) == week:
            raise RuntimeError(f"random stream {process!r} fetched twice in week {week}: its draws would repeat")
        self._last[process] = week
        return self._reset(process, week)

    @property
    def survey(self) -> np.random.Generator:
        """The survey's continuous stream: surveys never change what the model draws."""
        return self._gens["survey"]


def poisson_quantile(u: np.ndarray | float, mean: np.ndarray | float) -> np.ndarray:
    """Poisson counts by inversion: the smallest k with P(X <= k) >= u (monotone in the mean)."""
    if np.isscalar(mean):
        return np.int64(np.ceil(special.pdtrik(u, mean))) if mean > 0 else np.int64(0)
    mean = np.asarray(mean, dtype=float)
    k = np.ceil(special.pdtrik(u, np.maximum(mean, 1e-300)))
    return np.where(mean > 0, np.nan_to_num(k, nan=0.0), 0.0).astype(np.int64)


def beta_quantile(u: np.ndarray | float, mean: float, concentration: float) -> np.ndarray:
    """Beta(mean x c, (1 - mean) x c) by inversion of one uniform each (monotone in the mean)."""
    m = float(np.clip(mean, 1e-3, 1 - 1e-3))
    return special.betaincinv(m * concentration, (1.0 - m) * concentration, u)
