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
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

EMULATOR_DIR = Path(__file__).resolve().parent / "data" / "emulator"
LEVEL = 0.90


class OutsideTrainingBox(ValueError):
    """An input outside the range the emulator was trained on; the message names it and the range."""


def _features(x: pd.DataFrame, inputs: Sequence[str], categories: Mapping[str, Sequence[str]]) -> np.ndarray:
    """Numeric inputs as they are, categorical ones (the area preset) one-hot."""
    cols = []
    for name in inputs:
        if name in categories:
            for level in categories[name]:
                cols.append((x[name].astype(str) == str(level)).to_numpy(dtype=float))
        else:
            cols.append(x[name].to_numpy(dtype=float))
    return np.column_stack(cols)


@dataclass
class Emulator:
    """Per outcome: a point model and a model of the size of its errors, with a conformal scale."""

    inputs: list[str]
    outputs: list[str]
    kind: str = "boosted_trees"
    categories: dict[str, list[str]] = field(default_factory=dict)
    box: dict[str, tuple[float, float]] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    spreads: dict[str, Any] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

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
        x = _features(runs, self.inputs, self.categories)
        t0 = time.perf_counter()
        for out in self.outputs:
            y = runs[out].to_numpy(dtype=float)
            model = self._point_model(seed).fit(x[train], y[train])
            resid = np.abs(y[train] - model.predict(x[train]))
            spread = self._spread_model(seed).fit(x[train], np.log(resid + 1e-6))
            cal_err = np.abs(y[cal] - model.predict(x[cal])) / np.exp(spread.predict(x[cal]))
            k = len(cal_err)
            q = np.quantile(cal_err, min(1.0, np.ceil((k + 1) * LEVEL) / k))  # split-conformal quantile
            self.models[out], self.spreads[out], self.scale[out] = model, spread, float(q)
        self.info.update(
            train_runs=int(len(train)), calibration_runs=int(n_cal), fit_seconds=round(time.perf_counter() - t0, 2)
        )
        return self

    def _point_model(self, seed: int):
        if self.kind == "gaussian_process":
            from sklearn.gaussian_process import GaussianProcessRegressor
            from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

            d = len(self.inputs) + sum(len(v) - 1 for v in self.categories.values())
            kernel = ConstantKernel() * RBF(length_scale=np.ones(d)) + WhiteKernel()
            return _Scaled(GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=seed))
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(
            max_iter=400,
            learning_rate=0.06,
            max_leaf_nodes=31,
            min_samples_leaf=10,
            l2_regularization=1e-3,
            random_state=seed,
        )

    def _spread_model(self, seed: int):
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(max_iter=150, learning_rate=0.05, max_leaf_nodes=15, random_state=seed)

    # ---- answering ----------------------------------------------------------------------------------
    def check_box(self, x: pd.DataFrame) -> None:
        for name, (lo, hi) in self.box.items():
            bad = (x[name] < lo - 1e-9) | (x[name] > hi + 1e-9)
            if bad.any():
                v = x.loc[bad, name].iloc[0]
                raise OutsideTrainingBox(f"{name}={v:g} is outside the emulator's training box ({lo:g} to {hi:g})")
        for name, levels in self.categories.items():
            bad = ~x[name].astype(str).isin([str(v) for v in levels])
            if bad.any():
                raise OutsideTrainingBox(f"{name}={x.loc[bad, name].iloc[0]} was not in training ({', '.join(levels)})")

    def predict(self, x: pd.DataFrame) -> pd.DataFrame:
        """Prediction and 90% interval of every output for each row of inputs."""
        missing = [n for n in self.inputs if n not in x]
        if missing:
            raise ValueError(f"the emulator needs {', '.join(missing)}")
        self.check_box(x)
        f = _features(x, self.inputs, self.categories)
        out = {}
        for name in self.outputs:
            mean = self.models[name].predict(f)
            half = self.scale[name] * np.exp(self.spreads[name].predict(f))
            out[name], out[f"{name}_low"], out[f"{name}_high"] = mean, mean - half, mean + half
        return pd.DataFrame(out, index=x.index)

    # ---- files ----------------------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        import joblib

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
            raise FileNotFoundError(f"no emulator in {folder}: build one with `python -m experiments.emulator`")
        return joblib.load(path)


class _Scaled:
    """Standardise inputs before a Gaussian process (its length scales then start comparable)."""

    def __init__(self, model) -> None:
        self.model = model

    def fit(self, x, y):
        self.mu, self.sd = x.mean(axis=0), x.std(axis=0) + 1e-12
        self.model.fit((x - self.mu) / self.sd, y)
        return self

    def predict(self, x):
        return self.model.predict((x - self.mu) / self.sd)


def validate(emulator: Emulator, held_out: pd.DataFrame) -> pd.DataFrame:
    """R² and interval coverage of every output on runs the emulator never saw."""
    pred = emulator.predict(held_out)
    rows = []
    for name in emulator.outputs:
        y = held_out[name].to_numpy(dtype=float)
        p = pred[name].to_numpy()
        ss_res, ss_tot = np.sum((y - p) ** 2), np.sum((y - y.mean()) ** 2)
        inside = (y >= pred[f"{name}_low"].to_numpy()) & (y <= pred[f"{name}_high"].to_numpy())
        rows.append(
            {
                "output": name,
                "r2": 1 - ss_res / ss_tot if ss_tot > 0 else np.nan,
                "coverage": float(inside.mean()),
                "mean_half_width": float((pred[f"{name}_high"] - pred[name]).mean()),
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
