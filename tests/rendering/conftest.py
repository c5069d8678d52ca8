"""A project with calls-to-action, and the example article."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from lxml.html import HtmlElement

from mailer.articles import Article, load_article
from mailer.settings import Settings, load_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CTAS = """
[cta.donate]
heading = "Keep local news free for everyone"
text = "Stories like this one take months. They are paid for by readers, not advertisers."
button_label = "Give to the newsroom"
url = "https://news.example.org/donate?src=email#form"
amounts = [5, 10, 25.5]
gifts = ["$5 pays for an hour of fact-checking", "$25 pays for a day in court"]
placement = 3
button_color = "#b3261e"

[cta.share]
heading = "Know someone who would like this?"
button_label = "Forward it"
url = "https://news.example.org/share"
placement = "top"
button_color = "#f0e442"
"""


@pytest.fixture
def cta_config(config_path: Path) -> Path:
    config_path.write_text(config_path.read_text() + CTAS)
    return config_path


@pytest.fixture
def cta_settings(cta_config: Path) -> Settings:
    return load_settings(cta_config)


@pytest.fixture
def article() -> Article:
    return load_article(EXAMPLES / "article.md")


def parse(html: str) -> HtmlElement:
    return lxml.html.document_fromstring(html)


SAMPLE = {
    "subscriber": {"email": "ann@example.org", "name": "Ann Lee", "attributes": {"country": "DE"}},
    "unsubscribe_url": "https://news.example.org/u/abc?x=1&y=2",
    "preferences_url": "https://news.example.org/p/abc",
}
