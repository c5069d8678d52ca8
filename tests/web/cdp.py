"""Headless Chromium driven through the Chrome DevTools Protocol over a pipe
(``--remote-debugging-pipe``: commands in on fd 3, answers out on fd 4, each a JSON
message ending in a NUL byte). No browser driver or extra package is needed."""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import queue
import subprocess
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = ["Browser", "Page"]

TIMEOUT = 30.0
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)


class Browser:
    def __init__(self, binary: str, profile: Path):
        to_browser, self._commands = os.pipe()
        self._answers, from_browser = os.pipe()
        # Above 10, so that putting one end on fd 3 cannot overwrite the other.
        to_browser, from_browser = (_high(fd) for fd in (to_browser, from_browser))
        # bash (dash takes only one-digit fds) puts the ends on fds 3 and 4 for Chromium.
        script = f'exec "$0" "$@" 3<&{to_browser} 4>&{from_browser}'
        self.process = subprocess.Popen(
            ["bash", "-c", script, binary, *FLAGS, f"--user-data-dir={profile}"],
            pass_fds=(to_browser, from_browser),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._answered: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._answers, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        with self._lock:
                            waiting = self._answered.setdefault(message["id"], queue.Queue())
                        waiting.put(message)
                    else:
                        self.events.put(message)

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer; raises on a protocol error."""
        number = next(self._ids)
        with self._lock:
            waiting = self._answered.setdefault(number, queue.Queue())
        message: dict[str, Any] = {"id": number, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        answer = waiting.get(timeout=TIMEOUT)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer["result"]
        return result

    def page(self) -> Page:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, session)
        self.send("Page.enable", session)
        return page

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.send("Browser.close")
            self.process.wait(timeout=TIMEOUT)
        except Exception:
            self.process.kill()
            self.process.wait()
        finally:
            os.close(self._commands)
            self._reader.join(timeout=TIMEOUT)


def _high(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class Page:
    """One tab: navigate, run JavaScript, wait for the next page to load."""

    def __init__(self, browser: Browser, session: str):
        self.browser = browser
        self.session = session

    def _drain(self) -> None:
        while not self.browser.events.empty():
            self.browser.events.get_nowait()

    def _loaded(self) -> None:
        while True:
            event = self.browser.events.get(timeout=TIMEOUT)
            if event.get("sessionId") == self.session and event["method"] == "Page.loadEventFired":
                return

    def goto(self, url: str) -> None:
        self._drain()
        result = self.browser.send("Page.navigate", self.session, url=url)
        if result.get("errorText"):
            raise RuntimeError(f"cannot open {url}: {result['errorText']}")
        self._loaded()

    def run(self, script: str) -> Any:
        result = self.browser.send(
            "Runtime.evaluate", self.session, expression=script, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{script}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def act(self, script: str) -> None:
        """Run ``script`` (a click, a submit) and wait for the page it leads to."""
        self._drain()
        self.run(script)
        self._loaded()

    @property
    def text(self) -> str:
        return str(self.run("document.body.innerText"))

    @property
    def url(self) -> str:
        return str(self.run("location.href"))
