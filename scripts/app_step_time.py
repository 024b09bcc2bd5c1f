"""How long a Step takes in the browser: `python -m scripts.app_step_time [clicks]`.

Serves the app, opens it in headless Chromium, clicks Step repeatedly and times each click until the
new week's heading shows and both figures (map and plots) have been replaced and decoded; prints the
median and the spread (goal: at most 0.3 s median on this machine). First it prints what drawing the two
figures costs the server per step, blitted (static parts reused, sim/app_figures.py) against a full redraw.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from playwright.sync_api import sync_playwright

from experiments.settings import count_arg
from scripts.headless import launch, require_chromium, serve_app, shown_week, wait_week
from sim.app import TEXT, TrainerModel
from sim.app_figures import MapFigure, OutcomeFigure


def drawing_times(steps: int = 20) -> dict[str, float]:
    """Median seconds to draw both figures for one step of the default app (weeks 21 on), blitted and in full."""
    model = TrainerModel()
    for _ in range(20):
        model.step()
    t = TEXT["en"]
    figures = (MapFigure(model.layout, 1, "trust", "trust"), OutcomeFigure(t, None))
    times: dict[str, list[float]] = {"blitted": [], "full": []}
    for _ in range(steps):
        model.step()
        table = model.datacollector.get_model_vars_dataframe()
        for kind in times:
            if kind == "full":
                for fig in figures:
                    fig.blit.key = object()  # as if every range had changed: draw everything
            t0 = time.perf_counter()
            figures[0].png([(model.history[-1], "this run")], f"Week {model.week}", "trust")
            figures[1].png(table, None, model.week, model.week, fixed_scale=False)
            times[kind].append(time.perf_counter() - t0)
    return {kind: statistics.median(v) for kind, v in times.items()}


def measure(clicks: int = 15) -> list[float]:
    times = []
    with serve_app() as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1500, "height": 1600})
        page.goto(url, wait_until="networkidle")
        wait_week(page, 0, timeout=60_000)
        for _ in range(3):  # warm up: the first steps build the figures
            week = shown_week(page) + 1
            page.get_by_role("button", name="Step", exact=True).click()
            wait_week(page, week)
        for _ in range(clicks):
            week = shown_week(page) + 1
            before = page.evaluate("() => Array.from(document.images).map(i => i.src)")
            t0 = time.perf_counter()
            page.get_by_role("button", name="Step", exact=True).click()
            wait_week(page, week)
            page.wait_for_function(
                "b => { const now = Array.from(document.images);"
                " return now.length >= 2 && now.slice(0, 2).every((i, k) => i.src !== b[k] && i.complete"
                " && i.naturalWidth > 0); }",
                arg=before,
                timeout=30_000,
            )
            times.append(time.perf_counter() - t0)
        browser.close()
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("clicks", nargs="?", type=count_arg(1, 1000), default=15, help="Step clicks (default 15)")
    clicks = parser.parse_args(argv).clicks
    require_chromium()
    steps = min(clicks, 20)
    drawn = drawing_times(steps)
    print(
        f"drawing both figures per step (server, median of {steps}): blitted {1000 * drawn['blitted']:.0f} ms, "
        f"full redraw {1000 * drawn['full']:.0f} ms ({drawn['full'] / drawn['blitted']:.1f}x)"
    )
    times = measure(clicks)
    print(
        f"app step time over {len(times)} clicks: median {statistics.median(times):.3f} s, "
        f"min {min(times):.3f} s, max {max(times):.3f} s (goal: at most 0.3 s median)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
