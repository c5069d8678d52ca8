"""Text copied from article pages (hand-made in the style of real pages, in tests/data/articles)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mailer.articles import Footnotes, Heading, ListBlock, Paragraph, Quote, load_article
from mailer.articles.dates import find_date
from mailer.articles.plain_text import parse_text

DATA = Path(__file__).resolve().parents[1] / "data" / "articles"


def test_page_chrome_is_dropped_and_the_headline_found() -> None:
    article = load_article(DATA / "copied-news.txt")
    assert article.title == "Harbour Town Votes to Rebuild the Old Sea Wall"
    assert article.subtitle == (
        "A narrow council majority backs a four-year plan, paid for by a new levy on moorings."
    )
    assert article.byline == "Maria Lindqvist"
    assert article.date == dt.date(2025, 3, 4)
    text = article.body_text
    assert text.startswith("Councillors in Harbour Town voted")
    assert text.endswith("The first public meeting on the works is on March 20 at the town hall.")
    for chrome in ("Skip to main content", "Sign In", "Share", "Related Articles", "cookies"):
        assert chrome not in text
    dropped = {d.text: d.why for d in article.dropped}
    assert dropped["Skip to main content"] == "page furniture before the headline"
    assert dropped["* Storm damage bill passes two million"] == "page text after the article"
    assert "cookies" in " ".join(dropped)
    assert article.appeal is None


def test_a_caption_with_a_credit_is_not_a_heading() -> None:
    article = load_article(DATA / "copied-news.txt")
    caption = "The sea wall after the January storm. Photo: Harbour Town Council"
    assert all(caption not in getattr(b, "html", "") for b in article.blocks)
    assert any(d.text == caption and "caption" in d.why for d in article.dropped)
    # A caption over two lines, the credit on the second.
    assert "Harbour master Ines Dahl" not in article.body_text
    assert any(d.text.endswith("Photo: Lars Holm / Gazette") for d in article.dropped)


def test_the_authors_box_after_the_article_is_dropped() -> None:
    article = load_article(DATA / "copied-news.txt")
    assert "covers the council" not in article.body_text
    assert any(d.text == "About Maria Lindqvist" for d in article.dropped)


def test_a_caption_under_an_image_url_is_its_caption() -> None:
    article = parse_text(
        "A Headline Here\n\nBy Ann Lee\n\n"
        + "A paragraph of the article that runs long enough to read as prose, for sure. " * 2
        + "\n\nhttps://img.example.org/wall.jpg\nThe wall in 1887. Photo: Town archive\n\n"
        + "Another paragraph that is long enough to be prose in the article, as it should. "
    )
    images = [b for b in article.blocks if b.kind == "image"]
    assert [(i.src, i.caption) for i in images] == [  # type: ignore[union-attr]
        ("https://img.example.org/wall.jpg", "The wall in 1887. Photo: Town archive")
    ]


def test_section_headings_lists_and_a_quote_with_its_attribution() -> None:
    blocks = load_article(DATA / "copied-news.txt").blocks
    assert Heading("What it will cost", 2) in blocks
    assert (
        ListBlock(
            (
                "Boats under eight metres: 40 euros a year",
                "Boats of eight to fifteen metres: 120 euros a year",
                "Larger boats and ferries: 600 euros a year",
            )
        )
        in blocks
    )
    assert (
        Quote(
            (
                "The wall is not only a defence. It is the reason this town exists at all, and we "
                "will not be the council that let the sea take it.",
            ),
            cite="Mayor Anton Berg, speaking after the vote",
        )
        in blocks
    )
    assert isinstance(blocks[-1], Paragraph)
    assert "March 20" in blocks[-1].html


def test_an_epigraph_with_its_attribution() -> None:
    article = load_article(DATA / "copied-essay.txt")
    assert article.title == "The Slow Work of Repair"
    assert article.byline == "Elena Marsh"
    assert article.date == dt.date(2024, 5, 12)
    assert article.blocks[0] == Quote(
        ("We do not inherit the earth from our ancestors; we borrow it from our children.",),
        cite="Anonymous, Proverbs of the Plains",
        epigraph=True,
    )


def test_a_long_quotation_is_a_quote() -> None:
    blocks = load_article(DATA / "copied-essay.txt").blocks
    quotes = [b for b in blocks if isinstance(b, Quote) and not b.epigraph]
    assert len(quotes) == 1
    assert quotes[0].paragraphs[0].startswith("The worst thing you can do with a good road")


def test_footnotes_marks_and_notes() -> None:
    blocks = load_article(DATA / "copied-essay.txt").blocks
    assert blocks[1].html.endswith("once the ribbon was cut.<sup>1</sup>")  # type: ignore[union-attr]
    assert blocks[-1] == Footnotes(
        (
            "The phrase is from the ribbon-cutting speech of a mayor who later lost office "
            "over the same road.",
            "Public works budgets, national accounts, 1960 to 2020.",
        )
    )
    assert not any("Newsletter" in getattr(b, "html", "") for b in blocks)


def test_notes_with_arrows_and_numbers_not_referred_to() -> None:
    body = "A paragraph long enough to be prose in an article, it says things here. "
    article = parse_text(f"Some Title\n\n{body}It cites one.1\n\n1. The note ↩\n")
    assert article.blocks[-1] == Footnotes(("The note",))
    # A numbered list at the end that nothing refers to is a list.
    article = parse_text(f"Some Title\n\n{body}\n\n1. first\n2. second\n")
    assert article.blocks[-1] == ListBlock(("first", "second"), ordered=True)


@pytest.mark.parametrize(
    ("line", "date"),
    [
        ("Updated 1:39 am EST, Wednesday, November 20, 2019", dt.date(2019, 11, 20)),
        ("Published 2024-06-12T08:00", dt.date(2024, 6, 12)),
        ("4. März 2025, 10:12 Uhr", dt.date(2025, 3, 4)),
        ("le 4 mars 2025", dt.date(2025, 3, 4)),
        ("04/03/2025", dt.date(2025, 3, 4)),
        ("Sept. 9, 2021", dt.date(2021, 9, 9)),
        ("No date here, only 2025", None),
    ],
)
def test_dates_as_pages_write_them(line: str, date: dt.date | None) -> None:
    assert find_date(line) == date
