"""Reading an article from a file or a URL, whatever its kind."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import httpx

from mailer.articles.feeds import looks_like_feed, parse_feed
from mailer.articles.html_page import decode_html, parse_html_page
from mailer.articles.markdown import parse_markdown
from mailer.articles.model import Article
from mailer.articles.plain_text import parse_text
from mailer.exceptions import ArticleError

__all__ = ["load_article", "load_feed"]

Kind = Literal["markdown", "html", "text", "feed"]

_SUFFIXES: dict[str, Kind] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
}
FETCH_TIMEOUT = 15.0
MAX_BYTES = 20_000_000


def load_article(source: str | Path, *, item: int | None = None) -> Article:
    """The article in a file or at an ``http(s)://`` URL.

    The kind is told by the file's suffix (``.md``/``.markdown``, ``.html``/``.htm``,
    ``.txt``) or, for URLs and other files, by the content: an RSS or Atom feed, a web
    page, Markdown with front matter, else plain text. From a feed, ``item`` picks the
    item (0 is the first the feed lists, the default).

    Raises :class:`~mailer.exceptions.ArticleError` naming the source when it cannot be
    read, cannot be parsed, or has no title or no text.
    """
    name = str(source)
    data, kind, url = _read(source)
    if kind == "feed":
        articles = parse_feed(data, source=name)
        index = 0 if item is None else item
        if not articles:
            raise ArticleError(name, "the feed has no items")
        if not 0 <= index < len(articles):
            raise ArticleError(
                name,
                f"the feed has no item {index} (it has {len(articles)}: 0 to {len(articles) - 1})",
            )
        return articles[index]
    if item is not None:
        raise ArticleError(name, "is not a feed: only a feed has items to choose from")
    if kind == "html":
        return parse_html_page(decode_html(data), source=name, url=url)
    text = _text(data, name)
    if kind == "markdown":
        return parse_markdown(text, source=name)
    return parse_text(text, source=name)


def load_feed(source: str | Path, *, limit: int | None = None) -> list[Article]:
    """The items of an RSS or Atom feed (a file or an ``http(s)://`` URL), as the feed
    lists them, at most ``limit``: the articles of a digest."""
    name = str(source)
    data, kind, _ = _read(source)
    if kind != "feed":
        raise ArticleError(name, "is not an RSS or Atom feed")
    articles = parse_feed(data, source=name)
    if not articles:
        raise ArticleError(name, "the feed has no items")
    return articles[:limit] if limit is not None else articles


def _read(source: str | Path) -> tuple[bytes, Kind, str]:
    """The bytes, their kind, and the URL they were fetched from (or "")."""
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        data, content_type = _fetch(source)
        return data, _sniff(data, content_type), source
    path = Path(source)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArticleError(path, "cannot be read: no such file") from None
    except IsADirectoryError:
        raise ArticleError(path, "cannot be read: it is a folder") from None
    except OSError as err:
        raise ArticleError(path, f"cannot be read: {err.strerror or err}") from err
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None or (kind == "text" and looks_like_feed(data)):
        kind = _sniff(data, "")
    return data, kind, ""


def _fetch(url: str) -> tuple[bytes, str]:
    try:
        with httpx.stream(
            "GET",
            url,
            timeout=FETCH_TIMEOUT,
            follow_redirects=True,
            headers={"User-Agent": "mailer (newsletter renderer)"},
        ) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise ArticleError(url, f"is larger than {MAX_BYTES // 1_000_000} MB")
                chunks.append(chunk)
            return b"".join(chunks), response.headers.get("content-type", "")
    except httpx.HTTPStatusError as err:
        raise ArticleError(url, f"cannot be fetched: HTTP {err.response.status_code}") from err
    except httpx.HTTPError as err:
        raise ArticleError(url, f"cannot be fetched: {err}") from err


def _sniff(data: bytes, content_type: str) -> Kind:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if looks_like_feed(data) or any(t in content_type for t in ("rss", "atom")):
        return "feed"
    if "html" in content_type or head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if head.startswith(b"---") or "markdown" in content_type:
        return "markdown"
    return "text"


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ArticleError(name, f"is not UTF-8 text (byte {err.start})") from None
