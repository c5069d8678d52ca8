"""Reading an article from a file, standard input or a URL, whatever its kind."""

from __future__ import annotations

import codecs
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from mailer.articles.feeds import looks_like_feed, parse_feed
from mailer.articles.guard import PublicOnlyTransport
from mailer.articles.html_page import decode_html, parse_html_page
from mailer.articles.markdown import parse_markdown
from mailer.articles.model import Article
from mailer.articles.plain_text import parse_text
from mailer.exceptions import ArticleError

__all__ = ["Fetched", "fetch", "load_article", "load_feed", "load_text"]

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
FETCH_TIMEOUT = 15.0  # seconds without an answer (to connect, or between two reads)
MAX_BYTES = 20_000_000
MAX_REDIRECTS = 10
# Content types an article may come as; anything else (an image, a PDF) is refused.
_TYPES: dict[str, Kind] = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/rss+xml": "feed",
    "application/atom+xml": "feed",
    "application/xml": "feed",
    "text/xml": "feed",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

OnFetch = Callable[["Fetched"], None]


@dataclass(frozen=True)
class Fetched:
    """What a URL gave: where it ended up after redirects, the status, size and type."""

    url: str
    final_url: str
    status: int
    size: int
    content_type: str

    @property
    def charset(self) -> str:
        """The charset the Content-Type header names, or ""."""
        for param in self.content_type.split(";")[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "charset":
                return value.strip().strip("\"'")
        return ""

    def __str__(self) -> str:
        where = self.url if self.final_url == self.url else f"{self.url} -> {self.final_url}"
        kind = self.content_type or "no Content-Type"
        return f"fetched {where}: HTTP {self.status}, {self.size:,} bytes, {kind}"


def load_article(
    source: str | Path,
    *,
    item: int | None = None,
    encoding: str | None = None,
    on_fetch: OnFetch | None = None,
    public_only: bool = False,
) -> Article:
    """The article in a file, at an ``http(s)://`` URL, or on standard input (``-``).

    The kind is told by the file's suffix (``.md``/``.markdown``, ``.html``/``.htm``,
    ``.txt``) or, for URLs and other files, by the content: an RSS or Atom feed, a web
    page, Markdown with front matter, else plain text. From a feed, ``item`` picks the
    item (0 is the first the feed lists, the default).

    Text is UTF-8 (a byte-order mark is followed) unless ``encoding`` says otherwise; a
    page's charset comes from the server's Content-Type, else from the page's own meta
    tag. ``on_fetch`` is told what a URL gave before it is read. ``public_only``: a URL
    (and every redirect) must resolve to public addresses, for a fetch made for someone
    who is not on this machine (:mod:`mailer.articles.guard`).

    Raises :class:`~mailer.exceptions.ArticleError` naming the source when it cannot be
    read or fetched, is empty or binary, cannot be parsed, or has no title or no text.
    """
    name = str(source)
    data, kind, fetched = _read(source, on_fetch, public_only)
    url = fetched.final_url if fetched else ""
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
        charset = encoding or (fetched.charset if fetched else "") or None
        try:
            page = decode_html(data, charset)
        except LookupError:
            raise ArticleError(name, f"unknown encoding {charset!r}") from None
        return parse_html_page(page, source=name, url=url)
    text = _text(data, name, encoding or (fetched.charset if fetched else ""))
    if kind == "markdown":
        return parse_markdown(text, source=name)
    return parse_text(text, source=name)


def load_text(
    data: str | bytes,
    *,
    name: str,
    kind: Kind | None = None,
    encoding: str | None = None,
) -> Article:
    """The article in ``data``, text given rather than a file to read: what an API
    request or an admin's form holds. ``name`` is where it came from (an uploaded
    file's name, "pasted text"); its suffix tells the kind when ``kind`` does not,
    else the content does. A feed is refused: one article is wanted.

    Raises :class:`~mailer.exceptions.ArticleError` as :func:`load_article` does."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    _check_content(raw, name)
    if kind is None:
        kind = _SUFFIXES.get(Path(name).suffix.lower())
    if kind is None or (kind == "text" and looks_like_feed(raw)):
        kind = _sniff(raw, "")
    if kind == "feed":
        raise ArticleError(name, "is a feed: give one article (a page, Markdown or text)")
    if kind == "html":
        try:
            page = decode_html(raw, encoding)
        except LookupError:
            raise ArticleError(name, f"unknown encoding {encoding!r}") from None
        return parse_html_page(page, source=name, url="")
    text = _text(raw, name, encoding or "")
    if kind == "markdown":
        return parse_markdown(text, source=name)
    return parse_text(text, source=name)


def load_feed(source: str | Path, *, limit: int | None = None) -> list[Article]:
    """The items of an RSS or Atom feed (a file or an ``http(s)://`` URL), as the feed
    lists them, at most ``limit``: the articles of a digest."""
    name = str(source)
    data, kind, _ = _read(source, None, False)
    if kind != "feed":
        raise ArticleError(name, "is not an RSS or Atom feed")
    articles = parse_feed(data, source=name)
    if not articles:
        raise ArticleError(name, "the feed has no items")
    return articles[:limit] if limit is not None else articles


def _read(
    source: str | Path, on_fetch: OnFetch | None, public_only: bool
) -> tuple[bytes, Kind, Fetched | None]:
    """The bytes, their kind, and what the URL gave (None for a file)."""
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        data, fetched = fetch(source, public_only=public_only)
        if on_fetch is not None:
            on_fetch(fetched)
        media = fetched.content_type.split(";")[0].strip().lower()
        if media and media not in _TYPES and not media.endswith(("+xml", "/xml")):
            raise ArticleError(
                source, f"is not a web page, feed or text: the server says it is {media}"
            )
        _check_content(data, source)
        return data, _sniff(data, media), fetched
    if str(source) == "-":
        data, kind = sys.stdin.buffer.read(), None
    else:
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
    _check_content(data, str(source))
    if kind is None or (kind == "text" and looks_like_feed(data)):
        kind = _sniff(data, "")
    return data, kind, None


def _check_content(data: bytes, name: str) -> None:
    if not data.strip():
        raise ArticleError(name, "is empty")
    head = data[:8192]
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ArticleError(name, "is a binary file (it has NUL bytes), not text or a web page")


def fetch(
    url: str,
    *,
    timeout: float | None = None,
    max_bytes: int | None = None,
    public_only: bool = False,
) -> tuple[bytes, Fetched]:
    """The body at ``url`` (redirects followed) and what the server said about it;
    ``timeout`` and ``max_bytes`` default to :data:`FETCH_TIMEOUT` and :data:`MAX_BYTES`;
    ``public_only`` refuses every address the public internet has not.
    Raises :class:`ArticleError` in one line: the status, a timeout, too many redirects,
    a body over ``max_bytes``, an address refused, or why the server could not be reached."""
    timeout = FETCH_TIMEOUT if timeout is None else timeout
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    try:
        with (
            httpx.Client(
                timeout=timeout,
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                headers={"User-Agent": "mailer (newsletter renderer)"},
                transport=PublicOnlyTransport() if public_only else None,
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.is_error:
                where = "" if str(response.url) == url else f" (at {response.url})"
                status = f"HTTP {response.status_code} {response.reason_phrase}"
                raise ArticleError(url, f"cannot be fetched: {status}{where}")
            too_large = f"is larger than {max_bytes:,} bytes, the most an article may be"
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ArticleError(url, too_large)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise ArticleError(url, too_large)
                chunks.append(chunk)
            fetched = Fetched(
                url=url,
                final_url=str(response.url),
                status=response.status_code,
                size=size,
                content_type=response.headers.get("content-type", ""),
            )
            return b"".join(chunks), fetched
    except httpx.TimeoutException:
        raise ArticleError(url, f"cannot be fetched: no answer within {timeout:g} s") from None
    except httpx.TooManyRedirects:
        raise ArticleError(url, f"cannot be fetched: more than {MAX_REDIRECTS} redirects") from None
    except httpx.HTTPError as err:
        raise ArticleError(url, f"cannot be fetched: {err or type(err).__name__}") from err


def _sniff(data: bytes, content_type: str) -> Kind:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if looks_like_feed(data) or any(t in content_type for t in ("rss", "atom")):
        return "feed"
    if "html" in content_type or head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if head.startswith(b"---") or "markdown" in content_type:
        return "markdown"
    return "text"


def _text(data: bytes, name: str, encoding: str) -> str:
    """Text in ``encoding``, else UTF-8 or what a byte-order mark says."""
    if not encoding:
        encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except LookupError:
        raise ArticleError(name, f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as err:
        label = "UTF-8" if encoding == "utf-8" else encoding
        line = data.count(b"\n", 0, err.start) + 1
        raise ArticleError(
            name,
            f"is not {label} text (line {line}, byte {err.start}): "
            "name its encoding with --encoding, e.g. --encoding cp1252",
        ) from None
