"""The one skeleton every ready-made study shares: arms -> paired runs -> tables -> figures -> report.

A study script holds only what is its own: a ``Study`` with its arms and an ``analyse`` step that
makes its tables, figures and report sections. Everything else is here, stated once:

- **Settings and overrides.** ``python -m experiments.<study> [settings] [model overrides]``: the
  study's settings (configs/study.yaml plus ``study.*`` from configs/experiment/<study>.yaml) and
  any model override (``area=suburb``, ``area.residents=2000``, ``police.effort=0.6``, ...) that
  applies to every arm. ``study.grid`` / ``study.arms`` / ``study.vary`` given whole replace the
  default; ``study.grid.<parameter>=[...]`` replaces or adds one dimension. Every arm's config
  is checked before anything is written. The rules and the reading of settings are in
  experiments/settings.py, shared with the other commands in experiments/.
- **Paired arms.** Replication r of every arm uses the same seed and, under
  ``uncertainty=posterior`` (the default), the same posterior draw: differences are paired and
  reflect the settings, not the luck of the draw or the world.
- **Intervals that say what they cover.** ``interval`` (t quantile) for the mean of a paired
  difference, the 90% prediction range of the difference across replications (what one district
  could see; none from fewer than 19), how often one arm comes out higher or lower across plausible
  worlds, and how much of the spread is parameter uncertainty rather than replication noise (each
  arm is run again at the declared coefficients, ``noise_replications`` times, to measure the noise
  alone; the share's 95% interval is Bonett's for a ratio of variances, see ``parameter_share``).
- **The run folder.** results/<study>/<date_time>_<random>/ with config.yaml (settings, overrides
  and every arm's fully resolved config), the study's files and report.md; made once the runs are
  done, so a study that fails or is stopped leaves none. A study's own ``study.*`` values have rules
  (``settings``), checked with everything else before anything runs.

Studies ask the API (`sim.run`) for tables; they never reach into the model.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import textwrap
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

import sim  # noqa: E402
from experiments.interrupted import NOTHING, RESUMES, command, says_when_interrupted  # noqa: E402
from experiments.settings import (  # noqa: E402
    check_grid,
    check_settings,
    compose_settings,
    default_settings,
    one_of,
    optional,
    text,
    whole,
)
from sim.api import RunResult  # noqa: E402
from sim.executors import EXECUTORS  # noqa: E402
from sim.intervals import (  # noqa: E402
    RANGE_MIN,
    SHARE_MIN,
    by_week,
    interval,
    no_range_words,
    spread,
    variance_ratio_interval,
)
from sim.params import PARAMS, UNCERTAINTY_MODES, ConfigError, register  # noqa: E402
from sim.paths import output_path  # noqa: E402
from sim.space import RUN_SETTINGS  # noqa: E402
from sim.words import counted, signed  # noqa: E402

LABELS = {
    "trust_mean": "Trust in the police (förtroende), mean",
    "trust_high_share": "Share with high confidence in the police",
    "delaktighet_mean": "Delaktighet (police listen and act), mean",
    "delaktighet_high_share": "Share agreeing the police listen and act",
    "trygghet_mean": "Perceived safety (trygghet), mean",
    "unsafe_share": "Share feeling unsafe",
    "participation_rate": "Dialogue participation",
    "recorded_crime": "Recorded crime per week",
    "awareness_share": "Aware of the promise",
}
SHARES = ["trust_high_share", "delaktighet_high_share", "unsafe_share"]  # what the national survey reports
KEY_OUTCOMES = [
    "trust_high_share",
    "delaktighet_high_share",
    "unsafe_share",
    "trust_mean",
    "delaktighet_mean",
    "trygghet_mean",
    "recorded_crime",
]
ARMS = "a list of overrides or a mapping label: overrides, such as {Today: scenario=observed_2018}"


def when_and_hours(last: int, horizon: int) -> str:
    """When a grid study's gains are read (the last full year), if not at the horizon: once unsaid, so a 60-week
    run's gains at week 52 read as the horizon's, beside officer hours counted over all 60 weeks."""
    if 52 * last == horizon:
        return ""
    return f" (week {52 * last} of {horizon}; officer hours are those of all {horizon} weeks)"


@dataclass
class Settings:
    """A study's settings (``cfg``) and the model overrides that apply to every arm."""

    cfg: DictConfig
    overrides: list[str]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cfg, name)


def check_horizon(s: Settings, study: str, min_weeks: int) -> None:
    """A study that reports by year refuses a horizon shorter than its first year, before anything runs."""
    if s.cfg.horizon_weeks < min_weeks:
        raise ConfigError(
            f"invalid value for horizon_weeks: {s.cfg.horizon_weeks} (allowed for the {study} study: "
            f"{min_weeks} to 1040; it reports by year)"
        )


def load_study(name: str, argv: Sequence[str]) -> Settings:
    """Split the command line into study settings and model overrides, compose and check both."""
    register()
    plain = default_settings("study", [f"experiment@study={name}"])
    setting_keys = {k for k in plain if k != "study"}
    model_keys = {n.split(".", 1)[0] for n in PARAMS}  # scenario, area, police, ...: what a model override starts with
    settings, model = [f"experiment@study={name}"], []
    for arg in argv:
        key = arg.split("=", 1)[0].lstrip("+~")
        unknown_top = "." not in key and key not in model_keys  # output_dir=...: refused as a setting, naming them
        if key.split(".", 1)[0] in ("study", "hydra") or key in setting_keys or unknown_top:
            settings.append(arg)
        else:
            model.append(arg)
    cfg = compose_settings("study", settings)
    check_settings(
        cfg,
        {
            "replications": whole(2, 10_000),
            "noise_replications": whole(0, 10_000),
            "seed": whole(0, 2**31 - 1),
            "uncertainty": one_of(*UNCERTAINTY_MODES),
            "horizon_weeks": whole(1, 1040),
            "output_root": text(),
        },
    )
    if 0 < cfg.noise_replications < SHARE_MIN:
        raise ConfigError(
            f"invalid value for noise_replications: {cfg.noise_replications} (allowed: 0 to skip, or at least "
            f"{SHARE_MIN}: the share of the spread that is parameter uncertainty needs {SHARE_MIN} runs)"
        )
    sim.load_config(model)  # the model overrides on their own must be valid
    return Settings(cfg, model)


# ---- arms -----------------------------------------------------------------------------------------------


def arm_overrides(s: Settings, arm: str | Sequence[str], uncertainty: str | None = None) -> list[str]:
    """The sim overrides of one arm: the study's settings, the common model overrides, then the arm's own."""
    own = arm.split() if isinstance(arm, str) else list(arm)
    common = [
        f"replications={s.cfg.replications}",
        f"seed={s.cfg.seed}",
        f"horizon_weeks={s.cfg.horizon_weeks}",
        f"uncertainty={uncertainty or s.cfg.uncertainty}",
    ]
    area = [o for o in own if o.startswith("area=")] or [o for o in s.overrides if o.startswith("area=")]
    rest_common = [o for o in s.overrides if not o.startswith("area=")]
    rest_own = [o for o in own if not o.startswith("area=")]
    return common + area[-1:] + rest_own + rest_common  # area preset first, then the arm's and the user's values


def override_key(override: str) -> str:
    """``police.effort`` of ``police.effort=0.6`` (or of ``+police.effort=0.6``)."""
    return override.partition("=")[0].lstrip("+~")


def check_common(s: Settings, owners: Mapping[str, str]) -> None:
    """Refuse a common override of a parameter the study sets itself (``owners``: parameter -> where the study
    sets it): one of the two would silently win while the report named the other. ``scenario=no_promise`` once
    turned every arm of compare into no promise under the arms' own names, and budget's
    ``police.planned_hours_per_week=10`` ran 10 hours under a report of 40."""
    for o in s.overrides:
        key = override_key(o)
        if key in owners:
            raise ConfigError(
                f"{o}: the study sets {key} itself ({owners[key]}); a value for every run would override it, "
                "or be overridden, without the report saying so: set it there instead"
            )


STUDY_WIDE = (*RUN_SETTINGS, "uncertainty")  # the same for every arm: replication r of each shares seed and draw


def check_arms(s: Settings, arms: dict[str, str | Sequence[str]]) -> dict[str, sim.Config]:
    """Validate every arm before anything runs (ConfigError names the arm, its overrides and the bad parameter).

    An arm may not set what pairs it with the others (STUDY_WIDE): `seed=5` in one arm once ran it on other seeds
    under a report that called every replication paired on seed 2018."""
    configs = {}
    owners: dict[str, str] = {}
    for label, a in arms.items():
        own = a.split() if isinstance(a, str) else list(a)
        named = f"arm {label!r} ({' '.join(own)})"
        owners |= {override_key(o): f"arm {label!r} has {o}" for o in own if override_key(o) not in owners}
        shared = [o for o in own if override_key(o) in STUDY_WIDE]
        if shared:
            key = override_key(shared[0])
            raise ConfigError(
                f"{named}: {key} is the study's, the same for every arm so that the arms are paired; give {key}=... "
                "outside study.arms"
            )
        try:
            configs[label] = sim.load_config(arm_overrides(s, own))
        except ConfigError as exc:
            raise ConfigError(f"{named}: {exc}") from None
    owners.pop("area", None)  # an arm's own area preset is meant to win over the common one (arm_overrides)
    check_common(s, owners)
    return configs


def unique_labels(arms: Sequence[str]) -> list[str]:
    return [a if arms.count(a) == 1 else f"{a} #{arms[: i + 1].count(a)}" for i, a in enumerate(arms)]


def labelled_arms(given: Any) -> dict[str, str]:
    """study.arms as label -> overrides: a mapping as it is, a list labelled by its own overrides (repeats
    numbered). Anything else is refused with the two shapes allowed."""
    if OmegaConf.is_dict(given) or isinstance(given, Mapping):
        items = list(given.items())
    elif OmegaConf.is_list(given) or isinstance(given, (list, tuple)):
        items = [(a, a) for a in given]
    else:
        raise ConfigError(f"invalid value for study.arms: {given!r} (allowed: {ARMS})")
    plain = [
        " ".join(map(str, v)) if OmegaConf.is_list(v) or isinstance(v, (list, tuple)) else str(v) for _, v in items
    ]
    return dict(zip(unique_labels([str(k) for k, _ in items]), plain))


# ---- statistics ------------------------------------------------------------------------------------------


def clustered_share_interval(hits: np.ndarray, tries: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """(low, high) of sum(hits) / sum(tries) when the tries come in clusters that share a world (a replication's
    surveys): Wilson's score interval with the tries shrunk by the design effect, the clusters' spread over what
    independent tries would give (at least 1). NaN with fewer than 2 clusters. In studies of 20 replications
    resampled from 200 of evaluation_power's (powers from 0.02 to 0.85) it held the truth in 92.5-97.5% at 95%,
    where the percentile bootstrap over replications it replaced held it in 79-94% (worst at powers near 0)."""
    from scipy.stats import norm

    hits, tries = np.asarray(hits, float), np.asarray(tries, float)
    if hits.size < 2 or tries.sum() == 0:
        return float("nan"), float("nan")
    z = norm.ppf(0.5 + level / 2)
    total = tries.sum()
    p = hits.sum() / total
    spread = np.sum((hits - p * tries) ** 2) / (hits.size - 1)  # per cluster, in hits^2
    deff = max(1.0, spread * hits.size / total / (p * (1 - p))) if 0 < p < 1 else 1.0
    n = total / deff
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def change_words(values: np.ndarray, lead: str, labelled: bool = True) -> str:
    """``lead +1.0 pp (95% interval of the mean +0.2 pp to +1.8 pp; 90% range ...)``: a mean change over the
    replications with its interval (none from one replication) and, from RANGE_MIN, what one district could see.
    ``labelled=False`` leaves the names out, for a report whose heading gives them."""
    mean, low, high = interval(values)
    within = (
        "" if np.isnan(low) else f"{'95% interval of the mean ' if labelled else ''}{fmt_pp(low)} to {fmt_pp(high)}"
    )
    return bracketed(f"{lead} {fmt_pp(mean)}", within, range_words(*spread(values), "90% range " if labelled else ""))


def range_words(lo: float, hi: float, lead: str = "", fmt: Callable | None = None) -> str:
    """``lead`` and the range (``one district could see +1.0 pp to +4.0 pp``), or "" where there is none."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return ""
    f = fmt or fmt_pp
    return f"{lead}{f(lo)} to {f(hi)}"


def bracketed(text: str, *parts: str) -> str:
    """``text (a; b)`` with the parts that are not empty, or ``text`` alone."""
    kept = [p for p in parts if p]
    return f"{text} ({'; '.join(kept)})" if kept else text


def per_replication(result: RunResult, metric: str, week: int) -> np.ndarray:
    """Change of a metric from week 0 to `week`, one value per replication (for crime: the mean weekly
    count over the last 52 weeks up to `week` minus that of week 0, so the count's noise averages out)."""
    t = result.trajectories
    if metric == "recorded_crime":
        window = t[(t.week > max(0, week - 52)) & (t.week <= week)].groupby("replication")[metric].mean()
        return (window - t[t.week == 0].set_index("replication")[metric]).to_numpy()
    wide = t[t.week.isin([0, week])].pivot(index="replication", columns="week", values=metric)
    return (wide[week] - wide[0]).to_numpy()


def paired_difference(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Mean of a - b over paired replications, its t interval, the 90% range of single differences, and the
    shares of pairs in which a is higher, lower or equal (which one is better depends on the metric)."""
    d = np.asarray(a) - np.asarray(b)
    mean, lo, hi = interval(d, level)
    r_lo, r_hi = spread(d)
    return {
        "difference": mean,
        "ci_low": lo,
        "ci_high": hi,
        "range_low": r_lo,
        "range_high": r_hi,
        "p_higher": float((d > 0).mean()),
        "p_lower": float((d < 0).mean()),
        "p_ties": float((d == 0).mean()),
        "replications": int(d.size),
    }


def ratio_interval(x: np.ndarray, y: np.ndarray, level: float) -> tuple[float, float]:
    """(low, high) of mean(x) / mean(y) for paired x and y: Fieller's interval, the ratios r for which a t test
    finds the pairs' x - r y centred on 0. NaN when mean(y) is not clearly away from 0 at ``level`` (the set is then
    unbounded). In studies of 20 pairs resampled from 300 of this model's plausible worlds (feedback_demo's kept
    share) it held the truth in 89.5% at 90%, where the percentile bootstrap held it in 85.5%."""
    from scipy.stats import t as student_t

    x, y = np.asarray(x, float), np.asarray(y, float)
    n = x.size
    q = student_t.ppf(0.5 + level / 2, n - 1) ** 2
    (vxx, vxy), (_, vyy) = np.cov(x, y, ddof=1) / n  # the variances and covariance of the two means
    mx, my = x.mean(), y.mean()
    a, b, c = my**2 - q * vyy, mx * my - q * vxy, mx**2 - q * vxx  # a r^2 - 2 b r + c <= 0
    if a <= 0:
        return float("nan"), float("nan")
    half = np.sqrt(max(b * b - a * c, 0.0))
    return float((b - half) / a), float((b + half) / a)


def parameter_share(total: np.ndarray, noise: np.ndarray | None) -> tuple[float, float, float]:
    """Share of the spread (variance) of a quantity that is parameter uncertainty: 1 - noise variance at fixed
    coefficients / variance across posterior draws, with its 95% interval from variance_ratio_interval. In
    studies of 20 draws and 10 noise runs resampled from 200 of this model's plausible worlds (full against
    observed implementation; three outcomes, two and three years) it held the truth in 94-98%, at about twice the
    width of the percentile bootstrap it replaced, which held it in 90-92%. NaN with fewer than SHARE_MIN runs
    of either kind."""
    if noise is None or len(noise) < SHARE_MIN or len(total) < SHARE_MIN:
        return float("nan"), float("nan"), float("nan")
    t, n = np.asarray(total, dtype=float), np.asarray(noise, dtype=float)
    vt, vn = np.var(t, ddof=1), np.var(n, ddof=1)
    if vt == 0 or vn == 0:  # no spread at all in one of them: nothing to estimate, the share is what it is
        point = 0.0 if vt == 0 else 1.0
        return point, point, point
    point = float(np.clip(1.0 - vn / vt, 0.0, 1.0))
    low_ratio, high_ratio = variance_ratio_interval(n, t)
    return point, float(np.clip(1.0 - high_ratio, 0.0, 1.0)), float(np.clip(1.0 - low_ratio, 0.0, 1.0))


# ---- the study's run -------------------------------------------------------------------------------------


@dataclass
class Context:
    """What a study's analysis works with: settings, arms, results (and noise-only results), the folder."""

    s: Settings
    arms: dict[str, list[str]]
    configs: dict[str, sim.Config]
    results: dict[str, RunResult]
    noise: dict[str, RunResult]
    out: Path
    files: list[str] = field(default_factory=list)

    @property
    def horizon(self) -> int:
        return int(self.s.cfg.horizon_weeks)

    @property
    def posterior(self) -> bool:
        return self.s.cfg.uncertainty == "posterior"

    def change(self, label: str, metric: str, week: int | None = None, noise: bool = False) -> np.ndarray:
        src = self.noise if noise else self.results
        return per_replication(src[label], metric, self.horizon if week is None else week)

    def compare(self, a: str, b: str, metric: str, week: int | None = None) -> dict[str, float]:
        """Arm a against arm b, paired; with the share of the spread that is parameter uncertainty."""
        d = paired_difference(self.change(a, metric, week), self.change(b, metric, week))
        if self.noise and a in self.noise and b in self.noise:
            dn = self.change(a, metric, week, noise=True) - self.change(b, metric, week, noise=True)
            total = self.change(a, metric, week) - self.change(b, metric, week)
            share = parameter_share(total, dn)
            d["parameter_share"], d["parameter_share_low"], d["parameter_share_high"] = share
            d["noise_ci_low"], d["noise_ci_high"] = interval(dn)[1:]
            d["noise_runs"] = len(dn)
        return d

    def save(self, name: str, table: pd.DataFrame) -> None:
        table.to_csv(self.out / name, index=False)
        self.files.append(name)

    def figure(self, name: str, fig) -> None:
        fig.savefig(self.out / name, dpi=100)
        plt.close(fig)
        self.files.append(name)

    def area(self) -> str:
        names = sorted({c.area.name for c in self.configs.values()})
        return ", ".join(f"`{n}`" for n in names)

    def header(self, title: str) -> list[str]:
        """The report's opening: what was run and what its intervals cover, stated once."""
        c = next(iter(self.configs.values()))
        lines = [
            f"# {title}",
            "",
            f"Area {self.area()} ({c.area.residents:,} residents), {counted(self.horizon, 'week')}, "
            f"{self.s.cfg.replications} paired replications per arm, seed {self.s.cfg.seed}"
            + (f"; common overrides: `{' '.join(self.s.overrides)}`" if self.s.overrides else "")
            + ".",
            "",
        ]
        if self.posterior:
            lines.append(
                "**Uncertainty.** Replication r of every arm runs with posterior draw r of the calibrated behavioural "
                "coefficients (docs/calibration.md) and the same seed, so intervals and ranges below cover both the "
                "uncertainty in how residents and officers respond *and* replication noise. 'Higher in' and 'lower in' "
                "count the plausible worlds in which one arm came out above or below the other."
                + (
                    f" To split the spread, every arm was also run {self.s.cfg.noise_replications} times at the "
                    "declared coefficients (replication noise only)."
                    if self.noise
                    else ""
                )
            )
        else:
            lines.append(
                "**Uncertainty.** Every replication uses the declared (calibrated) coefficients: intervals cover "
                "replication noise only, not the uncertainty in the coefficients (run with uncertainty=posterior "
                "for that)."
            )
        if self.ranges_per_arm() and self.s.cfg.replications < RANGE_MIN:
            pairs = "plausible worlds" if self.posterior else "replications"
            lines[-1] += " " + no_range_words(self.s.cfg.replications, f"{pairs} per arm")
        return lines + [""]

    def ranges_per_arm(self) -> bool:
        """Whether each range is over one arm's replications (a grid study pools some settings, and says so)."""
        return True

    def difference_line(
        self, a: str, b: str, metric: str, week: int | None = None, unit: str = "pp", who: str | None = None
    ) -> str:
        """One readable line: the difference, its interval, its range, in how many pairs ``a`` (or ``who``, a
        plainer name for it) came out on the side of the mean (higher or lower: which is better depends on the
        metric) and in how many the two were the same, the parameter share."""
        d = self.compare(a, b, metric, week)
        f = fmt_pp if unit == "pp" else (lambda v: f"{v:+.2f}")
        pairs = "plausible worlds" if self.posterior else "replications"
        side, share = ("higher", d["p_higher"]) if d["difference"] >= 0 else ("lower", d["p_lower"])
        same = d["p_ties"]  # pairs with no difference at all (a lever that did nothing yet)
        where = pair_tally(f"`{a}`" if who is None else who, side, f"`{b}`", share, same, pairs)
        district = range_words(d["range_low"], d["range_high"], "one district could see ", f)
        mean = f"95% interval of the mean {f(d['ci_low'])} to {f(d['ci_high'])}"
        text = f"{bracketed(f(d['difference']), mean, district)}; {where}"
        if np.isfinite(d.get("parameter_share", np.nan)):  # the noise runs' interval is of their mean, not a range
            text += (
                f"; {100 * d['parameter_share']:.0f}% of the spread is parameter uncertainty (95% interval "
                f"{100 * d['parameter_share_low']:.0f}-{100 * d['parameter_share_high']:.0f}%; replication noise "
                f"alone, {d['noise_runs']} runs at the declared coefficients: 95% interval of the mean "
                f"{f(d['noise_ci_low'])} to {f(d['noise_ci_high'])})"
            )
        elif "noise_runs" in d:  # noise runs were made, but the share needs SHARE_MIN worlds: once left unsaid
            text += f"; from {d['replications']} plausible worlds the spread is not split ({SHARE_MIN} needed)"
        return text


@dataclass
class Study:
    """A ready-made study: its name, arms and analysis. ``run_kwargs`` are extra tables for sim.run;
    ``settings`` are the rules for the study's own ``study.*`` values, checked before anything runs; ``needs``
    are the arm labels the analysis compares by name, so arms without them are refused before the runs."""

    name: str
    title: str
    arms: Callable[[Settings], dict[str, str | Sequence[str]]]
    analyse: Callable[[Context], list[str]]
    run_kwargs: Callable[[Settings], dict] = lambda s: {}
    noise_runs: bool = True
    settings: Mapping[str, tuple] = field(default_factory=dict)
    min_horizon_weeks: int = 1  # a study that reports by year needs at least one year
    needs: Sequence[str] = ()
    owners: Mapping[str, str] = field(default_factory=dict)  # what the study sets itself, besides its arms

    def prepare(self, s: Settings) -> dict[str, sim.Config]:
        """Check the study's own settings and every arm's config; raise ConfigError before anything is written."""
        check_settings(s.cfg, self.settings)
        check_horizon(s, self.name, self.min_horizon_weeks)
        check_common(s, self.owners)
        arms = self.arms(s)
        if len(arms) < 1:
            raise ConfigError("the study has no arms")
        missing = [label for label in self.needs if label not in arms]
        if missing:  # once a KeyError after every run
            raise ConfigError(
                f"study.arms has no arm labelled {missing[0]!r}, which the {self.name} study compares "
                f"(needs {', '.join(self.needs)}; given {', '.join(arms)})"
            )
        return check_arms(s, arms)

    def run(self, s: Settings, progress: bool = True) -> Path:
        configs = self.prepare(s)
        arms = {k: (v.split() if isinstance(v, str) else list(v)) for k, v in self.arms(s).items()}
        noise_on = self.noise_runs and s.cfg.uncertainty == "posterior" and s.cfg.noise_replications >= 2
        noise_cfgs = (
            {
                k: sim.load_config(arm_overrides(s, a, "fixed") + [f"replications={s.cfg.noise_replications}"])
                for k, a in arms.items()
            }
            if noise_on
            else {}
        )
        kw = self.run_kwargs(s)
        results = {label: sim.run(c, progress=progress, **kw) for label, c in configs.items()}
        noise = {label: sim.run(c, progress=progress) for label, c in noise_cfgs.items()}
        final = output_dir(s, self.name)
        with whole_or_absent(final) as out:  # made once the runs are done
            write_config(out, s, arms, configs)
            ctx = Context(s, arms, configs, results, noise, out)
            sections = self.analyse(ctx)
            lines = ctx.header(self.title) + sections
            lines += ["", "Files: " + ", ".join([*ctx.files, "config.yaml", "report.md"]) + "."]
            (out / "report.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return final


def output_dir(s: Settings, name: str) -> Path:
    """results/<study>/<date_time>_<random>/ (never shared by two studies started in the same second: its
    staging folder is made exclusively, see ``whole_or_absent``)."""
    root = Path(s.cfg.output_root)
    root = output_path(root)
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    return root / name / f"{stamp}_{uuid.uuid4().hex[:6]}"


@contextlib.contextmanager
def whole_or_absent(out: Path):
    """A study folder is whole or absent: its tables, figures and report are written into a hidden staging
    folder beside it, moved into place when all are written (``sim.cli.publish``, as for a run folder), and
    removed if writing fails or is interrupted; a killed study leaves only the hidden stage."""
    from sim.cli import publish

    stage = out.with_name(f".{out.name}.partial")
    stage.mkdir(parents=True, exist_ok=False)
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    publish(stage, out)


def write_config(out: Path, s: Settings, arms: dict[str, list[str]], configs: dict[str, sim.Config]) -> None:
    """config.yaml: the settings, the common overrides and every arm's fully resolved config."""
    doc = {
        "promise_sim_version": sim.__version__,
        "settings": OmegaConf.to_container(s.cfg, resolve=True),
        "overrides": list(s.overrides),
        "arms": {
            label: {"overrides": arms[label], "config": OmegaConf.to_container(OmegaConf.structured(c))}
            for label, c in configs.items()
        },
    }
    (out / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(doc)))


def pair_tally(name: str, verb: str, other: str, share: float, same: float, pairs: str) -> str:
    """In how many pairs ``name`` came out one way against ``other``, with the pairs that tied said to be the same
    (a lever that changed nothing yet), never counted against it: 'A higher in 60% of replications (the same in
    20%)', or 'A the same as B in all replications'; an empty ``name`` leaves the subject to the sentence."""
    head = f"{name} " if name else ""
    if same == 1:
        return f"{head}the same as {other} in all {pairs}"
    ties = f" (the same in {percent(same)})" if same > 0 else ""
    return f"{head}{verb} in {percent(share)} of {pairs}{ties}"


def tied_with(frame: pd.DataFrame, row: pd.Series, columns: Sequence[str]) -> int:
    """How many other rows of ``frame`` equal ``row`` on every one of ``columns`` (to 1e-12): designs a ranking
    cannot tell apart from the one it puts first."""
    same = np.logical_and.reduce([np.isclose(frame[c], row[c], rtol=0, atol=1e-12) for c in columns])
    return int(same.sum()) - 1


RESAMPLES = 1000  # resamples of the worlds behind "how sure is the choice"


def resampled_choice(values: np.ndarray, scores: Callable, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Choose again on resampled worlds, to say how sure a choice is. ``values`` is designs x worlds; the worlds
    are drawn with replacement RESAMPLES times, and in each resample the designs are scored by ``scores(x)`` (x:
    designs x resamples x worlds; a tuple of designs x resamples arrays, compared in order, higher first). Returns
    the designs x resamples array of the designs at the best (ties to 1e-12 all marked) and the first score."""
    rng = np.random.default_rng(seed)
    worlds = values.shape[1]
    step = max(1, 4_000_000 // values.size)  # resamples at a time: a few tens of MB, however many worlds
    parts = [
        scores(values[:, rng.integers(0, worlds, (min(step, RESAMPLES - a), worlds))])
        for a in range(0, RESAMPLES, step)
    ]
    ranked = [np.concatenate([part[k] for part in parts], axis=1) for k in range(len(parts[0]))]
    best = np.ones_like(ranked[0], dtype=bool)
    for score in ranked:
        best &= score >= np.where(best, score, -np.inf).max(axis=0) - 1e-12
    return best, ranked[0]


def percent(share: float) -> str:
    """'68%', where a share that is neither none nor all never reads as one: '<1%' and '>99%' (a choice made again
    in 999 of 1,000 resamples once read "100% of resamples; most often instead: ... (0%)")."""
    p = 100 * share
    return "<1%" if 0 < p < 1 else ">99%" if 99 < p < 100 else f"{p:.0f}%"


def chosen_instead(best: np.ndarray, chosen: int, labels: Sequence) -> pd.Series:
    """The share of resamples whose choice is another design, by design (the first at the best), most first."""
    again = best[chosen]
    return pd.Series(np.asarray(labels)[best[:, ~again].argmax(axis=0)]).value_counts() / best.shape[1]


def as_well_words(others: int, where: str) -> str:
    """' 3 other designs do exactly as well {where}.', or nothing when no other design does."""
    return (
        f" {counted(others, 'other design')} {'does' if others == 1 else 'do'} exactly as well {where}."
        if others
        else ""
    )


def fmt_pp(x: float) -> str:
    """A change on the 0-1 scale in percentage points, with its sign ("+0.0 pp" for one that rounds to nothing)."""
    return f"{signed(100 * x, 1)} pp"


def axis_label(metric: str) -> str:
    """The y-axis of a trajectory in percent: shares of residents (participation is one) or a 0-1 mean."""
    return "% of residents" if metric.endswith("_share") or metric == "participation_rate" else "mean, 0-100 scale"


def weekly_band(trajectories: pd.DataFrame, metric: str) -> tuple[np.ndarray, ...]:
    """Weeks, the mean of ``metric`` across replications, and the band a study figure draws around it, week by
    week: from `RANGE_MIN` replications the 90% range of what one district could see (as the reports' ranges),
    from fewer the mean's 95% interval (`band_words` says which)."""
    w = by_week(trajectories, metric)
    low, high = (
        ("district_low", "district_high") if trajectories.replication.nunique() >= RANGE_MIN else ("ci_low", "ci_high")
    )
    return w.week.to_numpy(), w["mean"].to_numpy(), w[low].to_numpy(), w[high].to_numpy()


def band_words(replications: int) -> str:
    """What `weekly_band` draws for this many replications, for a figure's title."""
    if replications >= RANGE_MIN:
        return "90% range of what one district could see"
    return f"95% interval of the mean; {RANGE_MIN} replications give what one district could see"


def plot_arms(ctx: Context, name: str, metrics: Sequence[str], title: str, fontsize: int = 10, ncols: int = 2) -> None:
    """Trajectories of each arm (mean and `weekly_band`) on shared axes, one panel per metric, in percent of
    residents for shares."""
    nrows = int(np.ceil(len(metrics) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.5 * ncols, 4.2 * nrows), squeeze=False, layout="constrained")
    for ax, m in zip(axes.flat, metrics):
        for label, res in ctx.results.items():
            weeks, mean, lo, hi = weekly_band(res.trajectories, m)
            (line,) = ax.plot(weeks, 100 * mean, lw=2.5, label=label)
            ax.fill_between(weeks, 100 * lo, 100 * hi, color=line.get_color(), alpha=0.18)
        ax.set_title(LABELS.get(m, m), fontsize=fontsize + 2)
        ax.set_xlabel("week", fontsize=fontsize)
        ax.set_ylabel(axis_label(m), fontsize=fontsize)
        ax.tick_params(labelsize=fontsize)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=fontsize)
    band = "parameter and replication uncertainty" if ctx.posterior else "replication noise"
    what = band_words(ctx.s.cfg.replications)
    fig.suptitle(f"{title} (bands: {what}; {band})", fontsize=fontsize + 3)
    ctx.figure(name, fig)


def main_wrapper(study: Any, argv: Sequence[str]) -> int:
    """Load and validate (exit 2 on a bad value, nothing written), then run the study."""

    def settings() -> Settings:
        s = load_study(study.name, argv)
        study.prepare(s)
        return s

    # a study's folder is whole or absent; a grid study's runs are in its store
    interrupted = RESUMES if isinstance(study, GridStudy) else NOTHING
    return says_when_interrupted(interrupted)(command)(settings, study.run)


# ---- grid studies: many settings through the sweep engine ----------------------------------------------

NO_PROMISE_POINT = -1  # the counterfactual's row in a grid study's run table


def grid_points(grid: dict[str, Sequence]) -> pd.DataFrame:
    """Every combination of a grid {parameter: [values]} as a design table."""
    import itertools

    names = list(grid)
    return pd.DataFrame(list(itertools.product(*[list(grid[n]) for n in names])), columns=names)


@dataclass
class GridContext(Context):
    """A grid study's results: one row per (setting, replication) in ``runs``, gains against no promise paired."""

    points: pd.DataFrame = field(default_factory=pd.DataFrame)
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    base: sim.Config | None = None
    progress: bool = True  # progress bars for any runs the analysis adds

    def gains(self, outcomes: Sequence[str]) -> pd.DataFrame:
        """Each run's outcome minus the counterfactual's on the same replication (seed and draw)."""
        none = self.runs[self.runs.point == NO_PROMISE_POINT].set_index("replication")
        runs = self.runs[self.runs.point != NO_PROMISE_POINT].copy()
        for o in outcomes:
            runs[f"gain_{o}"] = runs[o].to_numpy() - none.loc[runs.replication, o].to_numpy()
        return runs

    def area(self) -> str:
        return f"`{self.base.area.name}`"

    def ranges_per_arm(self) -> bool:
        return False


def summarise_gains(runs: pd.DataFrame, by: Sequence[str], gains: Sequence[str]) -> pd.DataFrame:
    """Per setting: mean gain with its t interval, the 90% range one district could see, P(gain > 0)."""
    rows = []
    for key, g in runs.groupby(list(by)):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        for c in gains:
            mean, lo, hi = interval(g[c].to_numpy())
            r_lo, r_hi = spread(g[c].to_numpy())
            row.update(
                {
                    c: mean,
                    f"{c}_ci_low": lo,
                    f"{c}_ci_high": hi,
                    f"{c}_range_low": r_lo,
                    f"{c}_range_high": r_hi,
                    f"{c}_p_positive": float((g[c] > 0).mean()),
                }
            )
        row["hours_spent"] = float(g.hours_delivered_mean.mean() * g.weeks.iloc[0])
        row["replications"] = int(len(g))  # the paired runs behind the interval (pooled conditions count each)
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class GridStudy:
    """A study over a grid of settings (plus the counterfactual), run through the sweep engine (resumable:
    results/<study>/sweep_<key>/ is reused by the same command)."""

    name: str
    title: str
    base: Callable[[Settings], str]
    grid: Callable[[Settings], dict[str, list]]
    analyse: Callable[[GridContext], list[str]]
    min_horizon_weeks: int = 1  # a study that reports gains by year needs at least one year
    settings: Mapping[str, tuple] = field(default_factory=dict)  # rules for the study's own study.* values
    owners: Mapping[str, str] = field(default_factory=lambda: {"scenario": "study.scenario"})  # where it sets what

    def prepare(self, s: Settings) -> tuple[sim.Config, pd.DataFrame]:
        from sim.space import apply_params

        check_settings(
            s.cfg,
            {
                "study.executor": optional(one_of(*EXECUTORS)),
                "study.workers": optional(whole(1)),
                "study.scheduler": optional(text()),
                **self.settings,
            },
        )
        check_horizon(s, self.name, self.min_horizon_weeks)
        base = sim.load_config(arm_overrides(s, self.base(s)))
        grid = self.grid(s)
        if not grid:
            raise ConfigError("study.grid is empty: name at least one parameter and its values")
        check_grid(grid, "study.grid")
        check_common(s, {**{k: "study.grid" for k in grid}, **self.owners})
        check_a_promise_to_vary(base, grid, self.name)
        points = grid_points(grid)
        for row in points.to_dict("records"):  # every grid point must be valid before anything runs
            apply_params(base, row)
        return base, points

    def run(self, s: Settings, progress: bool = True) -> Path:
        base, points = self.prepare(s)
        design = pd.concat([points, points.head(1).assign(**{"promise.active": 0.0})], ignore_index=True)
        design["promise.active"] = design["promise.active"].fillna(1.0)
        runs, store = sweep_design(s, self.name, "sweep", base, design, progress)
        runs["point"] = np.where(runs.point == len(points), NO_PROMISE_POINT, runs.point)
        runs["weeks"] = s.cfg.horizon_weeks
        final = output_dir(s, self.name)
        with whole_or_absent(final) as out:
            write_config(out, s, {"base": self.base(s).split()}, {"base": base})
            ctx = GridContext(
                s,
                {"base": self.base(s).split()},
                {"base": base},
                {},
                {},
                out,
                points=points,
                runs=runs,
                base=base,
                progress=progress,
            )
            ctx.save("runs.csv", runs)
            sections = self.analyse(ctx)
            lines = ctx.header(self.title) + sections
            lines += [
                "",
                f"Runs are stored in {store.root} (the same command reuses them).",
                "",
                "Files: " + ", ".join([*ctx.files, "config.yaml", "report.md"]) + ".",
            ]
            (out / "report.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return final


def check_a_promise_to_vary(base: sim.Config, varied: Iterable[str], study: str) -> None:
    """Studies over promise designs (ambition, budget, robust) pair every design with no promise themselves:
    refuse a base without a promise (its designs ran with a promise anyway, under the name no_promise) and
    promise.active as a dimension."""
    if "promise.active" in varied:
        raise ConfigError(f"promise.active cannot be varied in {study}: every design is paired with no promise already")
    if not base.promise.active:
        raise ConfigError(
            f"{study} varies a promise, but its base has none (scenario={base.scenario}, promise.active=false); "
            "every design is paired with no promise already, so run it on a scenario with a promise "
            "(observed_2018, full_implementation or over_promising) and without promise.active=false"
        )


def sweep_design(
    s: Settings, study: str, prefix: str, base: sim.Config, design: pd.DataFrame, progress: bool
) -> tuple[pd.DataFrame, Any]:
    """Every row of ``design`` in every replication, through the sweep engine and the study's executor; runs are
    stored in results/<study>/<prefix>_<key>/ (key: a hash of the run ids), so the same command resumes them.
    Returns one row per (design row, replication), with the row's number in ``point``, and the store."""
    import hashlib
    import json

    from sim.store import SweepStore
    from sim.sweep import plan, run_sweep

    p = plan(base, design, s.cfg.replications, s.cfg.seed)
    key = hashlib.sha256(json.dumps(sorted(p.run_ids())).encode()).hexdigest()[:10]
    store = SweepStore(output_path(Path(s.cfg.output_root)) / study / f"{prefix}_{key}")
    st = s.cfg.study
    rows = run_sweep(
        p,
        base,
        store,
        executor=st.get("executor", "processes"),
        workers=st.get("workers"),
        scheduler=st.get("scheduler"),
        progress=progress,
        study={"name": study if prefix == "sweep" else f"{study} {prefix}", "key": key},
    )
    return p.rows.join(rows.drop(columns=["replication"]).set_index("run_id"), on="run_id"), store


def heatmaps(
    ctx: Context,
    table: pd.DataFrame,
    value: str,
    name: str,
    title: str,
    colour_label: str,
    x: str,
    y: str | None,
    rows: str | None = None,
    cols: str | None = None,
    fmt: str = "{:+.1f}",
) -> None:
    """Heatmaps of ``value`` over x and y (one row of cells when there is no y: a grid of one parameter),
    one panel per (rows, cols) value; cells show the value."""
    row_vals = sorted(table[rows].unique()) if rows else [None]
    col_vals = sorted(table[cols].unique()) if cols else [None]
    fig, axes = plt.subplots(
        len(row_vals),
        len(col_vals),
        figsize=(max(5.2, 4.6 * len(col_vals)), 3.9 * len(row_vals) + 1.2),
        squeeze=False,
        layout="constrained",
    )
    vmax = float(np.nanmax(np.abs(table[value]))) or 1.0
    im = None
    for i, rv in enumerate(row_vals):
        for j, cv in enumerate(col_vals):
            d = table
            if rows:
                d = d[d[rows] == rv]
            if cols:
                d = d[d[cols] == cv]
            h = d.pivot_table(index=y, columns=x, values=value) if y else d.groupby(x)[value].mean().to_frame().T
            ax = axes[i, j]
            im = ax.imshow(h.to_numpy(), cmap="RdBu", vmin=-vmax, vmax=vmax, origin="lower", aspect="auto")
            ax.set_xticks(range(h.shape[1]), [f"{c:g}" for c in h.columns])
            ax.set_yticks(range(h.shape[0]), [f"{c:g}" for c in h.index] if y else [""])
            for (yy, xx), v in np.ndenumerate(h.to_numpy()):
                ax.text(
                    xx,
                    yy,
                    fmt.format(v),
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if abs(v) > 0.6 * vmax else "black",
                )
            facet = ", ".join(f"{n.split('.')[-1]} {v:g}" for n, v in ((rows, rv), (cols, cv)) if n)
            ax.set_title(facet, fontsize=10)
            ax.set_xlabel(x.split(".")[-1].replace("_", " "))
            ax.set_ylabel(y.split(".")[-1].replace("_", " ") if y else "")
    fig.colorbar(im, ax=axes, shrink=0.8, label=colour_label)
    width = fig.get_figwidth()  # a long title wraps to the figure's width instead of running off it
    fig.suptitle(
        textwrap.fill(title, int(11 * width))
        + f"\narea {ctx.area().replace('`', '')}, {ctx.s.cfg.replications} replications per cell",
        fontsize=11,
    )
    ctx.figure(name, fig)
