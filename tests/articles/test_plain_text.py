from __future__ import annotations

from pathlib import Path

import pytest

from mailer.articles import Heading, ListBlock, Paragraph, Quote, load_article
from mailer.articles.plain_text import parse_text
from mailer.exceptions import ArticleError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "article.txt"


def test_the_example_text() -> None:
    article = load_article(EXAMPLE)
    assert article.title == "Storm warning for the weekend"
    assert article.byline == "Tom Okafor"
    assert article.personalised
    assert [b.kind for b in article.blocks] == [
        "paragraph",
        "heading",
        "paragraph",
        "quote",
        "list",
        "paragraph",
    ]


def test_paragraphs_headings_quotes_lists_and_links() -> None:
    article = parse_text(
        "Title here\n\n"
        "A paragraph that was\nwrapped over lines.\n\n"
        "Short heading\n\n"
        "A single line that ends like a sentence.\n\n"
        "> Quoted\n> words.\n> — Somebody\n\n"
        "1. one\n2. two\n\n"
        "See https://example.org/a_b?x=1. Or (https://example.org/c).\n"
        "Mail <x@example.org> & more.\n"
    )
    assert article.blocks == (
        Paragraph("A paragraph that was wrapped over lines."),
        Heading("Short heading", 2),
        Paragraph("A single line that ends like a sentence."),
        Quote(("Quoted words.",), cite="Somebody"),
        ListBlock(("one", "two"), ordered=True),
        Paragraph(
            'See <a href="https://example.org/a_b?x=1">https://example.org/a_b?x=1</a>. '
            'Or (<a href="https://example.org/c">https://example.org/c</a>). '
            "Mail &lt;x@example.org&gt; &amp; more."
        ),
    )


def test_a_leading_quote_is_an_epigraph() -> None:
    article = parse_text("Title\n\n> Words.\n\nText.\n")
    assert article.blocks[0] == Quote(("Words.",), epigraph=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("   \n\n  \n", "is empty"),
        ("Only a title\n", "no text"),
    ],
)
def test_text_without_a_title_or_text(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "a.txt"
    path.write_text(text)
    with pytest.raises(ArticleError, match=message):
        load_article(path)
