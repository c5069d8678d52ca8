"""The one value every kind of input becomes: an :class:`Article` made of blocks.

Text in blocks is *inline HTML* that has been sanitised (a small allowlist: links,
emphasis, code, line breaks, superscripts) with absolute URLs, so templates can print it
as it is, whatever the article came from.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

__all__ = [
    "Appeal",
    "Article",
    "Block",
    "Code",
    "Dropped",
    "Footnotes",
    "Heading",
    "Image",
    "ListBlock",
    "Paragraph",
    "Quote",
    "Rule",
    "block_from_dict",
]

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


@dataclass(frozen=True)
class Heading:
    kind: ClassVar[str] = "heading"
    html: str
    level: int = 2  # 2 to 4: the article's title is the only level 1


@dataclass(frozen=True)
class Paragraph:
    kind: ClassVar[str] = "paragraph"
    html: str


@dataclass(frozen=True)
class Image:
    kind: ClassVar[str] = "image"
    src: str
    alt: str = ""
    caption: str = ""  # inline HTML
    width: int | None = None  # as given by the source, in CSS pixels
    height: int | None = None
    href: str = ""  # where the image links to, if anywhere


@dataclass(frozen=True)
class Quote:
    kind: ClassVar[str] = "quote"
    paragraphs: tuple[str, ...]
    cite: str = ""  # inline HTML: who said it
    epigraph: bool = False  # a quote standing before the first paragraph


@dataclass(frozen=True)
class ListBlock:
    kind: ClassVar[str] = "list"
    items: tuple[str, ...]
    ordered: bool = False


@dataclass(frozen=True)
class Code:
    kind: ClassVar[str] = "code"
    text: str  # plain text, not HTML


@dataclass(frozen=True)
class Rule:
    kind: ClassVar[str] = "rule"


@dataclass(frozen=True)
class Footnotes:
    kind: ClassVar[str] = "footnotes"
    items: tuple[str, ...]  # inline HTML, numbered from 1


Block = Heading | Paragraph | Image | Quote | ListBlock | Code | Rule | Footnotes

_BLOCK_TYPES: dict[str, type[Block]] = {
    cls.kind: cls for cls in (Heading, Paragraph, Image, Quote, ListBlock, Code, Rule, Footnotes)
}


def _block_to_dict(block: Block) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": block.kind}
    for f in fields(block):
        value = getattr(block, f.name)
        data[f.name] = list(value) if isinstance(value, tuple) else value
    return data


def block_from_dict(data: dict[str, Any]) -> Block:
    """The block stored by :meth:`Article.to_dict`."""
    values = dict(data)
    cls = _BLOCK_TYPES.get(values.pop("kind", ""))
    if cls is None:
        raise ValueError(f"unknown block kind {data.get('kind')!r}")
    for f in fields(cls):
        if isinstance(values.get(f.name), list):
            values[f.name] = tuple(values[f.name])
    return cls(**values)


def _plain(inline_html: str) -> str:
    # Imported here: blocks imports this module.
    from mailer.articles.sanitize import inline_text

    lines = (inline_text(line) for line in _BREAK.split(inline_html))
    return "\n".join(line for line in lines if line)


def _texts(block: Block) -> list[str]:
    """The plain text of a block, one string per paragraph of it."""
    if isinstance(block, Heading | Paragraph):
        return [_plain(block.html)]
    if isinstance(block, Quote):
        return [_plain(p) for p in block.paragraphs] + ([_plain(block.cite)] if block.cite else [])
    if isinstance(block, ListBlock | Footnotes):
        return [_plain(item) for item in block.items]
    if isinstance(block, Code):
        return [block.text]
    return []  # images (their captions too) and rules are not running text


@dataclass(frozen=True)
class Dropped:
    """Something of the source a reader left out as page furniture, and why (``mailer
    articles show`` lists them, so that a publisher sees what did not make it)."""

    text: str
    why: str


@dataclass(frozen=True)
class Appeal:
    """The article's own call-to-action (its closing donation appeal), taken out of its
    text: rendering shows it as the call-to-action box. Texts are inline HTML."""

    heading: str = ""
    text: str = ""
    url: str = ""  # the appeal's link, when the article gives one
    button_label: str = ""  # "Donate", as the article words it
    gifts: tuple[str, ...] = ()  # what gifts pay for, one item each
    # The blocks it was read from; a report of the reading (not stored).
    blocks: tuple[Block, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "heading": self.heading,
            "text": self.text,
            "url": self.url,
            "button_label": self.button_label,
            "gifts": list(self.gifts),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Appeal:
        return cls(
            heading=data.get("heading", ""),
            text=data.get("text", ""),
            url=data.get("url", ""),
            button_label=data.get("button_label", ""),
            gifts=tuple(data.get("gifts", ())),
        )


@dataclass(frozen=True)
class Article:
    """An article, whatever it came from (Markdown, a web page, plain text, a feed item).

    ``cta`` is what the article asks for: ``None`` when it says nothing (the defaults
    apply), ``()`` for ``cta: none``. ``personalised`` says whether ``{{ ... }}`` in its
    text are per-recipient expressions: true for what a publisher writes (Markdown, plain
    text), false for pages and feeds taken from the web.
    """

    title: str
    blocks: tuple[Block, ...]
    subtitle: str = ""
    byline: str = ""
    date: dt.date | None = None
    url: str = ""  # the canonical web address
    preheader: str = ""
    image: Image | None = None  # the lead image
    tags: tuple[str, ...] = ()
    cta: tuple[str, ...] | None = None
    personalised: bool = False
    source: str = field(default="", compare=False)  # the file or URL it was read from
    guid: str = ""  # a feed item's own id (RSS guid, Atom id), by which digests know it
    appeal: Appeal | None = None  # the article's own donation appeal, out of its blocks
    # What the reader dropped; a report of the reading, not part of the article (not stored).
    dropped: tuple[Dropped, ...] = field(default=(), compare=False)

    @property
    def body_text(self) -> str:
        """The article's text as plain text, paragraphs (and list items, quote
        paragraphs, headings) separated by blank lines: what the reader kept, without
        the title, page furniture or the appeal (which is :attr:`cta`, not a block)."""
        return "\n\n".join(text for block in self.blocks for text in _texts(block) if text)

    @property
    def summary(self) -> str:
        """Inline HTML for a digest: the subtitle, else the first paragraph."""
        if self.subtitle:
            return self.subtitle
        return next((b.html for b in self.blocks if isinstance(b, Paragraph)), "")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data; :meth:`from_dict` reads it back."""
        return {
            "title": self.title,
            "subtitle": self.subtitle,
            "byline": self.byline,
            "date": self.date.isoformat() if self.date else None,
            "url": self.url,
            "preheader": self.preheader,
            "image": _block_to_dict(self.image) if self.image else None,
            "tags": list(self.tags),
            "cta": list(self.cta) if self.cta is not None else None,
            "personalised": self.personalised,
            "source": self.source,
            "guid": self.guid,
            "blocks": [_block_to_dict(b) for b in self.blocks],
            "appeal": self.appeal.to_dict() if self.appeal else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        image = block_from_dict(data["image"]) if data.get("image") else None
        if image is not None and not isinstance(image, Image):
            raise ValueError("an article's image must be an image block")
        cta = data.get("cta")
        return cls(
            title=data["title"],
            subtitle=data.get("subtitle", ""),
            byline=data.get("byline", ""),
            date=dt.date.fromisoformat(data["date"]) if data.get("date") else None,
            url=data.get("url", ""),
            preheader=data.get("preheader", ""),
            image=image,
            tags=tuple(data.get("tags", ())),
            cta=tuple(cta) if cta is not None else None,
            personalised=data.get("personalised", False),
            source=data.get("source", ""),
            guid=data.get("guid", ""),
            blocks=tuple(block_from_dict(b) for b in data.get("blocks", ())),
            appeal=Appeal.from_dict(data["appeal"]) if data.get("appeal") else None,
        )
