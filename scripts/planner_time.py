"""How fast the planner tab answers: `python -m scripts.planner_time [moves]`.

Serves the app, opens the Planner tab in headless Chromium, moves a slider one step at a time with the
keyboard and times each move until the emulator's answer on the page has changed (its table and picture are
drawn in one render and sent together); prints the median (goal: under 100 ms on this machine).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from playwright.sync_api import sync_playwright

from experiments.settings import count_arg
from scripts.headless import launch, require_chromium, serve_app, wait_week


def measure(moves: int = 15) -> list[float]:
    times = []
    with serve_app() as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        page.goto(url, wait_until="networkidle")
        wait_week(page, 0, timeout=60_000)
        page.get_by_role("tab", name="Planner").click()
        page.wait_for_selector("#planner-answer table", timeout=60_000)
        # the planner's own first slider, focused so the other tab's sliders never take the key press
        slider = page.locator(".planner").get_by_role("slider").first
        slider.focus()
        for i in range(moves + 2):
            before = page.inner_html("#planner-answer")
            t0 = time.perf_counter()
            page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
            page.wait_for_function(
                "b => document.querySelector('#planner-answer').innerHTML !== b", arg=before, timeout=30_000
            )
            if i >= 2:  # the first moves warm up
                times.append(time.perf_counter() - t0)
        browser.close()
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("moves", nargs="?", type=count_arg(1, 1000), default=15, help="slider moves (default 15)")
    args = parser.parse_args(argv)
    require_chromium()
    times = measure(args.moves)
    print(
        f"planner answer time over {len(times)} slider moves: median {1000 * statistics.median(times):.0f} ms, "
        f"max {1000 * max(times):.0f} ms (goal: under 100 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
