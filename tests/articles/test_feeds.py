from __future__ import annotations

import datetime as dt
import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailer.articles import Image, Paragraph, Quote, load_article, load_feed
from mailer.exceptions import ArticleError
from tests.support.http import serving

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_an_rss_item_is_an_article() -> None:
    article = load_article(EXAMPLES / "feed.xml")
    assert article.title == "Library roof repairs to start in July"
    assert article.url == "https://news.example.org/2024/06/library-roof"
    assert article.byline == "Priya Natarajan"
    assert article.date == dt.date(2024, 6, 12)
    assert article.tags == ("local",)
    assert article.image == Image(src="https://news.example.org/media/library.jpg")
    assert not article.personalised
    # content:encoded is the body (sanitised, relative links resolved), the description
    # a subtitle.
    assert article.blocks[1] == Paragraph(
        'The money comes from a bequest and a <a href="https://news.example.org/2024/05/'
        'bake-sale">bake sale</a>.'
    )
    assert "script" not in str(article.blocks)
    assert article.subtitle == "The council found the money after all: a bequest and a bake sale."


def test_items_are_picked_by_number() -> None:
    second = load_article(EXAMPLES / "feed.xml", item=1)
    assert second.title == "The ferry that would not sink"
    assert second.image == Image(src="https://news.example.org/media/ferry.jpg")
    assert second.summary.startswith("After sixty years")
    with pytest.raises(ArticleError, match="has no item 3 \\(it has 3: 0 to 2\\)"):
        load_article(EXAMPLES / "feed.xml", item=3)


def test_an_atom_entry() -> None:
    article = load_article(EXAMPLES / "atom.xml")
    assert article.title == "Why the ferry is worth it"
    assert article.byline == "Rosa Lindqvist"
    assert article.date == dt.date(2024, 6, 10)
    assert article.blocks[1] == Quote(("Boats are for crossing.",))
    assert "https://news.example.org/2024/05/millbrook-ferry" in str(article.blocks[2])


def test_a_feed_as_a_digest() -> None:
    articles = load_feed(EXAMPLES / "feed.xml")
    assert [a.title for a in articles] == [
        "Library roof repairs to start in July",
        "The ferry that would not sink",
        "Storm warning for the weekend",
    ]
    assert len(load_feed(EXAMPLES / "feed.xml", limit=2)) == 2
    with pytest.raises(ArticleError, match="is not an RSS or Atom feed"):
        load_feed(EXAMPLES / "article.md")


def test_a_feed_that_is_not_one(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text("this is <not xml")
    with pytest.raises(ArticleError, match="cannot be parsed as a feed"):
        load_article(path)


def test_an_item_without_a_title(tmp_path: Path) -> None:
    path = tmp_path / "feed.rss"
    path.write_text(
        '<rss version="2.0"><channel><title>x</title><item><description>d</description>'
        "</item></channel></rss>"
    )
    with pytest.raises(ArticleError, match="feed item 0 has no title"):
        load_article(path)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        files = {
            "/feed": ("application/rss+xml", (EXAMPLES / "feed.xml").read_bytes()),
            "/page": ("text/html; charset=utf-8", (EXAMPLES / "article.html").read_bytes()),
        }
        if self.path not in files:
            self.send_error(404)
            return
        kind, body = files[self.path]
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    """A local web server (the tests use no network)."""
    with serving(_Handler) as url:
        yield url


def test_feeds_and_pages_by_url(server: str) -> None:
    assert len(load_feed(f"{server}/feed")) == 3
    assert load_article(f"{server}/feed", item=2).title == "Storm warning for the weekend"
    page = load_article(f"{server}/page")
    assert page.title == "Library roof repairs to start in July"
    with pytest.raises(ArticleError, match="cannot be fetched: HTTP 404"):
        load_article(f"{server}/missing")


def test_an_unreachable_url() -> None:
    with pytest.raises(ArticleError, match="cannot be fetched"):
        load_article("http://127.0.0.1:9/feed.xml")
