from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from mailer.articles import Article
from mailer.rendering import render_email
from mailer.rendering.utm import Utm, slugify
from mailer.settings import Settings, load_settings
from tests.support.rendering import parse

UTM = Utm("times", "email", "ferry")


@pytest.mark.parametrize(
    ("url", "content", "tagged"),
    [
        (
            "https://x.org/a",
            "",
            "https://x.org/a?utm_source=times&utm_medium=email&utm_campaign=ferry",
        ),
        (
            "https://x.org",
            "",
            "https://x.org/?utm_source=times&utm_medium=email&utm_campaign=ferry",
        ),
        (
            "https://x.org/a?id=7&b=%20x#part",
            "donate",
            "https://x.org/a?id=7&b=%20x&utm_source=times&utm_medium=email"
            "&utm_campaign=ferry&utm_content=donate#part",
        ),
        ("mailto:ed@x.org?subject=Hi", "", "mailto:ed@x.org?subject=Hi"),
        ("tel:+49123", "", "tel:+49123"),
        ("#top", "", "#top"),
        ("https://x.org/?utm_source=own", "", "https://x.org/?utm_source=own"),
        ("%%unsubscribe_url.h%%", "", "%%unsubscribe_url.h%%"),
    ],
)
def test_tag(url: str, content: str, tagged: str) -> None:
    assert UTM.tag(url, content) == tagged


def test_slugify() -> None:
    assert slugify("The Example Times!") == "the-example-times"
    assert slugify("Zürcher Zeitung — Morgen") == "zurcher-zeitung-morgen"


def test_every_link_of_a_mailing_is_tagged(article: Article, cta_settings: Settings) -> None:
    rendered = render_email(
        article, cta_settings, archive_url="https://news.example.org/archive/7", campaign="May 31"
    )
    document = parse(rendered.html)
    for link in document.iter("a"):
        href = link.get("href")
        query = parse_qs(urlsplit(href).query)
        footer = "footer-link" in (link.get("class") or "")
        if footer:  # unsubscribe, preferences, archive: ours, not campaign traffic
            assert "utm_source" not in query, href
            continue
        assert query["utm_source"] == ["the-example-times"], href
        assert query["utm_medium"] == ["email"]
        assert query["utm_campaign"] == ["may-31"]
        if "button-link" in (link.get("class") or ""):
            assert query["utm_content"] == ["donate"]
            assert urlsplit(href).fragment == "form"
            assert query["src"] == ["email"]
    assert rendered.report.links
    assert all(
        "utm_campaign=may-31" in link for link in rendered.report.links if "archive" not in link
    )


def test_settings_choose_source_and_medium(article: Article, cta_config: Path) -> None:
    cta_config.write_text(
        'utm_source = "newsletter"\nutm_medium = "mail"\n' + cta_config.read_text()
    )
    rendered = render_email(article, load_settings(cta_config))
    assert (
        "utm_source=newsletter&utm_medium=mail&utm_campaign=the-ferry" in rendered.report.links[0]
    )
