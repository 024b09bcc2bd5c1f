"""Screenshot of the app's comparison view mid-way, for the README: python scripts/app_screenshot.py [out.png]

Starts the app on 127.0.0.1, runs to week 26 with quarterly feedback, starts the comparison
(a twin without feedback), runs both to week 78 and saves a full-page screenshot.
"""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main(out: str = "docs/app.png") -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    solara = str(Path(sys.executable).parent / "solara")
    proc = subprocess.Popen(
        [solara, "run", "sim/app.py", "--host", "127.0.0.1", "--port", str(port), "--production", "--no-open"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(240):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1500})
            page.goto(url, wait_until="networkidle")
            page.wait_for_selector("h3:has-text('Week 0 —')", timeout=60_000)
            for week, compare in ((26, True), (78, False)):
                page.get_by_role("button", name="▶").click()
                page.wait_for_function(  # playing may skip a displayed week: wait for at least this one
                    "w => { const h = document.querySelector('h3');"
                    " return h && parseInt(h.textContent.split(' ')[1]) >= w; }",
                    arg=week,
                    timeout=300_000,
                )
                page.get_by_role("button", name="❚❚").click()
                page.wait_for_timeout(1500)
                if compare:
                    page.get_by_role("button", name="Compare: same area and seed, other feedback").click()
                    page.wait_for_selector("text=Comparison running", timeout=30_000)
            page.wait_for_timeout(2000)
            page.screenshot(path=str(ROOT / out), full_page=True)
            browser.close()
    finally:
        proc.terminate()
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
