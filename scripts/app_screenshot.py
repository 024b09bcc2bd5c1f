"""Screenshot of the app's comparison view mid-way, for the README: python -m scripts.app_screenshot [out.png]

Serves the app, plays to week 26 with quarterly feedback, starts the comparison (a twin without
feedback to residents), plays both to week 78 and saves a full-page screenshot.
"""

from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright

from scripts.headless import ROOT, launch, require_chromium, serve_app, wait_week


def main(out: str = "docs/app.png") -> int:
    require_chromium()
    with serve_app() as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1500, "height": 1700})
        page.goto(url, wait_until="networkidle")
        wait_week(page, 0, timeout=60_000)
        for week, compare in ((26, True), (78, False)):
            page.get_by_role("button", name="Play", exact=True).click()
            page.wait_for_function(  # playing may skip a displayed week: wait for at least this one
                "w => { const h = document.querySelector('h3');"
                " return h && parseInt(h.textContent.split(' ')[1]) >= w; }",
                arg=week,
                timeout=300_000,
            )
            page.get_by_role("button", name="Pause", exact=True).click()
            page.wait_for_timeout(1500)
            if compare:
                page.get_by_role("button", name="Compare", exact=True).click()
                page.wait_for_selector("text=Comparison running", timeout=30_000)
        page.wait_for_timeout(2000)
        page.screenshot(path=str(ROOT / out), full_page=True)
        browser.close()
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
