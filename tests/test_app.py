"""The trainer's app in a real browser: Playwright drives Debian's headless Chromium against 127.0.0.1.

Fails on any failed request or HTTP error (a blank page can never pass), checks the controls
and plots, that changing the feedback and stepping changes the trust plot, and that the
comparison view starts. Saves a screenshot to test-artifacts/. Skipped, with the reason, when
Chromium or Playwright is missing.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

if not Path(CHROMIUM).exists():
    pytest.skip(
        f"browser test skipped: {CHROMIUM} not found (apt-get install chromium; .ci/run does this)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="browser test skipped: playwright is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    port = free_port()
    solara = shutil.which("solara", path=str(Path(sys.executable).parent)) or "solara"
    proc = subprocess.Popen(
        [solara, "run", "sim/app.py", "--host", "127.0.0.1", "--port", str(port), "--production", "--no-open"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "SOLARA_CHECK_HOOKS": "off"},
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the app did not start within 120 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def step_to(page, week: int) -> None:
    current = int(page.locator("h3").first.inner_text().split()[1])
    for w in range(current + 1, week + 1):
        page.get_by_role("button", name="Step").click()
        page.wait_for_selector(f"h3:has-text('Week {w} —')", timeout=30_000)


def plot_sources(page) -> list[str]:
    """The figures as the browser shows them; each must be a decoded, non-empty image."""
    imgs = page.locator("img")
    page.wait_for_function("() => Array.from(document.images).filter(i => i.naturalWidth > 0).length >= 3")
    return [imgs.nth(i).get_attribute("src") for i in range(imgs.count())]


def choose(page, label: str, option: str) -> None:
    page.locator(".v-select", has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_app_in_a_real_browser(app_url):
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
        page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
        page.goto(app_url, wait_until="networkidle")
        page.wait_for_selector("h3:has-text('Week 0 —')", timeout=60_000)

        for control in (
            "Area",
            "Scenario (sets the rest)",
            "Feedback to residents (återkoppling)",
            "Feedback reach (share of residents)",
            "Feedback to staff",
            "Effort (actual / planned time)",
            "Promised actions",
            "Promise period (weeks)",
            "Seed",
        ):
            assert page.get_by_text(control, exact=True).count() >= 1, control
        for button in ("Reset", "Step", "Compare: same area and seed, other feedback"):
            assert page.get_by_role("button", name=button).count() == 1, button

        step_to(page, 1)
        before = plot_sources(page)
        step_to(page, 30)
        quarterly = plot_sources(page)
        assert quarterly[1] != before[1], "stepping must redraw the trust plot"

        choose(page, "Feedback to residents (återkoppling)", "monthly")
        page.get_by_role("button", name="Reset").click()
        page.wait_for_selector("h3:has-text('Week 0 —')", timeout=30_000)
        step_to(page, 30)
        monthly = plot_sources(page)
        assert monthly[1] != quarterly[1], "another feedback interval must give another trust plot"

        page.get_by_role("button", name="Compare: same area and seed, other feedback").click()
        page.wait_for_selector("text=Comparison running", timeout=30_000)
        step_to(page, 34)
        compared = plot_sources(page)
        assert compared[0] != monthly[0]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "app_comparison.png"), full_page=True)
        browser.close()
    assert not problems, problems
