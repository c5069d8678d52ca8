"""Page furniture: which of a web page's text is not the article's, and why.

Two steps of the HTML reader live here: the second opinion on readability's blocks
(trafilatura's reading of the page, see :func:`agreed_blocks`), and the report of every
piece of text the reader left out (:func:`left_out`), for ``mailer articles show``.
"""

from __future__ import annotations

import logging
import re
from collections import Counter

from lxml.html import HtmlElement

from mailer.articles.model import Article, Block, Dropped, Image, Paragraph
from mailer.articles.sanitize import inline_text

__all__ = ["agreed_blocks", "left_out", "shingles", "why_left_out"]

_TOKEN = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")
# A block stays when this share of its word 4-grams is in trafilatura's text as well.
_AGREEMENT = 0.5
_BLOCK_TAGS = frozenset(
    {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd", "td", "th", "blockquote"}
    | {"figcaption", "caption", "pre", "div", "section", "article", "header", "footer"}
    | {"nav", "aside", "ul", "ol", "table", "tr", "form", "main", "figure", "address"}
)
_NEVER_TEXT = frozenset({"script", "style", "noscript", "template", "head", "svg"})
# Where a left-out piece stood, said from its element or an ancestor.
_TAG_WHY = {
    "nav": "navigation",
    "header": "the page's header",
    "footer": "the page's footer",
    "aside": "a sidebar",
    "form": "a form",
}
_WORD_WHY = (
    ({"share", "sharing", "social"}, "share buttons"),
    ({"related", "recommended", "more", "popular", "trending"}, "links to other articles"),
    ({"comment", "comments"}, "comments"),
    ({"newsletter", "subscribe", "signup"}, "a sign-up box"),
    ({"donate", "donation", "paywall"}, "an appeal or paywall"),
    ({"ad", "ads", "advert", "advertisement", "promo", "banner", "sponsored"}, "advertising"),
    ({"cookie", "consent", "gdpr"}, "a cookie notice"),
    ({"menu", "nav", "navbar", "breadcrumb", "breadcrumbs"}, "navigation"),
    ({"footer"}, "the page's footer"),
    ({"header", "masthead"}, "the page's header"),
    ({"sidebar", "rail", "widget"}, "a sidebar"),
    ({"caption", "credit"}, "a caption or credit outside the article"),
    ({"byline", "author", "dateline", "timestamp"}, "the byline or date (shown from metadata)"),
)
_CLASS_WORD = re.compile(r"[\s_-]+")


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    """The word n-grams of lower-case word tokens, counted."""
    tokens = _TOKEN.findall(text.lower())
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def agreed_blocks(blocks: list[Block], page: str) -> tuple[list[Block], list[Dropped]]:
    """readability's blocks that trafilatura's reading of the page agrees are the
    article's, and the ones it does not. When trafilatura finds nothing, or agrees with
    no paragraph, readability's blocks stand as they are."""
    import trafilatura  # heavy: imported when a page is read

    # trafilatura logs every page it finds no text in; the caller reports that itself.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    other = trafilatura.extract(page, include_comments=False, favor_precision=True) or ""
    if not other.strip():
        return blocks, []
    theirs = shingles(other)
    words = " ".join(_TOKEN.findall(other.lower()))
    kept: list[Block] = []
    dropped: list[Dropped] = []
    for block in blocks:
        text = Article(title="", blocks=(block,)).body_text
        if not text or _agreement(text, theirs, words) >= _AGREEMENT:
            kept.append(block)
        else:
            dropped.append(Dropped(" ".join(text.split()), "not article text to trafilatura"))
    if not any(isinstance(b, Paragraph) for b in kept):
        return blocks, []
    return kept, dropped


def _agreement(text: str, theirs: Counter[tuple[str, ...]], words: str) -> float:
    mine = shingles(text)
    total = sum(mine.values())
    if not total:  # under four words: is the phrase there at all
        return 1.0 if " ".join(_TOKEN.findall(text.lower())) in words else 0.0
    return sum((mine & theirs).values()) / total


def left_out(
    page: HtmlElement, blocks: list[Block], title: str, already: list[Dropped]
) -> list[Dropped]:
    """The text of ``page`` that is in none of ``blocks``, piece by piece (the smallest
    elements with text of their own), each with where it stood; ``already`` (reported
    by an earlier step) comes first and is not repeated."""
    kept = _normal(Article(title="", blocks=tuple(blocks)).body_text)
    kept += " ".join(
        _normal(f"{inline_text(b.caption)} {b.alt}") for b in blocks if isinstance(b, Image)
    )
    report = list(already)
    seen = {_normal(d.text) for d in already}
    reported_inside = " ".join(seen)
    title_key = _normal(title)
    for element in _pieces(page):
        text = " ".join(element.text_content().split())
        key = _normal(text)
        if not key or key in seen or key in kept or key in reported_inside:
            continue
        seen.add(key)
        why = "the title (shown from metadata)" if key == title_key else why_left_out(element)
        report.append(Dropped(text, why))
    return report


def _pieces(page: HtmlElement) -> list[HtmlElement]:
    """Block elements with text and no block elements inside, in page order (the page
    is changed: scripts and styles are taken out)."""
    for hidden in list(page.iter(*_NEVER_TEXT)):
        if hidden.getparent() is not None:
            hidden.drop_tree()
    containers: set[HtmlElement] = set()  # block elements with a block element inside
    for element in page.iter(*_BLOCK_TAGS):
        containers.update(element.iterancestors())
    return [e for e in page.iter(*_BLOCK_TAGS) if e not in containers and e.text_content().strip()]


def why_left_out(element: HtmlElement) -> str:
    """What a left-out element was, said from its tag or class and id words or those of
    the nearest ancestor that says."""
    for node in (element, *element.iterancestors()):
        words = set(_CLASS_WORD.split(f"{node.get('class', '')} {node.get('id', '')}".lower()))
        for names, why in _WORD_WHY:
            if words & names:
                return why
        if node.tag in _TAG_WHY:
            return _TAG_WHY[node.tag]
    return "outside the article"


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()
