"""The app served on a free local port and driven by Debian's headless Chromium (Playwright).

Shared by the browser tests, the screenshot script and the step-time script, so the browser's flags
(this machine's closed network refuses Chromium's background connections) are written once.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(timeout: float = 120.0) -> Iterator[str]:
    """Start `solara run sim/app.py` on 127.0.0.1 and yield its address; stop it afterwards.

    The server's output goes to the file named by PROMISE_APP_LOG when it is set (to see the app's errors)."""
    port = free_port()
    solara = str(Path(sys.executable).parent / "solara")
    log = open(os.environ["PROMISE_APP_LOG"], "w") if os.environ.get("PROMISE_APP_LOG") else subprocess.DEVNULL
    proc = subprocess.Popen(
        [solara, "run", "sim/app.py", "--host", "127.0.0.1", "--port", str(port), "--production", "--no-open"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "SOLARA_CHECK_HOOKS": "off"},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                if urllib.request.urlopen(url, timeout=2).status == 200:
                    break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError(f"the app did not start within {timeout:.0f} s") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if log is not subprocess.DEVNULL:
            log.close()


def no_browser() -> str | None:
    """Why no browser can be driven on this machine, or None when Chromium is there."""
    if Path(CHROMIUM).exists():
        return None
    return f"{CHROMIUM} not found (apt-get install chromium; .ci/run does this)"


def require_chromium() -> None:
    """Stop a browser script with one line, before it starts the app, when Chromium is missing."""
    why = no_browser()
    if why:
        raise SystemExit(f"a browser is needed: {why}")


def launch(playwright):
    require_chromium()
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)


def shown_week(page) -> int:
    return int(page.locator("h3").first.inner_text().split()[1])


def wait_week(page, week: int, timeout: float = 30_000) -> None:
    """Wait until the page's heading shows exactly this week (English or Swedish)."""
    page.wait_for_function(
        "w => { const h = document.querySelector('h3'); return h && parseInt(h.textContent.split(' ')[1]) === w; }",
        arg=week,
        timeout=timeout,
    )


def step_to(page, week: int, button: str = "Step") -> None:
    """Click Step until the page shows ``week``."""
    for w in range(shown_week(page) + 1, week + 1):
        page.get_by_role("button", name=button, exact=True).click()
        wait_week(page, w)
