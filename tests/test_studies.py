"""The ready-made studies at a tiny size: outputs exist, are consistent, and say what their intervals cover."""

import os
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import ambition, bra2018, budget, compare, evaluation_power, feedback_demo
from experiments.studies import (
    RANGE_MIN,
    RESAMPLES,
    chosen_instead,
    fmt_pp,
    interval,
    load_study,
    pair_tally,
    parameter_share,
    per_replication,
    resampled_choice,
    spread,
    when_and_hours,
)
from sim.words import joined

ROOT = Path(__file__).resolve().parent.parent

TINY = ["replications=3", "noise_replications=0", "area.residents=400", "uncertainty=fixed"]


def exit_code(module: str, args: list[str]) -> int:
    """A command's main() as the shell sees it: its return value, or the exit code argparse raises."""
    import importlib

    try:
        return importlib.import_module(f"experiments.{module}").main(args)
    except SystemExit as exit_:
        return exit_.code


def run(module, name, tmp_path, *extra):
    s = load_study(name, [*TINY, f"output_root={tmp_path}", *extra])
    return module.STUDY.run(s, progress=False)


def test_a_change_that_rounds_to_nothing_reads_as_none():
    assert fmt_pp(-0.0004) == "+0.0 pp" and fmt_pp(-0.0006) == "-0.1 pp" and fmt_pp(0.0123) == "+1.2 pp"


def test_a_share_of_resamples_neither_none_nor_all_never_reads_as_either():
    """A design chosen again in 999 of 1,000 resamples once read "100% of resamples; most often instead: ... (0%)"."""
    from experiments.studies import percent

    shares = (0.0, 0.001, 0.005, 0.01, 0.68, 0.99, 0.994, 0.999, 1.0)
    assert [percent(x) for x in shares] == ["0%", "<1%", "<1%", "1%", "68%", "99%", ">99%", ">99%", "100%"]


def test_interval_uses_the_t_quantile():
    mean, lo, hi = interval(np.array([1.0, 2.0, 3.0]))
    assert mean == 2.0 and hi - mean == pytest.approx(4.303 * 1.0 / np.sqrt(3), rel=1e-3)


def test_study_figures_band_each_week_as_the_reports_do():
    """The study figures drew the middle 90% of the replications by numpy's default quantiles, narrower than the
    reports' 90% range of what one district could see. From 19 replications the band is that range (quantiles at
    positions p(n+1)); from fewer, which give no range, the mean's 95% interval (t quantile, 5 degrees of
    freedom: 2.571)."""
    from experiments.studies import band_words, weekly_band

    def frame(values: np.ndarray) -> pd.DataFrame:
        n = values.shape[1]
        return pd.DataFrame(
            {"replication": np.tile(np.arange(n), 2), "week": np.repeat([0, 1], n), "trust_mean": values.ravel()}
        )

    few = np.array([[0.50, 0.52, 0.47, 0.55, 0.49, 0.51], [0.40, 0.46, 0.41, 0.44, 0.39, 0.42]])
    weeks, mean, lo, hi = weekly_band(frame(few), "trust_mean")
    half = 2.5706 * few.std(axis=1, ddof=1) / np.sqrt(6)
    assert list(weeks) == [0, 1] and np.allclose(mean, few.mean(axis=1))
    assert np.allclose(lo, mean - half, rtol=1e-4) and np.allclose(hi, mean + half, rtol=1e-4)
    assert band_words(6).startswith("95% interval of the mean")

    many = np.vstack([np.arange(19.0), np.arange(19.0) ** 2]) / 400  # the 5% and 95% points: the 1st and 19th of 19
    _, mean, lo, hi = weekly_band(frame(many), "trust_mean")
    assert np.allclose(lo, many.min(axis=1)) and np.allclose(hi, many.max(axis=1)) and np.allclose(mean, many.mean(1))
    assert band_words(19) == "90% range of what one district could see"


@pytest.mark.parametrize("n", [20, 40])
def test_one_districts_range_holds_another_districts_value_nine_times_in_ten(n):
    """The range one district could see is a 90% prediction range: over 4,000 studies of n districts each, it holds
    a new district's value 88-92% of the time (binomial standard error 0.5 points). The quantiles of the default
    interpolation held 81% from 20 values and 86% from 40."""
    rng = np.random.default_rng(7)
    values = rng.standard_normal((4000, n + 1))
    held = [lo <= v[-1] <= hi for v in values for lo, hi in [spread(v[:-1])]]
    assert 0.88 <= np.mean(held) <= 0.92


@pytest.mark.parametrize("outcome", ["normal", "skewed"])
def test_the_parameter_share_comes_with_an_interval_that_holds_the_true_share(outcome):
    """Posterior spread sd 3 against noise sd 1: a true share of 8/9. From 20 worlds and 10 noise runs (a study's
    default) the 95% interval must hold the truth in 93-98% of 1,000 simulated studies (binomial standard error
    0.7 points). 'skewed': the worlds' part drawn from a gamma of skewness 1.5, as the studies' paired differences
    in the high-confidence and feeling-unsafe shares are (skewness 1.25 and -1.54 over 100 posterior draws). The
    percentile bootstrap once used held it in 89% (normal) and 92% (skewed) of 2,000; a share given alone, in none."""
    rng = np.random.default_rng(5)
    held = []
    for _ in range(1000):
        worlds = rng.normal(0, 1, 20) if outcome == "normal" else (rng.gamma(1.8, 1, 20) - 1.8) / np.sqrt(1.8)
        point, lo, hi = parameter_share(np.sqrt(8) * worlds + rng.normal(0, 1, 20), rng.normal(0, 1, 10))
        assert lo <= point <= hi
        held.append(lo <= 8 / 9 <= hi)
    assert 0.93 <= np.mean(held) <= 0.98, np.mean(held)  # here 97.0% (normal) and 94.9% (skewed)


def test_the_parameter_share_needs_three_runs_of_each_kind_and_some_spread():
    assert parameter_share(np.zeros(5), np.zeros(3)) == (0.0, 0.0, 0.0)  # no spread at all: nothing to split
    assert parameter_share(np.arange(5.0), np.zeros(3)) == (1.0, 1.0, 1.0)  # no noise: all of it parameters
    assert np.isnan(parameter_share(np.arange(5.0), np.arange(2.0))).all()  # from 2 runs it held the truth in 60-85%
    assert np.isnan(parameter_share(np.arange(2.0), np.arange(5.0))).all()


def test_choosing_again_on_resampled_worlds_marks_ties_and_follows_the_rule():
    """Designs b and c gain 2 in each of three worlds, a gains 1, d gains 5 in one world and 0 in the others: d's
    mean beats 2 when that world is drawn at least twice of three, with chance 7/27 (0.26)."""
    values = np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [2.0, 2.0, 2.0], [0.0, 5.0, 0.0]])
    best, first = resampled_choice(values, lambda x: (x.mean(axis=-1),), seed=1)
    assert best.shape == first.shape == (4, RESAMPLES)
    assert not best[0].any() and (best[1] == best[2]).all() and (best[1] != best[3]).all()  # ties both marked
    assert 0.22 <= best[3].mean() <= 0.30  # 1,000 resamples: standard error 0.014
    instead = chosen_instead(best, 1, list("abcd"))
    assert list(instead.index) == ["d"] and instead["d"] == best[3].mean()
    # a second score breaks ties: c is better there, so only c is at the best where b and c led
    rank = lambda x: (x.mean(axis=-1), np.broadcast_to(np.arange(4.0)[:, None], x.shape[:2]))  # noqa: E731
    best, _ = resampled_choice(values, rank, seed=1)
    assert not best[1].any() and (best[2] != best[3]).all()


def test_too_few_districts_give_no_range():
    """From 18 values the lowest and highest hold another district's only 17/19 = 89% of the time: no 90% range."""
    assert RANGE_MIN == 19
    assert np.isnan(spread(np.arange(18.0))).all() and np.isfinite(spread(np.arange(19.0))).all()


@pytest.mark.parametrize("items, says", [([52], "52"), ([52, 104], "52 and 104"), ([1, 2, 3], "1, 2 and 3")])
def test_a_list_reads_as_a_sentence(items, says):
    assert joined(items) == says


def test_compare_a_scenario_with_itself_shows_no_difference(tmp_path):
    out = run(
        compare,
        "compare",
        tmp_path,
        "horizon_weeks=40",
        'study.arms=["scenario=observed_2018","scenario=observed_2018"]',
    )
    d = pd.read_csv(out / "differences.csv")
    assert (d.difference == 0).all() and (d.ci_low == 0).all() and (d.ci_high == 0).all()
    assert (d.p_higher == 0).all() and (d.p_lower == 0).all() and (d.p_ties == 1).all()
    # said as such, not "`scenario=observed_2018 #2` higher in 0% of plausible worlds"
    report = (out / "report.md").read_text()
    assert "the same as `scenario=observed_2018 #1` in all replications" in report and "higher in 0%" not in report
    # the table of the horizon's differences was headed "By year" when the run was shorter than a year
    assert "At week 40, the high-confidence share against `scenario=observed_2018 #1`" in report, report
    assert "By year" not in report and "p_higher: the share of paired replications" in report
    for name in ("trajectories.png", "report.md", "config.yaml", "changes.csv"):
        assert (out / name).exists()


def test_compare_takes_an_area_and_named_arms_and_says_what_ran(tmp_path):
    out = run(
        compare,
        "compare",
        tmp_path,
        "horizon_weeks=60",
        "area=suburb",
        'study.arms={Observed: "scenario=observed_2018", Full: "scenario=full_implementation"}',
    )
    d = pd.read_csv(out / "differences.csv").query("week == 60").set_index("metric")
    assert d.loc["trust_high_share", "ci_low"] > 0 and d.loc["trust_high_share", "p_higher"] == 1
    report = (out / "report.md").read_text()
    assert "Area `suburb`" in report and "`Full` against `Observed`" in report and "replication noise only" in report
    assert "- `Full` (scenario=full_implementation): share with high confidence" in report  # a name: what it ran
    for metric, words in (("trust_high_share", "share with high confidence"), ("unsafe_share", "share feeling unsafe")):
        # the share of pairs is on the side of the mean: "`Full` ahead in 0%" once stood for 100% less unsafe
        r = d.loc[metric]
        side, share = ("higher", r.p_higher) if r.difference >= 0 else ("lower", r.p_lower)
        (line,) = [x for x in report.splitlines() if x.startswith(f"- {words}")]
        assert f"`Full` {side} in {100 * share:.0f}% of replications" in line, line
    assert "name: suburb" in (out / "config.yaml").read_text()


def test_compare_names_each_arm_once_and_promises_no_range_it_does_not_give(tmp_path):
    """Arms given as a list are labelled by their overrides, once read "`scenario=no_promise`
    (scenario=no_promise)"; with 3 replications the heading once promised a "90% range" no line gave."""
    report = (run(compare, "compare", tmp_path, "horizon_weeks=20") / "report.md").read_text()
    assert "- `scenario=no_promise`: share with high confidence" in report and "(scenario=no_promise)" not in report
    assert "in survey shares (mean and its 95% interval)\n" in report and "90% range across" not in report
    changes = report.split("in survey shares")[1].split("##")[0]  # each change with its interval (once alone)
    assert changes.count(" pp to ") == 9, changes


def test_a_study_too_small_to_split_the_spread_says_so(tmp_path):
    """From 2 plausible worlds the share of the spread that is parameter uncertainty has no trustworthy interval
    (it held the truth in 60-85%), so none is given, and the report says why instead of leaving it out."""
    from sim.posterior import ENSEMBLE

    if not ENSEMBLE.exists():
        pytest.skip("no posterior ensemble")
    args = ["replications=2", "noise_replications=3", "area.residents=200", "horizon_weeks=20"]
    s = load_study(
        "compare",
        [*args, f"output_root={tmp_path}", 'study.arms=["scenario=no_promise","scenario=full_implementation"]'],
    )
    out = compare.STUDY.run(s, progress=False)
    d = pd.read_csv(out / "differences.csv").query("week == 20").set_index("metric").loc["trust_high_share"]
    assert np.isnan(d.parameter_share) and d.noise_runs == 3
    assert "from 2 plausible worlds the spread is not split (3 needed)" in (out / "report.md").read_text()


def test_posterior_uncertainty_widens_the_interval_and_says_so(tmp_path):
    from sim.posterior import ENSEMBLE

    if not ENSEMBLE.exists():
        pytest.skip("no posterior ensemble")
    s = load_study(
        "compare",
        [
            "replications=12",
            "noise_replications=12",
            "area.residents=400",
            "horizon_weeks=60",
            f"output_root={tmp_path}",
            'study.arms=["scenario=observed_2018","scenario=full_implementation"]',
        ],
    )
    out = compare.STUDY.run(s, progress=False)
    d = pd.read_csv(out / "differences.csv").query("week == 60").set_index("metric").loc["trust_high_share"]
    assert np.isnan(d.range_low) and np.isnan(d.range_high)  # 12 worlds are too few for a district's range
    assert d.noise_ci_high - d.noise_ci_low < d.ci_high - d.ci_low  # parameter uncertainty widens the interval
    assert 0 < d.parameter_share <= 1 and d.noise_runs == 12
    assert 0 <= d.parameter_share_low <= d.parameter_share <= d.parameter_share_high <= 1
    report = (out / "report.md").read_text()
    # the noise runs' interval is of their mean: it once read "replication noise alone: a to b", like a range
    share = f"{100 * d.parameter_share:.0f}% of the spread is parameter uncertainty (95% interval "
    share += f"{100 * d.parameter_share_low:.0f}-{100 * d.parameter_share_high:.0f}%; replication noise alone, 12 runs"
    assert share in report
    assert "coefficients: 95% interval of the mean " in report
    # and says once why it gives no range of what one district could see (once "+0.6 to +2.6" from 3 worlds,
    # narrower than the interval of their mean)
    assert report.count("With 12 plausible worlds per arm, no 90% range of what one district could see") == 1
    assert "could see" not in report.replace("what one district could see is given", "")


def test_ambition_grid_replaces_and_adds_dimensions_and_reports_shares_by_year(tmp_path):
    out = run(
        ambition,
        "ambition",
        tmp_path,
        "horizon_weeks=104",
        "area=suburb",
        "study.executor=serial",
        "study.grid={promise.actions:[1,8],police.planned_hours_per_week:[20,60]}",
        "study.grid.police.effort=[0.3,1.0]",
    )
    grid = pd.read_csv(out / "grid.csv")
    assert len(grid) == 8 and grid.replications.eq(3).all()
    assert "Gains are percentage points of residents after 2 years." in (out / "report.md").read_text()
    assert {
        "gain_trust_high_share_change_y1",
        "gain_unsafe_share_change_y2",
        "gain_trust_high_share_change_y2_range_low",
    } <= set(grid.columns)
    assert np.isfinite(grid.trust_pp_per_100h).all()
    for name in ("heatmap_trust_high_share.png", "heatmap_unsafe_share.png", "high_confidence_per_100_hours.png"):
        assert (out / name).exists()
    text = (out / "report.md").read_text()
    assert "Most gain for the hours spent" in text and "backfire" in text
    assert "With 3 replications per setting, no 90% range of what one district could see is given" in text
    # every interval of a mean says so, as compare's do (they once read "95% interval" beside a district's range)
    assert text.count("(95% interval ") == text.count("(95% interval of the mean ") > 0
    # eight actions on 20 hours at effort 0.3 backfire worst; the study switches off each way to lose ground in
    # turn (paired, same seeds) and names the one that takes the loss away: residents hearing of the shortfall
    why = pd.read_csv(out / "why_it_backfires.csv")
    assert len(why) == 3 and why["as it runs"].max() < 0 < why["residents hear no feedback"].mean()
    assert (why["a shortfall weighs no more than a surplus"] > why["as it runs"]).all()
    assert "## Why the worst of them backfires (measured)" in text and "`actions 8, planned hours per week 20" in text
    assert "the loss shrinks most when residents hear no feedback" in text
    # every setting that loses on average is named, also when its interval reaches above zero (with three
    # replications it once read "None in this grid" beside a setting losing 17 pp on average)
    section = text.split("## Settings that backfire")[1].split("## Why")[0]
    for _, r in grid[grid.gain_trust_high_share_change_y2 < 0].iterrows():
        words = (
            f"actions {r['promise.actions']:g}, planned hours per week {r['police.planned_hours_per_week']:g}, "
            f"effort {r['police.effort']:g}: high confidence"
        )
        assert f"- {words}" in section, (words, section)
    by_year = text.split("## By year (high confidence, the 3 best settings; 95% interval of the mean)\n\n")[1]
    assert by_year.count("\n- ") + by_year.startswith("- ") == 3, by_year  # once "the three" for any number
    # the ranking by gain per 100 hours gives each figure its interval (Fieller's, each run's gain beside its hours)
    assert (grid.trust_pp_per_100h_ci_low <= grid.trust_pp_per_100h).all()
    assert (grid.trust_pp_per_100h <= grid.trust_pp_per_100h_ci_high).all()
    best = text.split("## Most gain for the hours spent (high confidence)\n\n")[1].split("\n\n")[0]
    assert best.count(" pp per 100 hours (95% interval of the mean ") == 3, best
    # and says how sure its first place is, the worlds resampled (the first few often overlap)
    assert "How sure: resampling the 3 replications 1,000 times, the first of these gives the most per hour" in text
    # each dimension's average effect, recomputed here from runs.csv: world by world, the mean gain over the other
    # settings at the highest value minus that at the lowest
    runs = pd.read_csv(out / "runs.csv")
    key = "trust_high_share_change_y2"
    none = runs[runs.point == -1].set_index("replication")[key]
    promise = runs[runs.point != -1].assign(gain=lambda r: r[key] - none.loc[r.replication].to_numpy())
    by_world = promise.groupby(["replication", "police.effort"]).gain.mean().unstack()
    effort = interval((by_world[1.0] - by_world[0.3]).to_numpy())
    assert (
        f"- effort 1 instead of 0.3: {fmt_pp(effort[0])} (95% interval of the mean {fmt_pp(effort[1])} to "
        f"{fmt_pp(effort[2])}), averaged over the 4 combinations of the other settings" in text
    )
    assert "- actions 8 instead of 1: " in text and "- planned hours per week 60 instead of 20: " in text


def test_an_ambition_grid_of_one_setting_reports_no_effects_and_no_gap(tmp_path):
    out = run(
        ambition, "ambition", tmp_path, "horizon_weeks=52", "study.executor=serial", "study.grid={promise.actions:[2]}"
    )
    text = (out / "report.md").read_text()
    assert "## What each setting does" not in text and "\n\n\n" not in text  # once a gap where they would be


def test_ambition_leaves_settings_that_spend_no_hours_out_of_the_gain_per_hour(tmp_path):
    """Effort 0 spends no officer hours: its gain per 100 hours once read "+nan pp per 100 hours" in the ranking."""
    out = run(
        ambition,
        "ambition",
        tmp_path,
        "horizon_weeks=52",
        "study.executor=serial",
        "study.grid={promise.actions:[1],police.effort:[0,1]}",
    )
    text = (out / "report.md").read_text()
    grid = pd.read_csv(out / "grid.csv").set_index("police.effort")
    assert grid.loc[0.0, "hours_spent"] == 0 and np.isnan(grid.loc[0.0, "trust_pp_per_100h"])
    assert "nan" not in text.lower() and "Spent no officer hours, so no gain per hour: actions 1, effort 0." in text
    best = text.split("## Most gain for the hours spent (high confidence)\n\n")[1].split("\n\n")[0]
    assert best.startswith("- actions 1, effort 1:") and "effort 0" not in best


@pytest.mark.parametrize(
    "last, horizon, says",
    [(1, 52, ""), (1, 60, " (week 52 of 60; officer hours are those of all 60 weeks)"), (3, 156, "")],
)
def test_a_grid_study_says_when_its_gains_are_read(last, horizon, says):
    assert when_and_hours(last, horizon) == says


def test_ambition_names_settings_that_lose_on_average_though_not_clearly(tmp_path):
    """Three plausible worlds: intervals are wide, and the report once said only 'None in this grid' beside six
    actions on 20 hours losing 17 pp on average."""
    out = run(
        ambition,
        "ambition",
        tmp_path,
        "horizon_weeks=52",
        "uncertainty=posterior",
        "study.executor=serial",
        "study.grid={promise.actions:[1,6],police.planned_hours_per_week:[20,80],police.effort:[0.5,1.0]}",
    )
    grid = pd.read_csv(out / "grid.csv")
    key = "gain_trust_high_share_change_y1"
    losing = grid[(grid[key] < 0) & (grid[f"{key}_ci_high"] >= 0)]
    assert len(losing) > 0  # the case this test is about
    text = (out / "report.md").read_text()
    section = text.split("## Settings that backfire")[1].split("## By year")[0]
    assert "Losing ground on average, with an interval that reaches above no promise" in section
    for _, r in losing.iterrows():
        words = f"actions {r['promise.actions']:g}, planned hours per week {r['police.planned_hours_per_week']:g}"
        assert f"- {words}, effort {r['police.effort']:g}: high confidence {100 * r[key]:+.1f} pp" in section


@pytest.mark.parametrize(
    "args, entry, expected",
    [
        # study.fixed was read as {police: {effort: 0.5}}: "unknown parameter police in study.fixed"
        (["experiment@study=sensitivity_tiny", "study.fixed.police.effort=0.5"], "fixed", "police.effort"),
        (["study.fixed.police.effort=0.5"], "fixed", "police.effort"),  # levers' fixed is empty: {} was not a mapping
        (["study.vary={}", "study.vary.police.effort=[0.2,0.5]"], "vary", "police.effort"),
    ],
)
def test_a_study_mapping_takes_one_dotted_parameter_from_the_command_line(args, entry, expected):
    from omegaconf import OmegaConf

    from experiments.settings import compose_settings

    got = OmegaConf.to_container(compose_settings("sensitivity", args).study[entry])
    assert expected in got and all("." in k for k in got), got


def test_arms_without_the_labels_an_analysis_compares_are_refused_before_the_runs(tmp_path, monkeypatch):
    """reach compares 'Wide' with 'Thin': other labels once ran every arm, then ended in KeyError: 'Wide'."""
    import experiments.studies as studies
    from experiments import reach
    from sim.params import ConfigError

    monkeypatch.setattr(studies.sim, "run", lambda *a, **k: pytest.fail("ran"))
    with pytest.raises(ConfigError, match=r"^study.arms has no arm labelled 'Thin', which the reach study compares"):
        run(reach, "reach", tmp_path, 'study.arms={A: "seed=1", B: "seed=2"}')
    assert list(tmp_path.iterdir()) == []


def test_a_common_override_reaches_every_arm_unless_the_study_sets_it_itself():
    """What no arm sets applies to every arm; an arm's own area wins over the common one; a parameter an arm sets
    is refused as a common override (and exits 2: test_a_studys_own_bad_setting_exits_2_naming_it...)."""
    from sim.params import ConfigError

    arms = 'study.arms={Here: "scenario=observed_2018", There: "scenario=full_implementation area=suburb"}'
    s = load_study("compare", [*TINY, arms, "police.effort=0.6", "area=small_town"])
    configs = compare.STUDY.prepare(s)
    assert [c.police.effort for c in configs.values()] == [0.6, 0.6]
    assert [c.area.name for c in configs.values()] == ["small_town", "suburb"]
    s = load_study("compare", [*TINY, arms, "scenario=no_promise"])
    with pytest.raises(ConfigError, match=r"^scenario=no_promise: the study sets scenario itself \(arm 'Here' has"):
        compare.STUDY.prepare(s)


def test_a_bad_grid_key_names_the_valid_ones(tmp_path):
    with pytest.raises(Exception, match="unknown parameter promise.colour"):
        run(ambition, "ambition", tmp_path, "study.grid.promise.colour=[1,2]")


def test_budget_ranks_designs_for_the_hours_and_effort(tmp_path):
    out = run(
        budget,
        "budget",
        tmp_path,
        "horizon_weeks=104",
        "study.executor=serial",
        "study.hours_per_week=30",
        "study.effort=[0.5,0.8]",
        "study.grid={promise.actions:[1,4],feedback.interval_weeks:[4,26]}",
    )
    ranking = pd.read_csv(out / "ranking.csv")
    assert len(ranking) == 4 and ranking["rank"].tolist() == [1, 2, 3, 4]
    assert ranking.gain_trust_high_share_change_y2.is_monotonic_decreasing
    assert ranking.replications.eq(6).all()  # 3 replications x 2 effort values, pooled
    report = (out / "report.md").read_text()
    assert "What to promise" in report and "| 95% interval of the mean (year 2) |" in report
    r = ranking.iloc[0]  # the change in feeling unsafe comes with its interval (it once stood alone)
    u = "gain_unsafe_share_change_y2"
    assert f"| {fmt_pp(r[u])} ({fmt_pp(r[u + '_ci_low'])} to {fmt_pp(r[u + '_ci_high'])}) |" in report
    # "to avoid" lists only designs with no gain on average or a gain in under half the worlds (it once listed
    # the three lowest, one of them gaining in every world), or says there are none
    avoid = report.split("## Designs to avoid")[1].split("**In short")[0]
    key = "gain_trust_high_share_change_y2"
    bad = ranking[(ranking[key] <= 0) | (ranking[f"{key}_p_positive"] < 0.5)]
    assert avoid.count("\n- ") == min(len(bad), 5) and ("None. The least gain" in avoid) == bad.empty, avoid
    assert "How sure: resampling the 3 replications 1,000 times, the same design comes first (or one" in report


def test_budget_takes_one_effort_value(tmp_path):
    """study.effort=0.6 (one value, as its help allows) once crashed after the whole grid had run:
    "TypeError: 'int' object is not iterable" (list() of a number) while writing the report."""
    out = run(
        budget,
        "budget",
        tmp_path,
        "horizon_weeks=60",
        "study.executor=serial",
        "study.effort=0.6",
        "study.grid={promise.actions:[1,3]}",
    )
    report = (out / "report.md").read_text()
    assert (out / "heatmap_high_confidence.png").is_file() and "expected effort 0.6 (" in report
    # read at week 52 beside hours of all 60 weeks: once unsaid
    assert "by year (week 52 of 60; officer hours are those of all 60 weeks)." in report
    assert "How sure: resampling the 3 replications 1,000 times, the same design comes first" in report  # one lever


def test_feedback_demo_no_feedback_never_beats_monthly(tmp_path):
    out = run(feedback_demo, "feedback_demo", tmp_path, "horizon_weeks=60", "study.gif_every_weeks=10")
    for name in ("feedback_matters.png", "feedback_matters.gif", "maps_horizon.png", "report.md", "levels.csv"):
        assert (out / name).exists(), name
    levels = pd.read_csv(out / "levels.csv")
    t = levels[(levels.metric == "trust_mean") & (levels.staff == "with staff feedback")].set_index(["arm", "week"])
    for week in t.index.get_level_values("week").unique():
        assert t.loc[("No feedback", week), "mean_level"] <= t.loc[("Monthly feedback", week), "mean_level"] + 1e-12
    # the staff line names the arm its share counts (it once said "`Quarterly feedback` higher in 0%")
    (staff,) = [x for x in (out / "report.md").read_text().splitlines() if x.startswith("Feedback to staff")]
    assert "with minus without" in staff and "; with staff feedback " in staff and "`Quarterly feedback` " not in staff
    assert "through officers" in staff.split("high confidence:")[0], staff  # the pathway before the number
    # each arm's change comes with its interval, in both outcomes (they once stood alone)
    arms = [x for x in (out / "report.md").read_text().splitlines() if x.startswith("- No feedback: ")]
    assert len(arms) == 1 and arms[0].count("(95% interval of the mean ") == 2, arms


class Changes:
    """A study context that knows only each arm's change in high confidence, per replication."""

    posterior = False
    # the study's seed, for the bootstrap of the kept share
    s = types.SimpleNamespace(cfg=types.SimpleNamespace(seed=1))

    def __init__(self, **changes):
        self.changes = changes

    def change(self, label, metric):
        return np.array(self.changes[label])


def test_the_ratio_of_paired_means_has_an_interval_that_holds_the_truth():
    """feedback_demo's kept share: the same work without feedback keeps 46% of quarterly feedback's gain, from 20
    paired worlds whose gains are skewed (gamma). Fieller's 90% interval must hold the truth in 88-92% of 2,000
    simulated studies (binomial standard error 0.7 points); the percentile bootstrap once used held it in 86%."""
    from experiments.studies import ratio_interval

    rng = np.random.default_rng(11)
    held = []
    for _ in range(2000):
        quarterly = 3 * rng.gamma(1.8, 1, 20) + 0.5
        lo, hi = ratio_interval(0.46 * quarterly + rng.normal(0, 2, 20), quarterly, 0.90)
        held.append(lo <= 0.46 <= hi)
    assert 0.88 <= np.mean(held) <= 0.92, np.mean(held)
    assert np.isnan(ratio_interval(np.array([1.0, 2, 3]), np.array([-1.0, 1, 0.5]), 0.90)).all()  # no clear gain


@pytest.mark.parametrize(
    "quarterly, none, says",
    [
        ([-0.03, -0.01], [0.01, 0.02], "Quarterly feedback brings no gain in high confidence here (-2.0 pp), so"),
        ([0.0, 0.0], [0.0, 0.0], "so there is no gain for the same work without feedback to keep"),
        ([0.0, 0.0], [0.0, 0.0], "to keep; quarterly the same as none in all paired replications."),
        ([0.02, 0.01], [0.01, 0.01], "; quarterly beats none in 50% of paired replications (the same in 50%)."),
        ([0.0, -0.01], [0.0, 0.0], "to keep; quarterly beats none in 0% of paired replications (the same in 50%)."),
        (
            [0.04, 0.06],
            [0.01, 0.01],
            "keeps 20% (too few paired replications for an interval) of the gain in high confidence that quarterly "
            "feedback brings: residents who do not know "
            "about the promise give the police little credit for what they see; quarterly beats none in 100% of paired "
            "replications.",
        ),
        (
            [0.04, 0.06],
            [0.04, 0.04],
            "keeps 80% (too few paired replications for an interval) of the gain in high confidence that quarterly "
            "feedback brings: here most of the gain comes from "
            "the work residents see, not from telling them about it; quarterly beats none in 50% of paired "
            "replications (the same in 50%).",
        ),
        # from three pairs on, the kept share has its interval (it once stood alone)
        ([0.04, 0.06, 0.05, 0.05], [0.01, 0.02, 0.01, 0.02], "keeps 30% (90% interval "),
        ([0.04, 0.06, 0.05, 0.05], [0.01, 0.02, 0.01, 0.02], "%, over the paired replications) of the gain"),
        (
            [0.04, 0.06, -0.01, 0.05],
            [0.01, 0.02, 0.01, 0.02],
            "keeps 43% (no interval: quarterly feedback's gain is not clearly above zero over these paired replicat",
        ),
        # one pair without a gain no longer hides the interval when the gain as a whole is clear
        ([0.04, 0.06, -0.01, 0.05, 0.05, 0.06], [0.01, 0.02, 0.01, 0.02, 0.01, 0.02], "keeps 36% (90% interval 25–64%"),
        # a bound below zero reads as one, not as a dash ("-457–52%")
        ([0.04, 0.06, 0.01, 0.05], [-0.02, 0.03, 0.01, -0.01], "keeps 6% (90% interval -83% to 85%, over"),
    ],
)
def test_the_feedback_demo_words_follow_its_numbers(quarterly, none, says):
    """Once 'keeps 666666666667% of the gain' (observed_2018, 60 weeks: quarterly lost ground) and always
    'little credit', whatever the numbers."""
    line = feedback_demo.kept_line(Changes(Q=quarterly, N=none), "Q", "N")
    assert says in line, line


def test_the_projector_figure_says_how_far_the_dashed_lines_lie_from_the_solid_ones(tmp_path):
    """The title once only said "Dashed: no feedback to staff either", over dashed lines hidden under the solid
    ones (staff feedback moves the averages by a few hundredths of a point)."""

    def result(trust):
        weeks = np.repeat([0, 1], 2)
        t = pd.DataFrame({"week": weeks, "trust_mean": trust, "delaktighet_mean": 0.4, "trygghet_mean": 0.6})
        return types.SimpleNamespace(trajectories=t)

    on = {"A": result([0.50, 0.52, 0.60, 0.62])}
    off = {"A": result([0.50, 0.52, 0.59, 0.61])}  # one point lower in week 1
    assert feedback_demo.staff_gap_points(on, off, ["A"]) == pytest.approx(1.0)
    title = feedback_demo.projector_figure(on, off, ["A"], tmp_path / "f.png", horizon=1)
    assert "at most 1.0 points from the solid line" in title and (tmp_path / "f.png").exists()
    close = {"A": result([0.50, 0.52, 0.6003, 0.6203])}
    assert "at most 0.03 points" in feedback_demo.projector_figure(on, close, ["A"], tmp_path / "g.png", horizon=1)


@pytest.mark.parametrize("horizon", [1, 20, 52, 53, 156])
def test_compares_crime_line_names_the_weeks_its_number_averages(horizon):
    """The line once said "(last year)" for any horizon, also for a run of 20 weeks."""
    weeks = np.arange(horizon + 1)
    crime = (weeks**2).astype(float)  # a different count each week, so a wrong window gives another number
    result = types.SimpleNamespace(
        trajectories=pd.DataFrame({"replication": 0, "week": weeks, "recorded_crime": crime})
    )
    (change,) = per_replication(result, "recorded_crime", horizon)
    label = compare.crime_window(horizon)
    first, last = (int(w) for w in re.findall(r"\d+", label)) if "-" in label else (horizon, horizon)
    assert last == horizon and change == pytest.approx(crime[first : last + 1].mean() - crime[0]), label


@pytest.mark.parametrize(
    "rates, says",
    [
        ([0.05] * 10, "close to alpha = 0.05 as it should be"),
        ([0.3] * 10, "above alpha = 0.05, outside that interval"),
        ([0.0] * 10, "below alpha = 0.05, outside that interval: the test is cautious here"),
        # 8.1% of 800 tries is 'above' by three binomial standard errors, but the replications disagree this much
        ([0.0, 0.1625] * 5, "close to alpha = 0.05 as it should be"),
    ],
)
def test_the_false_alarm_sentence_follows_its_numbers(rates, says):
    """Once 'close to alpha as it should be' whatever the rate (30% of 800 tries with alpha 0.05 included), then
    judged by binomial standard errors as if the tries, which share their replications, were independent."""
    tests = pd.DataFrame(
        {
            "replication": np.repeat(np.arange(len(rates)), 80),
            "significant": np.concatenate([np.arange(80) < round(80 * r) for r in rates]),
            "tested": True,
        }
    )
    line = evaluation_power.false_alarm_line(tests, 0.002, 0.05)
    rate = 100 * tests.significant.mean()
    assert says in line and f"{rate:.1f}% of 800 tries (95% interval " in line and "at most 0.2 pp" in line, line
    low, high = (float(v) for v in re.search(r"95% interval ([\d.]+)–([\d.]+)%", line).groups())
    assert low <= rate <= high and ("close" in says) == (low <= 5 <= high)


@pytest.mark.parametrize(
    "power, low, says",
    [
        (0.996, 0.97, ">99% (95% interval 97–100%)"),  # once "100% (95% interval 97–100%)": all but certain
        (0.84, 0.78, "84% (95% interval 78–100%)"),
        (1.0, 1.0, "100% (95% interval 100–100%)"),
        (0.996, np.nan, ">99% (no interval: one replication)"),
    ],
)
def test_a_power_near_certain_does_not_read_as_certain(power, low, says):
    row = pd.Series({"power": power, "power_low": low, "power_high": 1.0})
    assert evaluation_power.percent_with_interval(row) == says


def test_surveys_too_small_to_test_are_counted_and_left_out_of_the_false_alarm_rate(tmp_path):
    """20 invited at a 5% response: about one answer a wave, no spread, no test. Such surveys were counted as 'not
    detected' without a word, and the false-alarm rate judged on them: '0.0% ..., close to alpha as it should be'."""
    out = run(
        evaluation_power,
        "evaluation_power",
        tmp_path,
        "horizon_weeks=52",
        "study.arms=[no_promise]",
        "study.sample_sizes=[20,2000]",
        "study.draws=3",
        "survey.response_rate=0.05",
    )
    p = pd.read_csv(out / "power.csv")
    small, large = p[p.sample_size == 20], p[p.sample_size == 2000]
    assert (small.tested < small.surveys).all() and (large.tested == large.surveys).all()
    report = (out / "report.md").read_text()
    untested = int((p.surveys - p.tested).sum())
    assert f"{untested:,} of {int(p.surveys.sum()):,} surveys had fewer than two answers" in report
    assert f"of {int(p.tested.sum()):,} tries" in report
    # the area's true change, which the survey tries to see, comes with its interval (it once stood alone)
    assert ((p.true_change_ci_low <= p.true_change) & (p.true_change <= p.true_change_ci_high)).all()
    t = p[p.outcome == "trust"].iloc[0]
    assert (
        f"- trust (förtroende): true change {fmt_pp(t.true_change)} (95% interval of the mean "
        f"{fmt_pp(t.true_change_ci_low)} to {fmt_pp(t.true_change_ci_high)}); detected in" in report
    )


def test_a_clustered_share_interval_holds_the_truth_near_zero_and_in_the_middle():
    """evaluation_power's powers and false-alarm rate: 20 replications of 5 surveys each, whose worlds differ (a
    replication's chance of detecting is drawn from a beta around the power). Over 2,000 simulated studies the
    95% interval must hold the true power in 92-98%, at a power of 3% as at 50% (here 95.9% and 93.8%). The
    percentile bootstrap over replications once used held it in 87% and 94% of 500 such studies, and in 79-94% of
    studies resampled from the model's own replications."""
    from experiments.studies import clustered_share_interval

    rng = np.random.default_rng(8)
    for power in (0.03, 0.5):
        held = []
        for _ in range(2000):
            hits = rng.binomial(5, rng.beta(4 * power / (1 - power), 4, 20))  # the beta's mean is the power
            lo, hi = clustered_share_interval(hits, np.full(20, 5))
            held.append(lo <= power <= hi)
        assert 0.92 <= np.mean(held) <= 0.98, (power, np.mean(held))


def test_a_power_interval_resamples_whole_replications():
    """A replication's surveys share its world. Two of four replications detect in every survey and two in none:
    the 200 surveys taken as independent would give about 43-57%; taken by replication, most of 0-100%."""
    df = pd.DataFrame(
        {
            "sample_size": 500,
            "replication": np.repeat([0, 1, 2, 3], 50),
            "significant": np.repeat([True, True, False, False], 50),
        }
    )
    ((low, high),) = evaluation_power.power_interval(df)
    assert low <= 0.25 and high >= 0.75
    ((low, high),) = evaluation_power.power_interval(df[df.replication == 0])
    assert np.isnan(low) and np.isnan(high)  # one replication: no interval, said so in the report


@pytest.mark.parametrize(
    "powers, size, enough",
    [([0.02, 0.08, 0.07], 4000, False), ([0.5, 0.85, 0.9], 2000, True), ([0.9, 0.95, 0.7], 1000, True)],
)
def test_a_power_line_speaks_of_the_size_it_names(powers, size, enough):
    """'Even 4,000 invited give only 8%' once took the largest power of any size (2,000's 8%; 4,000 gave 7%)."""
    sizes = pd.DataFrame({"sample_size": [1000, 2000, 4000], "power": powers})
    row, said_enough = evaluation_power.headline(sizes)
    assert row.sample_size == size and said_enough == enough


def test_evaluation_power_gives_each_power_its_interval_and_says_what_it_covers(tmp_path):
    """The powers once stood alone, though each rests on a handful of replications."""
    out = run(evaluation_power, "evaluation_power", tmp_path, "horizon_weeks=104", "study.sample_sizes=[100,400]")
    p = pd.read_csv(out / "power.csv")
    assert ((p.power_low <= p.power) & (p.power <= p.power_high)).all() and (p.power_high > p.power_low).any()
    report = (out / "report.md").read_text()
    assert (
        "Each power's 95% interval counts whole replications, widened by how much they differ, so it covers" in report
    )
    assert "after = 1 and 2 years." in report  # once "one, two and three years" after a two-year run
    observed = p[(p.arm == "observed_2018") & (p.outcome == "trust") & (p.year == 2)]
    enough = observed[observed.power >= 0.8]
    best = enough.loc[enough.sample_size.idxmin()] if len(enough) else observed.loc[observed.sample_size.idxmax()]
    shown = f"{100 * best.power:.0f}% (95% interval {100 * best.power_low:.0f}–{100 * best.power_high:.0f}%)"
    assert shown in report.split("## observed_2018")[1].split("\n")[2], report


def test_evaluation_power_rises_with_sample_size(tmp_path):
    out = run(
        evaluation_power,
        "evaluation_power",
        tmp_path,
        "horizon_weeks=104",
        "area.residents=3000",
        "study.sample_sizes=[100,400,1600]",
        "study.draws=4",
    )
    p = pd.read_csv(out / "power.csv")
    full = p[(p.arm == "full_implementation") & (p.outcome == "trust") & (p.year == 2)].sort_values("sample_size")
    assert full.power.is_monotonic_increasing and full.power.iloc[-1] > full.power.iloc[0]
    null = p[p.arm == "no_promise"]
    assert null.power.mean() < 0.2  # false alarms stay near alpha
    assert (out / "power_curves.png").exists()


def test_evaluation_power_says_when_a_sample_size_is_more_than_the_area_has(tmp_path):
    """The survey invites every resident when asked for more; the report once said '1000 invited' of 400."""
    out = run(evaluation_power, "evaluation_power", tmp_path, "horizon_weeks=52", "study.sample_sizes=[100,1000]")
    p = pd.read_csv(out / "power.csv")
    assert sorted(p.invited.unique()) == [100, 400]
    report = (out / "report.md").read_text()
    assert "1,000 asked for (all 400 residents invited)" in report and "1,000 invited" not in report
    # With no promise a detection is a false alarm (or drift), not power; the report once said "only 7% power".
    null = report.split("## no_promise")[1].split("With no promise at all")[0]
    assert "power" not in null and "nothing to detect" in null and "detected in" in null
    assert "after 1 year," in null and "1 years" not in report  # a 52-week horizon: its one year, in words


def test_evaluation_power_with_one_sample_size_speaks_of_that_size(tmp_path):
    """With study.sample_sizes=[100] the report once said "even 100 invited" and "detected in 8–8% of surveys ...,
    across the sample sizes"."""
    out = run(evaluation_power, "evaluation_power", tmp_path, "horizon_weeks=52", "study.sample_sizes=[100]")
    report = (out / "report.md").read_text()
    null = report.split("## no_promise")[1].split("With no promise at all")[0]
    assert "across the sample sizes" not in null and "% of surveys after 1 year, with 100 invited." in null
    assert "even 100" not in report and re.search(
        r"; 100 invited give (only )?\d+% \(95% interval \d+–\d+%\) power", report
    )


def test_bra2018_headline(tmp_path):
    out = run(bra2018, "bra2018", tmp_path, "horizon_weeks=104")
    t = pd.read_csv(out / "table.csv").set_index("arm")
    assert len(t) == 7
    assert abs(t.loc["Observed 2018", "trust_high_share"]) < 0.03
    assert t.loc["Full implementation", "trust_high_share"] > t.loc["Observed 2018", "trust_high_share"]
    assert (out / "bra2018.png").exists() and "reproduced" in (out / "report.md").read_text()
    assert "one area's count changes from one year to the next by ±" in (out / "report.md").read_text()
    assert t.crime_single_area_sd_pct.notna().all()
    assert "simulated areas (95% interval of the mean " in (out / "report.md").read_text()  # once "95% interval"
    # each recommendation says what it adds over the observed implementation, paired: the arm's own change once
    # stood alone ("training +1.5 pp" beside the observed +1.5 pp)
    gain = t.trust_high_share - t.loc["Observed 2018", "trust_high_share"]
    assert np.allclose(t.trust_high_share_vs_observed, gain)
    assert (t.trust_high_share_vs_observed_ci_low <= gain).all() and (
        gain <= t.trust_high_share_vs_observed_ci_high
    ).all()
    r = t.loc["+ training (rec. 2)"]
    assert (
        f"{fmt_pp(r.trust_high_share_vs_observed)} over the observed implementation (95% interval of the mean "
        f"{fmt_pp(r.trust_high_share_vs_observed_ci_low)} to {fmt_pp(r.trust_high_share_vs_observed_ci_high)})"
    ) in (out / "report.md").read_text()


def reference_arm(trust, delaktighet=0.0, unsafe=0.0, crime=-1.0, crime_sd=5.0):
    from types import SimpleNamespace

    return SimpleNamespace(
        trust_high_share=trust,
        trust_high_share_p05=trust - 0.01,
        trust_high_share_p95=trust + 0.01,
        delaktighet_high_share=delaktighet,
        unsafe_share=unsafe,
        crime_vs_no_promise_pct=crime,
        crime_ci_low_pct=crime - 1,
        crime_ci_high_pct=crime + 1,
        crime_single_area_sd_pct=crime_sd,
    )


@pytest.mark.parametrize(
    "arm, reference, heading, says",
    [
        (reference_arm(0.01), "observed_2018", "reproduced", ["Brå observed", "very small changes", "would not see"]),
        (reference_arm(0.01, unsafe=-0.05), "observed_2018", "not reproduced", ["not all very small"]),
        (reference_arm(0.06), "full_implementation", "not reproduced", ["scenario full_implementation, not the"]),
        (reference_arm(0.0, crime=-9.0), "observed_2018", "reproduced", ["large enough to show"]),
    ],
)
def test_the_bra2018_headline_follows_its_numbers(arm, reference, heading, says):
    """Once 'The finding, reproduced ... very small changes' whatever the reference arm did."""
    heading_line, _, text = bra2018.finding(arm, reference, "Observed 2018", 104, 20)
    assert heading_line == f"## The finding, {heading}" + ("" if heading == "reproduced" else " by this run")
    assert all(s in text for s in says) and ("very small changes" in text) == (heading == "reproduced"), text


def test_bra2018_under_two_years_says_what_it_cannot_measure(tmp_path):
    """Once '±nan%' and 'large enough to show in one area's crime statistics', and 'after 0 years'."""
    out = run(bra2018, "bra2018", tmp_path, "horizon_weeks=20")
    report = (out / "report.md").read_text()
    assert "nan" not in report and "0 years" not in report and "Changes after 20 weeks" in report
    assert "needs two simulated years" in report and "large enough to show" not in report
    assert [bra2018.span(w) for w in (1, 20, 60, 104)] == ["1 week", "20 weeks", "1 year", "2 years"]  # not "1 years"
    assert pd.read_csv(out / "table.csv").crime_single_area_sd_pct.isna().all()


@pytest.mark.parametrize("module", ["compare", "ambition", "feedback_demo", "evaluation_power", "bra2018", "budget"])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, module):
    p = subprocess.run(
        [sys.executable, "-m", f"experiments.{module}", "replications=1", f"output_root={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and "replications" in p.stderr and p.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_a_bad_model_override_in_a_study_exits_2(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "experiments.compare", "police.effort=7", f"output_root={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and "police.effort" in p.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_study_by_year_refuses_a_horizon_shorter_than_a_year(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "experiments.ambition", "horizon_weeks=20", f"output_root={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and "horizon_weeks: 20" in p.stderr and "52 to 1040" in p.stderr, p.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "script, arg, key",
    [
        ("crn", "pairs=abc", "pairs"),
        ("crn", "pairs=2", "pairs"),
        ("crn", "seed=-1", "seed"),
        ("crn", "residents=10", "residents"),  # once accepted here, then a traceback from the model's own range
        ("crn", "hold=world,crim", "hold"),
        ("crn", "output_dir=", "output_dir"),
        ("crn", "pair=3", "pair"),
        ("cluster_benchmark", "runs=abc", "runs"),
        ("cluster_benchmark", "plan_runs=0", "plan_runs"),
        ("cluster_benchmark", "output_dir=", "output_dir"),
    ],
)
def test_the_key_value_scripts_refuse_bad_values_before_running(tmp_path, script, arg, key):
    """Run from an empty folder, so an empty output_dir that slipped through would show as files in it."""
    p = subprocess.run(
        [sys.executable, "-m", f"experiments.{script}", arg],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert p.returncode == 2 and p.stderr.startswith(f"error: {key}=") and p.stderr.count("\n") == 1, p.stderr
    assert list(tmp_path.iterdir()) == []


SLURM = ["executor=dask", "cluster=slurm", "dry_run=true"]  # a dry run: the old code printed its plan, exit 0


@pytest.mark.parametrize(
    "module, args, key",
    [
        ("evaluation_power", ["study.sample_sizes=[0]"], "study.sample_sizes"),
        ("evaluation_power", ["study.sample_sizes=[]"], "study.sample_sizes"),
        ("evaluation_power", ["study.draws=0"], "study.draws"),
        ("evaluation_power", ["study.alpha=2"], "study.alpha"),
        ("evaluation_power", ["horizon_weeks=20"], "horizon_weeks"),
        ("feedback_demo", ["study.gif_every_weeks=0"], "study.gif_every_weeks"),
        ("feedback_demo", ["study.scenario=no_promise"], "feedback_demo compares feedback about a promise"),
        ("bra2018", ["study.report_week=abc"], "study.report_week"),
        ("bra2018", ["study.arms={}"], "study.arms"),
        # the report measured crime 'against no promise at all' against a scenario with a promise
        ("bra2018", ["study.counterfactual=full_implementation"], "study.counterfactual: 'full_implementation'"),
        ("bra2018", ["study.counterfactual=nosuch"], "study.counterfactual: 'nosuch' (allowed: one of full_implementa"),
        ("ambition", ["study.executor=foo"], "study.executor"),
        ("ambition", ["study.workers=-1"], "study.workers"),
        ("budget", ["study.effort=abc"], "study.effort"),
        ("budget", ["horizon_weeks=20"], "horizon_weeks"),  # once a crash after the whole grid had run
        ("ambition", ["horizon_weeks=51"], "horizon_weeks"),
        ("budget", ["study.hours_per_week=-5"], "study.hours_per_week"),
        ("budget", ["study.grid.promise.actions=[abc]"], "promise.actions"),
        ("robust", ["study.gain_at_least=abc"], "study.gain_at_least"),
        ("robust", ["study.hours_budget=-1"], "study.hours_budget"),
        ("robust", ["study.conditions.police.effort=[0.3,3.0]"], "police.effort in study.conditions"),
        ("robust", ["study.conditions.police.effort=[0.5]"], "police.effort in study.conditions"),
        ("robust", ["study.designs.promise.actions=[]"], "study.designs.promise.actions"),
        ("sensitivity", ["experiment@study=sensitivity_tiny", "study.vary.police.effort=[0.5]"], "study.vary"),
        # a study of promise designs on a base without a promise ran promises under the name no_promise
        ("ambition", ["study.scenario=no_promise"], "ambition varies a promise, but its base has none"),
        ("budget", ["promise.active=false"], "budget varies a promise, but its base has none"),
        ("robust", ["study.scenario=no_promise"], "robust varies a promise, but its base has none"),
        ("ambition", ["study.grid.promise.active=[0,1]"], "promise.active cannot be varied in ambition"),
        # under uncertainty=posterior the draws set the uncertain coefficients: one set or varied was ignored
        ("ambition", ["behaviour.broken_promise_ratio=1.0"], "behaviour.broken_promise_ratio is set by hand"),
        ("ambition", ["+study.grid.behaviour.broken_promise_ratio=[1.0,5.0]"], "broken_promise_ratio is varied"),
        ("robust", ["+study.conditions.behaviour.bad_contact_ratio=[1.0,3.0]"], "bad_contact_ratio is varied"),
        (
            "sensitivity",
            [
                "experiment@study=sensitivity_tiny",
                'study.base=["scenario=full_implementation","area.residents=300","uncertainty=posterior"]',
                "+study.vary.behaviour.broken_promise_ratio=[1.0,4.0]",
            ],
            "broken_promise_ratio is varied",
        ),
        ("assumptions", ["+answers.x=[full,observed,nosuch]"], "answers.x"),
        ("assumptions", ["+answers.x=[full,observed]"], "answers.x"),
        ("assumptions", ['+arms.x="scenario=full_implementation area=suburb"'], "arms.x"),
        ("feedback_demo", ["study.staff_on=abc"], "arm 'No feedback' (scenario=full_implementation"),
        (
            "compare",
            ['study.arms=["police.effort=1","police.effort=9"]'],
            "arm 'police.effort=9' (police.effort=9): inv",
        ),
        ("compare", ["output_dir=x"], "unknown setting output_dir (did you mean output_root?)"),
        # a bare word once gave Hydra's "Error parsing override 'suburb' missing EQUAL at '<EOF>' See https://..."
        ("compare", ["suburb"], "'suburb' needs a key: give key=value (such as area=suburb)"),
        ("sensitivity", ["morris"], "'morris' needs a key: give key=value (--help lists the settings)"),
        ("sensitivity", ["--dry-run"], "unknown option --dry-run: settings are given as dry_run=... (--help lists"),
        ("sensitivity", ["n=16)"], "cannot read the override 'n=16)': extraneous input ')' (an override is"),
        ("compare", ["--cfg", "job"], "unknown option --cfg: settings are given as key=value (--help lists them)"),
        ("compare", ["hydra.run.dir=x"], "hydra.run.dir: this command takes no Hydra settings"),
        ("feedback_demo", ["+hydra.job.chdir=true"], "hydra.job.chdir: this command takes no Hydra settings"),
        ("sensitivity", ["hydra.run.dir=x"], "its output folder is output_dir=PATH"),
        ("robust", ["hydra.run.dir=x"], "its output folder is output_dir=PATH"),
        ("assumptions", ["hydra.run.dir=x"], "its output folder is output_dir=PATH"),
        ("calibrate", ["hydra.run.dir=x"], "its output folder is output_dir=PATH"),
        # a whole entry of the wrong shape once crashed in the study: "Input cfg is not an OmegaConf config
        # object (int)", "'list' object has no attribute 'items'", "No group keys passed!", "IndexError: too many
        # indices", "string indices must be integers"
        ("ambition", ["study.grid=1"], "invalid value for study.grid: 1 (allowed: a mapping parameter: [values],"),
        ("ambition", ["study.grid=[1,2]"], "invalid value for study.grid: [1,2] (allowed: a mapping"),
        ("budget", ["study.grid={}"], "study.grid is empty: name at least one promise lever and its values"),
        ("robust", ["study.designs=abc"], "invalid value for study.designs: abc (allowed: a mapping"),
        ("sensitivity", ["study.vary={}"], "study.vary is empty: name at least one parameter and its range"),
        ("sensitivity", ["study.fixed=[]"], "invalid value for study.fixed: [] (allowed: a mapping parameter: value"),
        ("bra2018", ["study.arms=abc"], "invalid value for study.arms: 'abc' (allowed: a list of overrides or a"),
        ("feedback_demo", ["study.arms=1"], "invalid value for study.arms: 1 (allowed: a list of overrides or a"),
        ("compare", ["study.arms={Thin:1,Wide:2}"], "arm 'Thin' (1): '1' needs a key: give key=value"),
        ("evaluation_power", ["study.arms={a:1}"], "invalid value for study.arms: {'a': 1} (allowed: a list of scen"),
        # these once ended in "Input cfg is not an OmegaConf config object (int)" or "'int' object is not iterable"
        ("assumptions", ["answers=1"], "invalid value for answers: 1 (allowed: a mapping name: [arm, minus arm, o"),
        ("assumptions", ["arms=abc"], "invalid value for arms: 'abc' (allowed: a mapping name: scenario and overri"),
        ("sensitivity", ["study.base=1"], "invalid value for study.base: 1 (allowed: a list of overrides, such as ["),
        # a mapping for a list once gave "unknown parameter study.sample_sizes (did you mean survey.sample_size?)",
        # and a study's own key was looked up among another study's
        ("evaluation_power", ["study.sample_sizes={a:1}"], "invalid value for study.sample_sizes: {a:1} (allowed: a"),
        ("sensitivity", ["study.base={a:1}"], "invalid value for study.base: {a:1} (allowed: a list, as its default;"),
        ("budget", ["study.efort=1"], "unknown setting study.efort (did you mean study.effort or study.executor?)"),
        # empty, the 'off' arms ran on the scenario's own staff feedback, still labelled as without it
        ("feedback_demo", ["study.staff_off="], "invalid value for study.staff_off: '' (allowed: overrides that turn"),
        # a value holding '=' gave Hydra's "mismatched input '='" or "no viable alternative", not how to quote it
        (
            "feedback_demo",
            ["study.staff_on=feedback.staff=0.8"],
            "is quoted, such as 'study.staff_on=\"feedback.staff=0.8\"'",
        ),
        ("sensitivity", ["study.base=[area=suburb,seed=3]"], 'quoted, such as \'study.base=["area=suburb","seed=3"]\''),
        # unquoted overrides in a list or mapping: Hydra's "no viable alternative", now with the quoted form
        ("compare", ["study.arms=[seed=1,seed=2]"], "'[seed='; each override in a list is quoted, such as 'study.a"),
        ("compare", ["study.arms={A:seed=1,B:seed=2}"], 'quoted, such as \'study.arms={A: "seed=1", B: "seed=2"}\''),
        # one arm or answer added by name was "unknown setting answers.x (did you mean answers?)", and an empty
        # mapping merged nothing: answers={} ran the default answers
        (
            "assumptions",
            ["arms.x=scenario=no_promise"],
            "a value that holds '=' is quoted, such as 'arms.x=\"scenario=",
        ),
        ("assumptions", ["answers.x=[full,nosuch,trust_high_share]"], "answer x names an arm that is not in arms"),
        ("assumptions", ["answers={}"], "invalid value for answers: {} (allowed: a mapping name: [arm, minus arm,"),
        (
            "assumptions",
            ["arms={A:seed=1}"],
            "cannot read arms={A:seed=1}: no viable alternative at input '{A:seed='; each override in a mapping is q",
        ),
        # a run setting varied like a parameter: study.vary.seed=[1,5] planned 9,134 runs, each on a drawn seed
        ("sensitivity", ["study.vary.seed=[1,5]"], "seed cannot be varied in study.vary: it sets how the study runs"),
        ("ambition", ["study.grid.horizon_weeks=[52,104]"], "horizon_weeks cannot be varied in study.grid: it sets"),
        ("robust", ["study.conditions.replications=[1,3]"], "replications cannot be varied in study.conditions: it"),
        # a value given twice ran each design twice and reported (or ranked) it twice
        ("ambition", ["study.grid.promise.actions=[1,1.0]"], "study.grid.promise.actions repeats 1.0: give each value"),
        ("robust", ["study.designs.promise.actions=[1,2,1]"], "study.designs.promise.actions repeats 1: give each"),
        ("ambition", ["study.grid.police.competing_demand=[0,0.0]"], "study.grid.police.competing_demand repeats 0.0"),
        # a sweep once reached the config as Hydra's sweep object: "Unexpected type annotation: Set[str]"
        (
            "ambition",
            ["study.grid.police.effort=range(0.5,1.01,0.25)"],
            "cannot read study.grid.police.effort=range(0.5,1.01,0.25): a sweep, where a setting takes one value or a "
            "list: give [0.5,0.75,1.0]",
        ),
        ("budget", ["study.grid.promise.actions=1,2"], "study.grid.promise.actions=1,2: a sweep, where a setting ta"),
        ("sensitivity", ["study.vary.police.effort=interval(0.5,1)"], "a sweep, where a setting takes one value or"),
        ("robust", ["area=suburb,small_town"], "cannot read area=suburb,small_town: a sweep, where a setting takes o"),
        # a reference without a promise ran, every arm then a change to a promise that was not there
        ("bra2018", ["study.reference=no_promise"], "invalid value for study.reference: 'no_promise' (allowed: a sce"),
        # another study's entry was added and never read: compare and reach ran their arms, budget its grid
        (
            "compare",
            ["study.grid={promise.actions:[1]}"],
            "unknown setting study.grid: this command has no study.grid (it",
        ),
        ("budget", ["study.vary.police.effort=[0.3,1]"], "unknown setting study.vary.police.effort: this command has "),
        ("sensitivity", ["study.arms={a:b}"], "this command has no study.arms (it has study.vary and study.fixed)"),
        # cluster=slurm was taken and ignored without executor=dask; its jobs=0 or memory=abc reached dask-jobqueue
        ("sensitivity", ["cluster=slurm", "dry_run=true"], "cluster=slurm starts Dask workers: add executor=dask (exe"),
        ("sensitivity", [*SLURM, "cluster.jobs=0"], "invalid value for cluster.jobs: 0 (allowed: a whole number of at"),
        (
            "sensitivity",
            [*SLURM, "cluster.memory=abc"],
            "invalid value for cluster.memory: 'abc' (allowed: a size, such",
        ),
        (
            "sensitivity",
            [*SLURM, "cluster.walltime=2h"],
            "invalid value for cluster.walltime: '2h' (allowed: Slurm's ti",
        ),
        ("robust", ["scenario=x"], "unknown setting scenario (did you mean study.scenario?)"),
        # an arm that sets what pairs it ran on other seeds (or for another horizon) under a report calling it paired
        (
            "compare",
            ['study.arms={A: "scenario=observed_2018", B: "scenario=full_implementation seed=5"}'],
            "arm 'B' (scenario=full_implementation seed=5): seed is the study's, the same for every arm so that",
        ),
        (
            "feedback_demo",
            ['study.arms={A: "horizon_weeks=52", B: "", C: ""}'],
            "arm 'A' (scenario=full_implementation horizon_weeks=52 feedback.staff=0.8): horizon_weeks is",
        ),
        (
            "bra2018",
            ['study.arms={A: "", B: "uncertainty=fixed"}'],
            "arm 'B' (scenario=observed_2018 uncertainty=fixed): uncertainty is the study's",
        ),
        ("assumptions", ['arms.x="scenario=full_implementation horizon_weeks=52"'], "arms.x: horizon_weeks=52 cannot"),
        ("assumptions", ['arms.x="area.residents=300"'], "area.residents=300 cannot be set in one arm: it is the st"),
        ("assumptions", ['arms.x="behaviour.good_contact=0.1"'], "arms.x: behaviour.good_contact=0.1 cannot be set"),
        # a base value of a lever the study varies or holds: the study ran another value "around" it
        ("sensitivity", ['study.base=["police.effort=0.5"]'], "study.base sets police.effort=0.5, but study.vary va"),
        (
            "sensitivity",
            ['study.base=["partners.share=0.3"]', "study.fixed.partners.share=0", "study.vary={police.effort: null}"],
            "study.base sets partners.share=0.3, but study.fixed holds it: give partners.share in one place",
        ),
        # a value for every run of something the study sets itself: one silently won, the report named the other
        (
            "compare",
            ["scenario=no_promise"],
            "scenario=no_promise: the study sets scenario itself (arm 'scenario=obser",
        ),
        (
            "feedback_demo",
            ["feedback.interval_weeks=8"],
            "the study sets feedback.interval_weeks itself (arm 'No feedb",
        ),
        (
            "bra2018",
            ["police.priority=0.5"],
            "the study sets police.priority itself (arm '+ clear priority (rec. 1)' h",
        ),
        (
            "budget",
            ["police.planned_hours_per_week=10"],
            "sets police.planned_hours_per_week itself (study.hours_per_w",
        ),
        ("budget", ["police.effort=0.9"], "police.effort=0.9: the study sets police.effort itself (study.effort); a"),
        ("ambition", ["promise.actions=2"], "promise.actions=2: the study sets promise.actions itself (study.grid); a"),
        ("evaluation_power", ["survey.sample_size=500"], "the study sets survey.sample_size itself (study.sample_s"),
        ("feedback_demo", ["feedback.staff=0.2"], "the study sets feedback.staff itself (study.staff_on and study.st"),
        ("feedback_demo", ["scenario=observed_2018"], "the study sets scenario itself (study.scenario); a value for e"),
        ("bra2018", ["scenario=full_implementation"], "the study sets scenario itself (study.reference, and the arms)"),
        (
            "ambition",
            ["scenario=observed_2018"],
            "the study sets scenario itself (study.scenario); a value for every run",
        ),
        # a scenario given as [] once ran the study on whatever Hydra made of it; 0 gave "Got int"
        ("ambition", ["study.scenario=[]"], "invalid value for study.scenario: [] (allowed: one of full_implementa"),
        ("budget", ["study.scenario=0"], "invalid value for study.scenario: 0 (allowed: one of full_implementation"),
        ("feedback_demo", ["study.scenario=[]"], "invalid value for study.scenario: [] (allowed: one of full_implem"),
        ("bra2018", ["study.reference=[]"], "invalid value for study.reference: [] (allowed: one of full_implement"),
        ("bra2018", ["study.counterfactual=0"], "invalid value for study.counterfactual: 0 (allowed: one of full_im"),
        ("robust", ["study.scenario=[]"], "invalid value for study.scenario: [] (allowed: one of full_implementat"),
        ("evaluation_power", ["study.arms=[1,2]"], "invalid value for study.arms: [1, 2] (allowed: a list of scena"),
        # a scheduler's address without executor=dask was taken and ignored: the work ran on this machine
        *[
            (
                m,
                ["scheduler=tcp://127.0.0.1:9"],
                "scheduler=tcp://127.0.0.1:9 names a Dask scheduler: add executor=dask",
            )
            for m in ("sensitivity", "robust", "assumptions", "calibrate")
        ],
        ("budget", ["study.scheduler=tcp://127.0.0.1:9"], "add study.executor=dask (study.executor is processes)"),
        # two noise runs gave a share of the spread whose 95% interval held the truth in 60-85% of simulated studies
        ("compare", ["noise_replications=2"], "invalid value for noise_replications: 2 (allowed: 0 to skip, or at l"),
        # workers=4 with executor=serial was taken and ignored: the study ran one run at a time
        *[
            (m, ["executor=serial", "workers=4"], "workers=4 runs that many at once: add executor=processes or dask")
            for m in ("sensitivity", "robust", "assumptions", "calibrate")
        ],
        ("ambition", ["study.executor=serial", "study.workers=3"], "add study.executor=processes or dask (study.exec"),
    ],
)
def test_a_studys_own_bad_setting_exits_2_naming_it_before_anything_runs(tmp_path, capsys, module, args, key):
    """Each of these once crashed with a traceback (some only after the whole run), ran on a nonsense value,
    or (hydra.*) was taken and ignored while the whole study ran into its default folder."""
    import importlib

    where = "output_dir" if module in ("robust", "sensitivity", "assumptions", "calibrate") else "output_root"
    code = importlib.import_module(f"experiments.{module}").main([*args, f"{where}={tmp_path / 'out'}"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and key in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_a_study_whose_runs_fail_leaves_no_folder(tmp_path, monkeypatch):
    import experiments.studies as studies

    def fails(*args, **kwargs):
        raise RuntimeError("a replication failed")

    monkeypatch.setattr(studies.sim, "run", fails)
    s = load_study("compare", [*TINY, f"output_root={tmp_path}"])
    with pytest.raises(RuntimeError, match="a replication failed"):
        compare.STUDY.run(s, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_study_whose_analysis_fails_leaves_no_folder(tmp_path, monkeypatch):
    """The folder is made once the runs are done; if its tables, figures or report then fail, it goes again."""

    def fails(ctx):
        (ctx.out / "half.csv").write_text("a\n")
        # while it is written, the folder is a hidden stage: a study killed now leaves no visible folder
        assert [p.name.startswith(".") for p in (tmp_path / "compare").iterdir()] == [True]
        raise RuntimeError("the analysis failed")

    monkeypatch.setattr(compare.STUDY, "analyse", fails)
    s = load_study("compare", [*TINY, "horizon_weeks=4", f"output_root={tmp_path}"])
    with pytest.raises(RuntimeError, match="the analysis failed"):
        compare.STUDY.run(s, progress=False)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "module, args",
    [
        ("scripts.planner_time", ["0"]),
        ("scripts.planner_time", ["abc"]),
        ("scripts.app_step_time", ["-3"]),
        ("experiments.sweep_benchmark", ["--runs", "0"]),
    ],
)
def test_a_bad_count_for_a_timing_script_exits_2_before_anything_starts(capsys, module, args):
    """These once raised a raw ValueError, or timed zero runs and printed 'inf ms'."""
    import importlib

    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(module).main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "must be a whole number from 1 to" in err, err


@pytest.mark.parametrize("module", [ambition, budget])
def test_a_grid_of_one_parameter_gets_its_heatmaps(tmp_path, module):
    """Once a ValueError from pandas after all the runs ('Grouper for promise.actions not 1-dimensional')."""
    out = run(
        module,
        module.STUDY.name,
        tmp_path,
        "horizon_weeks=52",
        "study.executor=serial",
        "study.grid={promise.actions:[1,2]}",
    )
    assert sorted(p.name for p in out.glob("heatmap_*.png")) and (out / "report.md").exists()


def test_a_damaged_store_under_a_grid_study_is_one_line_with_advice(tmp_path, capsys):
    args = [*TINY, "horizon_weeks=52", "study.executor=serial", "study.grid={promise.actions:[1]}"]
    assert ambition.main([*args, f"output_root={tmp_path}"]) == 0
    (manifest,) = tmp_path.glob("ambition/sweep_*/manifest.json")
    manifest.write_text("{not json")
    capsys.readouterr()
    assert ambition.main([*args, f"output_root={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "manifest.json is damaged" in err and err.count("\n") == 1, err


@pytest.mark.parametrize(
    "module, args",
    [
        ("compare", ["output_root={}"]),
        ("sensitivity", ["output_dir={}"]),
        ("robust", ["output_dir={}"]),
        ("calibrate", ["output_dir={}"]),
        ("assumptions", ["output_dir={}"]),
        ("emulator", ["build", "output_dir={}"]),
        ("crn", ["output_dir={}"]),
        ("cluster_benchmark", ["output_dir={}"]),
        ("sweep_benchmark", ["--out", "{}"]),
        ("benchmark", ["--out", "{}"]),
    ],
)
def test_an_output_folder_that_names_a_file_is_refused_before_anything_runs(tmp_path, capsys, module, args):
    """Each once ran in full (minutes, for most) and then failed with FileExistsError or NotADirectoryError."""
    notes = tmp_path / "notes.md"
    notes.write_text("mine")
    code = exit_code(module, [a.format(notes) for a in args])
    err = capsys.readouterr().err
    assert code == 2 and "notes.md" in err and ("a file" in err or "must name a folder" in err), err
    assert notes.read_text() == "mine" and list(tmp_path.iterdir()) == [notes]


@pytest.mark.parametrize(
    "module, args",
    [
        ("compare", ["output_root={}"]),
        ("sensitivity", ["output_dir={}"]),
        ("robust", ["output_dir={}"]),
        ("emulator", ["build", "output_dir={}"]),
        ("crn", ["output_dir={}"]),
        ("cluster_benchmark", ["output_dir={}"]),
        ("benchmark", ["--out", "{}"]),
    ],
)
@pytest.mark.parametrize("where", ["under a file", "/proc"])
def test_an_output_folder_that_cannot_be_made_is_refused_before_anything_runs(tmp_path, capsys, module, args, where):
    """A folder under a file, or in a place the system refuses (/proc), once ran the whole command and then ended
    in a traceback from mkdir (FileNotFoundError, NotADirectoryError)."""
    if where == "/proc" and not Path("/proc/self").is_dir():
        pytest.skip("no /proc on this system")
    notes = tmp_path / "notes.md"
    notes.write_text("mine")
    target = notes / "out" if where == "under a file" else Path("/proc/promise-sim-out")
    code = exit_code(module, [a.format(target) for a in args])
    err = capsys.readouterr().err
    why = "notes.md is a file" if where == "under a file" else "making a folder in /proc failed: No such file"
    assert code == 2 and why in err and err.count("\n") <= 2, err  # argparse adds its usage line
    assert list(tmp_path.iterdir()) == [notes] and not target.exists()


@pytest.mark.parametrize(
    "module, args",
    [
        ("sensitivity", ["experiment@study=sensitivity_tiny", "output_dir={}"]),
        ("robust", ["output_dir={}"]),
        ("calibrate", ["output_dir={}"]),
        ("assumptions", ["output_dir={}"]),
        ("emulator", ["build", "output_dir={}"]),
        ("emulator", ["sensitivity", "output_dir={}"]),
        ("crn", ["output_dir={}"]),
        ("cluster_benchmark", ["output_dir={}"]),
        ("sweep_benchmark", ["--out", "{}"]),
        ("benchmark", ["--out", "{}"]),
    ],
)
def test_an_output_folder_of_other_files_is_refused_and_one_a_command_wrote_is_reused(
    tmp_path, capsys, monkeypatch, module, args
):
    """These commands write into their folder (sweeps resume there): pointed at docs/, the project root or a
    folder of one's own, they mixed their files in and overwrote same-named ones (report.md, a .csv)."""

    from experiments.settings import OUTPUT_MARK, make_output_folder

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("mine")
    code = exit_code(module, [a.format(mine) for a in args])
    err = capsys.readouterr().err
    assert code == 2 and "no earlier output of this project; name a new or empty folder" in err, err
    assert [p.name for p in mine.iterdir()] == ["report.md"] and (mine / "report.md").read_text() == "mine"
    earlier = make_output_folder(tmp_path / "earlier")  # what a run of a command leaves: its marker
    (earlier / "report.md").write_text("an earlier report")
    from experiments.settings import is_foreign

    assert not is_foreign(str(earlier)) and is_foreign(str(mine)) and (earlier / OUTPUT_MARK).exists()
    monkeypatch.chdir(tmp_path)  # outputs under results/ of an earlier version, without the mark, stay usable
    (tmp_path / "results" / "crn").mkdir(parents=True)
    (tmp_path / "results" / "crn" / "report.md").write_text("an earlier version's report")
    assert not is_foreign("results/crn") and is_foreign("mine")


@pytest.mark.parametrize(
    "module, args, shows",
    [
        ("compare", ["--help"], ["output_root:", "experiment/compare.yaml", "arms:"]),
        ("ambition", ["area=suburb", "-h"], ["replications:", "grid:"]),
        ("sensitivity", ["--help"], ["method:", "experiment/sensitivity_levers.yaml", "vary:"]),
        ("sensitivity", ["experiment@study=sensitivity_tiny", "--help"], ["experiment/sensitivity_tiny.yaml"]),
        ("robust", ["--help"], ["hours_budget"]),
        ("calibrate", ["--help"], ["output_dir:"]),
        ("assumptions", ["--help"], ["answers:"]),
        ("emulator", ["--help"], ["python -m experiments.emulator build", "sobol_n:"]),
        ("crn", ["--help"], ["python -m experiments.crn [pairs=24]"]),
        ("cluster_benchmark", ["--help"], ["plan_runs"]),
    ],
)
def test_help_prints_the_settings_and_runs_nothing(tmp_path, capsys, monkeypatch, module, args, shows):
    """--help once failed with Hydra's 'LexerNoViableAltException: --help' (exit 2)."""
    import importlib

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(f"experiments.{module}").main(args)
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and all(s in out for s in shows), out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "gain, low, says",
    [
        (0.04, 0.01, "gives the most: high confidence +4.0 pp"),
        (0.02, -0.01, "its 95% interval of the mean reaches -1.0 pp, so it may not beat no promise"),
        (0.0, -0.01, "no design gains high confidence against no promise; the best"),
    ],
)
def test_the_budget_answer_follows_its_numbers(gain, low, says):
    """Once 'gives the most ... a gain in 0% of plausible worlds' with no budget at all (study.hours_per_week=0)."""
    key = "gain_trust_high_share_change_y2"
    top = pd.Series(
        {
            "promise.actions": 1,
            key: gain,
            f"{key}_ci_low": low,
            f"{key}_p_positive": 0.5,
            "gain_delaktighet_high_share_change_y2": 0.01,
        }
    )
    line = budget.in_short(top, ["promise.actions"], key, 2, "plausible worlds")
    assert says in line and ("gives the most" in line) == (gain > 0), line
    # at 5 hours a week six designs once tied at +0.0 pp and the report called the first of them "the best"
    assert "exactly as well" not in line
    tied = budget.in_short(top, ["promise.actions"], key, 2, "plausible worlds", ties=5)
    assert tied.endswith(". 5 other designs do exactly as well in high confidence."), tied
    assert budget.in_short(top, ["promise.actions"], key, 2, "worlds", ties=1).endswith(
        "1 other design does exactly as well in high confidence."
    )


def interrupt_once_running(args: list[str], cwd: Path) -> tuple[int, str]:
    """Start a command as from a terminal, press ctrl-c once its first progress bar moves, return (status, stderr)."""
    import signal
    import threading
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal delivers it
    )
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(lambda: proc.stderr.read(1), "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 180
    while "/s]" not in "".join(seen) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "it finished before it could be interrupted: give it more work"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    reader.join(timeout=10)
    return proc.returncode, "".join(seen)


@pytest.mark.parametrize(
    "args, says",
    [
        (["experiments.compare", "output_root=out"], "interrupted: no results were written"),
        (["experiments.ambition", "output_root=out"], "interrupted: the runs already finished are kept"),
        (["experiments.sensitivity", "output_dir=out"], "interrupted: the runs already finished are kept"),
    ],
)
def test_ctrl_c_ends_a_study_with_one_line(tmp_path, args, says):
    """Once a traceback of 40-odd lines ending in KeyboardInterrupt (and exit status -2)."""
    status, err = interrupt_once_running(args, tmp_path)
    assert status == 130 and "Traceback" not in err and err.strip().splitlines()[-1].startswith(says), err[-3000:]
    if "compare" in args[0]:
        assert list(tmp_path.iterdir()) == []  # a study's folder is whole or absent


def test_each_answer_of_the_assumptions_study_names_its_outcome_and_arms(tmp_path):
    """Three answers were once listed as 'full minus observed: +2.7 pp' with no word of which outcome changed."""
    code = exit_code(
        "assumptions", ["n=2", "residents=200", "horizon_weeks=20", "executor=serial", f"output_dir={tmp_path}"]
    )
    assert code == 0
    answers = (tmp_path / "report.md").read_text().split("## The answers")[1].split("##")[0]
    assert "- full minus observed (change in `trust_high_share`, arm `full` minus `observed`): " in answers
    assert (
        "- full minus observed delaktighet (change in `delaktighet_high_share`, arm `full` minus `observed`): "
        in answers
    )
    # what the ranges cover; they once read "5-95% over the coefficients", silent on the seed each point runs
    assert answers.count("5-95% over the design points") == 4
    assert "replication noise (a seed per point)" in answers and "not a predictive interval" in answers


def test_trajectory_axes_give_shares_of_residents_in_percent():
    """Dialogue participation is a share of residents; its panel once read 'mean, 0-100 scale'."""
    from experiments.studies import axis_label

    assert axis_label("participation_rate") == axis_label("trust_high_share") == "% of residents"
    assert axis_label("trust_mean") == "mean, 0-100 scale"


def test_a_coefficient_with_no_effect_is_not_among_an_answers_leaders():
    """At a one-week horizon the assumptions study once named three coefficients with mu* 0 as an answer's top
    three, and told an evaluator to measure them."""
    from experiments.assumptions import leading_lines

    indices = pd.DataFrame(
        {
            "answer": ["a", "a", "a", "b", "b", "b"],
            "coefficient": ["x", "y", "z", "x", "y", "z"],
            "mu_star": [0.02, 0.0, 0.0, 0.0, 0.0, 0.0],
            "mu_star_conf": [0.013, 0.0, 0.0, 0.0, 0.0, 0.0],
            "rank": [1, 2, 3, 1, 2, 3],
        }
    )
    text = "\n".join(leading_lines(indices, ["a", "b"], "mu_star", 200))
    assert (
        "- **a**: `x` (mu_star 0.02 ± 0.013)." in text and "- **b**: none moves it here (every mu_star is 0)." in text
    )
    assert "Each ± is the half-width of the 95% bootstrap interval (200 resamples of the design points)" in text
    assert "`x` (among the top three for 1 of 2 answers)" in text and "`y`" not in text and "`z`" not in text
    quiet = "\n".join(leading_lines(indices.assign(mu_star=0.0), ["a", "b"], "mu_star", 200))
    assert "Nothing yet: no answer moves with the coefficients" in quiet


@pytest.mark.parametrize(
    "name, higher, same, says",
    [
        ("", 0.0, 1.0, "the same as the observed implementation in all paired plausible worlds"),
        ("", 0.5, 0.25, "beats the observed implementation in 50% of paired plausible worlds (the same in 25%)"),
        ("A", 0.9, 0.0, "A beats the observed implementation in 90% of paired plausible worlds"),
        # 199 of 200 worlds read "in 100% ... (the same in 0%)"
        ("A", 0.995, 0.005, "A beats the observed implementation in >99% of paired plausible worlds (the same in <1%)"),
    ],
)
def test_pairs_that_tie_are_said_to_be_the_same_not_counted_as_losses(name, higher, same, says):
    """At a one-week horizon bra2018 said every recommendation 'beats the observed implementation in 0%' of worlds:
    every pair tied, and a tie was read as a loss."""
    pairs = "paired plausible worlds"
    assert (
        pair_tally(name, "beats the observed implementation", "the observed implementation", higher, same, pairs)
        == says
    )


def test_a_setting_named_like_a_config_group_takes_its_value():
    """robust's `area` and the emulator's `scenario` are plain settings, but Hydra read `area=suburb` as a choice in
    the config group of that name: "Could not override 'area'. No match in the defaults list", so neither could be
    set from the command line."""
    from experiments.settings import compose_settings

    assert compose_settings("robust", ["area=suburb"]).area == "suburb"
    assert compose_settings("emulator", ["scenario=observed_2018"]).scenario == "observed_2018"
    assert compose_settings("sensitivity", ["cluster=slurm"]).cluster.kind == "slurm"  # a real group: still a choice


def test_the_assumptions_study_takes_one_arm_or_answer_by_name():
    """answers.x=... once needed Hydra's + (without it: "unknown setting answers.x"); arms={...} replaces the arms
    as study.arms does, so answers naming arms no longer there are refused by name."""
    from experiments.assumptions import load_settings
    from sim.params import ConfigError

    cfg = load_settings(["answers.unsafe=[full,observed,unsafe_share]", 'arms.none="scenario=no_promise"'])
    assert list(cfg.answers.unsafe) == ["full", "observed", "unsafe_share"] and cfg.arms.none == "scenario=no_promise"
    assert "full_minus_observed" in cfg.answers and "observed" in cfg.arms  # the others stay
    with pytest.raises(ConfigError, match=r"^answer full_minus_observed names an arm that is not in arms: full, ob"):
        load_settings(['arms={a: "scenario=no_promise"}'])
