"""What a set of replications can say: how sure their mean is, and what one district could see.

Two different questions, two different intervals. The t interval of the mean narrows as replications
are added; the 90% range of what one district could see does not, and it needs enough values to be
honest at all. Every report of the product, from `python -m sim`'s summary to the studies, uses these.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

SHARE_MIN = 3  # values each variance of a ratio needs: from 2, Bonett's interval held the truth in 60-85% at 95%

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


def variance_ratio_interval(
    a: np.ndarray,
    b: np.ndarray,
    level: float = 0.95,
    *,
    a_groups: np.ndarray | None = None,
    pooled_kurtosis: bool = True,
) -> tuple[float, float]:
    """(low, high) of var(a) / var(b): Bonett's interval (Applied Psychological Measurement 30:432, 2006), a normal
    interval on the log ratio whose width comes from the samples' kurtosis, so it holds for skewed, heavy-tailed
    outcomes where the F interval does not.

    ``a_groups`` labels ``a``'s values when they come in groups (replications of a few design points): var(a) is
    then the pooled within-group variance, worth n - groups + 1 values, and the kurtosis is read from the residuals
    around the group means (scaled by sqrt(m / (m - 1)) for groups of m). ``pooled_kurtosis`` (Bonett's) pools one
    kurtosis over both samples; it suits samples of one kind (a study's parameter share: 94-98% held at 95% on this
    model's outputs). Two samples of different kinds and sizes (a few noise runs against a whole design) need one
    each: in 48 simulated designs (2 to 32 points of 3 to 5 runs against 44 to 2,560 design outputs; uniform or
    skewed signal, normal, skewed or heavy-tailed noise, noise shares 5% and 50%) the pooled kurtosis held the
    truth in 65-100%, one each in 92-98%. Each sample needs at least SHARE_MIN values."""

    def centre(y: np.ndarray) -> float:  # Bonett's trimmed mean, trimming 1 / (2 sqrt(n - 4)) from each end
        return float(np.median(y)) if y.size <= 5 else float(stats.trim_mean(y, 1 / (2 * np.sqrt(y.size - 4))))

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    if a_groups is None:
        na, va, da = a.size, np.var(a, ddof=1), a - centre(a)
    else:
        grouped = pd.Series(a).groupby(np.asarray(a_groups))
        size = grouped.transform("size").to_numpy()
        da = ((a - grouped.transform("mean").to_numpy()) * np.sqrt(size / np.maximum(size - 1, 1)))[size > 1]
        groups = int((grouped.size() > 1).sum())
        na = da.size - groups + 1
        va = float(np.sum(da**2)) / da.size  # the pooled within-group variance (residuals scaled as above)
    nb, vb, db = b.size, np.var(b, ddof=1), b - centre(b)
    if pooled_kurtosis:
        ka = kb = (na + nb) * (np.sum(da**4) + np.sum(db**4)) / ((na - 1) * va + (nb - 1) * vb) ** 2
    else:
        ka, kb = na * np.sum(da**4) / ((na - 1) * va) ** 2, nb * np.sum(db**4) / ((nb - 1) * vb) ** 2
    se = np.sqrt(max(ka - (na - 3) / na, 0.0) / (na - 1) + max(kb - (nb - 3) / nb, 0.0) / (nb - 1))
    middle = np.log((na / (na - z)) / (nb / (nb - z)) * va / vb)  # with Bonett's small-sample correction
    return float(np.exp(middle - z * se)), float(np.exp(middle + z * se))
