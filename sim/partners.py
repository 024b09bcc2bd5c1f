"""Partners: the municipality owning part of each promised action, with its own reliability."""

from __future__ import annotations

import numpy as np


def partner_delivery(rng: np.random.Generator, actions: int, reliability: float) -> np.ndarray:
    """Whether the partner delivers its share of each action this week (Bernoulli; assumption)."""
    return rng.random(actions) < reliability
