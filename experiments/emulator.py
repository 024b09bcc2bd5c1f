"""Instant what-if and fast sensitivity: an emulator trained on sweep runs.

    python -m experiments.emulator build          # the planners' emulator: gains against no promise by area
    python -m experiments.emulator sensitivity    # a 15-lever Sobol ranking from a few thousand runs

``build`` runs a Latin-hypercube design over the planners' levers and the area presets, each run in a
plausible world (posterior draw) and paired with no promise in the same world, trains the emulator on the
gains in survey shares after one, two and three years, validates it on held-out runs (R², interval
coverage, predicted against simulated), compares boosted trees with a Gaussian process, and saves the
better one to sim/data/emulator/ (what `sim.whatif` and the app's planner tab use) with the store it was
trained on and the code version.

``sensitivity`` trains on the lever study's runs (configs/experiment/sensitivity_levers.yaml) — runs already
in a store, or a design of its own when there are too few — and computes Sobol indices on the emulator
with thousands of cheap evaluations; the emulator's own uncertainty enters through bootstrap refits. With
``direct=<folder of a direct Sobol study>`` it compares the rankings.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

import sim  # noqa: E402
from experiments.studies import check_settings, compose_settings, one_of, optional, text, whole  # noqa: E402
from sim.emulator import EMULATOR_DIR, Emulator, store_fingerprint, validate  # noqa: E402
from sim.params import ConfigError  # noqa: E402
from sim.paths import output_path  # noqa: E402
from sim.sweep import EXECUTORS, SweepStore, plan, run_sweep  # noqa: E402
from sim.version import code_version  # noqa: E402

SHARES = ["trust_high_share", "delaktighet_high_share", "unsafe_share"]
YEARS = (1, 2, 3)


def load_settings(argv: list[str]) -> tuple[str, DictConfig]:
    mode = argv[0] if argv and "=" not in argv[0] else "build"
    if mode not in ("build", "sensitivity"):
        raise ConfigError(f"the first argument must be build or sensitivity, got {mode!r}")
    cfg = compose_settings("emulator", [a for a in argv if "=" in a])
    check_settings(
        cfg,
        {
            "runs": whole(50, 1_000_000),
            "worlds": whole(2, 10_000),
            "residents": whole(100, 100_000),
            "seed": whole(0, 2**31 - 1),
            "held_out": whole(10, 100_000),
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
    return mode, cfg


def lhs(bounds: dict[str, tuple[float, float]], n: int, seed: int) -> pd.DataFrame:
    from scipy.stats import qmc

    names = list(bounds)
    u = qmc.LatinHypercube(d=len(names), seed=seed).random(n)
    lo = np.array([bounds[k][0] for k in names], dtype=float)
    hi = np.array([bounds[k][1] for k in names], dtype=float)
    return pd.DataFrame(lo + u * (hi - lo), columns=names)


def outcome_columns() -> list[str]:
    return [f"{m}_change_y{y}" for m in SHARES for y in YEARS]


# ---- build: the planners' emulator -----------------------------------------------------------------------


def build(cfg: DictConfig, progress: bool = True) -> Path:
    """Design, runs, gains against no promise, fit, validate, compare, save."""
    levers = {k: tuple(v) for k, v in OmegaConf.to_container(cfg.levers).items()}
    areas = list(cfg.areas)
    out = output_path(cfg.output_dir or "results/emulator/build")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    frames = []
    per_area = cfg.runs // len(areas)
    for a, area in enumerate(areas):
        base = sim.load_config(
            [
                f"scenario={cfg.scenario}",
                f"area={area}",
                f"area.residents={cfg.residents}",
                "horizon_weeks=156",
                "uncertainty=posterior",
            ]
        )
        design = lhs(levers, per_area, cfg.seed + a)
        worlds = np.arange(per_area) % cfg.worlds
        design["promise.active"] = 1.0
        none = design.head(cfg.worlds).copy()
        none["promise.active"] = 0.0
        full = pd.concat([design, none], ignore_index=True)
        reps = np.concatenate([worlds, np.arange(cfg.worlds)])
        p = plan(base, full, 1, cfg.seed, row_replications=reps)
        rows = run_sweep(
            p,
            base,
            SweepStore(out / "sweep" / area),
            executor=cfg.executor,
            workers=cfg.workers,
            scheduler=cfg.scheduler,
            progress=progress,
            study={"name": f"emulator build {area}"},
        )
        t = p.rows.join(rows.drop(columns=["replication"]).set_index("run_id"), on="run_id")
        t["area"] = area
        promise = t[t["promise.active"] > 0.5].copy()
        base_rows = t[t["promise.active"] < 0.5].set_index("replication")
        for c in outcome_columns():
            promise[f"gain_{c}"] = promise[c].to_numpy() - base_rows.loc[promise.replication, c].to_numpy()
        frames.append(promise)
    runs = pd.concat(frames, ignore_index=True)
    sim_seconds = time.perf_counter() - t0
    runs.to_csv(out / "runs.csv", index=False)
    inputs = [*levers, "area"]
    outputs = [f"gain_{c}" for c in outcome_columns()]
    rng = np.random.default_rng(cfg.seed)
    held = rng.random(len(runs)) < cfg.held_out / len(runs)
    train, test = runs[~held], runs[held]
    results = {}
    kinds = ["boosted_trees"] + (["gaussian_process"] if cfg.compare_gp else [])
    for kind in kinds:
        t1 = time.perf_counter()
        train_gp = train.sample(min(len(train), 1200), random_state=cfg.seed) if kind == "gaussian_process" else train
        em = Emulator(inputs, outputs, kind=kind, categories={"area": areas}).fit(train_gp, seed=cfg.seed, box=levers)
        fit = time.perf_counter() - t1
        v = validate(em, test)
        t2 = time.perf_counter()
        for _ in range(20):
            em.predict(test.head(1))
        results[kind] = (em, v, fit, (time.perf_counter() - t2) / 20)
    best = max(results, key=lambda k: results[k][1].r2.mean() - abs(results[k][1].coverage - 0.9).mean())
    em, v, fit, per_query = results[best]
    em.info.update(
        trained_on=str(out / "sweep"),
        store=[store_fingerprint(out / "sweep" / a) for a in areas],
        code_version=code_version(),
        runs=len(runs),
        simulation_seconds=round(sim_seconds, 1),
        scenario=cfg.scenario,
        residents=cfg.residents,
        worlds=cfg.worlds,
        made=time.strftime("%Y-%m-%dT%H:%M:%S"),
        interval="90%: a new run in a plausible world (posterior draw and replication noise) and the emulator's error",
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
        f"and paired with no promise in that world), {sim_seconds:.0f} s of simulation; {len(test)} runs held out.",
        "",
        "| kind | output | R² | 90% interval coverage | mean half-width (pp) |",
        "|---|---|---|---|---|",
    ]
    for _, r in comparison.iterrows():
        lines.append(
            f"| {r.kind} | {r.output} | {r.r2:.3f} | {100 * r.coverage:.0f}% | {100 * r.mean_half_width:.2f} |"
        )
    lines += [
        "",
        f"**Chosen: {best}** (best mean R² less the mean distance of coverage from 90%). Training "
        f"{results[best][2]:.1f} s; {1000 * per_query:.1f} ms a query."
        + (
            f" The Gaussian process was fitted on {min(len(train), 1200)} runs (its cost grows with the cube of the "
            "runs)."
            if cfg.compare_gp
            else ""
        ),
        "",
        "The interval is where a new run would fall: it covers the spread between plausible worlds and replications "
        "as well as the emulator's own error, so it is wider than the interval of a mean.",
        "",
        "Files: validation.csv, predicted_vs_simulated.png, runs.csv, model/ (emulator.joblib, emulator.json).",
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
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    design = lhs(dict(zip(space.names, space.bounds)), cfg.runs, cfg.seed)
    p = plan(base, design, 1, cfg.seed)
    rows = run_sweep(
        p,
        base,
        SweepStore(out / "sweep"),
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
    held = validate(
        Emulator(list(space.names), outputs).fit(runs.iloc[: int(0.8 * len(runs))], seed=cfg.seed),
        runs.iloc[int(0.8 * len(runs)) :],
    )
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
    for o in outputs:
        d = idx[idx.output == o].sort_values("rank").head(3)
        lines.append(
            f"- {OUTPUTS[o]}: " + ", ".join(f"`{r.lever}` ST {r.ST:.2f} ± {r.ST_interval:.2f}" for r in d.itertuples())
        )
    agree = None
    if cfg.direct:
        direct = pd.read_csv(Path(cfg.direct) / "indices.csv")
        rows_ = []
        for o in outputs:
            a = set(idx[(idx.output == o) & (idx["rank"] <= 3)].lever)
            b = set(direct[(direct.output == o) & (direct["rank"] <= 3)].lever)
            rows_.append({"output": o, "emulator_top3": sorted(a), "direct_top3": sorted(b), "same": a == b})
        agree = pd.DataFrame(rows_)
        agree.to_csv(out / "agreement.csv", index=False)
        lines += ["", f"## Against the direct study ({cfg.direct})", ""]
        lines += [
            f"- {r.output}: top three {'the same' if r.same else 'differ'} (emulator {', '.join(r.emulator_top3)}; "
            f"direct {', '.join(r.direct_top3)})"
            for r in agree.itertuples()
        ]
    total = time.perf_counter() - t0
    lines += [
        "",
        f"Benchmark: {len(runs)} simulations and {total:.0f} s in all for the ranking, against the direct "
        "study's n x (levers + 2) simulations (17,408 at n = 1024).",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"benchmark: emulator sensitivity {len(runs)} simulations, {total:.0f} s in all")
    return out


def main(argv: list[str]) -> int:
    from sim.sweep import StoreError

    try:
        mode, cfg = load_settings(argv)
        OmegaConf.resolve(cfg)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        out = build(cfg) if mode == "build" else fast_sensitivity(cfg)
    except (ConfigError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
