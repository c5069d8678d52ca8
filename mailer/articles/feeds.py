"""RSS 2.0 and Atom feeds (feedparser): each item an article, for one mailing or a digest."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import feedparser

from mailer.articles.blocks import html_to_blocks
from mailer.articles.model import Article, Image, Paragraph
from mailer.exceptions import ArticleError

__all__ = ["looks_like_feed", "parse_feed"]


def looks_like_feed(head: bytes) -> bool:
    """Whether the start of a file or response is an RSS or Atom document."""
    start = head[:2048].lstrip().lower()
    return b"<rss" in start or b"<feed" in start or b"<rdf:rdf" in start


def parse_feed(data: bytes, *, source: str = "") -> list[Article]:
    """Every item of a feed, newest first as the feed lists them."""
    parsed = feedparser.parse(data)
    if not parsed.version and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS or Atom elements found"
        raise ArticleError(source, f"cannot be parsed as a feed: {reason}")
    feed_link = parsed.feed.get("link", "")
    return [_article(entry, i, feed_link, source) for i, entry in enumerate(parsed.entries)]


def _article(entry: Any, index: int, feed_link: str, source: str) -> Article:
    title = html.unescape(entry.get("title", "")).strip()
    if not title:
        raise ArticleError(source, f"feed item {index} has no title")
    url = entry.get("link", "") or ""
    if not url.startswith(("http://", "https://")):
        url = ""
    body = _body(entry)
    blocks = html_to_blocks(body, base_url=url or feed_link)
    if not blocks and entry.get("summary"):
        blocks = html_to_blocks(entry["summary"], base_url=url or feed_link)
    # A summary that is not simply the start of the content makes a good subtitle.
    summary = entry.get("summary", "")
    subtitle = ""
    if summary and entry.get("content") and summary.strip() != body.strip():
        subtitle_blocks = html_to_blocks(summary, base_url=url or feed_link)
        first = next((b for b in subtitle_blocks if isinstance(b, Paragraph)), None)
        subtitle = first.html if first is not None else ""
        if any(isinstance(b, Paragraph) and b.html == subtitle for b in blocks):
            subtitle = ""
    return Article(
        title=title,
        blocks=tuple(blocks),
        subtitle=subtitle,
        byline=_author(entry),
        date=_date(entry),
        url=url,
        image=None if any(isinstance(b, Image) for b in blocks) else _image(entry),
        tags=tuple(t["term"] for t in entry.get("tags", []) if t.get("term")),
        source=f"{source} item {index}" if source else f"item {index}",
        guid=str(entry.get("id") or ""),
    )


def _body(entry: Any) -> str:
    for content in entry.get("content", []):
        value = content.get("value", "")
        if value.strip():
            if content.get("type", "") == "text/plain":
                return "".join(
                    f"<p>{html.escape(part.strip())}</p>" for part in value.split("\n\n")
                )
            return str(value)
    return str(entry.get("summary", ""))


def _author(entry: Any) -> str:
    detail = entry.get("author_detail") or {}
    return str(detail.get("name") or entry.get("author") or "").strip()


def _date(entry: Any) -> dt.date | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if parsed is None:
        return None
    return dt.date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)


def _image(entry: Any) -> Image | None:
    candidates: list[str] = []
    for media in entry.get("media_content", []):
        if media.get("medium", "image") == "image" or "image" in media.get("type", ""):
            candidates.append(media.get("url", ""))
    candidates.extend(m.get("url", "") for m in entry.get("media_thumbnail", []))
    candidates.extend(
        link.get("href", "")
        for link in entry.get("links", [])
        if link.get("rel") == "enclosure" and link.get("type", "").startswith("image/")
    )
    src = next((c for c in candidates if c.startswith(("http://", "https://"))), "")
    if not src:
        return None
    return Image(src=src, alt=html.unescape(entry.get("media_description", "") or ""))
