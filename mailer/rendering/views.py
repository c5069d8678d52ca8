"""What templates see of an article: its blocks as plain dicts with ``Markup`` for the
(sanitised) HTML and ready-made plain text, per-recipient expressions already tokens."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from mailer.articles.model import (
    Article,
    Block,
    Code,
    Footnotes,
    Heading,
    Image,
    ListBlock,
    Paragraph,
    Quote,
)
from mailer.rendering.ctas import CONTENT_WIDTH
from mailer.rendering.expressions import ExpressionSet
from mailer.rendering.text import block_text, inline_to_text

__all__ = ["article_view", "block_view", "format_date", "personalise_block"]

Rewrite = Callable[[str], str]


def format_date(article: Article) -> str:
    if article.date is None:
        return ""
    return f"{article.date.day} {article.date:%B %Y}"


def personalise_block(block: Block, expressions: ExpressionSet, origin: str) -> Block:
    """The block with its ``{{ ... }}`` expressions turned into HTML tokens."""
    if isinstance(block, Paragraph | Heading):
        return dataclasses.replace(block, html=expressions.in_html(block.html, origin))
    if isinstance(block, Quote):
        return dataclasses.replace(
            block,
            paragraphs=tuple(expressions.in_html(p, origin) for p in block.paragraphs),
            cite=expressions.in_html(block.cite, origin),
        )
    if isinstance(block, ListBlock | Footnotes):
        return dataclasses.replace(
            block, items=tuple(expressions.in_html(i, origin) for i in block.items)
        )
    if isinstance(block, Image):
        return dataclasses.replace(block, caption=expressions.in_html(block.caption, origin))
    return block


def block_view(block: Block, rewrite: Rewrite) -> dict[str, Any]:
    """A block as a template sees it: ``kind``, its fields, and ``text``."""
    view: dict[str, Any] = {"kind": block.kind, "text": block_text(block, rewrite)}
    if isinstance(block, Paragraph | Heading):
        view["html"] = Markup(block.html)
        if isinstance(block, Heading):
            view["level"] = block.level
    elif isinstance(block, Quote):
        view["paragraphs"] = [Markup(p) for p in block.paragraphs]
        view["cite"] = Markup(block.cite)
        view["epigraph"] = block.epigraph
    elif isinstance(block, ListBlock | Footnotes):
        view["items"] = [Markup(i) for i in block.items]
        view["ordered"] = isinstance(block, Footnotes) or block.ordered
    elif isinstance(block, Image):
        view.update(image_view(block))
    elif isinstance(block, Code):
        view["code"] = block.text
    return view


def image_view(image: Image, width: int = CONTENT_WIDTH) -> dict[str, Any]:
    """An image at the width it shows at: its own if smaller than the column, else the
    column's, and fluid (shrinking on phones) when it fills the column."""
    shown = min(image.width, width) if image.width else width
    height = round(image.height * shown / image.width) if image.width and image.height else None
    return {
        "src": image.src,
        "alt": image.alt,
        "caption": Markup(image.caption),
        "caption_text": inline_to_text(image.caption),
        "href": image.href,
        "width": shown,
        "height": height,
        "fluid": shown == width,
    }


def article_view(
    article: Article,
    *,
    blocks: list[Block],
    rewrite: Rewrite,
    summary: str,
    truncated: bool = False,
    continue_url: str = "",
) -> dict[str, Any]:
    """An article as a template sees it (``body`` is set by the caller)."""
    return {
        "title": article.title,
        "subtitle": Markup(article.subtitle),
        "subtitle_text": inline_to_text(article.subtitle, rewrite),
        "byline": article.byline,
        "date": article.date,
        "date_text": format_date(article),
        "url": rewrite(article.url),
        "image": image_view(article.image, 600) if article.image else None,
        "tags": list(article.tags),
        "summary": Markup(summary),
        "summary_text": inline_to_text(summary, rewrite),
        "blocks": [block_view(b, rewrite) for b in blocks],
        "truncated": truncated,
        "continue_url": continue_url,
    }
