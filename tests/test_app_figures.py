"""The app's figures: a blitted frame (static parts reused, moving parts redrawn) shows what a full draw shows; the
status line above them; and the planner's words on how its check with a simulation compares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("solara", reason="the app's extra is not installed")

from sim.app import DEFAULTS, PLANNER_TEXT, TEXT, TWINS, TrainerModel, agreement, status_text, twin_settings  # noqa: E402
from sim.app_figures import MapFigure, OutcomeFigure, round_range  # noqa: E402

from .pixels import C1, colour_share, differing_share  # noqa: E402


@pytest.fixture(scope="module")
def model() -> TrainerModel:
    m = TrainerModel({"residents": 1000})
    for _ in range(40):
        m.step()
    return m


def frame(model: TrainerModel, week: int) -> tuple:
    df = model.datacollector.get_model_vars_dataframe().loc[:week]
    return df, model.history[week]


def test_a_blitted_plot_frame_matches_a_full_draw(model):
    """Step the figure from week 20 to week 38 (same axis ranges), then compare with a fresh figure's full draw:
    the marker and lines of week 20 must be gone and week 38's drawn."""
    t = TEXT["en"]
    reused = OutcomeFigure(t, None)
    df20, _ = frame(model, 20)
    df38, _ = frame(model, 38)
    reused.png(df20, None, 38, 20, fixed_scale=True)  # the 0-100 scale keeps the ranges of both weeks equal
    blitted = reused.png(df38, None, 38, 38, fixed_scale=True)
    assert reused.blit.full_draws == 1, "the static parts were drawn again although no range changed"
    full = OutcomeFigure(t, None).png(df38, None, 38, 38, fixed_scale=True)
    stale = OutcomeFigure(t, None).png(df20, None, 38, 20, fixed_scale=True)
    assert differing_share(blitted, full) < 0.001
    assert differing_share(stale, full) > 0.001, "the test cannot tell week 20 from week 38"


def test_a_blitted_map_frame_matches_a_full_draw(model):
    def figure() -> MapFigure:
        return MapFigure(model.layout, 1, "trust", "trust")

    reused = figure()
    _, snap5 = frame(model, 5)
    _, snap38 = frame(model, 38)
    reused.png([(snap5, "this run")], "Week 5", "trust")
    blitted = reused.png([(snap38, "this run")], "Week 38", "trust")
    full = figure().png([(snap38, "this run")], "Week 38", "trust")
    stale = figure().png([(snap5, "this run")], "Week 5", "trust")
    assert reused.blit.full_draws == 1
    assert differing_share(blitted, full) < 0.001
    assert differing_share(stale, full) > 0.001


def test_the_static_parts_are_drawn_again_when_a_range_changes(model):
    t = TEXT["en"]
    fig = OutcomeFigure(t, None)
    df, _ = frame(model, 40)
    fig.png(df, None, 40, 40, fixed_scale=True)
    fig.png(df, None, 40, 40, fixed_scale=False)  # autoscaled ranges: new axes
    assert fig.blit.full_draws == 2
    fig.png(df, None, 60, 40, fixed_scale=False)  # past the first year: the week axis grows
    assert fig.blit.full_draws == 3


@pytest.mark.parametrize(
    "values, expected",
    [
        ([0.0, 0.0], (0.0, 1.0)),  # flat at the floor: one unit wide, never below 0
        ([26.4, 26.9], (26.0, 27.0)),
        ([0.0, 40.0], (0.0, 50.0)),  # a line at 40 stays off the frame
        ([95.0, 100.0], (93.0, 100.0)),  # a share never above 100
        ([100.0, 100.0], (99.0, 100.0)),  # flat at the ceiling: one unit below it
    ],
)
def test_axis_ranges_are_round_and_hold_the_data(values, expected):
    low, high = round_range(np.array(values), bounds=(0.0, 100.0))
    assert (low, high) == pytest.approx(expected)
    assert low <= min(values) and high >= max(values)


@pytest.mark.parametrize(
    "values, current, kept",
    [
        ([0.0, 9.0, 14.0], (0.0, 15.0), True),  # held and filling the range: kept, no new axes
        ([0.0, 9.0, 16.0], (0.0, 15.0), False),  # out of it: a new round range
        ([0.0, 2.0, 3.0], (0.0, 15.0), False),  # filling under half of it: a new, closer one
        ([-3.2, -0.3, 0.0], (-5.0, 1.0), True),  # a loss (feeling unsafe) kept as well
    ],
)
def test_the_planners_axes_keep_their_range_while_the_answer_fills_it(values, current, kept):
    from sim.app_figures import steady_range

    new = round_range(np.array(values), None, (-np.inf, np.inf))
    assert steady_range(np.array(values), current) == (current if kept else new)
    assert new != current  # each case is one where a range of its own would have cost a full draw


@pytest.mark.parametrize(
    "ago, en, sv",
    [
        (0, "feedback this week", "återkoppling denna vecka"),
        (1, "last feedback 1 week ago", "för 1 vecka sedan"),
        (5, "last feedback 5 weeks ago", "för 5 veckor sedan"),
    ],
)
def test_the_status_line_counts_the_weeks_since_feedback_in_words(model, ago, en, sv):
    """Once 'last feedback 1 weeks ago' and '0 weeks ago' (in Swedish '1 veckor')."""
    last = next(w for w in range(len(model.history)) if model.history[w]["last_feedback"] == w)
    week = last + ago
    assert model.history[min(week, len(model.history) - 1)]["last_feedback"] == last
    assert status_text(model, week, TEXT["en"]).endswith(en)
    assert status_text(model, week, TEXT["sv"]).endswith(sv)


def test_the_planners_check_names_the_cells_where_the_emulator_lies_outside_the_simulated_interval():
    outcomes = ["trust_high_share", "delaktighet_high_share", "unsafe_share"]
    rows = [(o, y) for o in outcomes for y in (1, 2, 3)]
    answer = pd.DataFrame([{"outcome": o, "year": y, "gain_pp": 2.0} for o, y in rows])
    checked = pd.DataFrame([{"outcome": o, "year": y, "low_pp": 1.0, "high_pp": 3.0} for o, y in rows])
    en, sv = (TEXT["en"], PLANNER_TEXT["en"]), (TEXT["sv"], PLANNER_TEXT["sv"])
    assert (
        agreement(answer, checked, *en) == "The emulator's answer lies inside the simulated interval in 9 of 9 cells."
    )
    checked.loc[4, ["low_pp", "high_pp"]] = (2.5, 4.0)  # 'listen and act' after year 2
    checked.loc[8, ["low_pp", "high_pp"]] = (-1.0, 1.5)  # feeling unsafe after year 3
    text = agreement(answer, checked, *en)
    assert text.startswith("The emulator's answer lies inside the simulated interval in 7 of 9 cells. Outside: ")
    assert "'The police listen and act' after year 2, Feeling unsafe after year 3. " in text, text
    assert "i 7 av 9 celler. Utanför: 'Polisen lyssnar och agerar' efter 2 år, Känner sig otrygga efter 3 år" in (
        agreement(answer, checked, *sv)
    )
    assert agreement(answer, checked.iloc[::-1], *en) == text  # cells are matched by outcome and year, not by row


@pytest.mark.parametrize(
    "kind, changed, en, sv",
    [
        ("feedback", {}, "no feedback to residents", "ingen återkoppling till invånarna"),
        (
            "feedback",
            {"feedback": "none"},
            "quarterly feedback to residents",
            "återkoppling varje kvartal till invånarna",
        ),
        ("effort", {}, "half the effort", "halva insatsen"),
        ("staff", {}, "no feedback to staff", "ingen återkoppling till personalen"),
        ("staff", {"staff_feedback": 0.1}, "feedback to staff", "återkoppling till personalen"),
        ("no_promise", {}, "no promise at all", "inget löfte alls"),
    ],
)
def test_a_twin_is_labelled_by_what_it_has_not_by_what_differs(kind, changed, en, sv):
    """A twin without feedback to residents was labelled "feedback to residents" (the kind of change) on its map,
    its dashed plot lines and the sentence above them: read as the run with feedback, the opposite of the lesson."""
    main = {**DEFAULTS, **changed}
    twin, label = twin_settings(main, kind)
    assert TEXT["en"]["twin_labels"][label] == en and TEXT["sv"]["twin_labels"][label] == sv
    if kind == "feedback":
        assert (twin["feedback"] == "none") == en.startswith("no ")
    if kind == "staff":
        assert (twin["staff_feedback"] == 0) == en.startswith("no ")
    assert set(TEXT["en"]["twin_labels"]) == set(TEXT["sv"]["twin_labels"]) and len(TWINS) == 4


def test_the_planners_picture_shows_the_answers_interval_and_once_checked_the_simulation():
    """The planner's answer once came as a table only. Its picture shades the emulator's 90% interval (blue) and,
    once the check has run, adds the simulated means with their intervals (orange); the band follows the answer,
    and a frame drawn over the kept axes shows what a whole new figure shows."""
    from sim.app import OUTCOME_KEYS, answer_titles
    from sim.app_figures import AnswerFigure

    titles, p = answer_titles(TEXT["en"], PLANNER_TEXT["en"]), PLANNER_TEXT["en"]
    rows = [(o, y, 2.0 * y, 1.0 * y - 1, 3.0 * y + 1) for o in OUTCOME_KEYS for y in (1, 2, 3)]
    answer = pd.DataFrame(rows, columns=["outcome", "year", "gain_pp", "low_pp", "high_pp"])
    checked = answer.assign(gain_pp=answer.gain_pp + 0.5, low_pp=answer.gain_pp - 1, high_pp=answer.gain_pp + 2)
    narrow = answer.assign(low_pp=answer.gain_pp - 0.2, high_pp=answer.gain_pp + 0.2)

    orange, band = C1, (199, 221, 236)  # the band: C0 at 25% on white
    figure = AnswerFigure(titles, p)
    alone, both, narrower = figure.png(answer), figure.png(answer, checked), figure.png(narrow)
    assert colour_share(alone, orange) == 0 and colour_share(both, orange) > 0.001
    assert colour_share(alone, band) > 0.05 and colour_share(narrower, band) < colour_share(alone, band) / 2
    assert differing_share(narrower, AnswerFigure(titles, p).png(narrow)) < 0.001
    assert figure.blit.full_draws == 2  # the check's points, inside the range, were drawn over the kept axes


def test_the_planner_says_when_a_setting_sits_in_a_corner_of_what_the_emulator_learnt():
    """In a corner of the training box the emulator errs more (docs/emulator.md); before corners had runs and an
    interval of their own, the what-if's answer was off at two of three corners tried, and nothing said so. Levers
    near an end of their range are found, and the planner tab's sentence names them in either language."""
    from sim.app import corner_words
    from sim.emulator import Emulator

    box = {
        "police.effort": (0.3, 1.2),
        "police.planned_hours_per_week": (10.0, 80.0),
        "promise.actions": (1.0, 6.0),
        "promise.period_weeks": (13.0, 104.0),
        "feedback.interval_weeks": (4.0, 52.0),
        "feedback.reach": (0.05, 0.6),
        "feedback.staff": (0.0, 1.0),
    }
    typical = {  # full implementation's levers
        "police.effort": 1.0,
        "police.planned_hours_per_week": 40.0,
        "promise.actions": 3.0,
        "promise.period_weeks": 52.0,
        "feedback.interval_weeks": 13.0,
        "feedback.reach": 0.4,
        "feedback.staff": 0.8,
    }
    em = Emulator(inputs=["area", *box], outputs=[], box=box, edges=list(box))
    assert em.corner_of(typical) == [] and corner_words([], TEXT["en"], PLANNER_TEXT["en"]) is None
    corner = {"promise.period_weeks": 13.0, "police.planned_hours_per_week": 10.0, "feedback.reach": 0.05}
    two = {**typical, "promise.period_weeks": 13.0, "police.effort": 1.12}  # two levers near an end: no corner
    three = ["police.planned_hours_per_week", "promise.period_weeks", "feedback.reach"]  # in the box's order
    assert em.corner_of(two) == [] and em.corner_of({**typical, **corner, "police.effort": 1.1}) == three  # 0.1 > 0.09
    assert em.corner_of({**two, "feedback.reach": 0.05}) == ["police.effort", "promise.period_weeks", "feedback.reach"]
    near = em.corner_of({**typical, **corner, "feedback.staff": 0.05})
    assert near == ["police.planned_hours_per_week", "promise.period_weeks", "feedback.reach", "feedback.staff"]
    en, sv = (corner_words(near, TEXT[lang], PLANNER_TEXT[lang]) for lang in ("en", "sv"))
    assert en.startswith(f"{PLANNER_TEXT['en']['hours']}, {TEXT['en']['period']}, ") and " and " in en, en
    assert "it errs more, and its interval is wider. Check this setting before you recommend it." in en, en
    assert f" och {TEXT['sv']['staff']} ligger nära en ände" in sv and "Kontrollera" in sv, sv
