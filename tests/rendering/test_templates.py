from __future__ import annotations

from pathlib import Path

import pytest

from mailer.articles import Article
from mailer.exceptions import RenderError
from mailer.rendering import render_email
from mailer.rendering.templates import builtin_templates
from mailer.settings import Settings
from tests.support.rendering import parse


def _override(settings: Settings, name: str, text: str) -> Path:
    path = settings.base_dir / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_shipped_templates() -> None:
    folder = builtin_templates()
    for name in (
        "base.html",
        "article.html",
        "article.txt",
        "digest.html",
        "digest.txt",
        "confirmation.html",
        "confirmation.txt",
        "partials/header.html",
        "partials/footer.html",
        "partials/footer.txt",
        "partials/cta.html",
        "partials/cta.txt",
        "partials/button.html",
    ):
        assert (folder / name).is_file(), name


def test_a_publisher_overrides_a_template_next_to_mailer_toml(
    article: Article, cta_settings: Settings
) -> None:
    _override(
        cta_settings,
        "partials/footer.html",
        '<tr><td class="footer">Our own footer. <a href="{{ email.unsubscribe_url }}" '
        'data-utm="off">Leave</a></td></tr>',
    )
    html = render_email(article, cta_settings).html
    assert "Our own footer." in html
    leave = parse(html).find_class("footer")[0].find("a")
    assert (leave.text, leave.get("href")) == ("Leave", "%%unsubscribe_url.h%%")
    assert "The ferry that would not sink" in html  # the rest is still the shipped one


def test_a_template_chosen_by_name(article: Article, cta_settings: Settings) -> None:
    _override(
        cta_settings,
        "breaking.html",
        '{% extends "article.html" %}{% block preheader %}BREAKING{% endblock %}',
    )
    rendered = render_email(article, cta_settings, template="breaking")
    assert ">BREAKING" in rendered.html
    assert "THE FERRY THAT WOULD NOT SINK" in rendered.text  # article.txt: no breaking.txt
    with pytest.raises(RenderError, match=r"^nope.html: no such template \(looked in "):
        render_email(article, cta_settings, template="nope")


def test_a_syntax_error_names_the_template_and_line(
    article: Article, cta_settings: Settings
) -> None:
    path = _override(
        cta_settings, "partials/header.html", "<tr>\n<td>\n{% if article %}\n</td></tr>\n"
    )
    with pytest.raises(RenderError) as caught:
        render_email(article, cta_settings)
    assert str(caught.value).startswith(f"{path}:")
    assert caught.value.line == 4
    assert "syntax error" in str(caught.value)


def test_a_runtime_error_names_the_template_and_line(
    article: Article, cta_settings: Settings
) -> None:
    path = _override(
        cta_settings, "partials/header.html", "<tr>\n<td>\n{{ article.titel.upper() }}</td></tr>\n"
    )
    with pytest.raises(RenderError) as caught:
        render_email(article, cta_settings)
    assert caught.value.template == str(path)
    assert caught.value.line == 3
    assert "titel" in str(caught.value)
