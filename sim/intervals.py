"""What a set of replications can say: how sure their mean is, and what one district could see.

Two different questions, two different intervals. The t interval of the mean narrows as replications
are added; the 90% range of what one district could see does not, and it needs enough values to be
honest at all. Every report of the product, from `python -m sim`'s summary to the studies, uses these.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

RANGE_MIN = 19  # the fewest values whose lowest and highest hold another district's value 90% of the time


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and its t interval (NaN bounds from fewer than two values, which show no spread)."""
    v = np.asarray(values, dtype=float)
    mean = float(v.mean())
    if v.size < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf((1 + level) / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return mean, mean - half, mean + half


def spread(values: np.ndarray, level: float = 0.90) -> tuple[float, float]:
    """Central range of values across replications: what one district could see, as a 90% prediction range.

    The k-th lowest of n values sits on average at the k/(n+1) quantile of their distribution, so the quantiles
    at positions p(n+1) (numpy's "weibull") hold another district's value 90% of the time on average; the
    default interpolation held about 81% of them from 20 values and half from 3. Fewer than RANGE_MIN values
    give no 90% range at all (their lowest and highest hold (n-1)/(n+1)): (nan, nan), and the reports say why."""
    v = np.asarray(values, dtype=float)
    if v.size < RANGE_MIN:
        return float("nan"), float("nan")
    lo, hi = np.quantile(v, [(1 - level) / 2, (1 + level) / 2], method="weibull")
    return float(lo), float(hi)


def no_range_words(n: int, pairs: str) -> str:
    """Why a report gives no range of what one district could see: said once, where the ranges would be."""
    return (
        f"With {n} {pairs}, no 90% range of what one district could see is given: it takes {RANGE_MIN}, as the "
        f"lowest and highest of n values hold another district's value only (n - 1)/(n + 1) of the time."
    )


def by_week(trajectories: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Week by week across replications: the mean of ``metric``, its 95% interval (``ci_low``, ``ci_high``) and the
    90% range of what one district could see (``district_low``, ``district_high``; NaN from fewer than
    `RANGE_MIN` replications), for the figures of a run and of a study."""
    rows = [(week, *interval(v := g.to_numpy()), *spread(v)) for week, g in trajectories.groupby("week")[metric]]
    return pd.DataFrame(rows, columns=["week", "mean", "ci_low", "ci_high", "district_low", "district_high"])
