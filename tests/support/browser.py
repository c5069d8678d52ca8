"""The admin in a real browser: Debian's chromium driven by Playwright (its driver only:
Playwright never downloads a browser here), the app served by uvicorn in a thread on a
free port of 127.0.0.1, and axe-core's accessibility check run inside a page.

axe-core comes from npm (tests/web/admin/browser/package.json, installed by ``make
test``); the admin's policy forbids foreign scripts, so a page that axe checks comes from
a context that bypasses the policy (``bypass_csp=True``)."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from playwright.sync_api import Browser, Page, Playwright

from mailer.web.server import web_server
from tests.support.admin import PASSWORD
from tests.web.cdp import FLAGS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NO_CHROMIUM = "needs headless Chromium (Debian's chromium package; .ci/run installs it)"
#: Playwright adds its own pipe and headless mode; the other flags keep Chromium from
#: reaching out to the network (updates, sync, safe browsing lists).
LAUNCH_FLAGS = [flag for flag in FLAGS if flag not in ("--headless", "--remote-debugging-pipe")]
AXE = Path(__file__).resolve().parents[1] / "web/admin/browser/node_modules/axe-core/axe.min.js"
NO_AXE = "needs axe-core from npm: npm ci --prefix tests/web/admin/browser (make test does)"
#: How long a step may wait for the page, in milliseconds (2 busy cores, several workers).
STEP_MS = 15_000
#: The impacts that fail the check; axe's "minor" and "moderate" are only reported.
FAILING = ("serious", "critical")


def launch(playwright: Playwright) -> Browser:
    assert CHROMIUM is not None, NO_CHROMIUM
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=LAUNCH_FLAGS, timeout=STEP_MS * 2
    )


@contextmanager
def served(make_app: Callable[[str], FastAPI]) -> Iterator[str]:
    """The app that ``make_app`` makes for a base URL, served on a free port of
    127.0.0.1 in a thread while the block runs; yields that base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    server = web_server(make_app(base_url), "127.0.0.1", 0, log_level="warning")
    # The socket listens already: connections made before uvicorn is up wait for it.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=STEP_MS / 1000)
        listener.close()


def sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Signs in through the form, as a person would, and waits for the dashboard."""
    page.goto(f"{base_url}/admin/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/admin")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (its page must bypass the CSP)."""
    if not page.evaluate("() => 'axe' in window"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """One line a violation, with the elements it was found on."""
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        lines.append(f"{v['impact']}: {v['id']} ({v['help']}) at {targets}")
    return "\n".join(lines)
