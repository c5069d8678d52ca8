"""Articles in: Markdown with front matter, saved web pages, plain text, RSS and Atom feeds,
each read into one :class:`Article` value so that templates never care where it came from::

    article = load_article("examples/article.md")
    digest = load_feed("https://example.org/feed.xml", limit=5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailer.lazy import lazy_names

if TYPE_CHECKING:
    from mailer.articles.loader import load_article, load_feed, load_text
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

__getattr__ = lazy_names(
    __name__,
    {
        "load_article": "mailer.articles.loader",
        "load_feed": "mailer.articles.loader",
        "load_text": "mailer.articles.loader",
        "Article": "mailer.articles.model",
        "Block": "mailer.articles.model",
        "Code": "mailer.articles.model",
        "Footnotes": "mailer.articles.model",
        "Heading": "mailer.articles.model",
        "Image": "mailer.articles.model",
        "ListBlock": "mailer.articles.model",
        "Paragraph": "mailer.articles.model",
        "Quote": "mailer.articles.model",
        "Rule": "mailer.articles.model",
    },
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
    "load_text",
]
