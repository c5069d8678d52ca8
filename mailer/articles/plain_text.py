"""Plain-text articles: written for the mailer, or copied from a web page.

The article is first found in the text (:mod:`mailer.articles.page_text`: the page's
menus, prompts and footers around it are dropped, the headline, standfirst, byline and
date found). Its lines then become blocks: a paragraph wrapped over lines is one
paragraph; a short line without closing punctuation is a heading; lines starting with
``>`` are a quote, and so is a paragraph followed by a ``— Name`` line (before the first
paragraph: the epigraph); lines starting with ``-``, ``*``, ``•`` or ``1.`` a list; a
photo's caption or credit is the caption of the image URL above it, or dropped; notes
at the end (``1. ...``, ``[1] ...``) whose numbers are glued to words in the text
(``resources.1``) are footnotes; bare ``http(s)://`` addresses become links.
"""

from __future__ import annotations

import html
import re

from mailer.articles.appeal import find_appeal
from mailer.articles.blocks import mark_epigraph
from mailer.articles.model import (
    Article,
    Block,
    Dropped,
    Footnotes,
    Heading,
    Image,
    ListBlock,
    Paragraph,
    Quote,
)
from mailer.articles.page_text import (
    Line,
    captioned,
    is_caption,
    is_furniture,
    is_image_url,
    read_page_text,
)
from mailer.exceptions import ArticleError

__all__ = ["parse_text"]

_URL = re.compile(r"https?://[^\s<>\"]+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•+▪]|o(?=\s)|(\d{1,3})[.)])\s+")
_CITE = re.compile(r"^\s*(?:—|–|--|―)\s*(?=\S)")
# What ends a sentence or a clause: a line ending without it is a heading.
_CLOSING = tuple(".!?:;,\"'”’…)]")
_HEADING_MAX = 90
_NOTE = re.compile(r"^\s*(?:\[(\d{1,3})\]|\^?(\d{1,3})[.)]?)\s+(?=\S)")
_BACK = re.compile(r"\s*(?:\[back\]|\[return\]|↩︎?|\^\s*back|back to text)\s*", re.IGNORECASE)
_GLUED = re.compile(r"(?<=[^\W\d]|[.,;:!?”\"’)])(\d{1,3})(?=[\s,.;:]|$)")
_MARK = re.compile("\ue000\\d+\ue001")  # a footnote mark, until it becomes <sup>
_QUOTED = re.compile(r"^[\"“„«].+[\"”“»]$")
_LONG_QUOTE_WORDS = 40


def parse_text(text: str, *, source: str = "") -> Article:
    """The article in a plain text; ``source`` names it in errors."""
    if not text.strip():
        raise ArticleError(source, "is empty: no title and no text")
    page = read_page_text(text)
    if not page.title:
        raise ArticleError(
            source, "no title: found no headline (a short line standing before the text)"
        )
    dropped = list(page.dropped)
    lines, notes = _footnotes(page.lines)
    blocks = _blocks(lines, dropped)
    if notes:
        blocks.append(Footnotes(tuple(notes)))
    if not any(isinstance(b, Paragraph | ListBlock | Quote) for b in blocks):
        raise ArticleError(source, "has a title but no text")
    blocks, appeal = find_appeal(blocks)
    return Article(
        title=page.title,
        subtitle=_inline(page.subtitle),
        byline=page.byline,
        date=page.date,
        blocks=tuple(mark_epigraph(blocks)),
        appeal=appeal,
        personalised=True,
        source=source,
        dropped=tuple(dropped),
    )


def _blocks(lines: list[Line], dropped: list[Dropped]) -> list[Block]:
    """The article's blocks from its lines; what is left out goes to ``dropped``. Each
    step reads one block from line ``i`` on and says where the next one starts."""
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        text = lines[i].text
        if text.startswith(">"):
            i = _quote(lines, i, blocks)
        elif _LIST_ITEM.match(text):
            i = _list(lines, i, blocks)
        else:
            i = _line(lines, i, blocks, dropped)
    return blocks


def _quote(lines: list[Line], i: int, blocks: list[Block]) -> int:
    """The ``>`` lines from ``i`` on as one quote; a last line that names its source
    is its citation."""
    j = i
    while j < len(lines) and lines[j].text.startswith(">"):
        j += 1
    quoted = [re.sub(r"^>\s?", "", row.text).strip() for row in lines[i:j]]
    cite = ""
    if len(quoted) > 1 and _CITE.match(quoted[-1]):
        cite = _inline(_CITE.sub("", quoted.pop()))
    _add_quote(blocks, Quote((_inline(" ".join(q for q in quoted if q)),), cite))
    return j


def _list(lines: list[Line], i: int, blocks: list[Block]) -> int:
    """The list items from ``i`` on as one list; a blank line followed by an item of
    the other kind (numbered or not) starts another list."""
    ordered = _ordered(lines[i])
    j = i + 1
    while (
        j < len(lines)
        and _LIST_ITEM.match(lines[j].text)
        and not (lines[j].after_blank and lines[j].words > 0 and _ordered(lines[j]) != ordered)
    ):
        j += 1
    items = [_inline(_LIST_ITEM.sub("", row.text)) for row in lines[i:j]]
    blocks.append(ListBlock(tuple(items), ordered=ordered))
    return j


def _line(lines: list[Line], i: int, blocks: list[Block], dropped: list[Dropped]) -> int:
    """A line that starts no quote or list: the citation of the quote before it, an
    image (and its caption), something to leave out, a heading, a long quotation
    standing alone, or a paragraph."""
    line = lines[i]
    text = line.text
    if _CITE.match(text) and blocks and len(text) <= 200 and _cite_previous(blocks, text):
        return i + 1
    if is_image_url(text):
        return _image(lines, i, blocks)
    after = _left_out(lines, i, dropped)
    if after is not None:
        return after
    if _is_heading(text):
        blocks.append(Heading(_inline(text), 2))
    elif _QUOTED.match(text) and line.words >= _LONG_QUOTE_WORDS:
        _add_quote(blocks, Quote((_inline(text[1:-1].strip()),)))
    else:
        blocks.append(Paragraph(_inline(text)))
    return i + 1


def _cite_previous(blocks: list[Block], text: str) -> bool:
    """Make ``text`` the citation of the block before it, if that is an uncited quote
    or a paragraph (which becomes a quote); whether it did."""
    previous = blocks[-1]
    cite = _inline(_CITE.sub("", text))
    if isinstance(previous, Quote) and not previous.cite:
        blocks[-1] = Quote(previous.paragraphs, cite, previous.epigraph)
        return True
    if isinstance(previous, Paragraph):
        blocks[-1] = Quote((previous.html,), cite)
        return True
    return False


def _image(lines: list[Line], i: int, blocks: list[Block]) -> int:
    """An image's URL on line ``i``, with the caption on the line after it if there is one."""
    src = lines[i].text.strip()
    i += 1
    caption = ""
    if i < len(lines) and is_caption(lines[i].text):
        caption = _inline(lines[i].text)
        i += 1
    blocks.append(Image(src=src, caption=caption))
    return i


def _left_out(lines: list[Line], i: int, dropped: list[Dropped]) -> int | None:
    """Where the article goes on if line ``i`` is left out (a photo's caption or credit,
    page furniture), with why in ``dropped``; None if it is kept."""
    text = lines[i].text
    if captioned(lines, i):
        why = "a photo caption and its credit (plain text has no image)"
        dropped.append(Dropped(f"{text} {lines[i + 1].text}", why))
        return i + 2
    if is_caption(text) and not _QUOTED.match(text):
        dropped.append(Dropped(text, "a photo caption or credit (plain text has no image)"))
        return i + 1
    if is_furniture(text) and len(text) < 120:
        dropped.append(Dropped(text, "page furniture inside the article"))
        return i + 1
    return None


def _add_quote(blocks: list[Block], quote: Quote) -> None:
    # A quote running over several paragraphs is one quote.
    previous = blocks[-1] if blocks else None
    if isinstance(previous, Quote) and not previous.cite:
        blocks[-1] = Quote(previous.paragraphs + quote.paragraphs, quote.cite)
    else:
        blocks.append(quote)


def _ordered(line: Line) -> bool:
    found = _LIST_ITEM.match(line.text)
    return bool(found and found.group(1))


def _footnotes(lines: list[Line]) -> tuple[list[Line], list[str]]:
    """The notes at the end of the text, numbered 1, 2, ... in order, when the text
    refers to them (a number glued to a word) or they say "[back]" or "↩"."""
    end = len(lines)
    start = end
    while start > 0 and _NOTE.match(lines[start - 1].text):
        start -= 1
    run = lines[start:end]
    numbers = [_note_number(line) for line in run]
    if not run or numbers != list(range(1, len(run) + 1)):
        return lines, []
    body = " ".join(line.text for line in lines[:start])
    marked = any(_BACK.search(line.text) for line in run)
    glued = {int(n) for n in _GLUED.findall(body)}
    if not marked and not set(numbers) <= glued:
        return lines, []
    notes = [_inline(_BACK.sub(" ", _NOTE.sub("", line.text)).strip()) for line in run]
    kept = [
        Line(
            _GLUED.sub(
                lambda m: (
                    f"\ue000{m.group(1)}\ue001" if int(m.group(1)) <= len(run) else m.group(1)
                ),
                line.text,
            ),
            line.after_blank,
        )
        for line in lines[:start]
    ]
    return kept, notes


def _note_number(line: Line) -> int:
    found = _NOTE.match(line.text)
    return int(found.group(1) or found.group(2)) if found else 0


def _is_heading(line: str) -> bool:
    line = _MARK.sub("", line).strip()
    return (
        0 < len(line) <= _HEADING_MAX
        and not line.endswith(_CLOSING)
        and not _URL.fullmatch(line)
        and not _LIST_ITEM.match(line)
    )


def _inline(text: str) -> str:
    """Escaped text with its bare URLs as links (and footnote marks as superscripts)."""
    out: list[str] = []
    at = 0
    for found in _URL.finditer(text):
        url = _trim_url(found.group())
        out.append(html.escape(text[at : found.start()], quote=False))
        out.append(f'<a href="{html.escape(url)}">{html.escape(url, quote=False)}</a>')
        at = found.start() + len(url)
    out.append(html.escape(text[at:], quote=False))
    joined = "".join(out).strip()
    return _MARK.sub(lambda m: f"<sup>{m.group()[1:-1]}</sup>", joined)


def _trim_url(url: str) -> str:
    # A sentence's full stop or a closing bracket around the URL is not part of it.
    while url:
        if url[-1] in ".,;:!?'\"”’" or (url[-1] == ")" and url.count("(") < url.count(")")):
            url = url[:-1]
        else:
            break
    return url
