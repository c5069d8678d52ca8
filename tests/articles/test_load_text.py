"""Articles given as text (an API request, the admin's form): the kind from the name or
the content, and the same errors as a file's."""

from __future__ import annotations

import pytest

from mailer.articles import load_text
from mailer.exceptions import ArticleError


def test_the_kind_comes_from_what_is_said_the_name_or_the_content() -> None:
    assert load_text("# Title\n\nSome text here.", name="x", kind="markdown").title == "Title"
    assert load_text(b"---\ntitle: Front\n---\nText.\n", name="notes").title == "Front"
    page = b"<!DOCTYPE html><html><head><title>Page</title></head><body><article><h1>Page</h1><p>Body text of the page.</p></article></body></html>"
    assert load_text(page, name="upload.html").title == "Page"
    assert load_text(page, name="pasted").title == "Page"
    plain = load_text("A plain title\n\nAnd a paragraph of text.", name="notes.txt")
    assert plain.title == "A plain title"


def test_empty_binary_and_feed_texts_are_refused_naming_them() -> None:
    with pytest.raises(ArticleError, match="the pasted text: is empty"):
        load_text("  \n", name="the pasted text")
    with pytest.raises(ArticleError, match="binary"):
        load_text(b"\x00\x01abc", name="upload.md")
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title></channel></rss>'
    with pytest.raises(ArticleError, match="is a feed"):
        load_text(feed, name="feed.xml")
    with pytest.raises(ArticleError, match="is not UTF-8"):
        load_text(b"caf\xe9 au lait", name="notes.txt")
