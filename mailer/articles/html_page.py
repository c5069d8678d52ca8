"""A saved web page of an article: the article is taken out of the page, everything around
it (navigation, share buttons, banners, scripts) is left behind, and what is kept is
sanitised on its way to blocks.

Two extractors vote. readability-lxml finds the article's element and gives its structure
(headings, links, quotes, lists, images); trafilatura, reading for precision, says which
text is the article's: a block readability keeps stays when at least half of its word
4-grams are in trafilatura's text too. On the public article-extraction benchmark this
scores above either extractor alone (``bench/extraction.py``). Whatever had text and was
left out is reported in :attr:`Article.dropped` with why.

Title, canonical URL, byline, date, description and lead image come from the page's
metadata (``<link rel=canonical>``, Open Graph and ``article:`` tags, ``<time>``), which
publishing systems fill in more reliably than the visible markup.
"""

from __future__ import annotations

import codecs
import datetime as dt
import html
import re
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from lxml.html import HtmlElement
from readability import Document
from readability.encoding import get_encoding
from readability.readability import Unparseable

from mailer.articles.appeal import find_appeal
from mailer.articles.blocks import html_to_blocks
from mailer.articles.furniture import agreed_blocks, left_out, why_left_out
from mailer.articles.model import Article, Block, Dropped, Heading, Image, Paragraph
from mailer.articles.sanitize import inline_text
from mailer.exceptions import ArticleError

__all__ = ["decode_html", "parse_html_page"]

# Class and id words of what surrounds articles on news sites; readability drops the
# parts of the article element that carry them, such as share buttons.
_NOT_ARTICLE = frozenset(
    {"share", "sharing", "social", "donate", "donation", "banner", "newsletter", "subscribe"}
    | {"promo", "related", "comment", "comments", "paywall", "cookie", "popup", "modal", "advert"}
)
_WORD = re.compile(r"[\s_-]+")
_WIDGET_TEXT = 600  # characters: more than that is more likely article than widget
# Text with these is a binary file, not a page: the parser would read anything.
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1a]")


def decode_html(data: bytes, charset: str | None = None) -> str:
    """Page bytes as text: in ``charset`` when it is given (the server's header or the
    user's choice: raises LookupError when Python does not know it), else UTF-8 when
    they are, else the encoding the page declares or that readability guesses."""
    if charset:
        return data.decode(codecs.lookup(charset).name, errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode(get_encoding(data) or "utf-8", errors="replace")
    except LookupError:  # an encoding Python does not know
        return data.decode("utf-8", errors="replace")


def parse_html_page(page: str, *, source: str = "", url: str = "") -> Article:
    """The article in a web page; ``url`` is where the page was fetched from, if it was."""
    if _BINARY.search(page[:4096]) or not re.search(r"<[a-zA-Z!]", page):
        raise ArticleError(source, "cannot be parsed as HTML: it is not a web page")
    # lxml refuses text that still declares an encoding (XHTML's <?xml ...?>).
    page = re.sub(r"^\s*<\?xml[^>]*\?>", "", page)
    try:
        tree = lxml.html.document_fromstring(page)
    except (lxml.etree.ParserError, ValueError) as err:
        raise ArticleError(source, f"cannot be parsed as HTML: {err}") from err
    meta = _Meta(tree)
    url = meta.url(url)
    original = lxml.html.document_fromstring(page)  # the page as it came, for the report
    widgets = _drop_widgets(tree)
    try:
        document = Document(tree, url=url or None, negative_keywords=sorted(_NOT_ARTICLE))
        page_title = document.short_title()
        body = document.summary(html_partial=True)
    except (Unparseable, lxml.etree.ParserError, ValueError) as err:
        raise ArticleError(source, f"cannot be parsed as HTML: {err}") from err
    blocks = html_to_blocks(body, base_url=url)
    title = meta.first("og:title", "twitter:title") or _h1(tree) or page_title.strip()
    if not title:
        raise ArticleError(source, "no title: the page has no <title>, <h1> or og:title")
    blocks, appeal = find_appeal(_without_byline(_without_title(blocks, title), meta.byline()))
    blocks, outvoted = agreed_blocks(blocks, page)
    if not any(isinstance(b, Paragraph) for b in blocks):
        raise ArticleError(source, "found no article text in the page")
    return Article(
        title=title,
        blocks=tuple(blocks),
        subtitle=html.escape(meta.first("og:description", "description"), quote=False),
        byline=meta.byline(),
        date=meta.date(),
        url=url,
        image=None if any(isinstance(b, Image) for b in blocks) else meta.image(url),
        tags=tuple(meta.all("article:tag")),
        source=source,
        dropped=(
            *outvoted,
            *left_out(original, [*blocks, *(appeal.blocks if appeal else ())], title, widgets),
        ),
        appeal=appeal,
    )


def _drop_widgets(tree: HtmlElement) -> list[Dropped]:
    """Remove what readability keeps inside an article element: short blocks whose class
    or id says share buttons, banners, related links..., and javascript: links (left to
    readability, they would become links to the page itself). Returns what was removed."""
    for link in tree.iter("a"):
        if link.get("href", "").strip().lower().startswith(("javascript:", "vbscript:")):
            del link.attrib["href"]
    doomed = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in ("html", "body", "article", "main"):
            continue
        words = set(_WORD.split(f"{element.get('class', '')} {element.get('id', '')}".lower()))
        if words & _NOT_ARTICLE and len(element.text_content()) < _WIDGET_TEXT:
            doomed.append(element)
    removed = []
    inside = set(doomed)
    for element in doomed:
        if not any(a in inside for a in element.iterancestors()):
            text = " ".join(element.text_content().split())
            if text:
                why = f"{why_left_out(element)} (class or id {_widget_word(element)!r})"
                removed.append(Dropped(text, why))
            element.drop_tree()
    return removed


def _widget_word(element: HtmlElement) -> str:
    words = _WORD.split(f"{element.get('class', '')} {element.get('id', '')}".lower())
    return next(word for word in words if word in _NOT_ARTICLE)


def _h1(tree: HtmlElement) -> str:
    heading = next(tree.iter("h1"), None)
    return " ".join(heading.text_content().split()) if heading is not None else ""


def _without_title(blocks: list[Block], title: str) -> list[Block]:
    """The page repeats its title as a heading at the top of the article: once is enough."""
    for i, block in enumerate(blocks[:3]):
        if isinstance(block, Heading) and inline_text(block.html).casefold() == title.casefold():
            return blocks[:i] + blocks[i + 1 :]
    return blocks


def _without_byline(blocks: list[Block], byline: str) -> list[Block]:
    """A "By ..." line at the top repeats the byline the email shows from metadata."""
    for i, block in enumerate(blocks[:3]):
        text = inline_text(block.html) if isinstance(block, Paragraph) else ""
        if byline and re.match(r"by\s", text, re.IGNORECASE) and byline in text and len(text) < 200:
            return blocks[:i] + blocks[i + 1 :]
    return blocks


class _Meta:
    def __init__(self, tree: HtmlElement):
        self._values: dict[str, list[str]] = {}
        for element in tree.iter("meta"):
            key = element.get("property") or element.get("name") or element.get("itemprop")
            content = element.get("content")
            if key and content and content.strip():
                self._values.setdefault(key.strip().lower(), []).append(content.strip())
        self._tree = tree

    def all(self, key: str) -> list[str]:
        return self._values.get(key, [])

    def first(self, *keys: str) -> str:
        return next((self._values[k][0] for k in keys if k in self._values), "")

    def url(self, fetched_from: str) -> str:
        for link in self._tree.iter("link"):
            if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
                return _absolute(link.get("href", ""), fetched_from)
        return _absolute(self.first("og:url"), fetched_from) or fetched_from

    def byline(self) -> str:
        author = self.first("author", "article:author", "parsely-author", "byl")
        if author.startswith(("http://", "https://")):  # article:author may be a profile URL
            author = ""
        if not author:
            link = next(
                (a for a in self._tree.iter("a") if "author" in (a.get("rel") or "").split()),
                None,
            )
            author = " ".join(link.text_content().split()) if link is not None else ""
        return re.sub(r"^by\s+", "", author, flags=re.IGNORECASE)

    def date(self) -> dt.date | None:
        candidates = [
            self.first("article:published_time", "datepublished", "date", "dc.date"),
            *(t.get("datetime", "") for t in self._tree.iter("time")),
        ]
        for value in candidates:
            try:
                return dt.datetime.fromisoformat(value.strip()[:10]).date()
            except ValueError:
                continue
        return None

    def image(self, base_url: str) -> Image | None:
        src = _absolute(self.first("og:image", "og:image:url", "twitter:image"), base_url)
        if not src.startswith(("http://", "https://")):
            return None
        return Image(src=src, alt=self.first("og:image:alt", "twitter:image:alt"))


def _absolute(url: str, base: str) -> str:
    url = url.strip()
    if not url:
        return ""
    return urljoin(base, url) if base else url
