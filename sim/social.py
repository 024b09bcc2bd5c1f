"""Social ties and word of mouth.

Ties form a spatial small world (assumption): each resident names ``ties_per_resident``
others, a share ``local_tie_share`` inside its own neighbourhood and the rest anywhere.
Ties are stored as an (n, k) index array so word of mouth is one gather per week.
"""

from __future__ import annotations

import numpy as np


def build_ties(rng: np.random.Generator, hood: np.ndarray, k: int, local_share: float) -> np.ndarray:
    """Return an (n, k) array of tie targets; a resident never ties to itself."""
    n = hood.size
    if k == 0 or n < 2:
        return np.zeros((n, 0), dtype=np.int64)
    order = np.argsort(hood, kind="stable")
    counts = np.bincount(hood, minlength=hood.max() + 1)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    own_start = starts[hood][:, None]
    own_count = counts[hood][:, None]
    local = order[own_start + (rng.random((n, k)) * own_count).astype(np.int64)]
    anywhere = rng.integers(0, n, (n, k))
    ties = np.where(rng.random((n, k)) < local_share, local, anywhere)
    self_tie = ties == np.arange(n)[:, None]
    ties[self_tie] = (ties[self_tie] + 1) % n
    return ties


def neighbour_mean(values: np.ndarray, ties: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over each resident's ties (own value where it has none)."""
    if ties.shape[1] == 0:
        return values
    return values[ties].mean(axis=1)


def word_of_mouth(deviation: np.ndarray, ties: np.ndarray, rate: float) -> np.ndarray:
    """Pull each resident's change from baseline toward its ties' mean change.

    Acting on changes, not levels, leaves the baseline distribution intact when nothing
    happens, so the counterfactual stays where it starts (assumption: people pass on what
    they experienced, not their standing opinion).
    """
    if rate == 0 or ties.shape[1] == 0:
        return deviation
    return deviation + rate * (neighbour_mean(deviation, ties) - deviation)


def awareness_spread(aware: np.ndarray, ties: np.ndarray, rate: float, u: np.ndarray) -> np.ndarray:
    """New awareness: an unaware resident learns with chance rate x share of aware ties."""
    if rate == 0 or ties.shape[1] == 0:
        return aware
    share = aware[ties].mean(axis=1)
    return aware | (u < rate * share)
