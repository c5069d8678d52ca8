"""An article's own appeal is the one call-to-action box, merged with a configured one."""

from __future__ import annotations

from pathlib import Path

from mailer.articles import load_article
from mailer.articles.markdown import parse_markdown
from mailer.config import Settings
from mailer.rendering import render_email
from tests.rendering.conftest import parse

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
