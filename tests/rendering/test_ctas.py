from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from mailer.articles import Article, Paragraph
from mailer.exceptions import ConfigError, NotFound
from mailer.rendering import render_email
from mailer.rendering.ctas import choose_ctas, readable_on
from mailer.settings import CtaSettings, Settings, load_settings
from mailer.settings.template import CONFIG_TEMPLATE
from tests.support.config import write_config
from tests.support.rendering import parse


def _names(html: str) -> list[str]:
    """The calls-to-action in a rendered email, in order, by their main button."""
    labels = [a.text for a in parse(html).find_class("button-link")]
    return [label for label in labels if label in ("Give to the newsroom", "Forward it")]


def test_choice_order(cta_settings: Settings) -> None:
    settings = cta_settings.model_copy(update={"default_cta": ["share"]})
    assert choose_ctas(settings, requested=None, article=None, list_default=None) == ["share"]
    assert choose_ctas(settings, requested=None, article=None, list_default=["donate"]) == [
        "donate"
    ]
    assert choose_ctas(settings, requested=None, article=("share", "donate"), list_default=[]) == [
        "share",
        "donate",
    ]
    assert choose_ctas(settings, requested=["donate"], article=(), list_default=None) == ["donate"]
    assert choose_ctas(settings, requested=["none"], article=("donate",), list_default=None) == []
    assert choose_ctas(settings, requested=None, article=(), list_default=["donate"]) == []


def test_an_unknown_call_to_action_lists_the_known(
    article: Article, cta_settings: Settings
) -> None:
    with pytest.raises(NotFound, match=r"no call-to-action 'give' \(known: donate, share\)"):
        render_email(article, cta_settings, ctas=["give"])
    without = cta_settings.model_copy(update={"cta": {}})
    with pytest.raises(NotFound, match=r"none configured: add \[cta.NAME\] to mailer.toml"):
        render_email(article, without)  # the article asks for donate


def test_placement_top_bottom_and_after_a_paragraph(
    article: Article, cta_settings: Settings
) -> None:
    html = render_email(article, cta_settings, ctas=["donate", "share"]).html
    assert _names(html) == ["Forward it", "Give to the newsroom"]  # share is at the top
    document = parse(html)
    paragraphs = [p.text_content() for p in document.find_class("text")]
    box = document.find_class("cta-box")[1]
    before = [p.text_content() for p in box.itersiblings(preceding=True)]
    # Donate stands after paragraph 3 of the article (the epigraph is not a paragraph).
    text_before_box = html[: html.index("Keep local news free")]
    assert paragraphs[2][:40] in text_before_box
    assert paragraphs[3][:40] not in text_before_box
    assert before == []  # the box is alone in its cell


def test_after_paragraph_n_beyond_the_end_goes_to_the_bottom(cta_settings: Settings) -> None:
    short = Article(title="Short", blocks=(Paragraph("One."), Paragraph("Two.")))
    html = render_email(short, cta_settings, ctas=["donate"]).html
    assert html.index("Two.") < html.index("Keep local news free")


def test_amount_buttons_link_to_the_donation_url(article: Article, cta_settings: Settings) -> None:
    rendered = render_email(article, cta_settings, ctas=["donate"])
    amounts = [link for link in rendered.report.links if "amount=" in link]
    assert [link.split("amount=")[1].split("&")[0] for link in amounts] == ["5", "10", "25.50"]
    assert all(
        link.startswith("https://news.example.org/donate?src=email&amount=") for link in amounts
    )
    assert "$5 pays for an hour of fact-checking" in rendered.html


def test_text_colour_of_buttons_follows_their_colour() -> None:
    assert readable_on("#b3261e") == "#ffffff"
    assert readable_on("#f0e442") == "#1f1f1f"
    assert readable_on("#000") == "#ffffff"


def test_no_calls_to_action(article: Article, cta_settings: Settings) -> None:
    plain = dataclasses.replace(article, cta=())
    assert _names(render_email(plain, cta_settings).html) == []
    assert 'class="cta-box"' not in render_email(article, cta_settings, ctas=["none"]).html


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('button_label = "x"\nurl = "/donate"', "cta.donate.url: must be an absolute http"),
        ('button_label = "x"\nurl = "https://x.org"\nbutton_color = "red"', "must be a hex colour"),
        ('button_label = "x"\nurl = "https://x.org"\nplacement = "middle"', "cta.donate.placement"),
        ('button_label = "x"\nurl = "https://x.org"\namounts = [-5]', "cta.donate.amounts"),
        ('url = "https://x.org"', "cta.donate.button_label"),
        ('button_label = "x"\nurl = "https://x.org"\ncolour = "#fff"', "cta.donate.colour"),
    ],
)
def test_invalid_calls_to_action_are_named(tmp_path: Path, table: str, message: str) -> None:
    path = write_config(tmp_path, "sqlite:///var/x.db")
    path.write_text(path.read_text() + f"\n[cta.donate]\n{table}\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


def test_default_cta_must_be_configured(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sqlite:///var/x.db", default_cta='["donate"]')
    with pytest.raises(ConfigError, match="default_cta: unknown call-to-action 'donate'"):
        load_settings(path)


def test_utm_source_defaults_to_the_publisher_as_a_slug(settings: Settings) -> None:
    assert settings.utm_source == "the-example-times"
    assert settings.utm_medium == "email"


def test_the_config_template_documents_calls_to_action() -> None:
    text = CONFIG_TEMPLATE.format(
        base_url="https://x.org",
        secret_key="s" * 32,
        publisher_name="P",
        from_address="a@x.org",
        postal_address="",
        timezone="UTC",
    )
    # An active donate box (the example article asks for it), at a placeholder address.
    assert tomllib.loads(text)["cta"]["donate"]["url"] == "https://example.org/donate"
    # Its optional keys are there too, commented: uncommented, every key of a
    # call-to-action is documented and valid.
    table = text[text.index("\n[cta.donate]\n") :]
    example = "\n".join(
        line.removeprefix("# ")
        for line in table.splitlines()
        if not line.startswith("# ") or " = " in line
    )
    parsed = tomllib.loads(example)["cta"]["donate"]
    assert parsed["button_label"] == "Donate"
    assert set(parsed) == set(CtaSettings.model_fields)
    CtaSettings(**parsed)
