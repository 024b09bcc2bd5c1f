"""The virtual survey: what an evaluator would measure of the truth inside the model.

A simple random sample of ``sample_size`` residents is invited (every resident, when the area has
fewer; ``respondents`` says how many answered: docs/model.md §7.11); each answers with chance
``response_rate``; an answer is the true level plus Gaussian measurement error of sd
``noise``, kept on [0, 1] (assumption; NTU-like postal survey). Shares use the same cut as
the model's outcomes.
"""

from __future__ import annotations

import numpy as np

from .residents import HIGH


def run_survey(
    rng: np.random.Generator, levels: dict[str, np.ndarray], sample_size: int, response_rate: float, noise: float
) -> dict[str, float]:
    """Survey the residents once; return measured means, standard deviations and shares, and the
    number who answered (what a t-test of two survey waves needs)."""
    n = next(iter(levels.values())).size
    invited = rng.choice(n, size=min(sample_size, n), replace=False)
    answered = invited[rng.random(invited.size) < response_rate]
    out: dict[str, float] = {"respondents": float(answered.size)}
    for name, values in levels.items():
        if answered.size == 0:
            out[f"{name}_mean"] = float("nan")
            continue
        answers = np.clip(values[answered] + rng.normal(0.0, noise, answered.size), 0.0, 1.0)
        out[f"{name}_mean"] = float(answers.mean())
        out[f"{name}_sd"] = float(answers.std(ddof=1)) if answers.size > 1 else float("nan")
        out[f"{name}_high_share"] = float((answers > HIGH).mean())
    return out
