"""Global sensitivity analysis with SALib: sample -> evaluate (the sweep engine) -> analyze.

Morris screens many levers cheaply (mu*, the mean absolute elementary effect); Sobol quantifies
the ones that matter (first-order S1 and total ST indices, each with a bootstrap confidence
interval). Levers are ranked by leverage: ST for Sobol, mu* for Morris. Everything here is a
plain function of arrays and tables, so it runs the same from a script, a notebook or a worker.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .intervals import SHARE_MIN, variance_ratio_interval
from .space import ParameterSpace

METHODS = ("sobol", "morris")
OUTPUTS = {
    "trust_mean_change": "change in trust at the horizon",
    "delaktighet_mean_change": "change in delaktighet at the horizon",
    "trygghet_mean_change": "change in trygghet at the horizon",
    "trust_mean_avg_change": "change in trust, averaged over the run",
    "delaktighet_mean_avg_change": "change in delaktighet, averaged over the run",
    "trygghet_mean_avg_change": "change in trygghet, averaged over the run",
}
NEGLIGIBLE = 0.01  # a total index below this is reported as "no detectable influence"


def sample(space: ParameterSpace, method: str, n: int, seed: int, num_levels: int = 4) -> pd.DataFrame:
    """The design: Sobol (Saltelli) with n base samples, n (D + 2) rows; or n Morris trajectories, n (D + 1) rows."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    problem = space.problem()
    if method == "sobol":
        x = sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    elif method == "morris":
        x = morris_sample.sample(problem, n, num_levels=num_levels, seed=seed)
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return pd.DataFrame(x, columns=list(space.names))


def rows_per_unit(space: ParameterSpace, method: str) -> int:
    """Rows per base sample (Sobol) or trajectory (Morris)."""
    d = len(space.names)
    return d + 2 if method == "sobol" else d + 1


def analyze(
    space: ParameterSpace,
    method: str,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    bootstrap: int = 1000,
    conf_level: float = 0.95,
    num_levels: int = 4,
) -> pd.DataFrame:
    """Indices of every lever for one output, ranked by leverage (1 = most)."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    problem = space.problem()
    if method == "sobol":
        s = sobol_analyze.analyze(
            problem, y, calc_second_order=False, num_resamples=bootstrap, conf_level=conf_level, seed=seed
        )
        df = pd.DataFrame(
            {"lever": space.names, "S1": s["S1"], "S1_conf": s["S1_conf"], "ST": s["ST"], "ST_conf": s["ST_conf"]}
        )
        key = "ST"
    else:
        s = morris_analyze.analyze(
            problem, x, y, num_resamples=bootstrap, conf_level=conf_level, num_levels=num_levels, seed=seed
        )
        df = pd.DataFrame(
            {
                "lever": space.names,
                "mu": s["mu"],
                "mu_star": s["mu_star"],
                "mu_star_conf": s["mu_star_conf"],
                "sigma": s["sigma"],
            }
        )
        key = "mu_star"
    df["rank"] = df[key].rank(ascending=False, method="first").astype(int)
    return df.sort_values("rank").reset_index(drop=True)


def analyze_all(
    space: ParameterSpace, method: str, x: pd.DataFrame, y: pd.DataFrame, outputs, seed: int, **kw
) -> pd.DataFrame:
    """Indices for each output, stacked into one long table."""
    parts = [analyze(space, method, x.to_numpy(), y[o].to_numpy(), seed, **kw).assign(output=o) for o in outputs]
    return pd.concat(parts, ignore_index=True)


def convergence(
    space: ParameterSpace, method: str, x: pd.DataFrame, y: pd.DataFrame, n: int, outputs, seed: int, **kw
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Indices at n/4, n/2 and n (prefixes of the design; at least two trajectories or base samples each, as
    Morris' sigma needs two: n=4 once analysed one, with a RuntimeWarning), and per output whether the ranking is
    stable.

    Stable means: the same three levers lead at n/2 and at n (their order may swap when their
    indices are tied within the intervals), and the Spearman correlation of the full rankings
    at n/2 and n is at least 0.9. Whether the top three also keep their order is reported.
    """
    unit = rows_per_unit(space, method)
    parts = []
    for size in sorted({max(2, n // 4), max(2, n // 2), n}):
        rows = size * unit
        part = analyze_all(space, method, x.iloc[:rows], y.iloc[:rows], outputs, seed, **kw)
        parts.append(part.assign(n=size))
    table = pd.concat(parts, ignore_index=True)
    verdicts = []
    for o in outputs:
        half = table[(table.output == o) & (table.n == n // 2)].set_index("lever")["rank"]
        full = table[(table.output == o) & (table.n == n)].set_index("lever")["rank"]
        rho = float(spearmanr(half.sort_index(), full.sort_index()).statistic)
        top_half, top_full = list(half.sort_values().index[:3]), list(full.sort_values().index[:3])
        same_set = set(top_half) == set(top_full)
        verdicts.append(
            {
                "output": o,
                "spearman_half_vs_full": rho,
                "same_top3": same_set,
                "same_top3_order": top_half == top_full,
                "stable": bool(same_set and rho >= 0.9),
            }
        )
    return table, pd.DataFrame(verdicts)


def noise_share(
    y_main: pd.DataFrame, noise: pd.DataFrame, outputs, replications: int = 1, level: float = 0.95
) -> pd.DataFrame:
    """Share of the output variance that is noise between replications rather than the levers, with its interval.

    ``noise`` holds several replications of a few design points (column ``point``); the noise variance is their
    pooled within-point variance, divided by ``replications`` when each design output in ``y_main`` is the mean of
    that many runs (it once was not, which overstated the share that many times). Set against the variance of the
    whole design, the share is clipped to [0, 1] (a few noise runs can vary more than the design by chance: it
    once read 196%), with Bonett's interval for the ratio of the two variances, one kurtosis each
    (`variance_ratio_interval`; 92-98% held at 95% in simulated designs). NaN without at least two points of
    two runs, SHARE_MIN design outputs, or any spread in the design.
    """
    rows = []
    for o in outputs:
        done = noise[noise[o].notna()]  # a failed noise run has no value
        per_point = done.groupby("point")[o]
        within = per_point.var(ddof=1).mean() / replications
        total = y_main[o].var(ddof=1)
        enough = int((per_point.size() > 1).sum()) >= 2 and y_main[o].notna().sum() >= SHARE_MIN and total > 0
        share, low, high = (float("nan"),) * 3
        if enough and within == 0:
            share = low = high = 0.0
        elif enough:  # the interval is for one run's noise over the design's variance; a mean of runs has less
            ratio = variance_ratio_interval(
                done[o].to_numpy(),
                y_main[o].dropna().to_numpy(),
                level,
                a_groups=done.point.to_numpy(),
                pooled_kurtosis=False,
            )
            share, low, high = (float(np.clip(r, 0.0, 1.0)) for r in (within / total, *np.divide(ratio, replications)))
        rows.append(
            {
                "output": o,
                "within_point_variance": within,
                "total_variance": total,
                "noise_share": share,
                "noise_share_low": low,
                "noise_share_high": high,
            }
        )
    return pd.DataFrame(rows)


def no_influence(d: pd.DataFrame, key: str) -> pd.Series:
    """The levers with no detectable influence: a total index (``key`` "ST") below NEGLIGIBLE across its whole
    interval, or (Morris, ``key`` "mu_star") a mean absolute effect of 0. They are named as such, never ranked."""
    return d.ST + d.ST_conf < NEGLIGIBLE if key == "ST" else d.mu_star == 0


def ranking_sentence(indices: pd.DataFrame, method: str, output: str) -> str:
    """The ranking for one output in plain words (Morris: with the direction of each effect and whether
    interactions dominate it). Levers with no detectable influence are named as such, never among those with
    most leverage (a tiny study once listed a lever of ST 0.00 ± 0.00 as the third with most leverage)."""
    d = indices[indices.output == output].sort_values("rank")
    inert = no_influence(d, "ST" if method == "sobol" else "mu_star")
    if method == "sobol":
        top = [f"`{r.lever}` (ST {r.ST:.2f} ± {r.ST_conf:.2f})" for r in d[~inert].head(3).itertuples()]
        inert_words = "No detectable influence (ST below 0.01 with its interval)"
    else:
        top = [
            f"`{r.lever}` (mu* {r.mu_star:.3g} ± {r.mu_star_conf:.2g}; mu {r.mu:+.3g}, {morris_direction(r)}; "
            f"sigma {r.sigma:.3g})"
            for r in d[~inert].head(3).itertuples()
        ]
        inert_words = "No effect (mu* 0)"
    name = OUTPUTS.get(output, output)
    if not top:
        text = f"For the {name}, no lever has a detectable influence here."
    elif len(top) == 1:
        text = f"For the {name}, the lever with most leverage is {top[0]}."
    else:
        text = f"For the {name}, the levers with most leverage are " + ", ".join(top) + "."
    if inert.any():
        text += f" {inert_words}: " + ", ".join(f"`{v}`" for v in d[inert].lever) + "."
    if method != "sobol":
        tangled = d[(d.sigma > d.mu_star) & (d.mu_star > 0)].lever.tolist()
        if tangled:
            text += (
                " Interactions or non-linear effects dominate (sigma above mu*) for "
                + ", ".join(f"`{v}`" for v in tangled)
                + ": their effect depends on the other levers' values, so read their rank with care."
            )
    return text


def morris_direction(r) -> str:
    """Plain words for a Morris lever's direction: mu near mu* means one sign throughout."""
    if r.mu_star == 0:
        return "no effect"
    share = abs(r.mu) / r.mu_star
    sign = "raises it" if r.mu > 0 else "lowers it"
    return f"mostly {sign}" if share > 0.8 else "either way, by setting"
