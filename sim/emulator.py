"""An emulator of the model's key outcomes: instant answers with intervals, inside the box it was trained on.

Trained on sweep runs (one row per run: the inputs that varied, and the outcomes), it predicts each outcome
with gradient-boosted trees (scikit-learn's HistGradientBoostingRegressor) and gives split-conformal
intervals: the held-back calibration runs' absolute errors, scaled by a second model of the error's size,
set the interval's half-width so that about 90% of new runs fall inside (Lei et al. 2018). A Gaussian
process (scikit-learn) is the alternative; ``compare_models`` validates both on held-out runs, and the
better one is the one saved (docs/emulator.md says which won and why). The emulator refuses to answer
outside the range of every input it was trained on.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

EMULATOR_DIR = Path(__file__).resolve().parent / "data" / "emulator"
LEVEL = 0.90
# A setting is in a corner of the training box when at least CORNER_INPUTS of the emulator's ``edges`` (the
# levers) sit within EDGE of their range from an end. There its errors are larger: on the 10,000 runs of the
# build before corners were handled apart, five-fold cross-validated coverage of the 90% interval fell from 94%
# with no lever near an end to 86% with three and 81% with five or more (docs/emulator.md). Both numbers are
# assumptions that this measurement supports, not fitted values.
EDGE = 0.1
CORNER_INPUTS = 3
MIN_CORNER_CALIBRATION = 100  # fewer calibration runs in corners: one scale for all (a 90% quantile of fewer is loose)


class OutsideTrainingBox(ValueError):
    """An input outside the range the emulator was trained on; the message names it and the range."""


# Inputs derived from the levers, as the model's rules combine them (docs/model.md §7): hours actually
# delivered (effort x planned), hours per promised action (what decides whether an action is kept), feedback
# rounds a week, and residents reached a week. Trees split on one input at a time, so such products and ratios
# are hard for them to learn from a few thousand runs; docs/emulator.md gives held-out R² with and without them.
DERIVED: dict[str, tuple[tuple[str, ...], Any]] = {
    "delivered_hours": (("police.effort", "police.planned_hours_per_week"), lambda e, h: e * h),
    "hours_per_action": (
        ("police.effort", "police.planned_hours_per_week", "promise.actions"),
        lambda e, h, a: e * h / np.maximum(a, 1.0),
    ),
    "feedback_rounds_per_week": (("feedback.interval_weeks",), lambda i: 1.0 / np.maximum(i, 1.0)),
    "reached_per_week": (("feedback.reach", "feedback.interval_weeks"), lambda r, i: r / np.maximum(i, 1.0)),
}


@lru_cache(maxsize=1)
def _threads():
    """The process's thread pools, found once (finding them takes milliseconds; limiting them then is free)."""
    import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime the trees use, so it is found)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def near_end(value: np.ndarray | float, lo: float, hi: float) -> np.ndarray | bool:
    """Whether a value sits within EDGE of its range from an end of ``lo`` to ``hi``."""
    return np.minimum(value - lo, hi - value) <= EDGE * (hi - lo)


def conformal_quantile(errors: np.ndarray) -> float:
    """The split-conformal scale: the ceil((k + 1) LEVEL)-th smallest of k calibration errors (Lei et al. 2018)."""
    k = len(errors)
    return float(np.quantile(errors, min(1.0, np.ceil((k + 1) * LEVEL) / k)))


def derived_inputs(inputs: Sequence[str]) -> list[str]:
    """The derived inputs whose levers are all among ``inputs``."""
    return [name for name, (needs, _) in DERIVED.items() if all(n in inputs for n in needs)]


def _numeric(x: pd.DataFrame, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Columns as float arrays, read from the table in one go (a column at a time costs ~40 µs each)."""
    block = x[list(names)].to_numpy(dtype=float)
    return {name: block[:, i] for i, name in enumerate(names)}


def _features(
    x: pd.DataFrame,
    inputs: Sequence[str],
    categories: Mapping[str, Sequence[str]],
    derived: Sequence[str] = (),
    num: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Numeric inputs as they are, categorical ones (the area preset) one-hot, then the derived inputs.
    ``num``: the numeric columns when the caller has read them already (`_numeric`)."""
    if num is None:
        num = _numeric(x, [n for n in inputs if n not in categories])
    cols = []
    for name in inputs:
        if name in categories:
            values = x[name].astype(str).to_numpy()
            cols.extend((values == str(level)).astype(float) for level in categories[name])
        else:
            cols.append(num[name])
    for name in derived:
        needs, rule = DERIVED[name]
        cols.append(rule(*(num[n] for n in needs)))
    return np.column_stack(cols)


def series(outputs: Sequence[str]) -> dict[str, list[tuple[float, str]]]:
    """Outputs that are one outcome at several years (``..._y1``, ``..._y2``, ...) grouped by outcome, with the
    year; any other output is a group of its own (year 0)."""
    groups: dict[str, list[tuple[float, str]]] = {}
    for name in outputs:
        m = re.fullmatch(r"(.+)_y(\d+)", name)
        base, year = (m.group(1), float(m.group(2))) if m else (name, 0.0)
        groups.setdefault(base, []).append((year, name))
    return groups


def _with_year(f: np.ndarray, years: Sequence[float]) -> np.ndarray:
    """The feature rows once per year, the year as a last column."""
    return np.vstack([np.column_stack([f, np.full(len(f), y)]) for y in years])


@dataclass
class Emulator:
    """Per outcome: a point model and a model of the size of its errors, with a conformal scale per output.

    Boosted trees learn the years of one outcome together, the year as an input: the years share most of their
    structure, so one model learns them about as well as three (docs/emulator.md) and a query asks a third as
    many trees. Gaussian processes keep one model per output (their cost grows with the cube of the rows)."""

    inputs: list[str]
    outputs: list[str]
    kind: str = "boosted_trees"
    categories: dict[str, list[str]] = field(default_factory=dict)
    box: dict[str, tuple[float, float]] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    spreads: dict[str, Any] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    derived: list[str] = field(default_factory=list)
    edges: list[str] = field(default_factory=list)  # inputs whose ends mark a corner (`corners`)
    corner_scale: dict[str, float] = field(default_factory=dict)  # the conformal scale of corner settings

    def ends_near(self, num: Mapping[str, np.ndarray], rows: int) -> np.ndarray:
        """For each of ``rows`` settings, how many of ``edges`` sit within EDGE of their range from an end."""
        near = np.zeros(rows, dtype=int)
        for name in self.edges:
            near += near_end(num[name], *self.box[name])
        return near

    def is_corner(self, near: np.ndarray | int) -> np.ndarray:
        """Whether settings with ``near`` of ``edges`` near an end (`ends_near`) are in a corner: at least
        CORNER_INPUTS of them (all, when fewer). None is when ``edges`` is empty."""
        return (np.asarray(near) >= min(CORNER_INPUTS, len(self.edges))) & bool(self.edges)

    def corners(self, num: Mapping[str, np.ndarray], rows: int) -> np.ndarray:
        """Which of ``rows`` settings are in a corner of the box (`is_corner`)."""
        return self.is_corner(self.ends_near(num, rows))

    def in_corner(self, x: pd.DataFrame) -> np.ndarray:
        """`corners` of the rows of a table of inputs."""
        return self.corners(_numeric(x, self.edges), len(x))

    def corner_of(self, values: Mapping[str, float]) -> list[str]:
        """The ``edges`` near an end of their range when one setting is in a corner (`corners`); else none.
        The what-if names them, so the rule that picks the interval's scale also decides what it says."""
        near = [name for name in self.edges if near_end(values[name], *self.box[name])]
        return near if self.is_corner(len(near)) else []

    # ---- training -----------------------------------------------------------------------------------
    def fit(
        self,
        runs: pd.DataFrame,
        seed: int = 0,
        calibration_share: float = 0.25,
        box: dict[str, tuple[float, float]] | None = None,
    ) -> Emulator:
        """Fit on a run table: the inputs' columns and the outputs' columns (rows with missing outputs dropped).
        ``box``: the ranges the design sampled (default: the range of the training runs)."""
        runs = runs.dropna(subset=self.outputs).reset_index(drop=True)
        for name in self.inputs:
            if name in self.categories:
                continue
            lo, hi = (box or {}).get(name, (runs[name].min(), runs[name].max()))
            self.box[name] = (float(lo), float(hi))
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(runs))
        n_cal = max(20, int(calibration_share * len(runs)))
        cal, train = order[:n_cal], order[n_cal:]
        self.derived = derived_inputs(self.inputs)
        x = _features(runs, self.inputs, self.categories, self.derived)
        corner = self.in_corner(runs)
        t0 = time.perf_counter()
        with _threads().limit(limits=1):  # OpenMP threads that spin-wait behind other work are far slower than one
            self._fit_outputs(runs, x, train, cal, seed, corner[cal])
        self.info.update(
            train_runs=int(len(train)), calibration_runs=int(n_cal), fit_seconds=round(time.perf_counter() - t0, 2)
        )
        return self

    def _groups(self) -> dict[str, list[tuple[float, str]]]:
        if self.kind == "boosted_trees":
            return series(self.outputs)
        return {name: [(0.0, name)] for name in self.outputs}

    def _fit_outputs(
        self, runs: pd.DataFrame, x: np.ndarray, train: np.ndarray, cal: np.ndarray, seed: int, cal_corner: np.ndarray
    ) -> None:
        """Per outcome: the point and spread models on the training runs, then each output's conformal scale on
        the calibration runs, for corner settings apart from the rest (a conformal scale per group, Vovk et al.
        2005's Mondrian form) when there are enough calibration runs in corners."""
        for group, members in self._groups().items():
            years = [year for year, _ in members]
            y = np.concatenate([runs[name].to_numpy(dtype=float)[train] for _, name in members])
            xt = _with_year(x[train], years)
            model = self._point_model(seed).fit(xt, y)
            resid = np.abs(y - model.predict(xt))
            spread = self._spread_model(seed).fit(xt, np.log(resid + 1e-6))
            self.models[group], self.spreads[group] = model, spread
            for year, name in members:  # the conformal scale of each output on the calibration runs
                xc = _with_year(x[cal], [year])
                cal_err = np.abs(runs[name].to_numpy(dtype=float)[cal] - model.predict(xc)) / np.exp(spread.predict(xc))
                if cal_corner.sum() >= MIN_CORNER_CALIBRATION:
                    self.scale[name] = conformal_quantile(cal_err[~cal_corner])
                    self.corner_scale[name] = conformal_quantile(cal_err[cal_corner])
                else:
                    self.scale[name] = self.corner_scale[name] = conformal_quantile(cal_err)

    def _point_model(self, seed: int):
        if self.kind == "gaussian_process":
            from sklearn.gaussian_process import GaussianProcessRegressor
            from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

            d = len(self.inputs) + sum(len(v) - 1 for v in self.categories.values()) + len(self.derived) + 1
            kernel = ConstantKernel() * RBF(length_scale=np.ones(d)) + WhiteKernel()
            return _Scaled(GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=seed))
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(
            max_iter=120,  # 400 trees at 0.06 validated within 0.02 of R² and answered 3x slower: each tree costs
            learning_rate=0.15,  # about 10 µs a query however few rows, and a planner's
            # question asks six models (three outcomes, a mean and a spread each)
            max_leaf_nodes=31,
            min_samples_leaf=10,
            l2_regularization=1e-3,
            early_stopping=False,  # always all 120 trees (scikit-learn's default stops early above 10,000 rows)
            random_state=seed,
        )

    def _spread_model(self, seed: int):
        from sklearn.ensemble import HistGradientBoostingRegressor

        # small: it only scales the interval, and every tree costs time on each query
        return HistGradientBoostingRegressor(
            max_iter=60, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False, random_state=seed
        )

    # ---- answering ----------------------------------------------------------------------------------
    def check_box(self, x: pd.DataFrame, num: dict[str, np.ndarray] | None = None) -> None:
        if num is None or any(name not in num for name in self.box):
            num = _numeric(x, list(self.box))
        for name, (lo, hi) in self.box.items():
            v = num[name]
            bad = ~((v >= lo - 1e-9) & (v <= hi + 1e-9))  # NaN is outside too
            if bad.any():
                raise OutsideTrainingBox(
                    f"{name}={v[bad][0]:g} is outside the emulator's training box ({lo:g} to {hi:g})"
                )
        for name, levels in self.categories.items():
            bad = ~x[name].astype(str).isin([str(v) for v in levels])
            if bad.any():
                raise OutsideTrainingBox(f"{name}={x.loc[bad, name].iloc[0]} was not in training ({', '.join(levels)})")

    def predict(self, x: pd.DataFrame) -> pd.DataFrame:
        """Prediction and 90% interval of every output for each row of inputs."""
        return pd.DataFrame(self.predict_arrays(x), index=x.index)

    def predict_arrays(self, x: pd.DataFrame) -> dict[str, np.ndarray]:
        """As `predict`, as arrays by column name (no table to build: what a planner's slider needs)."""
        missing = [n for n in self.inputs if n not in x]
        if missing:
            raise ValueError(f"the emulator needs {', '.join(missing)}")
        num = _numeric(x, [n for n in self.inputs if n not in self.categories])  # read once, used twice
        self.check_box(x, num)
        f = _features(x, self.inputs, self.categories, self.derived, num)
        corner = self.corners(num, len(f))
        out = {}
        # one thread: OpenMP threads spin-waiting behind a busy server made a query 4x slower (docs/emulator.md)
        with _threads().limit(limits=1, user_api="openmp"):
            for group, members in self._groups().items():
                fy = _with_year(f, [year for year, _ in members])
                means = self.models[group].predict(fy).reshape(len(members), len(f))
                halves = np.exp(self.spreads[group].predict(fy)).reshape(len(members), len(f))
                for (_, name), mean, half in zip(members, means, halves):
                    half = np.where(corner, self.corner_scale.get(name, self.scale[name]), self.scale[name]) * half
                    out[name], out[f"{name}_low"], out[f"{name}_high"] = mean, mean - half, mean + half
        return out

    # ---- files ----------------------------------------------------------------------------------------
    def save(self, folder: Path | str) -> Path:
        import joblib

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, folder / "emulator.joblib", compress=3)
        meta = {k: v for k, v in self.__dict__.items() if k not in ("models", "spreads")}
        (folder / "emulator.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
        return folder

    @staticmethod
    def load(folder: Path | str | None = None) -> Emulator:
        import joblib

        folder = Path(folder or EMULATOR_DIR)
        path = folder / "emulator.joblib"
        if not path.exists():
            raise FileNotFoundError(  # the bare command is refused: it would not say which mode to run
                f"no emulator in {folder}: build one with `python -m experiments.emulator build install=true`"
            )
        em = joblib.load(path)
        for f in fields(Emulator):  # one saved before a field was added answers as it did then
            if not hasattr(em, f.name):
                setattr(em, f.name, f.default if f.default_factory is MISSING else f.default_factory())
        return em


class _Scaled:
    """Standardise inputs before a Gaussian process (its length scales then start comparable)."""

    def __init__(self, model) -> None:
        self.model = model

    def fit(self, x, y):
        self.mu, self.sd = x.mean(axis=0), x.std(axis=0) + 1e-12
        self.model.fit((x - self.mu) / self.sd, y)
        self.model.L_ = None  # only the mean is asked for: the Cholesky factor (n x n) need not be kept
        return self

    def predict(self, x):
        return self.model.predict((x - self.mu) / self.sd)


def validate(emulator: Emulator, held_out: pd.DataFrame) -> pd.DataFrame:
    """R² and interval coverage of every output on runs the emulator never saw."""
    return scores(held_out, emulator.predict_arrays(held_out), emulator.outputs)


def scores(runs: pd.DataFrame, pred: Mapping[str, np.ndarray], outputs: Sequence[str]) -> pd.DataFrame:
    """Per output: R², the share of runs inside the 90% interval, its mean half-width and the root mean square
    error of predictions ``pred`` (arrays by column, as `Emulator.predict_arrays` gives) of the ``runs``."""
    rows = []
    for name in outputs:
        y, p = runs[name].to_numpy(dtype=float), np.asarray(pred[name])
        ss_res, ss_tot = np.sum((y - p) ** 2), np.sum((y - y.mean()) ** 2)
        inside = (y >= pred[f"{name}_low"]) & (y <= pred[f"{name}_high"])
        rows.append(
            {
                "output": name,
                "r2": 1 - ss_res / ss_tot if ss_tot > 0 else np.nan,
                "coverage": float(inside.mean()),
                "mean_half_width": float(np.mean(pred[f"{name}_high"] - p)),
                "rmse": float(np.sqrt(ss_res / len(y))),
                "held_out": len(y),
            }
        )
    return pd.DataFrame(rows)


def store_fingerprint(store_root: Path) -> str:
    """What an emulator was trained on: the store's study key and its files."""
    manifest = store_root / "manifest.json"
    key = json.loads(manifest.read_text()).get("study_key", "") if manifest.exists() else ""
    files = sorted(p.name for p in (store_root / "runs").glob("*.parquet")) if (store_root / "runs").exists() else []
    return hashlib.sha256((key + "".join(files)).encode()).hexdigest()[:16]
