"""The plain-text part: the same blocks as the HTML, written for reading as text.

Links stay as ``text (https://...)``, quotes get ``>``, lists ``-`` or numbers, headings
an underline; paragraphs are wrapped at 72 columns without ever breaking a URL.
"""

from __future__ import annotations

import re
import textwrap
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

__all__ = ["WIDTH", "block_text", "inline_to_text", "tidy_text", "wrap"]

WIDTH = 72
LinkRewriter = Callable[[str], str]
# Marks the indentation of a nested list item, which whitespace clean-up must not eat.
_INDENT = "\x01"


def inline_to_text(inline_html: str, rewrite: LinkRewriter | None = None) -> str:
    """Inline HTML as text: ``<br>`` a new line, a link its text and ``(url)``."""
    if not inline_html.strip():
        return ""
    root = lxml.html.fragment_fromstring(inline_html, create_parent="div")
    parts: list[str] = []
    _walk(root, parts, rewrite)
    lines = ("".join(parts)).split("\n")
    text = "\n".join(re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in lines).strip()
    return text.replace(_INDENT, "  ")


def _walk(element: HtmlElement, parts: list[str], rewrite: LinkRewriter | None) -> None:
    parts.append(element.text or "")
    for child in element:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "br":
            parts.append("\n")
        elif tag == "a":
            label = " ".join(child.text_content().split())
            original = child.get("href", "")
            href = rewrite(original) if rewrite is not None else original
            bare = original.removeprefix("mailto:").removeprefix("tel:")
            if not href or href.startswith("#"):
                parts.append(label)
            elif not label or label in (bare, original):
                parts.append(bare if bare != original else href)
            else:
                parts.append(f"{label} ({href})")
        elif tag in ("ul", "ol"):
            for i, li in enumerate(child.iter("li"), start=1):
                marker = f"{i}." if tag == "ol" else "-"
                parts.append(f"\n{_INDENT}{marker} {' '.join(li.text_content().split())}")
            parts.append("\n")
        else:
            _walk(child, parts, rewrite)
        parts.append(child.tail or "")


def wrap(text: str, width: int = WIDTH, prefix: str = "", hang: str = "") -> str:
    """Each line of ``text`` wrapped; ``prefix`` starts every line, ``hang`` indents the
    continuation lines of a wrapped one."""
    out: list[str] = []
    for line in text.split("\n"):
        if not line.strip():
            out.append(prefix.rstrip())
            continue
        pieces = textwrap.wrap(
            line,
            width=max(width - len(prefix), 20),
            subsequent_indent=hang,
            break_long_words=False,
            break_on_hyphens=False,
        )
        out.extend(prefix + piece for piece in pieces)
    return "\n".join(out)


def block_text(block: Block, rewrite: LinkRewriter | None = None) -> str:
    """One block as plain text."""
    if isinstance(block, Paragraph):
        return wrap(inline_to_text(block.html, rewrite))
    if isinstance(block, Heading):
        title = inline_to_text(block.html, rewrite)
        return f"{title}\n{('=' if block.level <= 2 else '-') * min(len(title), WIDTH)}"
    if isinstance(block, Quote):
        return _quote_text(block, rewrite)
    if isinstance(block, ListBlock):
        return _list_text(block, rewrite)
    if isinstance(block, Image):
        alt = block.alt or "image"
        caption = inline_to_text(block.caption, rewrite)
        return wrap(f"[{alt}]" + (f" {caption}" if caption else ""))
    if isinstance(block, Code):
        return textwrap.indent(block.text, "    ")
    if isinstance(block, Rule):
        return "* * *"
    if isinstance(block, Footnotes):
        notes = [
            wrap(f"[{n}] " + inline_to_text(item, rewrite), hang="    ")
            for n, item in enumerate(block.items, start=1)
        ]
        return "Notes\n-----\n" + "\n".join(notes)
    raise TypeError(f"not a block: {block!r}")


def _quote_text(block: Quote, rewrite: LinkRewriter | None) -> str:
    lines = [wrap(inline_to_text(p, rewrite), prefix="> ") for p in block.paragraphs]
    text = "\n>\n".join(lines)
    if block.cite:
        text += "\n" + wrap("— " + inline_to_text(block.cite, rewrite), prefix="> ")
    return text


def _list_text(block: ListBlock, rewrite: LinkRewriter | None) -> str:
    items = []
    for number, item in enumerate(block.items, start=1):
        marker = f"{number}. " if block.ordered else "- "
        body = wrap(
            inline_to_text(item, rewrite), width=WIDTH - len(marker), hang=" " * len(marker)
        )
        items.append(marker + body)
    return "\n".join(items)


def tidy_text(text: str) -> str:
    """Templates leave blank lines where blocks were skipped: at most one in a row,
    no trailing spaces, one final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    tidy = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return tidy + "\n"
