from __future__ import annotations

import json
import os
import pty
import re
import shutil
import signal
import struct
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mailer.rendering.preview import DESKTOP_WIDTH, PHONE_WIDTH, PreviewServer, preview_page
from tests.support.cli import Cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ARTICLE = str(EXAMPLES / "article.md")


def test_render_writes_the_email_and_its_report(cli: Cli, cta_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("render", ARTICLE, "-o", str(out))
    html = (out / "email.html").read_text()
    text = (out / "email.txt").read_text()
    report = json.loads((out / "report.json").read_text())
    assert "The ferry that would not sink" in html and "%%" not in html
    assert "Good morning, neighbour." in text  # filled for a sample reader without a name
    assert set(report) >= {"size_bytes", "images_without_alt", "links", "warnings", "subject"}
    assert report["size_bytes"] > 10_000 and report["images_without_alt"] == []
    assert report["subject"] == "The ferry that would not sink"
    assert "html size" in result.stdout and "KB of 100 KB" in result.stdout
    assert "images without alt  none" in result.stdout
    assert "wrote" in result.stdout


def test_render_options(cli: Cli, cta_config: Path, tmp_path: Path) -> None:
    cli("lists", "create", "morning", "--title", "Morning Briefing")
    out = tmp_path / "out"
    result = cli(
        "render",
        ARTICLE,
        "-o",
        str(out),
        "--cta",
        "share",
        "--list",
        "morning",
        "--subject",
        "{{ subscriber.first_name or 'Hi' }}: the ferry",
        "--raw",
        "--json",
    )
    report = json.loads(result.stdout)
    assert report["subject"] == "%%f0%%: the ferry"
    html = (out / "email.html").read_text()
    assert "%%unsubscribe_url.h%%" in html  # --raw keeps the tokens
    assert "subscribed to Morning Briefing from The Example Times" in html
    assert "Forward it" in html and "Give to the newsroom" not in html


def test_render_a_feed_item_and_a_digest(cli: Cli, cta_config: Path, tmp_path: Path) -> None:
    feed = str(EXAMPLES / "feed.xml")
    cli("render", feed, "--item", "1", "-o", str(tmp_path / "one"))
    assert "The ferry that would not sink" in (tmp_path / "one" / "email.html").read_text()
    cli("render", feed, "--digest", "--limit", "2", "-o", str(tmp_path / "digest"))
    digest = (tmp_path / "digest" / "email.txt").read_text()
    assert "2. The ferry that would not sink" in digest and "Storm warning" not in digest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cta", "give"], "error: no call-to-action 'give' (known: donate, share)"),
        (["--list", "nope"], "error: no list 'nope'"),
        (["--digest"], "is not an RSS or Atom feed"),
        (["--item", "0"], "is not a feed"),
    ],
)
def test_render_errors_are_one_line(
    cli: Cli, cta_config: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = cli("render", ARTICLE, "-o", str(tmp_path), *args, ok=False)
    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_render_an_unreadable_article(cli: Cli, tmp_path: Path) -> None:
    result = cli("render", str(tmp_path / "missing.md"), "-o", str(tmp_path), ok=False)
    assert result.exit_code == 1
    assert "missing.md: cannot be read: no such file" in result.stderr


def test_the_preview_server(tmp_path: Path) -> None:
    server = PreviewServer(preview_page("<p>mail</p>", "S"), "<p>mail</p>", "mail")
    try:
        page = httpx.get(server.url)
        assert page.status_code == 200
        assert f'width="{DESKTOP_WIDTH}"' in page.text and f'width="{PHONE_WIDTH}"' in page.text
        assert 'srcdoc="&lt;p&gt;mail&lt;/p&gt;"' in page.text
        assert httpx.get(server.url + "email.html").text == "<p>mail</p>"
        assert httpx.get(server.url + "email.txt").headers["content-type"].startswith("text/plain")
        assert httpx.get(server.url + "other").status_code == 404
    finally:
        server.close()


def _start_preview(cta_config: Path, stdin: int) -> tuple[subprocess.Popen[str], str]:
    """``mailer preview`` as a process of its own, and the address it serves at."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mailer", "--config", str(cta_config), "preview", ARTICLE,
         "--no-open"],
        stdin=stdin, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"preview at (http://127\.0\.0\.1:\d+/)", line)
    if found is None:
        process.kill()
        process.communicate()
        raise AssertionError(f"mailer preview said {line!r}")
    return process, found.group(1)


@pytest.mark.slow
def test_preview_at_a_terminal_serves_until_enter(cta_config: Path) -> None:
    main, terminal = pty.openpty()
    try:
        process, url = _start_preview(cta_config, terminal)
        with process:
            assert httpx.get(url).status_code == 200
            os.write(main, b"\n")
            assert process.wait(timeout=60) == 0
    finally:
        os.close(main)
        os.close(terminal)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_preview_without_a_terminal_serves_until_interrupted(
    cta_config: Path, stop: signal.Signals
) -> None:
    # stdin closed, as under a service manager: it must not take that for Enter.
    process, url = _start_preview(cta_config, subprocess.DEVNULL)
    with process:
        assert httpx.get(url).status_code == 200
        assert process.poll() is None
        assert httpx.get(url + "email.html").status_code == 200
        process.send_signal(stop)
        assert process.wait(timeout=60) == 0


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="needs headless Chromium (Debian's chromium package; .ci/run installs it)",
)
def test_preview_screenshot_in_headless_chromium(
    cli: Cli, cta_config: Path, tmp_path: Path
) -> None:
    png = tmp_path / "preview.png"
    result = cli("preview", ARTICLE, "--screenshot", str(png), "--height", "1400")
    assert f"wrote {png}" in result.stdout
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (DESKTOP_WIDTH + PHONE_WIDTH + 110, 1400)
    assert len(data) > 50_000  # a page with text on it, not a blank image
