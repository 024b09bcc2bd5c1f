"""The emulator: accurate with honest intervals on held-out runs, refuses outside its box, finds the leading
lever like a direct Sobol study, and (when built) answers planners' what-ifs in survey shares."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.emulator import Emulator, OutsideTrainingBox, validate


def synthetic(n, seed):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.random(n), "b": rng.random(n), "area": rng.choice(["north", "south"], n)})
    x["y"] = np.sin(3 * x.a) + 0.5 * x.b**2 + 0.3 * (x.area == "south") + rng.normal(0, 0.05 + 0.1 * x.a, n)
    return x


def test_held_out_accuracy_coverage_and_the_training_box():
    em = Emulator(["a", "b", "area"], ["y"], categories={"area": ["north", "south"]})
    em.fit(synthetic(3000, 1), box={"a": (0.0, 1.0), "b": (0.0, 1.0)})
    v = validate(em, synthetic(1000, 2)).iloc[0]
    assert v.r2 > 0.9 and 0.85 <= v.coverage <= 0.95, v
    with pytest.raises(OutsideTrainingBox, match="a=1.5 is outside the emulator's training box"):
        em.predict(pd.DataFrame({"a": [1.5], "b": [0.5], "area": ["north"]}))
    with pytest.raises(OutsideTrainingBox, match="area=east"):
        em.predict(pd.DataFrame({"a": [0.5], "b": [0.5], "area": ["east"]}))


def test_fast_sensitivity_finds_the_leading_lever_of_a_direct_study(tmp_path):
    common = ["experiment@study=sensitivity_tiny"]
    direct = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.sensitivity",
            *common,
            "method=sobol",
            "n=64",
            "executor=processes",
            "noise_points=2",
            "noise_replications=2",
            "bootstrap=50",
            f"output_dir={tmp_path / 'direct'}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert direct.returncode == 0, direct.stderr[-1500:]
    fast = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.emulator",
            "sensitivity",
            "lever_study=sensitivity_tiny",
            "runs=150",
            "sobol_n=256",
            "bootstrap_models=3",
            f"direct={tmp_path / 'direct'}",
            f"output_dir={tmp_path / 'fast'}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert fast.returncode == 0, fast.stderr[-1500:]
    emu = pd.read_csv(tmp_path / "fast" / "indices.csv")
    dir_ = pd.read_csv(tmp_path / "direct" / "indices.csv")
    for output in ("trust_mean_change", "delaktighet_mean_change"):
        top = emu[(emu.output == output) & (emu["rank"] == 1)].lever.iloc[0]
        assert top == dir_[(dir_.output == output) & (dir_["rank"] == 1)].lever.iloc[0], output
    no_path = emu[(emu.output == "trust_mean_change") & (emu.lever == "partners.reliability")]
    assert float(no_path.ST.iloc[0]) < 0.05  # no path in the model: near zero on the emulator too


def test_whatif_answers_in_survey_shares_with_intervals():
    from sim.emulator import EMULATOR_DIR

    if not (EMULATOR_DIR / "emulator.joblib").exists():
        pytest.skip("no emulator built in sim/data/emulator")
    import sim

    a = sim.whatif("suburb", police__effort=0.6)
    assert len(a) == 9 and (a.low_pp <= a.gain_pp).all() and (a.gain_pp <= a.high_pp).all()
    with pytest.raises(OutsideTrainingBox):
        sim.whatif("default", police__effort=5.0)
