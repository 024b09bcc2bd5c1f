"""Instant what-if and fast sensitivity: an emulator trained on sweep runs.

    python -m experiments.emulator build          # the planners' emulator: gains against no promise by area
    python -m experiments.emulator sensitivity    # a 15-lever Sobol ranking from a few thousand runs

``build`` runs a Latin-hypercube design over the planners' levers and the area presets, each run in a
plausible world (posterior draw) and paired with no promise in the same world, trains the emulator on the
gains in survey shares after one, two and three years, validates it on held-out runs (R², interval
coverage, predicted against simulated), compares boosted trees with a Gaussian process, cross-validates the
better one on its training runs by how many levers sit near an end of their range (crossval.csv), and saves
it to sim/data/emulator/ (what `sim.whatif` and the app's planner tab use) with the store it was trained on
and the code version.

``sensitivity`` trains on the lever study's runs (configs/experiment/sensitivity_levers.yaml) — runs already
in a store, or a design of its own when there are too few — and computes Sobol indices on the emulator
with thousands of cheap evaluations; the emulator's own uncertainty enters through bootstrap refits. With
``direct=<folder of a direct Sobol study>`` it compares the rankings.

The mode comes first and is required (a bare command does not start a 25-minute build). Every setting is
checked before anything runs or is written: a bad one exits 2 with one line naming it and its allowed range.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import matplotlib

from experiments.interrupted import RESUMES, command, says_when_interrupted

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from omegaconf import DictConfig, ListConfig, OmegaConf  # noqa: E402

import sim  # noqa: E402
from experiments.settings import (
    check_settings,
    check_sobol_size,
    compose_settings,
    exit_with_help,
    make_output_folder,
    number,
    one_of,
    optional,
    settings_text,
    text,
    whole,
)
from sim.emulator import (  # noqa: E402
    CORNER_INPUTS,
    EDGE,
    EMULATOR_DIR,
    Emulator,
    scores,
    store_fingerprint,
    validate,
)
from sim.executors import EXECUTORS  # noqa: E402
from sim.params import PARAMS, UNCERTAIN, ConfigError  # noqa: E402
from sim.paths import output_path  # noqa: E402
from sim.planner import DRAWS  # noqa: E402
from sim.posterior import load_ensemble  # noqa: E402
from sim.store import SweepStore  # noqa: E402
from sim.sweep import Outcomes, base_key, plan, run_sweep  # noqa: E402
from sim.version import code_version  # noqa: E402

SHARES = ["trust_high_share", "delaktighet_high_share", "unsafe_share"]
YEARS = (1, 2, 3)
# Below this held-out R² the fast sensitivity report calls an output's ranking rough: the emulator misses much of
# how it responds (2,000 runs of the lever study give 0.86-0.93, docs/emulator.md).
ROUGH_R2 = 0.8


MODES = {"build": "the planners' emulator, about 25 minutes at the default runs", "sensitivity": "fast Sobol ranking"}


def load_settings(argv: list[str]) -> tuple[str, DictConfig]:
    """The mode and its settings, every one checked before anything runs or is written (ConfigError naming it)."""
    exit_with_help(argv, lambda: (__doc__ or "").strip() + "\n\n" + settings_text("emulator", argv))
    if not argv or "=" in argv[0]:
        raise ConfigError("say what to run first: " + " or ".join(f"{m} ({what})" for m, what in MODES.items()))
    mode, settings = argv[0], argv[1:]
    if mode not in MODES:
        raise ConfigError(f"the first argument must be {' or '.join(MODES)}, got {mode!r}")
    stray = [a for a in settings if "=" not in a]
    if stray:
        raise ConfigError(f"unexpected argument {stray[0]!r}: after {mode}, settings are key=value")
    cfg = compose_settings("emulator", settings)
    check_settings(
        cfg,
        {
            "runs": whole(50, 1_000_000),
            "sensitivity_runs": whole(50, 1_000_000),
            "worlds": whole(2, 10_000),
            "noise_check": whole(0, 100_000),
            "residents": whole(100, 100_000),
            "seed": whole(0, 2**31 - 1),
            "held_out": whole(10, 100_000),
            "corner_share": number(0, 0.9),
            "sobol_n": whole(64, 1 << 20),
            "bootstrap_models": whole(2, 100),
            "compare_gp": ((lambda v: isinstance(v, bool)), "true or false"),
            "executor": one_of(*EXECUTORS),
            "workers": optional(whole(1)),
            "scheduler": optional(text()),
            "output_dir": optional(text()),
            "direct": optional(text()),
            "install": ((lambda v: isinstance(v, bool)), "true or false"),
        },
    )
    if mode == "build":
        check_build_settings(cfg)
    else:
        check_sensitivity_settings(cfg)
    return mode, cfg


def check_build_settings(cfg: DictConfig) -> None:
    """What `build` needs beyond each setting's own range: most runs left to train on, worlds that exist, areas
    and levers the model knows, each lever's range inside the range the model accepts."""
    if cfg.held_out > cfg.runs // 2:
        raise ConfigError(
            f"invalid value for held_out: {cfg.held_out} (allowed: at most half of runs = {cfg.runs // 2}, "
            "so that most runs train the emulator)"
        )
    draws = len(load_ensemble())
    if cfg.worlds > draws:
        raise ConfigError(f"invalid value for worlds: {cfg.worlds} (allowed: at most the {draws} posterior draws)")
    areas = cfg.areas
    if not isinstance(areas, ListConfig) or len(areas) == 0 or len(set(map(str, areas))) < len(areas):
        given = OmegaConf.to_container(areas) if isinstance(areas, ListConfig) else areas
        raise ConfigError(f"invalid value for areas: {given!r} (allowed: a list of one or more different area presets)")
    if not isinstance(cfg.levers, DictConfig) or len(cfg.levers) == 0:
        raise ConfigError(f"invalid value for levers: {cfg.levers!r} (allowed: one or more levers, name: [low, high])")
    for name, bounds in cfg.levers.items():
        spec = PARAMS.get(name)
        if spec is None or spec.role != "lever":
            levers = ", ".join(p.name for p in PARAMS.values() if p.role == "lever" and p.type in (int, float))
            raise ConfigError(f"unknown lever levers.{name} (levers: {levers})")
        ok = (
            isinstance(bounds, ListConfig)
            and len(bounds) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bounds)
            and spec.low <= bounds[0] < bounds[1] <= spec.high
        )
        if not ok:
            given = OmegaConf.to_container(bounds) if isinstance(bounds, ListConfig) else bounds
            raise ConfigError(
                f"invalid value for levers.{name}: {given!r} "
                f"(allowed: [low, high] with {spec.low:g} <= low < high <= {spec.high:g}; unit: {spec.unit})"
            )


def check_sensitivity_settings(cfg: DictConfig) -> None:
    """What `sensitivity` needs beyond each setting's own range: a Sobol size SALib's sequence is balanced at, and
    a direct study that exists (it is read at the end, after the whole study), a lever study with ranges to vary."""
    from sim.config import CONFIG_DIR, presets

    studies = [n for n in presets("experiment") if "vary" in OmegaConf.load(CONFIG_DIR / "experiment" / f"{n}.yaml")]
    if cfg.lever_study not in studies:  # robust once gave "invalid value for study.base: None"
        raise ConfigError(
            f"invalid value for lever_study: {cfg.lever_study!r} (allowed: a sensitivity study, {', '.join(studies)})"
        )
    check_sobol_size("sobol_n", cfg.sobol_n)
    if cfg.direct and not (Path(cfg.direct) / "indices.csv").is_file():
        raise ConfigError(
            f"invalid value for direct: {cfg.direct!r} (allowed: the folder of a direct Sobol study, with its "
            "indices.csv; or null)"
        )


def lhs(bounds: dict[str, tuple[float, float]], n: int, seed: int) -> pd.DataFrame:
    from scipy.stats import qmc

    names = list(bounds)
    u = qmc.LatinHypercube(d=len(names), seed=seed).random(n)
    lo = np.array([bounds[k][0] for k in names], dtype=float)
    hi = np.array([bounds[k][1] for k in names], dtype=float)
    return pd.DataFrame(lo + u * (hi - lo), columns=names)


def corner_design(bounds: dict[str, tuple[float, float]], n: int, share: float, seed: int) -> pd.DataFrame:
    """A Latin hypercube of ``n`` settings whose last ``round(share * n)`` rows sit in corners of the box: in each,
    a random number of levers (at least `sim.emulator.CORNER_INPUTS`, at most all) is moved into the outer ``EDGE``
    of its range at a random end. Such a setting is what the what-if names as a corner. A hypercube alone puts
    about 15% of its runs in some corner of seven levers, but few in any one: three given levers at given ends
    get 0.1% of them. Column ``moved_to_corner``: whether a row was moved."""
    rng = np.random.default_rng([seed, 1])
    design = lhs(bounds, n, seed)
    names = list(bounds)
    corner = np.zeros(n, dtype=bool)
    corner[n - int(round(share * n)) :] = True
    for i in np.flatnonzero(corner):
        k = int(rng.integers(min(CORNER_INPUTS, len(names)), len(names) + 1))
        for name in rng.choice(names, size=k, replace=False):
            lo, hi = bounds[name]
            inward = rng.random() * EDGE * (hi - lo)
            design.loc[i, name] = lo + inward if rng.random() < 0.5 else hi - inward
    return design.assign(moved_to_corner=corner)


def outcome_columns() -> list[str]:
    return [f"{m}_change_y{y}" for m in SHARES for y in YEARS]


# ---- build: the planners' emulator -----------------------------------------------------------------------


def store_folder(root: Path, name: str, base: sim.Config) -> Path:
    """``root/name_<key>``: a sweep store named by what its runs share (resolved base, outcomes, code version),
    so a build on changed code or settings starts its own store beside the old one instead of being refused."""
    return root / f"{name}_{base_key(base, Outcomes())[:8]}"


def area_gains(
    design: pd.DataFrame,
    worlds: np.ndarray,
    seed: int,
    store: Path,
    *,
    cfg: DictConfig,
    base: sim.Config,
    area: str,
    ensemble: pd.DataFrame,
    progress: bool,
) -> pd.DataFrame:
    """Row i of the design with a promise in world ``worlds[i]``, and no promise in each world used (same seed),
    with the world's coefficients and the gains against no promise; rows in design order."""
    design = design.assign(**{"promise.active": 1.0})
    used = np.unique(worlds)
    none = design.head(len(used)).assign(**{"promise.active": 0.0})
    p = plan(base, pd.concat([design, none], ignore_index=True), 1, seed, row_replications=[*worlds, *used])
    rows = run_sweep(
        p,
        base,
        SweepStore(store),
        executor=cfg.executor,
        workers=cfg.workers,
        scheduler=cfg.scheduler,
        progress=progress,
        study={"name": f"emulator build {store.name}"},
    )
    t = p.rows.join(rows.drop(columns=["replication"]).set_index("run_id"), on="run_id")
    t["area"] = area
    promise = t[t["promise.active"] > 0.5].copy()
    drawn = ensemble.iloc[promise.replication.to_numpy() % len(ensemble)]  # replication r ran with draw r
    for n in UNCERTAIN:
        promise[n] = drawn[n].to_numpy()
    base_rows = t[t["promise.active"] < 0.5].set_index("replication")
    for c in outcome_columns():
        promise[f"gain_{c}"] = promise[c].to_numpy() - base_rows.loc[promise.replication, c].to_numpy()
    return promise.reset_index(drop=True)


def noise_ceiling(runs: pd.DataFrame, reseeded: pd.DataFrame, outputs: list[str]) -> pd.DataFrame:
    """The best R² any emulator of these inputs could reach: 1 - (replication noise variance) / (variance of the
    output over all runs). The noise variance is half the mean squared difference between a setting's gain and
    the same setting's gain in the same world with other seeds."""
    rows = []
    for name in outputs:
        diffs = []
        for area, again in reseeded.groupby("area"):
            first = runs[runs.area == area][name].to_numpy()[again.row.to_numpy()]
            diffs.append(first - again[name].to_numpy())
        d = np.concatenate(diffs)
        noise = float(np.mean(d**2) / 2)
        rows.append(
            {"output": name, "noise_sd": noise**0.5, "pairs": len(d), "r2_ceiling": 1 - noise / runs[name].var()}
        )
    return pd.DataFrame(rows)


def fit_counting_bounds(em: Emulator, runs: pd.DataFrame, seed: int, box: dict) -> int:
    """Fit ``em``; return how many of scikit-learn's warnings said a kernel parameter of a Gaussian process sits at
    a bound of its range (one per parameter and fit: once a screenful in a full build) instead of printing them.
    Other warnings pass on."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        em.fit(runs, seed=seed, box=box)
    bounded = 0
    for w in caught:
        if "is close to the specified" in str(w.message):  # "... upper bound" or "... lower bound"
            bounded += 1
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return bounded


def trained_on(train: pd.DataFrame, kind: str, seed: int) -> pd.DataFrame:
    """The runs an emulator of ``kind`` is fitted on: all, or 800 for a Gaussian process (its cost grows with the
    cube of its runs)."""
    return train.sample(min(len(train), 800), random_state=seed) if kind == "gaussian_process" else train


DEEPEST = 5  # cross-validation groups: 0, 1, ... levers near an end, and DEEPEST or more together


def cross_validate(
    runs: pd.DataFrame, make: Callable[[], Emulator], box: dict, seed: int, folds: int = 5
) -> pd.DataFrame:
    """Each run predicted by an emulator (``make()``, unfitted) trained on the runs of the other ``folds`` - 1
    folds, as the build trains; `scores` of these predictions for all runs and by how many of the emulator's
    ``edges`` sit near an end of their range (``group``: "all", "0", "1", ... "5+"). How the emulator errs in
    corners compared with elsewhere (docs/emulator.md, *Corners*), from every run instead of a few held out."""
    fold = np.random.default_rng(seed).integers(0, folds, len(runs))
    pred: dict[str, np.ndarray] = {}
    for f in range(folds):
        em = make().fit(runs[fold != f], seed=seed + f, box=box)
        for name, values in em.predict_arrays(runs[fold == f]).items():
            pred.setdefault(name, np.full(len(runs), np.nan))[fold == f] = values
    near = em.ends_near({n: runs[n].to_numpy(dtype=float) for n in em.edges}, len(runs))
    groups = {"all": np.ones(len(runs), dtype=bool), **{str(k): near == k for k in range(DEEPEST)}}
    groups[f"{DEEPEST}+"] = near >= DEEPEST
    return pd.concat(
        [
            scores(runs[m], {k: v[m] for k, v in pred.items()}, em.outputs).assign(group=group)
            for group, m in groups.items()
            if m.any()
        ],
        ignore_index=True,
    )


def cross_validation_lines(cv: pd.DataFrame, kind: str) -> list[str]:
    """The report's table of the cross-validation by corner depth: runs, coverage, error and width, each the mean
    over the outputs."""
    by = cv.groupby("group", sort=False)
    groups = list(by.groups)
    mean = by[["coverage", "rmse", "mean_half_width"]].mean()
    runs = by.held_out.first()
    return [
        "",
        f"**Cross-validated** ({kind}, five-fold): each of the {runs['all']:,} training runs predicted by an emulator "
        "trained on the other four fifths, grouped by how many levers sit within "
        f"{100 * EDGE:.0f}% of their range from an end ({CORNER_INPUTS} or more: a corner); means over the outputs.",
        "",
        "| levers near an end | " + " | ".join(groups) + " |",
        "|---|" + "---|" * len(groups),
        "| runs | " + " | ".join(f"{runs[g]:,}" for g in groups) + " |",
        "| 90% interval coverage | " + " | ".join(f"{100 * mean.coverage[g]:.1f}%" for g in groups) + " |",
        "| root mean square error (pp) | " + " | ".join(f"{100 * mean.rmse[g]:.2f}" for g in groups) + " |",
        "| mean half-width (pp) | " + " | ".join(f"{100 * mean.mean_half_width[g]:.2f}" for g in groups) + " |",
    ]


def build(cfg: DictConfig, progress: bool = True) -> Path:
    """Design, runs, gains against no promise, fit, validate, compare, save.

    The emulator's inputs are the levers, the area and the 39 uncertain coefficients of the run's world, so it
    learns how the answer depends on both; `sim.whatif` then asks it for every posterior draw and reports the
    spread (parameter uncertainty) widened by the emulator's own error."""
    levers = {k: tuple(v) for k, v in OmegaConf.to_container(cfg.levers).items()}
    areas = list(cfg.areas)
    ensemble = load_ensemble()
    bases = {  # every area's base is composed (and checked) before any area runs or anything is written
        area: sim.load_config(
            [
                f"scenario={cfg.scenario}",
                f"area={area}",
                f"area.residents={cfg.residents}",
                "horizon_weeks=156",
                "uncertainty=posterior",
            ]
        )
        for area in areas
    }
    out = output_path(cfg.output_dir or "results/emulator/build")
    make_output_folder(out)
    t0 = time.perf_counter()
    frames, reseeded, stores = [], [], []
    per_area = cfg.runs // len(areas)
    for a, (area, base) in enumerate(bases.items()):
        design = corner_design(levers, per_area, cfg.corner_share, cfg.seed + a)
        worlds = np.arange(per_area) % cfg.worlds
        run = dict(cfg=cfg, base=base, area=area, ensemble=ensemble, progress=progress)
        stores.append(store_folder(out / "sweep", area, base))
        settings = design.drop(columns="moved_to_corner")
        gains = area_gains(settings, worlds, cfg.seed, stores[-1], **run)
        frames.append(gains.assign(moved_to_corner=design.moved_to_corner.to_numpy()))
        k = min(cfg.noise_check, per_area, cfg.worlds)
        if k:  # the same settings in the same worlds, other seeds: what replication noise alone moves
            again = area_gains(
                settings.head(k), worlds[:k], cfg.seed + 1, store_folder(out / "sweep", f"{area}-reseeded", base), **run
            )
            reseeded.append(again.assign(row=np.arange(k)))
    runs = pd.concat(frames, ignore_index=True)
    sim_seconds = time.perf_counter() - t0
    runs.to_csv(out / "runs.csv", index=False)
    outputs = [f"gain_{c}" for c in outcome_columns()]
    ceiling = noise_ceiling(runs, pd.concat(reseeded, ignore_index=True), outputs) if reseeded else None
    if ceiling is not None:
        ceiling.to_csv(out / "noise.csv", index=False)
    inputs = [*levers, *UNCERTAIN, "area"]  # the coefficients too: each run's world is known, not noise
    box = {**levers, **{n: (float(ensemble[n].min()), float(ensemble[n].max())) for n in UNCERTAIN}}
    rng = np.random.default_rng(cfg.seed)
    held = rng.random(len(runs)) < cfg.held_out / len(runs)
    train, test = runs[~held], runs[held]

    def unfitted(kind: str) -> Emulator:
        return Emulator(inputs, outputs, kind=kind, categories={"area": areas}, edges=list(levers))

    results = {}
    kinds = ["boosted_trees"] + (["gaussian_process"] if cfg.compare_gp else [])
    bounded = 0  # the Gaussian process's kernel parameters left at a bound of their range, one warning each
    for kind in kinds:
        t1 = time.perf_counter()
        em = unfitted(kind)
        bounded += fit_counting_bounds(em, trained_on(train, kind, cfg.seed), cfg.seed, box)
        fit = time.perf_counter() - t1
        v = validate(em, test)
        t2 = time.perf_counter()
        for _ in range(20):
            em.predict(test.head(1))
        results[kind] = (em, v, fit, (time.perf_counter() - t2) / 20)
    best = max(results, key=lambda k: results[k][1].r2.mean() - abs(results[k][1].coverage - 0.9).mean())
    em, v, fit, per_query = results[best]
    learning = pd.concat(  # is the shortfall data? R² of the chosen kind trained on a quarter and a half of the runs
        [
            validate(
                unfitted(best).fit(
                    train.sample(int(share * len(train)), random_state=cfg.seed), seed=cfg.seed, box=box
                ),
                test,
            ).assign(train_runs=int(share * len(train)))
            for share in (0.25, 0.5)
            if share * len(train) >= 100  # fewer runs than that say nothing
        ]
        + [v.assign(train_runs=len(train))]
    )
    learning.to_csv(out / "learning.csv", index=False)
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():  # the Gaussian process's bound warnings are counted above, once
        warnings.simplefilter("ignore", ConvergenceWarning)
        crossval = cross_validate(trained_on(train, best, cfg.seed), lambda: unfitted(best), box, cfg.seed)
    crossval.to_csv(out / "crossval.csv", index=False)
    in_corner = em.in_corner(test)
    corners = validate(em, test[in_corner]) if in_corner.sum() >= 10 else None  # fewer runs say nothing
    if corners is not None:
        corners.to_csv(out / "corners.csv", index=False)
    em.info.update(
        trained_on=str(out / "sweep"),
        store=[store_fingerprint(s) for s in stores],
        code_version=code_version(),
        runs=len(runs),
        simulation_seconds=round(sim_seconds, 1),
        scenario=cfg.scenario,
        residents=cfg.residents,
        worlds=cfg.worlds,
        corner_share=cfg.corner_share,
        made=time.strftime("%Y-%m-%dT%H:%M:%S"),
        interval="90%: a new run of the given world (replication noise) and the emulator's error",
    )
    em.save(out / "model")
    if cfg.install:
        em.save(EMULATOR_DIR)
    comparison = pd.concat([r[1].assign(kind=k, fit_seconds=r[2], predict_ms=1000 * r[3]) for k, r in results.items()])
    comparison.to_csv(out / "validation.csv", index=False)
    plot_validation(em, test, out / "predicted_vs_simulated.png")
    lines = [
        f"# Emulator for planners: gains against no promise, by area ({cfg.scenario})",
        "",
        f"{len(runs)} runs ({per_area} per area over {len(areas)} areas, each in one of {cfg.worlds} plausible worlds "
        f"and paired with no promise in that world), {sim_seconds:.0f} s of simulation; {len(test)} runs held out. "
        f"{100 * cfg.corner_share:.0f}% of each area's runs were placed in corners of the levers' box "
        f"({CORNER_INPUTS} or more levers within {100 * EDGE:.0f}% of their range from an end).",
        "",
        "| kind | output | R² | 90% interval coverage | mean half-width (pp) |",
        "|---|---|---|---|---|",
    ]
    for _, r in comparison.iterrows():
        lines.append(
            f"| {r.kind} | {r.output} | {r.r2:.3f} | {100 * r.coverage:.0f}% | {100 * r.mean_half_width:.2f} |"
        )
    if ceiling is not None:
        by_runs = learning.pivot(index="output", columns="train_runs", values="r2")
        sizes = list(by_runs.columns)
        lines += [
            "",
            f"**What limits R²**: {int(ceiling.pairs.iloc[0])} settings were run again in the same worlds with other "
            "seeds; the gain's replication noise alone would leave 1 - (best possible R²) unexplained by any emulator "
            f"of these inputs. The chosen kind, trained on {', '.join(f'{n:,}' for n in sizes)} of the runs, shows "
            "whether more runs would close the rest of the gap.",
            "",
            "| output | noise sd (pp) | best possible R² | " + " | ".join(f"R² from {n:,} runs" for n in sizes) + " |",
            "|---|---|---|" + "---|" * len(sizes),
        ]
        for r in ceiling.itertuples():
            lines.append(
                f"| {r.output} | {100 * r.noise_sd:.2f} | {r.r2_ceiling:.3f} | "
                + " | ".join(f"{by_runs.loc[r.output, n]:.3f}" for n in sizes)
                + " |"
            )
    if corners is not None:
        lines += [
            "",
            f"**At corners**: the {in_corner.sum()} held-out runs with {CORNER_INPUTS} or more levers within "
            f"{100 * EDGE:.0f}% of their range from an end ({best}; their intervals are calibrated apart from the "
            "rest's).",
            "",
            "| output | R² | 90% interval coverage | mean half-width (pp) |",
            "|---|---|---|---|",
        ]
        for r in corners.itertuples():
            lines.append(f"| {r.output} | {r.r2:.3f} | {100 * r.coverage:.0f}% | {100 * r.mean_half_width:.2f} |")
    lines += cross_validation_lines(crossval, best)
    lines += [
        "",
        f"**Chosen: {best}** (best mean R² less the mean distance of coverage from 90%). Training "
        f"{results[best][2]:.1f} s; {1000 * per_query:.1f} ms a query."
        + (
            f" The Gaussian process was fitted on {min(len(train), 800)} runs (its cost grows with the cube of the "
            "runs)."
            + (
                f" Its fits left {bounded} kernel parameters at a bound of their range (a length scale at its upper "
                "bound marks an input the process found no use for); scikit-learn warns of each (not printed)."
                if bounded
                else ""
            )
            if cfg.compare_gp
            else ""
        ),
        "",
        "The world's 39 coefficients are inputs, so this interval is where a new run *of that world* would fall: "
        "replication noise and the emulator's own error, wider than the interval of a mean. `sim.whatif` asks the "
        f"emulator about {DRAWS} posterior draws and gives the 90% interval of the mixture of theirs, so its interval "
        "also covers parameter uncertainty.",
        "",
        "Files: validation.csv, corners.csv, crossval.csv, noise.csv, learning.csv, predicted_vs_simulated.png, "
        "runs.csv, model/ (emulator.joblib, emulator.json).",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(
        f"benchmark: emulator build {len(runs)} simulations in {sim_seconds:.0f} s; training {results[best][2]:.1f} s; "
        f"{1000 * per_query:.1f} ms a query"
    )
    return out


def plot_validation(em: Emulator, test: pd.DataFrame, path: Path) -> None:
    pred = em.predict(test)
    outs = em.outputs
    cols = 3
    rows = int(np.ceil(len(outs) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.9 * rows), squeeze=False, layout="constrained")
    for ax, o in zip(axes.flat, outs):
        y, p = 100 * test[o], 100 * pred[o]
        ax.errorbar(
            y,
            p,
            yerr=[100 * (pred[o] - pred[f"{o}_low"]), 100 * (pred[f"{o}_high"] - pred[o])],
            fmt="o",
            ms=2.5,
            alpha=0.35,
            elinewidth=0.6,
        )
        lo, hi = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
        ax.plot([lo, hi], [lo, hi], color="black", lw=1)
        ax.set_title(o.replace("gain_", "").replace("_", " "), fontsize=9)
        ax.set_xlabel("simulated (pp)")
        ax.set_ylabel("emulator (pp, 90% interval)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(outs) :]:
        ax.axis("off")
    fig.suptitle("Held-out runs: emulator against simulation")
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ---- fast sensitivity ------------------------------------------------------------------------------------


def fast_sensitivity(cfg: DictConfig, progress: bool = True) -> Path:
    """Sobol indices of the 15-lever study computed on an emulator trained on a few thousand runs."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    from experiments.sensitivity import load_settings as sens_settings
    from experiments.sensitivity import study_space
    from sim.sensitivity import OUTPUTS

    scfg = sens_settings([f"experiment@study={cfg.lever_study}"])
    base, space = study_space(scfg)
    out = output_path(cfg.output_dir or "results/emulator/sensitivity")
    make_output_folder(out)
    t0 = time.perf_counter()
    design = lhs(dict(zip(space.names, space.bounds)), cfg.sensitivity_runs, cfg.seed)
    p = plan(base, design, 1, cfg.seed)
    rows = run_sweep(
        p,
        base,
        SweepStore(store_folder(out, "sweep", base)),
        executor=cfg.executor,
        workers=cfg.workers,
        scheduler=cfg.scheduler,
        progress=progress,
        study={"name": "emulator sensitivity"},
    )
    sim_seconds = time.perf_counter() - t0
    runs = p.rows.join(rows.drop(columns=["replication"]).set_index("run_id"), on="run_id")
    for n in space.names:  # train on the sampled values (what Sobol varies), not the rounded ones
        runs[n] = design[n].to_numpy()[runs.point.to_numpy()]
    outputs = list(OUTPUTS)
    problem = space.problem()
    x = sobol_sample.sample(problem, cfg.sobol_n, calc_second_order=False, scramble=True, seed=cfg.seed)
    xdf = pd.DataFrame(x, columns=list(space.names))
    t1 = time.perf_counter()
    parts = []
    rng = np.random.default_rng(cfg.seed)
    for b in range(cfg.bootstrap_models):  # the emulator's own uncertainty: refits on resampled runs
        sample = runs.iloc[rng.integers(0, len(runs), len(runs))] if b else runs
        em = Emulator(list(space.names), outputs).fit(
            sample, seed=cfg.seed + b, box=dict(zip(space.names, space.bounds))
        )
        pred = em.predict(xdf)
        for o in outputs:
            s = sobol_analyze.analyze(
                problem, pred[o].to_numpy(), calc_second_order=False, num_resamples=100, seed=cfg.seed
            )
            parts.append(
                pd.DataFrame(
                    {
                        "lever": space.names,
                        "ST": s["ST"],
                        "ST_conf": s["ST_conf"],
                        "S1": s["S1"],
                        "output": o,
                        "model": b,
                    }
                )
            )
    emu_seconds = time.perf_counter() - t1
    allb = pd.concat(parts, ignore_index=True)
    idx = (
        allb.groupby(["output", "lever"])
        .agg(ST=("ST", "mean"), ST_sd_models=("ST", "std"), ST_conf=("ST_conf", "mean"), S1=("S1", "mean"))
        .reset_index()
    )
    idx["ST_interval"] = 1.96 * idx.ST_sd_models + idx.ST_conf  # emulator refits and Sobol sampling together
    idx["rank"] = idx.groupby("output").ST.rank(ascending=False, method="first").astype(int)
    idx.to_csv(out / "indices.csv", index=False)
    box = dict(zip(space.names, space.bounds))
    cut = int(0.8 * len(runs))
    held = validate(Emulator(list(space.names), outputs).fit(runs.iloc[:cut], seed=cfg.seed, box=box), runs.iloc[cut:])
    held.to_csv(out / "validation.csv", index=False)
    lines = [
        f"# Fast sensitivity: Sobol indices on an emulator of the `{cfg.lever_study}` study",
        "",
        f"{len(runs)} simulations ({sim_seconds:.0f} s) train {cfg.bootstrap_models} emulators (bootstrap refits); "
        f"each is evaluated at {len(x):,} Sobol points (n = {cfg.sobol_n}); {emu_seconds:.0f} s for all of it. "
        "Intervals combine the spread between refits (the emulator's uncertainty) and the Sobol bootstrap.",
        "",
        "Held-out R² of the emulator (20% of the runs): "
        + ", ".join(f"{r.output} {r.r2:.2f}" for r in held.itertuples()),
        "",
    ]
    rough = held[held.r2 < ROUGH_R2]
    if len(rough):  # an emulator that misses much of the held-out variance ranks the levers only roughly
        lines += [
            f"R² below {ROUGH_R2} for {', '.join(rough.output)}: the emulator misses much of how these outputs "
            f"respond, so read their indices as a rough ranking; more runs (`sensitivity_runs`, now "
            f"{cfg.sensitivity_runs:,}) sharpen it.",
            "",
        ]
    for o in outputs:
        d = idx[idx.output == o].sort_values("rank").head(3)
        lines.append(
            f"- {OUTPUTS[o]}: " + ", ".join(f"`{r.lever}` ST {r.ST:.2f} ± {r.ST_interval:.2f}" for r in d.itertuples())
        )
    agree = None
    if cfg.direct:
        direct = pd.read_csv(Path(cfg.direct) / "indices.csv")
        agree = top_three_agreement(idx, direct, outputs)
        agree.to_csv(out / "agreement.csv", index=False)
        lines += ["", f"## Against the direct study ({cfg.direct})", ""]
        lines += [
            f"- {r.output}: top three "
            + ("the same" if r.same else "the same within the direct study's ties" if r.same_within_ties else "differ")
            + f" (emulator {', '.join(r.emulator_top3)}; direct {', '.join(r.direct_top3)})"
            for r in agree.itertuples()
        ]
        lines += [
            "",
            "*Within ties*: a lever in the emulator's top three but not the direct one's counts as agreeing when the "
            "direct study's own 95% interval of its ST overlaps that of the direct third-ranked lever, so the direct "
            "study cannot tell the two apart either.",
        ]
    total = time.perf_counter() - t0
    lines += [
        "",
        f"Benchmark: {len(runs)} simulations and {total:.0f} s in all for the ranking, against the direct "
        "study's n x (levers + 2) design points (17,408 at n = 1024, run as 17,361 simulations).",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"benchmark: emulator sensitivity {len(runs)} simulations, {total:.0f} s in all")
    return out


def top_three_agreement(emulated: pd.DataFrame, direct: pd.DataFrame, outputs: list[str]) -> pd.DataFrame:
    """Per output: are the two top threes the same, and the same up to levers the direct study cannot separate
    from its third-ranked one (overlapping ST ± ST_conf)?"""
    rows = []
    for o in outputs:
        a = set(emulated[(emulated.output == o) & (emulated["rank"] <= 3)].lever)
        d = direct[direct.output == o].set_index("lever")
        b = set(d.index[d["rank"] <= 3])
        third = d[d["rank"] == 3].iloc[0]
        tied = all(d.loc[lever, "ST"] + d.loc[lever, "ST_conf"] >= third.ST - third.ST_conf for lever in a - b)
        rows.append(
            {
                "output": o,
                "emulator_top3": sorted(a),
                "direct_top3": sorted(b),
                "same": a == b,
                "same_within_ties": tied,
            }
        )
    return pd.DataFrame(rows)


@says_when_interrupted(RESUMES)
def main(argv: list[str]) -> int:
    return command(lambda: load_settings(argv), run_mode)


def run_mode(loaded: tuple[str, DictConfig]) -> Path:
    """``build`` or ``sensitivity``, on the resolved settings."""
    mode, cfg = loaded
    OmegaConf.resolve(cfg)
    return build(cfg) if mode == "build" else fast_sensitivity(cfg)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
