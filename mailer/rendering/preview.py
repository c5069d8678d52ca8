"""Looking at a rendered email before sending it: filled for a sample reader, shown at a
desktop and a phone width side by side, in the browser or as a headless Chromium
screenshot."""

from __future__ import annotations

import html
import http.server
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from mailer.exceptions import RenderError
from mailer.settings import Settings

__all__ = [
    "DESKTOP_WIDTH",
    "PHONE_WIDTH",
    "PreviewServer",
    "dark_mode",
    "find_chromium",
    "preview_context",
    "preview_page",
    "screenshot",
]

DESKTOP_WIDTH = 700
PHONE_WIDTH = 375
SCREENSHOT_TIMEOUT = 120


def preview_context(settings: Settings) -> dict[str, Any]:
    """A sample recipient: no name (so fallbacks show), links that go nowhere harmful."""
    return {
        "subscriber": {"email": "reader@example.org", "name": "", "attributes": {}, "tags": []},
        "unsubscribe_url": f"{settings.base_url}/unsubscribe/preview",
        "preferences_url": f"{settings.base_url}/preferences/preview",
        "confirm_url": f"{settings.base_url}/confirm/preview",
    }


_DARK_QUERY = re.compile(r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)", re.I)
_BODY = re.compile(r"<body\b", re.I)


def dark_mode(email_html: str) -> str:
    """The email as a reader in dark mode sees it: its own dark-mode rules (those under
    ``prefers-color-scheme: dark``, and Outlook.com's ``[data-ogsc]`` ones) in force
    whatever the browser showing it prefers."""
    dark = _DARK_QUERY.sub("@media all", email_html)
    return _BODY.sub("<body data-ogsc", dark, count=1)


def preview_page(email_html: str, subject: str, *, height: int = 1600) -> str:
    """A page showing the email at a desktop and a phone width side by side."""
    frames = "".join(
        f'<figure><figcaption>{label} · {width} px</figcaption><iframe title="{label}" '
        f'width="{width}" height="{height}" srcdoc="{html.escape(email_html)}"></iframe></figure>'
        for label, width in (("Desktop", DESKTOP_WIDTH), ("Phone", PHONE_WIDTH))
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Preview: {html.escape(subject)}</title><style>"
        "body{margin:0;background:#dcdcd8;font-family:Helvetica,Arial,sans-serif}"
        ".row{display:flex;gap:28px;padding:16px 24px;align-items:flex-start}"
        "figure{margin:0}figcaption{font-size:13px;color:#444;margin:0 0 6px 2px}"
        "iframe{border:0;background:#fff;box-shadow:0 1px 4px rgba(0,0,0,.25)}"
        f'</style></head><body><div class="row">{frames}</div></body></html>'
    )


class PreviewServer:
    """The preview on ``http://127.0.0.1:PORT/`` (``/email.html`` and ``/email.txt``
    alone), served from a thread until :meth:`close`."""

    def __init__(self, page: str, email_html: str, email_text: str, port: int = 0):
        pages = {
            "/": ("text/html", page),
            "/email.html": ("text/html", email_html),
            "/email.txt": ("text/plain", email_text),
        }

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                kind, body = pages.get(self.path, ("text/plain", ""))
                data = body.encode()
                self.send_response(200 if self.path in pages else 404)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # no request log on the terminal

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def find_chromium() -> str | None:
    """The headless browser for screenshots (Debian's ``chromium`` package)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(page: str, output: Path, *, width: int, height: int) -> Path:
    """``page`` rendered by headless Chromium into the PNG file ``output``. The browser
    gets no network: remote images show as their alt text, and nothing is fetched."""
    browser = find_chromium()
    if browser is None:
        raise RenderError("screenshot", "no chromium found: install it (apt-get install chromium)")
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mailer-preview-") as folder:
        source = Path(folder) / "preview.html"
        source.write_text(page, encoding="utf-8")
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={Path(folder) / 'profile'}",
            f"--screenshot={output}",
            f"--window-size={width},{height}",
            source.as_uri(),
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=SCREENSHOT_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired as err:
            raise RenderError("screenshot", f"chromium took over {SCREENSHOT_TIMEOUT} s") from err
    if result.returncode != 0 or not output.is_file():
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RenderError("screenshot", f"chromium could not take it: {last}")
    return output
