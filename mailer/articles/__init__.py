"""Articles in: Markdown with front matter, saved web pages, plain text, RSS and Atom feeds,
each read into one :class:`Article` value so that templates never care where it came from::

    article = load_article("examples/article.md")
    digest = load_feed("https://example.org/feed.xml", limit=5)
"""

from __future__ import annotations

from mailer.articles.loader import load_article, load_feed
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
    Rule,
)

__all__ = [
    "Article",
    "Block",
    "Code",
    "Footnotes",
    "Heading",
    "Image",
    "ListBlock",
    "Paragraph",
    "Quote",
    "Rule",
    "load_article",
    "load_feed",
]
