"""The sensitivity pipeline recovers known rankings: a test function, then the model at small size."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.params import ConfigError
from sim.sensitivity import analyze, convergence, noise_share, sample
from sim.space import ParameterSpace, apply_params, make_space

from .conftest import cfg

PI = float(np.pi)
ISHIGAMI = ParameterSpace(("x1", "x2", "x3", "dummy"), ((-PI, PI),) * 3 + ((0.0, 1.0),))


def ishigami(x: np.ndarray) -> np.ndarray:
    """Known indices: ST = 0.56, 0.44, 0.24 for x1, x2, x3; S1(x3) = 0; the dummy has none."""
    return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_recovers_the_ishigami_ranking():
    x = sample(ISHIGAMI, "sobol", 1024, seed=1)
    s = analyze(ISHIGAMI, "sobol", x.to_numpy(), ishigami(x.to_numpy()), seed=1, bootstrap=200).set_index("lever")
    assert list(s.sort_values("rank").index) == ["x1", "x2", "x3", "dummy"]
    assert s.loc["x1", "ST"] == pytest.approx(0.56, abs=0.05)
    assert s.loc["x2", "ST"] == pytest.approx(0.44, abs=0.05)
    assert s.loc["x3", "ST"] == pytest.approx(0.24, abs=0.05)
    assert abs(s.loc["x3", "S1"]) < 0.05 and s.loc["dummy", "ST"] < 0.01
    assert (s.loc[["x1", "x2", "x3"], "ST_conf"] > 0).all()  # every index comes with its interval


def test_morris_screens_out_the_dummy():
    x = sample(ISHIGAMI, "morris", 64, seed=2)
    m = analyze(ISHIGAMI, "morris", x.to_numpy(), ishigami(x.to_numpy()), seed=2, bootstrap=200).set_index("lever")
    assert m.loc["dummy", "mu_star"] == 0 and m.loc["dummy", "rank"] == 4


def test_convergence_reports_stability_for_a_clear_ranking():
    x = sample(ISHIGAMI, "sobol", 1024, seed=1)
    y = pd.DataFrame({"y": ishigami(x.to_numpy())})
    table, verdict = convergence(ISHIGAMI, "sobol", x, y, 1024, ["y"], seed=1, bootstrap=100)
    assert sorted(table.n.unique()) == [256, 512, 1024]
    assert bool(verdict.stable.iloc[0])


def test_convergence_of_a_small_morris_study_analyses_at_least_two_trajectories():
    """Morris n=4 (allowed) once analysed its first n/4 = 1 trajectory: sigma of one effect, a RuntimeWarning
    ('Degrees of freedom <= 0') and NaN in convergence.csv."""
    import warnings

    x = sample(ISHIGAMI, "morris", 4, seed=2)
    y = pd.DataFrame({"y": ishigami(x.to_numpy())})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        table, verdict = convergence(ISHIGAMI, "morris", x, y, 4, ["y"], seed=2, bootstrap=50)
    assert sorted(table.n.unique()) == [2, 4] and table.sigma.notna().all() and len(verdict) == 1


def test_noise_share():
    y = pd.DataFrame({"o": np.arange(100.0)})
    noise = pd.DataFrame({"point": [0, 0, 1, 1], "o": [1.0, 2.0, 5.0, 6.0]})
    r = noise_share(y, noise, ["o"]).iloc[0]
    assert r.noise_share == pytest.approx(0.5 / y.o.var()) and r.noise_share_low < r.noise_share < r.noise_share_high
    # each design output the mean of 4 runs carries a quarter of one run's noise (it once counted it whole)
    four = noise_share(y, noise, ["o"], replications=4).iloc[0]
    assert four.noise_share == pytest.approx(r.noise_share / 4) and four.noise_share_high == pytest.approx(
        r.noise_share_high / 4
    )
    # noise runs that vary more than the design: all of it, not "196%"; one point of noise runs: no share at all
    wild = noise.assign(o=[0.0, 100.0, 0.0, 100.0])
    assert noise_share(y, wild, ["o"]).iloc[0][["noise_share", "noise_share_high"]].tolist() == [1.0, 1.0]
    assert noise_share(y, noise.head(2), ["o"]).noise_share.isna().all()
    # a failed noise run (no value) is left out, not turned into an interval of NaN
    failed = pd.concat([noise, pd.DataFrame({"point": [1], "o": [np.nan]})], ignore_index=True)
    pd.testing.assert_frame_equal(noise_share(y, failed, ["o"]), noise_share(y, noise, ["o"]))


@pytest.mark.parametrize("points, runs, design, noise", [(32, 5, 500, "gamma"), (8, 3, 200, "t")])
def test_the_noise_share_interval_holds_the_truth_when_noise_and_design_differ_in_shape(points, runs, design, noise):
    """A few noise runs (skewed or heavy-tailed) against a whole design (a uniform signal): 5% of the variance is
    noise. Bonett's interval with one kurtosis pooled over both samples held the truth in 78% and 75% of such
    studies; one kurtosis each must hold it in 92-98% of 1,000."""
    rng = np.random.default_rng(7)

    def noisy(size: int) -> np.ndarray:
        if noise == "gamma":
            return (rng.gamma(2.0, size=size) - 2.0) / np.sqrt(2.0)
        return rng.standard_t(5, size=size) / np.sqrt(5 / 3)

    share, held = 0.05, 0
    for _ in range(1000):
        signal = np.sqrt(1 - share) * np.sqrt(3) * rng.uniform(-1, 1, design + points)
        y = pd.DataFrame({"o": signal[:design] + np.sqrt(share) * noisy(design)})
        reruns = pd.DataFrame(
            {"point": np.repeat(np.arange(points), runs), "o": np.repeat(signal[design:], runs)}
        ).assign(o=lambda d: d.o + np.sqrt(share) * noisy(points * runs))
        r = noise_share(y, reruns, ["o"]).iloc[0]
        held += r.noise_share_low <= share <= r.noise_share_high
    assert 0.92 <= held / 1000 <= 0.98, held


def test_the_noise_section_and_the_ranking_say_how_sure_the_noise_share_is():
    from types import SimpleNamespace

    from experiments.sensitivity import caution_words, noise_words

    def row(share, low, high, total=1.0):
        return SimpleNamespace(noise_share=share, noise_share_low=low, noise_share_high=high, total_variance=total)

    what = "noise between replications"
    assert noise_words(row(0.004, 0.001, 0.039), what) == (
        "0.4% (95% interval 0.1-3.9%) of the output variance is noise between replications, the rest comes from "
        "the levers."
    )
    # the estimate once read "196.3% of the output variance is noise"
    assert noise_words(row(1.0, 0.65, 1.0), what).startswith(
        "the noise between replications is as large as the whole design's variation (95% interval 65.0-100.0%)"
    )
    assert "(95% interval: 100% at both ends)" in noise_words(row(1.0, 1.0, 1.0), what)  # once "100.0-100.0%"
    assert noise_words(row(float("nan"), float("nan"), float("nan")), what).startswith("too few noise runs")
    assert "no variance to share out" in noise_words(row(float("nan"), float("nan"), float("nan"), 0.0), what)
    assert caution_words(0.49, what) == "" and caution_words(0.65, what) == (
        " Careful: at least 65% of its variance is noise between replications (see below), so this ranking says little."
    )


@pytest.mark.parametrize(
    "others, says",
    [
        ((0.15, 0.0), ""),
        ((0.6, 0.0), " The first two are not told apart at this n: their ST intervals reach the first's."),
        ((0.65, 0.61), " The first 3 are not told apart at this n: their ST intervals reach the first's."),
    ],
)
def test_a_ranking_whose_leaders_overlap_says_how_many(others, says):
    """The default study (n = 512) cannot tell its first five or six levers apart in any output."""
    from experiments.sensitivity import overlap_words

    indices = pd.DataFrame(
        {"output": "o", "lever": ["a", "b", "c"], "rank": [1, 2, 3], "ST": [0.9, *others], "ST_conf": [0.2, 0.1, 0.1]}
    )
    assert overlap_words(indices, "o", "ST") == says


def test_a_lever_with_no_detectable_influence_is_never_told_apart_from_the_leader():
    """A faint leader (ST 0.015 ± 0.010) beside a lever named as having no detectable influence (0.004 ± 0.005) once
    read "the first two are not told apart", and the year's leader "1 other reaches its interval"; Morris alike."""
    from experiments.sensitivity import leader_words, overlap_words
    from sim.sensitivity import ranking_sentence

    d = pd.DataFrame(
        {"output": "o", "lever": ["a", "b"], "rank": [1, 2], "ST": [0.015, 0.004], "ST_conf": [0.01, 0.005]}
    )
    assert "No detectable influence (ST below 0.01 with its interval): `b`." in ranking_sentence(d, "sobol", "o")
    assert overlap_words(d, "o", "ST") == "" and leader_words(d, "ST", "year 1") == "year 1: `a` (ST 0.01 ± 0.01)"
    faint = d.assign(ST=[0.005, 0.004], ST_conf=0.001)
    assert leader_words(faint, "ST", "year 2") == "year 2: none (no lever has a detectable influence)"
    morris = pd.DataFrame({"output": "o", "lever": ["a", "b"], "mu_star": [0.001, 0.0], "mu_star_conf": [0.002, 0.0]})
    assert overlap_words(morris, "o", "mu_star") == "" and "reach" not in leader_words(morris, "mu_star", "year 1")
    # a lever of some influence within the faint leader's interval is still counted
    assert overlap_words(d.assign(ST=[0.015, 0.008], ST_conf=0.01), "o", "ST").startswith(" The first two")


def test_the_leader_of_a_year_says_how_many_reach_its_interval():
    """In the default study the lever with most leverage "shifted" from the feedback interval in year 2 to promised
    actions in year 3 for delaktighet, with four others within reach each year."""
    from experiments.sensitivity import leader_words

    d = pd.DataFrame({"lever": ["a", "b", "c"], "ST": [0.25, 0.41, 0.1], "ST_conf": [0.1, 0.1, 0.05]})
    assert leader_words(d, "ST", "year 1") == "year 1: `b` (ST 0.41 ± 0.10; 1 other reaches its interval)"
    assert leader_words(d.assign(ST_conf=0.01), "ST", "year 2") == "year 2: `b` (ST 0.41 ± 0.01)"


def test_space_uses_declared_bounds_and_rejects_bad_ones():
    space = make_space({"police.effort": None, "feedback.reach": [0.1, 0.5]}, {"partners.share": 0.0})
    assert space.bounds == ((0.0, 1.5), (0.1, 0.5))
    with pytest.raises(ConfigError, match="police.effort"):
        make_space({"police.effort": [0.0, 3.0]})
    with pytest.raises(ConfigError, match="unknown parameter"):
        make_space({"police.speed": None})
    with pytest.raises(ConfigError, match="cannot be varied"):
        make_space({"promise.active": None})
    assert apply_params(cfg(), {"promise.actions": 3.6}).promise.actions == 4


def run_sensitivity(*args):
    return subprocess.run(
        [sys.executable, "-m", "experiments.sensitivity", "experiment@study=sensitivity_tiny", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_model_study_end_to_end_finds_the_lever_without_a_path(tmp_path):
    args = ("method=sobol", "n=32", "executor=serial", "noise_points=4", "noise_replications=3", "bootstrap=200")
    p = run_sensitivity(*args, f"output_dir={tmp_path}")
    assert p.returncode == 0, p.stderr[-2000:]
    indices = pd.read_csv(tmp_path / "indices.csv")
    for name in (
        "report.md",
        "ranking.csv",
        "convergence.csv",
        "over_time.csv",
        "noise.csv",
        "indices.png",
        "over_time.png",
        "convergence.png",
        "sweep/manifest.json",
    ):
        assert (tmp_path / name).exists(), name
    trust = indices[indices.output == "trust_mean_change"].set_index("lever")
    assert abs(trust.loc["partners.reliability", "ST"]) < 1e-9  # no path: exactly no influence
    assert trust.loc["partners.reliability", "rank"] == 3
    assert trust.loc["feedback.reach", "ST"] > 0.05
    report = (tmp_path / "report.md").read_text()
    assert "most leverage" in report and "partners.reliability" in report
    opening = report.split("## Ranking by leverage")[0]
    assert opening.count("(") == opening.count(")"), opening  # a parenthesis was once left open
    # what the ± beside every index covers (once not said)
    assert "Each ± is the half-width of the 95% bootstrap interval (200 resamples of the design points)" in opening
    assert "- trust_mean, the lever with most leverage in year 1: `" in report
    noise = pd.read_csv(tmp_path / "noise.csv")  # each share with its interval, in the table and in words
    assert ((noise.noise_share_low <= noise.noise_share) & (noise.noise_share <= noise.noise_share_high)).all()
    section = report.split("## Noise between replications")[1].split("## Failures")[0]
    assert section.count("(95% interval") == len(noise) == 6, section
    # running again resumes: nothing left to compute, same indices
    again = run_sensitivity(*args, f"output_dir={tmp_path}")
    assert again.returncode == 0
    pd.testing.assert_frame_equal(indices, pd.read_csv(tmp_path / "indices.csv"))
    # another base into the same folder is refused, in one line, instead of answered from the old runs
    other = 'study.base=["scenario=observed_2018","area=suburb","area.residents=300","horizon_weeks=52"]'
    refused = run_sensitivity(*args, other, f"output_dir={tmp_path}")
    assert refused.returncode == 2 and "holds another study" in refused.stderr and refused.stderr.count("\n") == 1


def test_a_report_after_merging_shards_counts_their_runs_as_found_not_computed(tmp_path):
    """The shards' runs were once reported as "computed in this session", as if the report step had run them all,
    and the tasks' sessions were lost from the manifest with their folders."""
    args = (
        "method=morris",
        "n=4",
        "executor=serial",
        "noise_points=2",
        "noise_replications=2",
        f"output_dir={tmp_path}",
    )
    for shard in ("0/2", "1/2"):
        p = run_sensitivity(*args, f"shard={shard}")
        assert p.returncode == 0, p.stderr[-2000:]
    p = run_sensitivity(*args)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "merged 2 shards" in p.stdout and "0 planned runs missing" in p.stdout
    runs = int(re.search(r"; (\d+) model runs", p.stdout).group(1))
    assert runs > 0 and "of which 0 computed in this session" in p.stdout
    assert f"and {runs} found in the store" in p.stdout
    sessions = json.loads((tmp_path / "sweep" / "manifest.json").read_text())["sessions"]
    assert [s.get("shard") for s in sessions] == ["00000-of-00002", "00001-of-00002", None]  # the tasks' history kept


def test_a_study_in_which_nothing_moves_says_so_instead_of_ranking_ties(tmp_path):
    """At a one-week horizon no lever changes any output. The report once named three 'levers with most leverage'
    (all mu* 0), called that ranking stable, and gave 'nan% of the output variance is noise'."""
    base = 'study.base=["scenario=full_implementation","area=default","area.residents=300","horizon_weeks=1"]'
    p = run_sensitivity("method=morris", "n=4", "executor=serial", base, f"output_dir={tmp_path}")
    assert p.returncode == 0, p.stderr[-2000:]
    report = (tmp_path / "report.md").read_text()
    ranking = report.split("## Ranking by leverage")[1].split("Change in trust")[0]
    assert ranking.count("no lever moves it here (mu_star 0 for each lever)") == 6 and "most leverage" not in ranking
    assert "Nothing to rank: no lever moves any output" in report and "stable" not in report.split("## Convergence")[1]
    assert "nan%" not in report and "the same in every run, so there is no variance to share out" in report


def test_morris_with_few_levers_completes_and_reports_direction_and_interactions(tmp_path):
    p = run_sensitivity(
        "method=morris", "n=16", "executor=serial", "noise_points=2", "noise_replications=2", f"output_dir={tmp_path}"
    )
    assert p.returncode == 0, p.stderr[-2000:]
    report = (tmp_path / "report.md").read_text()
    assert "Study incomplete" not in report and " missing; " not in p.stdout  # once "22 design points missing"
    assert "mu " in report and "sigma" in report
    assert (tmp_path / "morris_mu_sigma.png").exists()
    m = pd.read_csv(tmp_path / "indices.csv")
    assert {"mu", "mu_star", "sigma"} <= set(m.columns)


def test_under_posterior_the_spread_between_replications_is_not_called_noise(tmp_path):
    """Replication r runs with posterior draw r, so the spread between replications holds the coefficients too."""
    base = 'study.base=["scenario=full_implementation","area.residents=300","horizon_weeks=52","uncertainty=posterior"]'
    args = ("method=morris", "n=4", "executor=serial", "noise_points=2", "noise_replications=2")
    p = run_sensitivity(*args, base, f"output_dir={tmp_path}")
    assert p.returncode == 0, p.stderr[-2000:]
    noise = (tmp_path / "report.md").read_text().split("## Noise between replications")[1].split("## Failures")[0]
    assert "replication noise *and* parameter uncertainty" in noise and "is noise between" not in noise


def test_a_horizon_shorter_than_a_year_still_reports(tmp_path):
    short = 'study.base=["scenario=full_implementation","area.residents=300","horizon_weeks=20"]'
    p = run_sensitivity(
        "method=sobol",
        "n=8",
        "executor=serial",
        "noise_points=2",
        "noise_replications=2",
        short,
        f"output_dir={tmp_path}",
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert (tmp_path / "report.md").exists() and (tmp_path / "over_time.png").exists()
    over_time = (tmp_path / "report.md").read_text().split("## How leverage shifts over time")[1].split("##")[0]
    assert over_time.strip() == "No year-end within the horizon: leverage by year not computed.", over_time


def test_noise_points_default_fits_a_small_study():
    """The issue's trial command (n=16, noise_points not given) runs; asking for more noise points than n refuses."""
    from experiments.sensitivity import load_settings

    assert load_settings(["method=sobol", "n=16"]).noise_points == 16
    assert load_settings(["method=sobol", "n=512"]).noise_points == 32
    assert load_settings(["method=sobol", "n=512", "noise_points=8"]).noise_points == 8
    with pytest.raises(ConfigError, match="noise_points: 32 .allowed: at most n = 16"):
        load_settings(["method=sobol", "n=16", "noise_points=32"])


@pytest.mark.parametrize(
    "arg,needle",
    [
        ("method=magic", "method"),
        ("n=100", "power of 2"),
        ("executor=cloud", "executor"),
        ("workers=-1", "workers"),
        ("batch_size=0", "batch_size"),
        ("bootstrap=0", "bootstrap"),
        ("conf_level=2", "conf_level"),
        ("num_levels=1", "num_levels"),
        ("seed=abc", "seed"),
        ("output_dir=", "output_dir"),
        ("shard=3/2", "shard"),
        ("horizon_weeks=20", "unknown setting horizon_weeks"),
    ],
)
def test_bad_settings_exit_2(tmp_path, arg, needle):
    p = (
        run_sensitivity(arg, f"output_dir={tmp_path / 'x'}")
        if not arg.startswith("output_dir")
        else run_sensitivity(arg)
    )
    assert p.returncode == 2 and needle in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert not (tmp_path / "x").exists()


def test_morris_panels_each_have_their_own_scale(tmp_path):
    """mu* is in each output's units: on one shared axis trygghet's bars (a hundredth of trust's) vanished."""
    from experiments.sensitivity import OUTPUTS, plot_indices

    rows = [
        {"output": o, "lever": lever, "mu_star": size * (0.01 if "trygghet" in o else 1), "mu_star_conf": 0.0}
        for o in OUTPUTS
        for lever, size in (("police.effort", 0.2), ("feedback.reach", 0.1))
    ]
    fig = plot_indices(pd.DataFrame(rows), "morris", tmp_path / "indices.png")
    trust, trygghet = fig.axes[0], fig.axes[2]
    assert trygghet.get_xlim()[1] < 0.01 < trust.get_xlim()[1]  # each output's bars fill its own panel
    assert (tmp_path / "indices.png").exists()


def test_a_lever_without_influence_is_never_listed_among_those_with_most_leverage():
    """A tiny study once called `partners.reliability` (ST 0.00 ± 0.00, or mu* 0) the third lever with most leverage,
    in the same sentence that said it had no detectable influence."""
    from sim.sensitivity import ranking_sentence

    def indices(**values):
        return pd.DataFrame(
            [
                {"output": "trust_mean_change", "lever": lever, "rank": i + 1, **{k: v[i] for k, v in values.items()}}
                for i, lever in enumerate(("police.effort", "feedback.reach", "partners.reliability"))
            ]
        )

    sobol = ranking_sentence(indices(ST=[0.9, 0.2, 0.0], ST_conf=[0.1, 0.05, 0.0]), "sobol", "trust_mean_change")
    leaders, inert = sobol.split(" No detectable influence")
    assert "levers with most leverage are `police.effort`" in leaders and "`feedback.reach`" in leaders
    assert "partners.reliability" not in leaders and "`partners.reliability`" in inert
    one = ranking_sentence(indices(ST=[1.3, 0.0, 0.0], ST_conf=[0.6, 0.0, 0.0]), "sobol", "trust_mean_change")
    assert "the lever with most leverage is `police.effort` (ST 1.30 ± 0.60). No detectable influence" in one
    faint = ranking_sentence(indices(ST=[0.004, 0.0, 0.0], ST_conf=[0.002, 0.0, 0.0]), "sobol", "trust_mean_change")
    assert "no lever has a detectable influence here" in faint and "most leverage" not in faint
    morris = ranking_sentence(
        indices(
            mu_star=[0.14, 0.07, 0.0], mu_star_conf=[0.06, 0.06, 0.0], mu=[0.14, -0.07, 0.0], sigma=[0.07, 0.08, 0.0]
        ),
        "morris",
        "trust_mean_change",
    )
    leaders, rest = morris.split(" No effect (mu* 0): ")
    assert "`feedback.reach`" in leaders and "partners.reliability" not in leaders
    assert rest.startswith("`partners.reliability`.")
