"""Calibration and uncertainty: the ABC pipeline at a tiny size, the committed ensemble, posterior draws per
replication shared by paired arms, and the observed regime staying small across plausible worlds."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import sim
from sim.params import PARAMS, UNCERTAIN, ConfigError
from sim.posterior import ENSEMBLE, load_ensemble, provenance
from sim.targets import load_targets


def test_calibrate_runs_and_writes_its_artefacts(tmp_path):
    command = [sys.executable, "-m", "experiments.calibrate", "name=tiny", "population=10", "threshold=5.0"]
    command += ["residents=200", "predictive_draws=4", "ensemble_size=10", "executor=serial", f"output_dir={tmp_path}"]
    p = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-2000:]
    for name in (
        "particles.csv",
        "ensemble.csv",
        "predictive.csv",
        "predictive.png",
        "marginals.png",
        "report.md",
        "provenance.json",
    ):
        assert (tmp_path / name).exists(), name
    ens = pd.read_csv(tmp_path / "ensemble.csv")
    assert len(ens) == 10 and set(UNCERTAIN) <= set(ens.columns)
    for n in UNCERTAIN:
        assert PARAMS[n].prior.low - 1e-9 <= ens[n].min() and ens[n].max() <= PARAMS[n].prior.high + 1e-9, n
    report = (tmp_path / "report.md").read_text()
    assert "Posterior-predictive check" in report and "T11" in report and "Benchmark" in report
    # a miss is this run's, not a claim that no region of the priors reaches the target
    assert ("**not met**" in report) == bool(re.search(r"\d+ generations?, final threshold", report))
    assert "no region" not in report
    # counts agree with their nouns: once "1 generations" and "1 core(s)"
    assert "(s)" not in report and not re.search(r"\b1 (generations|cores)\b", report)
    assert re.search(r"\b(1 generation|([2-9]|\d{2,}) generations) of 10 particles", report)
    again = subprocess.run(command, capture_output=True, text=True, timeout=900)  # resumes: the ABC is not run again
    assert again.returncode == 0 and "Resuming" in again.stdout


def test_the_committed_ensemble_has_its_provenance():
    ens = load_ensemble()
    info = provenance()
    assert len(ens) >= 200 and ens[list(UNCERTAIN)].notna().all().all()
    assert info["command"].startswith("python -m experiments.calibrate") and info["seed"] and info["made"]
    assert info["simulations"] > len(ens) and info["ensemble_size"] == len(ens)


def test_replication_r_uses_draw_r_and_paired_arms_share_it():
    a = sim.run(["uncertainty=posterior", "replications=3", "horizon_weeks=4", "area.residents=200"])
    b = sim.run(
        [
            "uncertainty=posterior",
            "replications=3",
            "horizon_weeks=4",
            "area.residents=200",
            "scenario=full_implementation",
        ]
    )
    assert a.draws.draw.tolist() == [0, 1, 2] and a.draws.equals(b.draws)
    fixed = sim.run(["replications=2", "horizon_weeks=2", "area.residents=200"])
    assert fixed.draws.draw.isna().all()


def test_posterior_mode_refuses_a_hand_set_coefficient():
    with pytest.raises(ConfigError, match="uncertainty=posterior draws it"):
        sim.run(["uncertainty=posterior", "behaviour.feedback_trust=0.1", "replications=1", "horizon_weeks=2"])
    # also at its default value, which the draws would overwrite as silently (once taken: only values were compared)
    default = PARAMS["behaviour.feedback_trust"].default
    for given in (
        [f"behaviour.feedback_trust={default}", "uncertainty=posterior"],
        {"behaviour.feedback_trust": default, "uncertainty": "posterior"},
    ):
        with pytest.raises(ConfigError, match="behaviour.feedback_trust is set by hand"):
            sim.load_config(given)


def test_defaults_of_uncertain_coefficients_are_the_posterior_medians():
    ens = load_ensemble()
    for n in UNCERTAIN:
        assert PARAMS[n].default == pytest.approx(float(np.median(ens[n])), rel=0.02, abs=1e-6), n
        assert "calibrated" in PARAMS[n].source, n


def test_the_observed_regime_stays_small_in_at_least_90_percent_of_plausible_worlds():
    """Issue target: under posterior uncertainty the observed regime's two-year change in the high-trust share
    stays within ±3 pp for at least 90% of draws (every draw of the ensemble, 1,000 residents as calibrated)."""
    n = len(load_ensemble())
    r = sim.run(
        [
            "uncertainty=posterior",
            "scenario=observed_2018",
            f"replications={n}",
            "horizon_weeks=104",
            "area.residents=1000",
        ]
    )
    t = r.trajectories.set_index(["replication", "week"]).trust_high_share
    d = t.xs(104, level="week") - t.xs(0, level="week")
    assert (d.abs() <= 0.03).mean() >= 0.9, d.describe()


def test_targets_file_is_consistent():
    targets = load_targets()
    assert len({t.id for t in targets}) == len(targets) >= 12
    assert all(t.low <= t.value <= t.high for t in targets)
    assert json.dumps([t.id for t in targets if t.fit])
    assert ENSEMBLE.exists()


def test_a_sweep_that_cannot_start_stops_calibration_with_one_line(tmp_path, capsys, monkeypatch):
    """Workers on other code (StoreError) or no scheduler at the address: one line and exit 2, no traceback."""
    from experiments import calibrate
    from sim.store import StoreError

    def refuses(cfg, argv):
        raise StoreError("Dask workers run code abc, the client def")

    monkeypatch.setattr(calibrate, "calibrate", refuses)
    assert calibrate.main([f"output_dir={tmp_path}"]) == 2
    assert capsys.readouterr().err == "error: Dask workers run code abc, the client def\n"


@pytest.mark.parametrize(
    "args, named",
    [
        # the name is the run's folder: ../x wrote beside results/calibration/, an empty one into it
        (["name=../x"], "invalid value for name: '../x' (allowed: a name of letters, digits, '_' and '-')"),
        (["name="], "invalid value for name: '' (allowed: a name of letters"),
        (["name=a/b"], "invalid value for name: 'a/b'"),
        # an installed ensemble of 100 draws: posterior runs would spread over fewer worlds than the docs promise
        (["ensemble_size=100", "install=true"], "invalid value for ensemble_size: 100 with install=true (allowed: at"),
    ],
)
def test_calibration_settings_are_refused_before_anything_runs(tmp_path, capsys, monkeypatch, args, named):
    from experiments import calibrate

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(calibrate, "calibrate", lambda cfg, argv: pytest.fail(f"ran with {args}"))
    assert calibrate.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {named}") and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []
    assert calibrate.load_settings(["ensemble_size=100"]).ensemble_size == 100  # without install, for a quick look


def test_an_abc_scheduler_that_cannot_be_reached_is_named_with_advice(tmp_path):
    """pyabc's Dask sampler connected without a guard: an OSError traceback after 30 s. Then, guarded, it left
    the calibration's folder behind with only config.yaml."""
    import dask
    import distributed  # noqa: F401  (its defaults must be loaded before dask.config.set, or leaving it drops them)

    from experiments import calibrate

    out = tmp_path / "cal"
    cfg = calibrate.load_settings(["executor=dask", "scheduler=tcp://127.0.0.1:1", f"output_dir={out}"])
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        with pytest.raises(ConfigError, match=r"^scheduler=tcp://127.0.0.1:1: no Dask scheduler could be reached"):
            calibrate.calibrate(cfg, [], progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_calibration_state_is_one_line_with_advice(tmp_path, capsys):
    """abc_state.json cut short (a full disk, a kill while writing) once gave a JSONDecodeError on every rerun."""
    from experiments import calibrate
    from experiments.settings import make_output_folder

    make_output_folder(tmp_path)  # an earlier calibration's folder
    (tmp_path / "abc_state.json").write_text('{"key": "ab')
    args = ["population=10", "residents=200", "predictive_draws=4", "ensemble_size=10", "executor=serial"]
    assert calibrate.main([*args, f"output_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {tmp_path / 'abc_state.json'} is damaged (JSONDecodeError), so the calibration in {tmp_path} "
        "cannot be resumed: use another name= or remove the folder\n"
    )
