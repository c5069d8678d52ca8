"""Articles by URL, against a web server on loopback (no network)."""

from __future__ import annotations

import http.server
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailer.articles import load_article, loader
from mailer.articles.loader import Fetched, fetch
from mailer.cli import app
from mailer.exceptions import ArticleError
from tests.support.cli import Cli
from tests.support.http import serving

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TEXT = " ".join(f"Sentence {i} of the article, long enough to be its main text." for i in range(12))


def _page(meta_charset: str, words: str) -> str:
    return (
        f'<html><head><meta charset="{meta_charset}"><title>Prices</title></head><body>'
        f"<article><h1>Prices</h1><p>{words} {TEXT}</p></article></body></html>"
    )


# path: (status, headers, body); a body of None sends no Content-Length and closes.
ROUTES: dict[str, tuple[int, dict[str, str], bytes | None]] = {
    "/page": (200, {"Content-Type": "text/html"}, (EXAMPLES / "article.html").read_bytes()),
    "/old": (301, {"Location": "/moved"}, b""),
    "/moved": (302, {"Location": "/page"}, b""),
    "/loop": (302, {"Location": "/loop"}, b""),
    "/missing": (404, {"Content-Type": "text/html"}, b"<h1>Not here</h1>"),
    "/logo.png": (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n" + b"\0" * 64),
    "/big": (200, {"Content-Type": "text/html"}, b"<p>" + b"x" * 5000),
    "/big-unsized": (200, {"Content-Type": "text/html"}, None),
    # The header's charset wins over the page's own meta tag (as in browsers).
    "/header-charset": (
        200,
        {"Content-Type": "text/html; charset=iso-8859-1"},
        _page("utf-8", "Café crème à 3 €uros").replace("€", "E").encode("iso-8859-1"),
    ),
    "/meta-charset": (
        200,
        {"Content-Type": "text/html"},
        _page("windows-1252", "Café crème à 3 €").encode("cp1252"),
    ),
    "/plain.txt": (200, {"Content-Type": "text/plain"}, b"A plain title\n\nSome text.\n"),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, headers, body = ROUTES.get(self.path, (404, {}, b"no such page"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if body is None:
            self.end_headers()
            for _ in range(10):
                self.wfile.write(b"<p>" + b"y" * 997)
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(_Handler) as url:
        yield url


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that takes connections (the kernel does, into the backlog) and never
    answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/slow"


def test_what_a_url_gave_is_reported_after_redirects(server: str) -> None:
    seen: list[Fetched] = []
    article = load_article(f"{server}/old", on_fetch=seen.append)
    assert article.title == "Library roof repairs to start in July"
    (fetched,) = seen
    assert fetched.url == f"{server}/old"
    assert fetched.final_url == f"{server}/page"
    assert fetched.status == 200
    assert fetched.size == len((EXAMPLES / "article.html").read_bytes())
    assert str(fetched) == (
        f"fetched {server}/old -> {server}/page: HTTP 200, {fetched.size:,} bytes, text/html"
    )


def test_a_missing_page_says_its_status(server: str) -> None:
    with pytest.raises(ArticleError) as caught:
        load_article(f"{server}/missing")
    assert str(caught.value) == f"{server}/missing: cannot be fetched: HTTP 404 Not Found"


def test_a_redirect_loop_is_cut(server: str) -> None:
    with pytest.raises(ArticleError, match=r"cannot be fetched: more than 10 redirects"):
        load_article(f"{server}/loop")


def test_a_server_that_never_answers_times_out(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ArticleError, match=r"/slow: cannot be fetched: no answer within 0.2 s"):
        fetch(silent_server, timeout=0.2)
    monkeypatch.setattr(loader, "FETCH_TIMEOUT", 0.2)
    with pytest.raises(ArticleError, match=r"no answer within 0.2 s"):
        load_article(silent_server)


def test_what_is_not_a_page_is_refused(server: str) -> None:
    with pytest.raises(ArticleError) as caught:
        load_article(f"{server}/logo.png")
    assert str(caught.value) == (
        f"{server}/logo.png: is not a web page, feed or text: the server says it is image/png"
    )


@pytest.mark.parametrize("path", ["/big", "/big-unsized"])
def test_a_body_over_the_size_cap_is_refused(server: str, path: str) -> None:
    with pytest.raises(ArticleError, match=r"is larger than 4,000 bytes, the most an article"):
        fetch(f"{server}{path}", max_bytes=4000)
    body, fetched = fetch(f"{server}{path}", max_bytes=20_000)
    assert fetched.size == len(body) > 4000


def test_the_charset_comes_from_the_header_before_the_meta_tag(server: str) -> None:
    from_header = load_article(f"{server}/header-charset")
    assert "Café crème à 3 Euros" in from_header.body_text
    from_meta = load_article(f"{server}/meta-charset")
    assert "Café crème à 3 €" in from_meta.body_text
    # --encoding overrides both.
    forced = load_article(f"{server}/meta-charset", encoding="latin-1")
    assert "Café" in forced.body_text
    assert "€" not in forced.body_text  # byte 0x80 is € in cp1252 only


def test_plain_text_by_url(server: str) -> None:
    assert load_article(f"{server}/plain.txt").title == "A plain title"


def test_commands_say_what_they_fetched(server: str, cli: Cli, tmp_path: Path) -> None:
    shown = CliRunner().invoke(app, ["articles", "show", f"{server}/old"])
    assert shown.exit_code == 0
    assert shown.stderr.startswith(f"fetched {server}/old -> {server}/page: HTTP 200, ")
    assert "Library roof repairs to start in July" in shown.stdout
    failed = CliRunner().invoke(app, ["articles", "show", f"{server}/missing"])
    assert (failed.exit_code, failed.stderr) == (
        1,
        f"error: {server}/missing: cannot be fetched: HTTP 404 Not Found\n",
    )
    rendered = cli("render", f"{server}/page", "-o", str(tmp_path / "out"))
    assert rendered.stderr.startswith(f"fetched {server}/page: HTTP 200, ")
    cli("lists", "create", "weekly")
    created = cli("campaigns", "create", "--article", f"{server}/old", "-l", "weekly")
    assert created.stderr.startswith(f"fetched {server}/old -> {server}/page: HTTP 200")
    assert created.stdout.strip() == "1"
