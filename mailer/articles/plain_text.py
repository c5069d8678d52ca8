"""Plain-text articles.

Paragraphs are separated by blank lines, and lines inside a paragraph are joined (text is
often wrapped at 72 columns). The first paragraph is the title, a following ``By ...``
line the byline. A short line standing alone without closing punctuation is a heading;
lines starting with ``>`` are a quote (a last ``— Name`` line says who said it), lines
starting with ``-``, ``*`` or ``1.`` a list; bare ``http(s)://`` addresses become links.
"""

from __future__ import annotations

import html
import re

from mailer.articles.blocks import mark_epigraph
from mailer.articles.model import Article, Block, Heading, ListBlock, Paragraph, Quote
from mailer.exceptions import ArticleError

__all__ = ["parse_text"]

_URL = re.compile(r"https?://[^\s<>\"]+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|(\d+)[.)])\s+")
_CITE = re.compile(r"^\s*(?:—|–|--|―)\s*")
_BYLINE = re.compile(r"^by\s+(.+)$", re.IGNORECASE)
# What ends a sentence or a clause: a line ending without it is a heading.
_CLOSING = tuple(".!?:;,\"'”’…)]")
_HEADING_MAX = 90


def parse_text(text: str, *, source: str = "") -> Article:
    """The article in a plain text; ``source`` names it in errors."""
    paragraphs = [
        [line.rstrip() for line in chunk.strip("\n").split("\n")]
        for chunk in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
        if chunk.strip()
    ]
    if not paragraphs:
        raise ArticleError(source, "is empty: no title and no text")
    first = paragraphs.pop(0)
    if len(first) != 1 or not _is_heading(first[0]):
        raise ArticleError(
            source, "no title: the first line must be a title standing alone, then a blank line"
        )
    title = first[0].strip()
    byline = ""
    if paragraphs and len(paragraphs[0]) == 1 and (found := _BYLINE.match(paragraphs[0][0])):
        byline = found.group(1).strip()
        paragraphs.pop(0)
    blocks: list[Block] = []
    for lines in paragraphs:
        block = _block(lines)
        previous = blocks[-1] if blocks else None
        # A quote running over several paragraphs is one quote.
        if isinstance(block, Quote) and isinstance(previous, Quote) and not previous.cite:
            block = Quote(previous.paragraphs + block.paragraphs, block.cite)
            blocks.pop()
        blocks.append(block)
    if not blocks:
        raise ArticleError(source, "has a title but no text")
    return Article(
        title=title,
        byline=byline,
        blocks=tuple(mark_epigraph(blocks)),
        personalised=True,
        source=source,
    )


def _block(lines: list[str]) -> Block:
    if all(line.lstrip().startswith(">") for line in lines):
        quoted = [re.sub(r"^\s*>\s?", "", line) for line in lines]
        cite = ""
        if len(quoted) > 1 and _CITE.match(quoted[-1]):
            cite = _inline(_CITE.sub("", quoted.pop()))
        return Quote((_inline(" ".join(quoted)),), cite)
    if all(_LIST_ITEM.match(line) for line in lines):
        first = _LIST_ITEM.match(lines[0])
        ordered = bool(first and first.group(1))
        return ListBlock(tuple(_inline(_LIST_ITEM.sub("", line)) for line in lines), ordered)
    if len(lines) == 1 and _is_heading(lines[0]):
        return Heading(_inline(lines[0]), 2)
    return Paragraph(_inline(" ".join(line.strip() for line in lines)))


def _is_heading(line: str) -> bool:
    line = line.strip()
    return (
        0 < len(line) <= _HEADING_MAX
        and not line.endswith(_CLOSING)
        and not _URL.fullmatch(line)
        and not _LIST_ITEM.match(line)
    )


def _inline(text: str) -> str:
    """Escaped text with its bare URLs as links."""
    out: list[str] = []
    at = 0
    for found in _URL.finditer(text):
        url = _trim_url(found.group())
        out.append(html.escape(text[at : found.start()], quote=False))
        out.append(f'<a href="{html.escape(url)}">{html.escape(url, quote=False)}</a>')
        at = found.start() + len(url)
    out.append(html.escape(text[at:], quote=False))
    return "".join(out).strip()


def _trim_url(url: str) -> str:
    # A sentence's full stop or a closing bracket around the URL is not part of it.
    while url:
        if url[-1] in ".,;:!?'\"”’" or (url[-1] == ")" and url.count("(") < url.count(")")):
            url = url[:-1]
        else:
            break
    return url
