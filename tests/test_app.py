"""The trainer's app in a real browser: Playwright drives Debian's headless Chromium against 127.0.0.1.

Fails on any failed request or HTTP error (a blank page can never pass). Checks the controls with
their values, that stepping redraws the plots, that choosing a scenario moves the sliders, that a
bad seed gives a message instead of a traceback, that two browser sessions each have their own
model, that the comparison starts and that the Swedish labels switch on. Saves a screenshot to
test-artifacts/. Skipped, with the reason, when Chromium or Playwright is missing.
"""

import re
from pathlib import Path

import pytest

from scripts.headless import launch, no_browser, serve_app, shown_week, step_to, wait_week

from .pixels import C1, colour_share

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

if no_browser():
    pytest.skip(f"browser test skipped: {no_browser()}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="browser test skipped: playwright is not installed")


@pytest.fixture(scope="module")
def app_url():
    with serve_app() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def open_page(browser, url, problems):
    context = browser.new_context(viewport={"width": 1500, "height": 1600})
    page = context.new_page()
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.goto(url, wait_until="networkidle")
    wait_week(page, 0, timeout=60_000)
    return context, page


def plot_sources(page) -> list[str]:
    """The figures as the browser shows them; each must be a decoded, non-empty image."""
    page.wait_for_function("() => Array.from(document.images).filter(i => i.naturalWidth > 0).length >= 2")
    imgs = page.locator("img")
    return [imgs.nth(i).get_attribute("src") for i in range(imgs.count())]


def choose(page, label: str, option: str) -> None:
    page.locator(".v-select", has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_controls_steps_scenario_compare_and_language(app_url, browser):
    problems: list[str] = []
    context, page = open_page(browser, app_url, problems)
    for control in (
        "Area",
        "Scenario (sets the sliders)",
        "Feedback to residents (återkoppling)",
        "Feedback reach: share of residents: 40%",
        "Feedback to staff: 0.8",
        "Effort: actual / planned time: 1.0",
        "Promised actions: 3",
        "Promise period: 52 weeks",
        "Seed",
        "Playing speed",
    ):
        page.get_by_text(control, exact=True).first.wait_for(timeout=10_000)  # updates arrive in parts
    for hidden in ("Play Interval (ms)", "Render Interval", "Use Threads", "PAGE 0"):  # Mesa's internals
        assert page.get_by_text(hidden).count() == 0, hidden
    for button in ("Reset", "Step", "Play", "Compare"):
        assert page.get_by_role("button", name=button, exact=True).count() == 1, button

    step_to(page, 1)
    before = plot_sources(page)
    step_to(page, 20)
    after = plot_sources(page)
    assert after[1] != before[1], "stepping must redraw the outcome plots"

    choose(page, "Scenario (sets the sliders)", "As observed in 2018 (Brå)")
    for moved in (
        "Feedback reach: share of residents: 10%",
        "Feedback to staff: 0.1",
        "Effort: actual / planned time: 0.5",
    ):
        page.get_by_text(moved, exact=True).wait_for(timeout=10_000)
    page.get_by_role("button", name="Reset", exact=True).click()
    wait_week(page, 0)

    step_to(page, 2)
    choose(page, "Twin differs in", "no promise at all")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_selector("text=Comparison running", timeout=30_000)
    step_to(page, 4)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app_comparison.png"), full_page=True)
    # a twin is named by what it has: one without feedback was once "a twin with feedback to residents"
    page.get_by_role("button", name="Reset", exact=True).click()
    wait_week(page, 0)
    choose(page, "Twin differs in", "feedback to residents")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_selector("text=Comparison running", timeout=30_000)
    said = page.get_by_text("Comparison running", exact=False).inner_text()
    assert said == "Comparison running: this run beside a twin with no feedback to residents.", said

    page.get_by_role("button", name="Svenska").click()
    page.get_by_text("Återkoppling till invånarna", exact=True).wait_for(timeout=10_000)
    page.get_by_role("button", name="Ett steg", exact=True).wait_for(timeout=10_000)  # updates arrive in parts
    assert page.get_by_role("button", name="Ett steg", exact=True).count() == 1
    context.close()
    assert not problems, problems


def test_each_browser_session_has_its_own_model(app_url, browser):
    problems: list[str] = []
    first_context, first = open_page(browser, app_url, problems)
    second_context, second = open_page(browser, app_url, problems)
    step_to(first, 3)
    second.wait_for_timeout(500)
    assert shown_week(second) == 0, "stepping one session moved the other"
    third_context, third = open_page(browser, app_url, problems)  # a newcomer starts at week 0
    assert shown_week(third) == 0
    for c in (first_context, second_context, third_context):
        c.close()
    assert not problems, problems


@pytest.mark.parametrize("seed", ["abc", "", "1.5", "-1", "99999999999"])
def test_a_bad_seed_gives_a_message_not_a_traceback(app_url, browser, seed):
    problems: list[str] = []
    context, page = open_page(browser, app_url, problems)
    box = page.get_by_label("Seed", exact=True)
    box.fill(seed)
    box.press("Enter")
    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_text("The seed must be a whole number from 0 to 2,147,483,647 (kept 2018).").wait_for(timeout=10_000)
    assert page.get_by_text("Traceback").count() == 0
    step_to(page, 1)  # the app still works
    context.close()
    assert not problems, problems


def test_the_planner_answers_from_the_emulator_and_checks_with_a_simulation(app_url, browser):
    from sim.emulator import EMULATOR_DIR

    if not (EMULATOR_DIR / "emulator.joblib").exists():
        pytest.skip("no emulator built in sim/data/emulator")
    problems: list[str] = []
    context, page = open_page(browser, app_url, problems)
    page.get_by_role("tab", name="Planner").click()
    page.wait_for_selector("#planner-answer table", timeout=60_000)
    before = page.inner_html("#planner-answer")
    # the planner's own slider: while the tab switches, the trainer's sliders can still be on the page
    slider = page.locator(".planner").get_by_role("slider").first
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function("b => document.querySelector('#planner-answer').innerHTML !== b", arg=before, timeout=10_000)
    assert "after year 1" in page.inner_text("#planner-answer") and "(s)" not in page.inner_text("#planner-answer")
    # what the interval covers: it once read "a plausible world", for an interval over 64 of them
    assert "90% interval covering the plausible worlds (parameter uncertainty)" in page.locator(".planner").inner_text()
    # the answer as a picture too (once a table only); the check's simulated gains are added to it
    picture = page.locator(".planner img")
    assert picture.count() == 1 and colour_share(picture.screenshot(), C1) == 0
    check = page.get_by_role("button", name="Check with a real simulation (10 plausible worlds)")
    check.click()
    # the simulation takes seconds: the page once showed nothing while it ran, and the button could be pressed again
    page.wait_for_selector("text=Simulating 10 plausible worlds with and without the promise", timeout=10_000)
    assert check.is_disabled()
    page.wait_for_selector("#planner-check table", timeout=120_000)
    # and it says whether the emulator's answer lies inside the simulated interval
    assert re.fullmatch(
        r"The emulator's answer lies inside the simulated interval in \d of 9 cells\.( Outside: .*)?",
        page.inner_text("#planner-agree").strip(),
    ), page.inner_text("#planner-agree")
    assert not check.is_disabled()
    for _ in range(50):  # the browser may show the new image a moment after the table
        if colour_share(picture.screenshot(), C1) > 0.001:
            break
        page.wait_for_timeout(200)
    assert colour_share(picture.screenshot(), C1) > 0.001
    # in Swedish every label of the planner is Swedish (two sliders and the outcomes once stayed English)
    page.get_by_role("button", name="Svenska").click()
    page.get_by_role("tab", name="Planering").click()
    page.get_by_text("Veckor mellan återkopplingsrundor", exact=False).first.wait_for(timeout=10_000)
    # the answer's caption is drawn in a later render than the sliders: wait for it, as a reader would
    swedish = "90 % intervall som täcker de rimliga världarna (parameterosäkerhet)"
    page.locator(".planner").get_by_text(swedish, exact=False).first.wait_for(timeout=10_000)
    planner = page.locator(".planner").inner_text()
    assert "Planerade polistimmar i veckan" in planner and "Löftesperiod: 52 veckor" in planner, planner
    assert swedish in planner, planner
    assert "Stort förtroende för polisen" in page.inner_text("#planner-answer")
    assert not any(w in planner for w in ("Weeks between", "Planned officer", "high confidence")), planner
    # a setting in a corner of what the emulator learnt is named as one to check (nothing said at the defaults)
    assert page.locator("#planner-corner").count() == 0
    for slider in page.locator(".planner").get_by_role("slider").all()[:3]:  # effort, hours, actions to their ends
        slider.focus()
        page.keyboard.press("End")
    page.wait_for_selector("#planner-corner", timeout=10_000)
    assert "ligger nära en ände av sina intervall" in page.inner_text("#planner-corner")
    context.close()
    assert not problems, problems
