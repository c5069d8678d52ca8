from __future__ import annotations

from pathlib import Path

from mailer.articles import load_feed
from mailer.rendering import render_confirmation, render_email, token
from mailer.settings import Settings
from tests.support.rendering import SAMPLE, parse

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_a_digest_of_feed_items(cta_settings: Settings) -> None:
    articles = load_feed(EXAMPLES / "feed.xml")
    rendered = render_email(
        articles,
        cta_settings,
        ctas=["donate"],
        archive_url="https://news.example.org/archive/9",
        list_name="Weekly",
    )
    assert rendered.subject == (
        "The Example Times: Library roof repairs to start in July and 2 more"
    )
    document = parse(rendered.html)
    titles = [h.text_content() for h in document.find_class("digest-title")]
    assert titles == [a.title for a in articles]
    summaries = [p.text_content() for p in document.find_class("digest-summary")]
    assert summaries[0] == "The council found the money after all: a bequest and a bake sale."
    assert summaries[1].startswith("After sixty years")
    # The donation box stands after item 3, here the last: at the bottom.
    assert rendered.html.index("Storm warning") < rendered.html.index("Keep local news free")
    preheader = document.find_class("preheader")[0].text_content()
    assert preheader.startswith("The ferry that would not sink · Storm warning for the weekend")
    _, _, text = rendered.fill(SAMPLE)
    assert "1. Library roof repairs to start in July" in text
    assert "Read more: https://news.example.org/2024/05/millbrook-ferry?utm_source=" in text
    assert "subscribed to Weekly from The Example Times" in " ".join(text.split())


def test_a_call_to_action_between_digest_items(cta_settings: Settings) -> None:
    donate = cta_settings.cta["donate"].model_copy(update={"placement": 1})
    settings = cta_settings.model_copy(update={"cta": {"donate": donate}})
    html = render_email(load_feed(EXAMPLES / "feed.xml"), settings, ctas=["donate"]).html
    first = html.index(">Library roof repairs to start in July</a>")
    second = html.index(">The ferry that would not sink</a>")
    assert first < html.index("Keep local news free") < second


def test_the_confirmation_mail(settings: Settings) -> None:
    rendered = render_confirmation(settings, "Morning Briefing")
    assert rendered.subject == "Please confirm your subscription to Morning Briefing"
    assert token("confirm_url.h") in rendered.html
    assert token("confirm_url") in rendered.text
    assert token("unsubscribe_url.h") not in rendered.html  # not subscribed yet
    values = rendered.substitutions(
        {"subscriber": {}, "confirm_url": "https://news.example.org/c?t=1&l=2"}
    )
    _, html, text = rendered.fill(
        {"subscriber": {}, "confirm_url": "https://news.example.org/c?t=1&l=2"}
    )
    assert values[token("confirm_url")] == "https://news.example.org/c?t=1&l=2"
    assert 'href="https://news.example.org/c?t=1&amp;l=2"' in html
    assert "https://news.example.org/c?t=1&l=2" in text
    assert "One click and you're on Morning Briefing." in html
    words = " ".join(text.split())
    assert "asked for Morning Briefing from The Example Times to come to this address" in words
    assert "If it wasn't you, just ignore it" in words


def test_a_confirmation_with_its_url_given(settings: Settings) -> None:
    rendered = render_confirmation(settings, "Weekly", "https://news.example.org/c/xyz")
    assert 'href="https://news.example.org/c/xyz"' in rendered.html
    assert rendered.tokens == frozenset()
