"""The emulator: accurate with honest intervals on held-out runs, refuses outside its box, finds the leading
lever like a direct Sobol study, and (when built) answers planners' what-ifs in survey shares."""

import ast
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import sim
from sim.emulator import Emulator, OutsideTrainingBox, validate
from sim.space import value_of


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
    with pytest.raises(OutsideTrainingBox, match="a=nan is outside"):  # trees would answer a missing value
        em.predict(pd.DataFrame({"a": [np.nan], "b": [0.5], "area": ["north"]}))
    with pytest.raises(OutsideTrainingBox, match="area=east"):
        em.predict(pd.DataFrame({"a": [0.5], "b": [0.5], "area": ["east"]}))


def cornered(n, seed):
    """Six inputs on 0-1; the noise is four times larger where three or more sit within a tenth of an end (as a
    model's runs err more in a corner of the levers' box), a pattern of counts a spread model of one input at a
    time hardly learns."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.random((n, 6)), columns=list("abcdef"))
    near = (np.minimum(x, 1 - x) <= 0.1).sum(axis=1).to_numpy()
    x["y"] = x.a + x.b * x.c + rng.normal(0, np.where(near >= 3, 0.4, 0.1))
    return x.assign(near=near)


def test_corner_settings_get_intervals_calibrated_apart_and_hold_there():
    """With the inputs' ends named (``edges``), settings in a corner get a conformal scale of their own (Vovk et al.
    2005's Mondrian form), so their 90% intervals hold about 90% there as elsewhere (0.90-0.93 in corners, 0.88-0.90
    elsewhere, three seeds). One scale for all held 45-49% in these corners (the build's runs, before: 86% with
    three levers near an end, 81% with five; docs/emulator.md)."""
    train, test = cornered(8000, 1), cornered(6000, 2)
    box = {c: (0.0, 1.0) for c in "abcdef"}
    corner = test.near >= 3
    apart = Emulator(list("abcdef"), ["y"], edges=list("abcdef")).fit(train, seed=1, box=box)
    assert (apart.in_corner(test) == corner).all() and apart.corner_scale["y"] > 1.5 * apart.scale["y"]
    one = Emulator(list("abcdef"), ["y"]).fit(train, seed=1, box=box)
    for em, low, high in ((apart, 0.85, 0.95), (one, 0.0, 0.84)):
        held = validate(em, test[corner]).coverage.iloc[0]
        assert low <= held <= high, (em.edges, held)
    assert 0.85 <= validate(apart, test[~corner]).coverage.iloc[0] <= 0.95


def test_cross_validation_predicts_each_run_from_the_other_folds_and_groups_runs_by_levers_near_an_end():
    """The build's crossval.csv (docs/emulator.md, *Corners*). On pure noise an emulator asked about its own training
    runs reaches R² 0.40-0.43 (three seeds); asked about runs of another fold, -0.26 to -0.73 in every group, its
    interval holding them as on new runs. A run predicted by an emulator trained on it would fail this."""
    from experiments.emulator import cross_validate

    rng = np.random.default_rng(1)
    runs = pd.DataFrame({"a": rng.random(1500), "b": rng.random(1500), "y": rng.normal(0, 1, 1500)})
    box = {"a": (0.0, 1.0), "b": (0.0, 1.0)}
    cv = cross_validate(runs, lambda: Emulator(["a", "b"], ["y"], edges=["a", "b"]), box, 1).set_index("group")
    assert (cv.r2 < 0).all() and 0.85 <= cv.coverage["all"] <= 0.95, cv
    near = ((runs[["a", "b"]] <= 0.1) | (runs[["a", "b"]] >= 0.9)).sum(axis=1)
    assert list(cv.index) == ["all", "0", "1", "2"]  # no run has more levers than two near an end: no empty group
    assert cv.held_out.tolist() == [1500, *(int((near == k).sum()) for k in (0, 1, 2))], cv.held_out


def test_an_emulator_saved_before_corners_had_a_scale_of_their_own_loads_and_answers_as_it_did(tmp_path):
    """A user's emulator built by an earlier version lacks ``edges`` and ``corner_scale``; it once raised
    AttributeError on its first question. It answers with its one scale, as when it was built."""
    import joblib

    train, test = cornered(3000, 1), cornered(500, 2)
    em = Emulator(list("abcdef"), ["y"]).fit(train, seed=1, box={c: (0.0, 1.0) for c in "abcdef"})
    before = em.predict(test)
    del em.edges, em.corner_scale  # as pickled before the fields existed
    (tmp_path / "old").mkdir()
    joblib.dump(em, tmp_path / "old" / "emulator.joblib")
    old = Emulator.load(tmp_path / "old")
    assert old.edges == [] and old.corner_scale == {}
    pd.testing.assert_frame_equal(old.predict(test), before)


def test_the_build_puts_a_share_of_its_runs_in_corners_of_the_levers_box():
    """A Latin hypercube of seven levers puts three given levers at given ends in 0.1% of its runs; the build
    moves a share of each area's design into corners: three levers or more, each within a tenth of an end."""
    from experiments.emulator import corner_design
    from sim.emulator import CORNER_INPUTS, near_end

    bounds = {"e": (0.3, 1.2), "h": (10.0, 80.0), "a": (1.0, 6.0), "p": (13.0, 104.0), "f": (4.0, 52.0)}
    d = corner_design(bounds, 500, 0.2, seed=3)
    near = sum(near_end(d[n], *bounds[n]).astype(int) for n in bounds)
    assert d.moved_to_corner.sum() == 100 and (d.moved_to_corner == d.index.isin(range(400, 500))).all()
    assert (near[d.moved_to_corner] >= CORNER_INPUTS).all() and (near[~d.moved_to_corner] >= 3).mean() < 0.2
    assert set(near[d.moved_to_corner]) == {3, 4, 5}  # three to all of them
    for n, (lo, hi) in bounds.items():
        assert d[n].between(lo, hi).all()
        moved = d.loc[d.moved_to_corner, n]
        assert 0.25 < (moved <= lo + 0.1 * (hi - lo)).mean() / max(near_end(moved, lo, hi).mean(), 1e-9) < 0.75
    assert not corner_design(bounds, 500, 0.0, seed=3).moved_to_corner.any()


def fast_sensitivity(*settings: str) -> subprocess.CompletedProcess:
    """`python -m experiments.emulator sensitivity` on the tiny lever study, as a user runs it."""
    command = [sys.executable, "-m", "experiments.emulator", "sensitivity", "lever_study=sensitivity_tiny", *settings]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


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
    fast = fast_sensitivity(
        "sensitivity_runs=150",
        "sobol_n=256",
        "bootstrap_models=3",
        f"direct={tmp_path / 'direct'}",
        f"output_dir={tmp_path / 'fast'}",
    )
    assert fast.returncode == 0, fast.stderr[-1500:]
    emu = pd.read_csv(tmp_path / "fast" / "indices.csv")
    dir_ = pd.read_csv(tmp_path / "direct" / "indices.csv")
    for output in ("trust_mean_change", "delaktighet_mean_change"):
        top = emu[(emu.output == output) & (emu["rank"] == 1)].lever.iloc[0]
        assert top == dir_[(dir_.output == output) & (dir_["rank"] == 1)].lever.iloc[0], output
    no_path = emu[(emu.output == "trust_mean_change") & (emu.lever == "partners.reliability")]
    assert float(no_path.ST.iloc[0]) < 0.05  # no path in the model: near zero on the emulator too
    # an output the emulator explains poorly is said to be ranked roughly, and only such outputs
    held = pd.read_csv(tmp_path / "fast" / "validation.csv")
    report = (tmp_path / "fast" / "report.md").read_text()
    rough = held[held.r2 < 0.8].output.tolist()
    assert ("read their indices as a rough ranking" in report) == bool(rough)
    if rough:
        assert f"R² below 0.8 for {', '.join(rough)}:" in report


def test_fast_sensitivity_says_when_its_emulator_ranks_only_roughly(tmp_path):
    """60 runs of 200 residents leave held-out R² near 0.5: the report once gave the indices without a word."""
    fast = fast_sensitivity(
        "sensitivity_runs=60", "sobol_n=64", "bootstrap_models=2", "residents=200", f"output_dir={tmp_path}"
    )
    assert fast.returncode == 0, fast.stderr[-1500:]
    held = pd.read_csv(tmp_path / "validation.csv")
    rough = held[held.r2 < 0.8].output.tolist()
    assert rough  # the case this test is about
    report = (tmp_path / "report.md").read_text()
    assert f"R² below 0.8 for {', '.join(rough)}: " in report and "(`sensitivity_runs`, now 60)" in report


def test_whatif_answers_in_survey_shares_with_intervals():
    from sim.emulator import EMULATOR_DIR

    if not (EMULATOR_DIR / "emulator.joblib").exists():
        pytest.skip("no emulator built in sim/data/emulator")
    import sim

    a = sim.whatif("suburb", police__effort=0.6)
    assert len(a) == 9 and (a.low_pp <= a.gain_pp).all() and (a.gain_pp <= a.high_pp).all()
    with pytest.raises(OutsideTrainingBox):
        sim.whatif("default", police__effort=5.0)
    with pytest.raises(OutsideTrainingBox, match="police.effort=nan"):
        sim.whatif("default", police__effort=float("nan"))
    with pytest.raises(ValueError, match="police.effort must be a number, not 'much'"):
        sim.whatif("default", police__effort="much")
    # once taken as 0.5, 1.0 and 2.5 actions (the trees interpolated between whole numbers of actions)
    with pytest.raises(ValueError, match="police.effort must be a number, not '0.5'"):
        sim.whatif("default", police__effort="0.5")
    with pytest.raises(ValueError, match="police.effort must be a number, not True"):
        sim.whatif("default", police__effort=True)
    with pytest.raises(ValueError, match="promise.actions must be a whole number, not 2.5"):
        sim.whatif("default", promise__actions=2.5)
    assert sim.whatif("default", promise__actions=2.0).equals(sim.whatif("default", promise__actions=np.int64(2)))
    # levers given where the area goes once gave "unhashable type: 'dict'" or a parse error about 'area=police...'
    for area in ({"police.effort": 0.6}, "police.effort=0.6", None):
        with pytest.raises(ValueError, match=r"area must name an area preset \(default, small_town, .*levers are keyw"):
            sim.whatif(area)
    # Printed (the README's example), it shows every gain and interval within 80 columns, says what the interval
    # covers and which levers were set; a plain table would be cut to its first and last columns in a terminal.
    text = str(a)
    assert max(map(len, text.splitlines())) <= 80 and "police.effort=0.6" in text
    assert "covering\n  parameter uncertainty, replication noise and emulator error\n" in text, text
    for r in a.itertuples():
        assert f"{r.gain_pp:+.1f} [{r.low_pp:+.1f}, {r.high_pp:+.1f}]" in text
    assert type(a.round(1)) is pd.DataFrame and "what" in str(a.round(1).columns)
    # a setting in a corner of the training box (three levers or more near an end of their range) is named as one
    # to check, within 80 columns: the emulator errs more there (docs/emulator.md)
    assert a.attrs["corner"] == [] and "Near an end" not in text
    levers = {"promise.period_weeks": 13, "police.planned_hours_per_week": 10, "feedback.reach": 0.05}
    corner = sim.whatif("default", **levers)
    text = str(corner)
    words = " ".join(text.split())
    assert corner.attrs["corner"] == ["police.planned_hours_per_week", "promise.period_weeks", "feedback.reach"]
    assert max(map(len, text.splitlines())) <= 80 and "check this setting with sim.run." in words, text
    assert words.count("Near an end of their range: police.planned_hours_per_week,") == 1, text
    two = sim.whatif("default", **{k: v for k, v in levers.items() if k != "feedback.reach"})
    assert two.attrs["corner"] == [] and "Near an end" not in str(two)


def test_the_whatif_interval_is_the_mixture_of_the_draws_intervals():
    """One draw's answer is its own 90% interval; many alike, the same; two worlds far apart put each end at the
    10th (90th) percentile of one world, as half of all runs come from each. The ends were once the 5th percentile
    of the draws' lower ends and the 95th of their upper ends, which for two worlds is the outer end of each."""
    from scipy.stats import norm

    from sim.planner import mixture_interval

    assert np.allclose(mixture_interval(np.array([2.0]), np.array([1.5])), (0.5, 3.5))
    assert np.allclose(mixture_interval(np.full(64, 2.0), np.full(64, 1.5)), (0.5, 3.5))
    sd = 1.5 / norm.ppf(0.95)
    low, high = mixture_interval(np.array([0.0, 100.0]), np.array([1.5, 1.5]))
    assert np.isclose(low, norm.ppf(0.10) * sd, atol=1e-6) and np.isclose(high, 100 + norm.ppf(0.90) * sd, atol=1e-6)
    means, halves = np.random.default_rng(1).normal(5, 3, 64), np.random.default_rng(2).uniform(1, 4, 64)
    low, high = mixture_interval(means, halves)
    assert np.quantile(means - halves, 0.05) < low < np.mean(means) < high < np.quantile(means + halves, 0.95)


def test_whatifs_answer_is_the_mean_gain_that_simulating_its_worlds_estimates_and_its_interval_holds_them():
    """The answer once was the median over the plausible worlds, while the app's check with a real simulation
    (like every study) gives their mean. The gains are skewed to the right, so the two disagreed: the planner saw
    the emulator's year-3 trust gain outside the check's 95% interval. Here the 64 worlds the what-if asks about are
    simulated, paired with no promise, at the emulator's residents, in vulnerable_district, where the skew is
    largest. Each of the nine answers (outcome x year) is put against the simulated mean in units of that mean's
    standard error; the root mean square of these nine z-scores would be about 1 for an unbiased answer. Measured
    with three seeds: 1.06-1.21 for the mean, 2.31-2.59 had the median been kept; the tolerance is 1.7. The emulator
    built with corners apart gives 1.59-1.67 (docs/emulator.md): an emulator's error at one setting, which a rebuild
    moves. The simulation is `python -m experiments.whatif_check`'s first setting."""
    from experiments.whatif_check import compare, simulated_gains
    from sim.emulator import EMULATOR_DIR

    if not (EMULATOR_DIR / "emulator.joblib").exists():
        pytest.skip("no emulator built in sim/data/emulator")
    from sim import planner

    area = "vulnerable_district"
    cells = compare(sim.whatif(area), simulated_gains(area, {}, 2026, planner.DRAWS))
    assert len(cells) == 9 and np.sqrt(np.mean(np.square(cells.z))) <= 1.7, cells.z.round(1).tolist()
    # The same 64 simulated worlds against the what-if's 90% interval, which is to cover the plausible worlds and
    # replication noise. Its ends were once percentiles of the draws' own 90% ends: pooled over the nine answers
    # they held 95.7-96.7% of the worlds here (seeds 2026, 1 and 7), 96-98% in four other settings. The mixture of
    # the draws' intervals held 86-89% here and 89-94% there. Pooled over nine correlated answers of 64 worlds
    # the share moves by about 3 points between seeds, hence 82-95%; one typical world's interval held 48%.
    assert 0.82 <= cells.held.mean() <= 0.95, cells.held.round(2).tolist()


def test_the_whatif_check_counts_the_worlds_its_interval_holds_and_how_far_its_mean_is():
    """`python -m experiments.whatif_check` (docs/emulator.md's what-if table): per answer, the share of simulated
    worlds inside the interval and the what-if's distance from their mean in standard errors of that mean."""
    from experiments.whatif_check import compare, summary

    answer = pd.DataFrame(
        {"outcome": ["trust_high_share", "unsafe_share"], "year": [1, 1], "gain_pp": [4.0, -1.0]}
    ).assign(low_pp=[0.0, -2.0], high_pp=[10.0, 0.0])
    gains = {("trust_high_share", 1): np.array([-1.0, 5.0, 11.0, 3.0]), ("unsafe_share", 1): np.array([-1.5, -0.5])}
    cells = compare(answer, gains)
    assert cells.held.tolist() == [0.5, 1.0]
    assert np.allclose(cells.z, [(4.0 - 4.5) / (np.std([-1, 5, 11, 3], ddof=1) / 2), 0.0])
    s = summary(cells)
    assert s["held"] == 0.75 and s["held_min"] == 0.5 and np.isclose(s["rms_z"], np.sqrt(np.mean(cells.z**2)))
    assert s["worst"].startswith("high confidence, year 1: +4.0 against +4.5")


def test_whatif_for_an_area_it_was_not_built_on_names_the_study_that_simulates_it(monkeypatch, tmp_path):
    """A planner's own area preset once got only "area=my_town was not in training (...)". Here small_town stands in
    for it (left out of the emulator's areas); the study the message names runs and pairs the two arms."""
    import shlex

    from sim.emulator import EMULATOR_DIR
    from sim.planner import emulator

    if not (EMULATOR_DIR / "emulator.joblib").exists():
        pytest.skip("no emulator built in sim/data/emulator")
    areas = [a for a in emulator().categories["area"] if a != "small_town"]
    monkeypatch.setitem(emulator().categories, "area", areas)
    with pytest.raises(OutsideTrainingBox) as refused:
        sim.whatif("small_town", police__effort=0.6)
    message = str(refused.value)
    assert message.startswith(f"area small_town is not one the emulator was built on ({', '.join(areas)}); simulate")
    command = shlex.split(message.split("instead: ")[1].split(" (levers")[0])
    assert command[:3] == ["python", "-m", "experiments.compare"], command
    small = ["replications=2", "noise_replications=0", "horizon_weeks=4", "area.residents=200", "police.effort=0.6"]
    run = [sys.executable, *command[1:], *small, f"output_root={tmp_path}"]
    p = subprocess.run(run, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    report = next(tmp_path.glob("compare/*/report.md")).read_text()
    assert "small_town" in report and "`scenario=full_implementation`" in report and "scenario=no_promise" in report


@pytest.mark.parametrize(
    "name, says",
    [
        ("police.efort", "police.efort is not one of the emulator's levers (did you mean police.effort?)"),
        ("trust_memory_weeks", "trust_memory_weeks (behaviour.trust_memory_weeks) is a behavioural coefficient"),
        ("partners.reliability", "partners.reliability is not one of the emulator's levers (it is held as the area"),
        ("colour", "colour is not one of the emulator's levers (police.effort, "),
        ("scenario", "scenario is not one of the emulator's levers: its answers are for full_implementation against"),
        ("seed", "seed is how a simulation runs, not a lever: the emulator answers years 1 to 3 over 64 plausible"),
        ("horizon_weeks", "horizon_weeks is how a simulation runs, not a lever: the emulator answers years 1 to 3"),
    ],
)
def test_a_name_whatif_cannot_set_is_refused_saying_why_and_what_to_do(name, says):
    """Once 'police.efort is not one of the emulator's levers (...seven names)' for a typo and for a coefficient alike,
    with no near match and no way to set a coefficient or a fixed parameter; a run's seed was said to be "held as the
    area and full_implementation set it", which no area does."""
    from sim.planner import not_a_lever

    levers = ["police.effort", "police.planned_hours_per_week", "promise.actions", "feedback.interval_weeks"]
    message = not_a_lever(name, levers)
    assert message.startswith(says) and "\n" not in message, message
    if "simulate: " in message:  # the call it suggests runs, once given an area and a value
        full, value = SETS[name]
        call = message.split("simulate: ")[1]
        assert call.startswith("sim.run({") and call.endswith("})"), call
        overrides = ast.literal_eval(call[len("sim.run(") : -1].replace("...", "None"))
        overrides.update({"area": "suburb", full: value})
        assert value_of(sim.to_config(overrides), full) == value


SETS = {
    "trust_memory_weeks": ("behaviour.trust_memory_weeks", 30.0),
    "partners.reliability": ("partners.reliability", 0.5),
    "scenario": ("scenario", "observed_2018"),
    "seed": ("seed", 7),
    "horizon_weeks": ("horizon_weeks", 52),
}


def test_a_missing_emulator_names_a_command_that_builds_one(tmp_path):
    """It once named `python -m experiments.emulator`, which is refused: the mode comes first."""
    from experiments.emulator import load_settings

    with pytest.raises(FileNotFoundError) as exc:
        Emulator.load(tmp_path)
    command = str(exc.value).split("`")[1].split()
    assert command[:3] == ["python", "-m", "experiments.emulator"]
    mode, cfg = load_settings(command[3:])  # taken as it is, not refused
    assert mode == "build" and cfg.install is True


def test_the_shipped_emulator_was_trained_on_this_model_code():
    """What `sim.whatif` answers describes the model in this repository, not an earlier one."""
    import json

    from sim.emulator import EMULATOR_DIR
    from sim.version import code_version

    info = json.loads((EMULATOR_DIR / "emulator.json").read_text())["info"]
    assert info["code_version"] == code_version(), (
        "sim/*.py changed since the shipped emulator was built: run "
        "`python -m experiments.emulator build install=true` and commit sim/data/emulator/"
    )


def test_an_emulator_of_other_model_code_answers_with_a_warning(monkeypatch):
    from sim import planner

    assert planner.stale_message("0.1.0+a", "0.1.0+a") is None
    planner.emulator.cache_clear()
    monkeypatch.setattr(planner, "code_version", lambda: "0.0.0+changed")
    try:
        with pytest.warns(UserWarning, match=r"trained on model code .* this is 0\.0\.0\+changed.*emulator build"):
            planner.emulator()
    finally:
        planner.emulator.cache_clear()


def test_build_stores_are_named_by_what_their_runs_share():
    """A build on changed settings (or code) gets its own store beside the old one instead of a refusal."""
    from pathlib import Path

    import sim
    from experiments.emulator import store_folder

    a = sim.load_config(["area=suburb", "area.residents=300"])
    b = sim.load_config(["area=suburb", "area.residents=400"])
    root = Path("out")
    assert store_folder(root, "suburb", a) == store_folder(
        root, "suburb", sim.load_config(["area=suburb", "area.residents=300"])
    )
    assert store_folder(root, "suburb", a) != store_folder(root, "suburb", b)
    assert store_folder(root, "suburb", a).name.startswith("suburb_")


def test_top_three_agreement_allows_only_the_direct_studys_own_ties():
    """A swap counts as agreement only when the direct study cannot separate the two levers itself."""
    from experiments.emulator import top_three_agreement

    def table(st, conf):
        t = pd.DataFrame({"lever": list("abcde"), "ST": st, "ST_conf": conf, "output": "y"})
        t["rank"] = t.ST.rank(ascending=False, method="first").astype(int)
        return t

    direct = table([0.40, 0.30, 0.24, 0.23, 0.01], [0.05, 0.05, 0.05, 0.05, 0.01])
    tied = table([0.40, 0.30, 0.20, 0.25, 0.01], [0.05] * 5)  # swaps c for d: direct 0.23 ± 0.05 vs 0.24 ± 0.05
    wrong = table([0.40, 0.30, 0.20, 0.01, 0.25], [0.05] * 5)  # swaps c for e: direct 0.01, clearly below
    a = top_three_agreement(tied, direct, ["y"]).iloc[0]
    b = top_three_agreement(wrong, direct, ["y"]).iloc[0]
    assert not a.same and a.same_within_ties
    assert not b.same and not b.same_within_ties
    assert top_three_agreement(direct, direct, ["y"]).iloc[0].same


def test_noise_ceiling_measures_replication_noise():
    """Gains = signal + noise of sd 1: the best possible R² is 1 - 1/var(gain); with no noise it is 1."""
    from experiments.emulator import noise_ceiling

    rng = np.random.default_rng(3)
    signal = rng.normal(0, 2, 4000)
    runs = pd.DataFrame({"area": "a", "g": signal + rng.normal(0, 1, 4000)})
    again = pd.DataFrame({"area": "a", "row": np.arange(500), "g": signal[:500] + rng.normal(0, 1, 500)})
    c = noise_ceiling(runs, again, ["g"]).iloc[0]
    assert abs(c.noise_sd - 1) < 0.1 and abs(c.r2_ceiling - 0.8) < 0.03, c
    quiet = noise_ceiling(runs, again.assign(g=runs.g[:500].to_numpy()), ["g"]).iloc[0]
    assert quiet.noise_sd == 0 and quiet.r2_ceiling == 1


def test_the_readme_build_validates_measures_noise_and_saves_its_provenance(tmp_path):
    """The README's build command, shrunk as tests/test_readme.py shrinks every README command (80 runs,
    4 worlds, 200 residents), end to end: report, validation, noise ceiling, the saved model's provenance.
    This is where that README command runs (the README test leaves it to this test, not to build twice)."""
    from .test_readme import ROOT, bash_commands, shrink

    (command,) = [c for c in bash_commands() if "experiments.emulator build" in c]
    argv, env = shrink(command, tmp_path)
    argv = [a.replace("compare_gp=false", "compare_gp=true") for a in argv]  # as the README's build does, it
    # also fits a Gaussian process (on 54 runs a matter of seconds)
    p = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    out = tmp_path / "emulator"
    assert p.returncode == 0, p.stderr[-1500:]
    report = (out / "report.md").read_text()
    assert "What limits R²" in report and "Chosen: " in report and "**Cross-validated**" in report
    crossval = pd.read_csv(out / "crossval.csv")  # each training run predicted by folds that did not train on it
    assert set(crossval.output) == set(pd.read_csv(out / "noise.csv").output) and "all" in set(crossval.group)
    assert set(pd.read_csv(out / "validation.csv").kind) == {"boosted_trees", "gaussian_process"}
    # the Gaussian process's fits once printed a screenful of scikit-learn warnings, one per input it found no
    # use for; the report counts them instead
    assert "ConvergenceWarning" not in p.stderr, p.stderr[-1500:]
    assert re.search(r"Its fits left \d+ kernel parameters at a bound of their range", report), report
    noise = pd.read_csv(out / "noise.csv")
    assert set(pd.read_csv(out / "learning.csv").output) == set(noise.output)
    assert len(noise) == 9 and (noise.pairs == 4 * 4).all() and (noise.r2_ceiling <= 1).all()  # 4 areas x 4 worlds
    em = Emulator.load(out / "model")
    from sim.version import code_version

    assert em.info["code_version"] == code_version() and em.info["runs"] == 80
    assert {"delivered_hours", "hours_per_action"} <= set(em.derived)
    # a fifth of each area's runs moved into corners of the levers' box, whose ends the emulator knows
    runs = pd.read_csv(out / "runs.csv")
    assert runs.groupby("area").moved_to_corner.sum().tolist() == [4, 4, 4, 4], runs.moved_to_corner.sum()
    from experiments.emulator import load_settings

    assert em.edges == list(load_settings(["build"])[1].levers) and len(em.edges) == 7
    assert (out / "predicted_vs_simulated.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "argv, named",
    [
        ([], "say what to run first: build"),  # a bare command used to start a 25-minute build
        (["runs=80"], "say what to run first: build"),
        (["buld"], "must be build or sensitivity, got 'buld'"),
        (["build", "bogus"], "unexpected argument 'bogus'"),  # was silently ignored
        (["build", "runs=100", "held_out=80"], "held_out: 80"),  # crashed after the runs: nothing left to train
        (["build", "worlds=1000"], "worlds: 1000"),  # silently reused the 256 posterior draws
        (["build", "corner_share=1.5"], "corner_share: 1.5 (allowed: a number from 0 to 0.9)"),
        (["build", "levers={police.effort:[0.3,5]}"], "levers.police.effort: [0.3, 5]"),  # crashed mid-sweep
        (["build", "levers={promise.actions:[4,2]}"], "levers.promise.actions: [4, 2]"),
        (["build", "+levers.nope=[0.1,0.2]"], "unknown lever levers.nope"),
        (["build", "levers.nope=[0.1,0.2]"], "unknown lever levers.nope"),
        (["build", "levers.police.effort=[0.3,5]"], "levers.police.effort: [0.3, 5]"),
        (["build", "levers={}"], "levers={} changes nothing: give ranges, such as levers.police.effort="),  # ran it all
        (["build", "study.grid.x=1"], "unknown setting study.grid.x: this command has no study.grid (it has levers)"),
        (["build", "areas=[]"], "areas: []"),  # ZeroDivisionError
        (["build", "areas=[default,default]"], "areas: ['default', 'default']"),
        (["build", "areas=[default,nowhere]"], "unknown area preset 'nowhere'"),  # after the first area had run
        (["sensitivity", "sobol_n=100"], "sobol_n: 100"),
        (["sensitivity", "lever_study=robust"], "lever_study: 'robust' (allowed: a sensitivity study, sensitivity_l"),
        (["sensitivity", "direct=no/such/study"], "direct: 'no/such/study'"),  # crashed after the whole study
    ],
)
def test_emulator_settings_are_refused_before_anything_runs(tmp_path, monkeypatch, capsys, argv, named):
    """One line, exit 2, nothing written (run from an empty folder, the default output folders are relative)."""
    from experiments.emulator import main

    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and named in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_one_levers_range_is_set_on_the_command_line_and_merges_with_the_others():
    """The form docs/emulator.md gives for changing one lever's training range."""
    from omegaconf import OmegaConf

    from experiments.emulator import load_settings

    default = OmegaConf.to_container(load_settings(["build"])[1].levers)
    mode, cfg = load_settings(["build", "levers={police.effort:[0.3,1.0]}"])
    assert mode == "build" and OmegaConf.to_container(cfg.levers) == {**default, "police.effort": [0.3, 1.0]}
    # the dotted form was read by Hydra as nesting: "unknown setting levers.police (did you mean levers?)"
    _, cfg = load_settings(["build", "levers.police.effort=[0.3,1.0]", "levers.feedback.reach=[0.1,0.5]"])
    assert OmegaConf.to_container(cfg.levers) == {**default, "police.effort": [0.3, 1.0], "feedback.reach": [0.1, 0.5]}
