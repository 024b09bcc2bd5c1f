"""Partners: the municipality owning part of each promised action, with its own reliability."""

from __future__ import annotations

import numpy as np

MAX_ACTIONS = 12  # the upper bound of promise.actions: partners draw one uniform per possible action slot


def partner_delivery(u: np.ndarray, actions: int, reliability: float) -> np.ndarray:
    """Whether the partner delivers its share of each action this week (Bernoulli; assumption).

    ``u`` holds one uniform per possible action slot, so the number of actions never shifts the draws.
    """
    return u[:actions] < reliability
