"""Article HTML to blocks: the one path every input kind but plain text goes through.

The HTML is sanitised first (:mod:`mailer.articles.sanitize`), then walked with lxml:
block elements become blocks, runs of inline content become paragraphs, and containers
(``div``, ``section``, ...) are looked into. Whatever the markup, the result is a flat
list of blocks with sanitised inline HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import lxml.html
from lxml.html import HtmlElement

from mailer.articles.model import (
    Block,
    Code,
    Footnotes,
    Heading,
    Image,
    ListBlock,
    Paragraph,
    Quote,
    Rule,
)
from mailer.articles.sanitize import INLINE_TAGS, clean_document, clean_inline, inline_text

__all__ = ["html_to_blocks", "mark_epigraph"]

_HEADINGS = {"h1": 2, "h2": 2, "h3": 3, "h4": 4, "h5": 4, "h6": 4}
_SPACE = re.compile(r"\s+")
_CITE_DASH = re.compile(r"^\s*(?:—|–|--|―)\s*")
# Inline elements the sanitiser keeps (for structure) but inline text does not need.
_INLINE_CONTAINERS = frozenset({"cite", "span"})


def html_to_blocks(source: str, *, base_url: str = "") -> list[Block]:
    """The blocks of an article body given as HTML (a fragment or a whole page body).
    Relative URLs are resolved against ``base_url`` when it is given."""
    cleaned = clean_document(source, base_url)
    if not cleaned.strip():
        return []
    root = lxml.html.fragment_fromstring(cleaned, create_parent="div")
    walker = _Walker()
    walker.container(root)
    return mark_epigraph(walker.blocks)


def mark_epigraph(blocks: list[Block]) -> list[Block]:
    """A quote that stands before the first paragraph is the article's epigraph."""
    for i, block in enumerate(blocks):
        if isinstance(block, Paragraph):
            break
        if isinstance(block, Quote):
            blocks[i] = Quote(block.paragraphs, block.cite, epigraph=True)
            break
    return blocks


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._inline: list[str] = []

    # Inline content gathers until a block element (or the end of a container) ends it.
    def _add_inline(self, piece: str) -> None:
        self._inline.append(piece)

    def _flush(self) -> None:
        if not self._inline:
            return
        text = _tidy(clean_inline("".join(self._inline)))
        self._inline = []
        if inline_text(text):
            self.blocks.append(Paragraph(text))

    def _text(self, text: str | None) -> None:
        if text:
            self._add_inline(html.escape(text, quote=False))

    def container(self, element: HtmlElement) -> None:
        self._flush()
        self._text(element.text)
        for child in element:
            self.node(child)
            self._text(child.tail)
        self._flush()

    def node(self, element: HtmlElement) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in _HEADINGS:
            self._heading(element, _HEADINGS[tag])
        elif tag == "a" and (img := _lone_image(element)) is not None:
            self._image(img, href=element.get("href", ""))
        elif tag in INLINE_TAGS or tag in _INLINE_CONTAINERS:
            self._add_inline(_outer(element))
        elif tag == "section" and "footnotes" in element.get("class", ""):
            self._footnotes(element)
        else:  # a block of its own, or a container of its own (p, div, section, ...)
            _BLOCK_ELEMENTS.get(tag, _Walker.container)(self, element)

    def _heading(self, element: HtmlElement, level: int) -> None:
        self._flush()
        text = _tidy(clean_inline(_inner(element)))
        if inline_text(text):
            self.blocks.append(Heading(text, level))

    def _code(self, element: HtmlElement) -> None:
        self._flush()
        text = element.text_content().strip("\n")
        if text.strip():
            self.blocks.append(Code(text))

    def _rule(self, element: HtmlElement) -> None:
        self._flush()
        self.blocks.append(Rule())

    def _footnotes(self, section: HtmlElement) -> None:
        self._flush()
        numbered = next(section.iter("ol"), None)
        items = (
            [_list_item(li) for li in numbered if li.tag == "li"] if numbered is not None else []
        )
        if items:
            self.blocks.append(Footnotes(tuple(items)))

    def _table_row(self, row: HtmlElement) -> None:
        # A table row reads as one paragraph of its cells.
        self._flush()
        cells = [_tidy(clean_inline(_inner(c))) for c in row if c.tag in ("td", "th")]
        text = " · ".join(cell for cell in cells if cell)
        if text:
            self.blocks.append(Paragraph(text))

    def _image(self, img: HtmlElement, *, href: str = "", caption: str = "") -> None:
        self._flush()
        src = img.get("src", "")
        if not src:
            return  # a data: or javascript: source the sanitiser removed
        if not caption and img.get("title"):
            caption = html.escape(img.get("title", ""), quote=False)
        self.blocks.append(
            Image(
                src=src,
                alt=_SPACE.sub(" ", img.get("alt", "")).strip(),
                caption=caption,
                width=_pixels(img.get("width")),
                height=_pixels(img.get("height")),
                href=href,
            )
        )

    def _figure(self, figure: HtmlElement) -> None:
        caption_element = next(figure.iter("figcaption"), None)
        caption = (
            _tidy(clean_inline(_inner(caption_element))) if caption_element is not None else ""
        )
        img = next(figure.iter("img"), None)
        if img is None:
            self.container(figure)
            return
        parent = img.getparent()
        href = parent.get("href", "") if parent is not None and parent.tag == "a" else ""
        self._image(img, href=href, caption=caption)

    def _quote(self, quote: HtmlElement) -> None:
        self._flush()
        cite = ""
        source = _quote_source(quote)
        if source is not None:
            cite = _CITE_DASH.sub("", _tidy(clean_inline(_inner(source))), count=1)
            source.drop_tree()  # its tail text stays
        inner = _Walker()
        inner.container(quote)
        paragraphs = [_block_inline(b) for b in inner.blocks]
        paragraphs = [p for p in paragraphs if p]
        if not cite and len(paragraphs) > 1 and _CITE_DASH.match(inline_text(paragraphs[-1])):
            cite = _CITE_DASH.sub("", paragraphs.pop(), count=1)
        if paragraphs:
            self.blocks.append(Quote(tuple(paragraphs), cite))

    def _list(self, element: HtmlElement) -> None:
        self._flush()
        items = [_list_item(li) for li in element if li.tag == "li"]
        items = [item for item in items if inline_text(item)]
        if items:
            self.blocks.append(ListBlock(tuple(items), ordered=element.tag == "ol"))


# The elements that make a block of their own, each read by its method.
_BLOCK_ELEMENTS: dict[str, Callable[[_Walker, HtmlElement], None]] = {
    "img": _Walker._image,
    "figure": _Walker._figure,
    "blockquote": _Walker._quote,
    "ul": _Walker._list,
    "ol": _Walker._list,
    "pre": _Walker._code,
    "hr": _Walker._rule,
    "tr": _Walker._table_row,
}


def _quote_source(quote: HtmlElement) -> HtmlElement | None:
    """Who said it: a ``<footer>`` in the quote, or a ``<cite>`` standing on its own
    (not the title of a work cited inside a sentence)."""
    footer = next(quote.iter("footer"), None)
    if footer is not None:
        return footer
    for cite in quote.iter("cite"):
        parent = cite.getparent()
        if parent is quote or (
            parent is not None
            and parent.tag == "p"
            and parent.text_content().strip() == cite.text_content().strip()
        ):
            return cite
    return None


def _inner(element: HtmlElement) -> str:
    parts = [html.escape(element.text or "", quote=False)]
    parts.extend(_outer(child, tail=True) for child in element)
    return "".join(parts)


def _outer(element: HtmlElement, *, tail: bool = False) -> str:
    return str(lxml.html.tostring(element, encoding="unicode", with_tail=tail))


def _tidy(inline_html: str) -> str:
    text = _SPACE.sub(" ", inline_html).strip()
    return re.sub(r"^(?:<br>\s*)+|(?:\s*<br>)+$", "", text)


def _list_item(li: HtmlElement) -> str:
    """A list item's inline HTML: paragraphs inside it (a loose list) become line breaks,
    nested lists stay."""
    parts: list[str] = [html.escape(li.text or "", quote=False)]
    for child in li:
        if child.tag in ("p", "div"):
            if len(parts) > 1 or parts[0].strip():
                parts.append("<br>")
            parts.append(_inner(child))
            parts.append(html.escape(child.tail or "", quote=False))
        else:
            parts.append(_outer(child, tail=True))
    return _tidy(clean_inline("".join(parts), lists=True))


def _block_inline(block: Block) -> str:
    if isinstance(block, Paragraph | Heading):
        return block.html
    if isinstance(block, ListBlock):
        return "<br>".join(block.items)
    if isinstance(block, Code):
        return f"<code>{html.escape(block.text)}</code>"
    return ""


def _lone_image(link: HtmlElement) -> HtmlElement | None:
    children = [c for c in link if isinstance(c.tag, str)]
    if len(children) == 1 and children[0].tag == "img" and not link.text_content().strip():
        return children[0]
    return None


def _pixels(value: str | None) -> int | None:
    if value and value.strip().removesuffix("px").isdigit():
        return int(value.strip().removesuffix("px")) or None
    return None
