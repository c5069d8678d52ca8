"""An article's own appeal is the one call-to-action box, merged with a configured one."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.articles import load_article
from mailer.articles.html_page import parse_html_page
from mailer.articles.markdown import parse_markdown
from mailer.rendering import render_email
from mailer.settings import Settings
from tests.support.rendering import parse

DATA = Path(__file__).resolve().parents[1] / "data" / "articles"
GIFT = "a bed and a hot meal for one night: 15 euros"


def _boxes(html: str) -> int:
    return len(parse(html).find_class("cta-box"))


def test_with_a_configured_call_to_action_they_merge(cta_settings: Settings) -> None:
    article = load_article(DATA / "copied-appeal.txt")
    email = render_email(article, cta_settings, ctas=["donate"])
    assert _boxes(email.html) == 1
    box = parse(email.html).find_class("cta-box")[0]
    assert box.find_class("cta-heading")[0].text_content() == "Keep local news free for everyone"
    assert next(li.text_content() for li in box.iter("li")) == GIFT  # the article's gifts
    assert "news.example.org/donate" in email.html  # the configured link and amounts
    assert "rivertrust.example.org" not in email.html
    assert "DONATE" not in email.html and "contribute to" not in email.html
    assert email.text.count(GIFT) == 1
    assert email.text.count("Give to the newsroom:") == 1


def test_without_one_the_appeal_is_the_box(settings: Settings) -> None:
    article = load_article(DATA / "copied-appeal.txt")
    email = render_email(article, settings)
    assert _boxes(email.html) == 1
    links = [a.get("href") for a in parse(email.html).find_class("button-link")]
    assert len(links) == 1 and links[0].startswith("https://rivertrust.example.org/donate")
    assert email.text.count(GIFT) == 1
    assert email.text.count("Donate: https://rivertrust.example.org/donate") == 1
    assert email.report.warnings == []


def test_an_appeal_without_a_link_is_a_box_and_a_warning(settings: Settings) -> None:
    article = parse_markdown(
        "# Shelter opens\n\n"
        + "The shelter opened on Monday with forty beds and a kitchen. " * 4
        + "\n\n## Support our work\n\nYour donations contribute to:\n\n"
        + f"- {GIFT}\n"
    )
    email = render_email(article, settings)
    assert _boxes(email.html) == 1
    assert parse(email.html).find_class("button-link") == []
    assert email.text.count(GIFT) == 1
    assert any("appeal has no link" in w for w in email.report.warnings)


def test_none_means_no_box(cta_settings: Settings) -> None:
    article = load_article(DATA / "copied-appeal.txt")
    email = render_email(article, cta_settings, ctas=["none"])
    assert _boxes(email.html) == 0


PROSE = "The shelter opened on Monday with forty beds and a kitchen run by volunteers. " * 3
MARKDOWN = (
    f"# Shelter opens\n\n{PROSE}\n\n{PROSE}\n\n## DONATE\n\nYour donations contribute to:\n\n"
    f"- {GIFT}\n\n[Give now](https://trust.example.org/give)\n"
)
PAGE = (
    "<html><head><title>Shelter opens</title></head><body><article><h1>Shelter opens</h1>"
    + f"<p>{PROSE}</p>" * 3
    + f"<h2>DONATE</h2><p>Your donations contribute to:</p><ul><li>{GIFT}</li></ul>"
    + '<p><a href="https://trust.example.org/give">Give now</a></p></article></body></html>'
)


@pytest.mark.parametrize("kind", ["markdown", "html"])
def test_markdown_and_html_appeals_make_one_box(
    kind: str, settings: Settings, cta_settings: Settings
) -> None:
    article = parse_markdown(MARKDOWN) if kind == "markdown" else parse_html_page(PAGE)
    own = render_email(article, settings)
    assert _boxes(own.html) == 1
    assert own.text.count(GIFT) == 1 and own.text.count("DONATE") == 0
    assert "trust.example.org/give" in own.html
    merged = render_email(article, cta_settings, ctas=["donate"])
    assert _boxes(merged.html) == 1
    assert merged.text.count(GIFT) == 1
    assert "trust.example.org" not in merged.html  # the configured link instead
    assert merged.text.count("Give to the newsroom:") == 1
