"""The email-safe properties of the HTML part, checked on what the renderer produces."""

from __future__ import annotations

import re

from mailer.articles import Article
from mailer.rendering import LIMIT_BYTES, render_email
from mailer.rendering.substitution import TOKEN_PATTERN
from mailer.settings import Settings
from tests.support.rendering import SAMPLE, parse


def test_layout_is_tables_at_most_600_px_with_role_presentation(
    article: Article, cta_settings: Settings
) -> None:
    html = render_email(article, cta_settings).html
    document = parse(html)
    tables = document.findall(".//table")
    assert tables
    for table in tables:
        assert table.get("role") == "presentation"
        width = table.get("width", "100%")
        assert width.endswith("%") or int(width) <= 600
    container = document.find_class("container")[0]
    assert container.get("width") == "600"
    assert "max-width:600px" in container.get("style", "").replace(" ", "")
    # Outlook gets a fixed-width ghost table in conditional comments.
    assert '<!--[if mso]><table role="presentation" width="600"' in html


def test_css_is_inlined_and_media_queries_stay_in_one_style_block(
    article: Article, cta_settings: Settings
) -> None:
    document = parse(render_email(article, cta_settings).html)
    styles = document.findall(".//style")
    assert len(styles) == 1
    assert "@media only screen and (max-width: 620px)" in styles[0].text
    assert "prefers-color-scheme: dark" in styles[0].text
    paragraph = document.find_class("text")[0]
    assert "font-family:Georgia" in paragraph.get("style", "").replace(" ", "")
    # Classes stay: the media queries need them.
    assert paragraph.get("class") == "text"


def test_head_has_utf8_viewport_and_colour_scheme(article: Article, cta_settings: Settings) -> None:
    html = render_email(article, cta_settings).html
    assert html.startswith("<!DOCTYPE html>")
    head = parse(html).find("head")
    metas = {
        (m.get("name") or m.get("charset") or m.get("http-equiv")): m for m in head.iter("meta")
    }
    assert head.find("meta").get("charset") == "utf-8"
    assert metas["color-scheme"].get("content") == "light dark"
    assert metas["supported-color-schemes"].get("content") == "light dark"
    assert "width=device-width" in metas["viewport"].get("content")


def test_hidden_preheader_comes_first(article: Article, cta_settings: Settings) -> None:
    body = parse(render_email(article, cta_settings).html).find("body")
    preheader = body[0]
    assert "preheader" in preheader.get("class")
    assert preheader.text_content().startswith(article.preheader)
    style = preheader.get("style", "").replace(" ", "")
    assert "display:none" in style and "mso-hide:all" in style


def test_bulletproof_buttons_with_an_outlook_form(article: Article, cta_settings: Settings) -> None:
    html = render_email(article, cta_settings, ctas=["donate"]).html
    vml = re.findall(r'<v:roundrect [^>]*href="([^"]+)"', html)
    assert len(vml) == 4  # three amounts and the main button
    links = parse(html).find_class("button-link")
    assert [a.text for a in links] == ["$5", "$10", "$25.50", "Give to the newsroom"]
    for link in links:
        style = link.get("style").replace(" ", "")
        assert "display:inline-block" in style and "background-color:#b3261e" in style
        assert re.search(r"(^|;)color:#fff(fff)?;", style)  # white reads best on dark red
    assert "<!--[if !mso]><!-- -->" in html and "<!--<![endif]-->" in html


def test_images_have_width_and_alt_and_every_url_is_absolute(
    article: Article, cta_settings: Settings
) -> None:
    rendered = render_email(article, cta_settings)
    document = parse(rendered.html)
    images = document.findall(".//img")
    assert len(images) == 2  # the lead image and the sonar picture
    for image in images:
        assert image.get("width") and int(image.get("width")) <= 600
        assert image.get("alt")
        assert image.get("src").startswith("https://")
    for link in document.iter("a"):
        href = link.get("href")
        assert href.startswith(("https://", "mailto:")) or TOKEN_PATTERN.fullmatch(href), href
    assert rendered.report.images_without_alt == []


def test_nothing_that_mail_clients_refuse(article: Article, cta_settings: Settings) -> None:
    html = render_email(article, cta_settings).html.lower()
    for refused in ("<script", "<form", "<iframe", "<link", "@import", "@font-face", "<object"):
        assert refused not in html


def test_templates_that_add_what_mail_clients_refuse_are_cleaned(
    article: Article, cta_settings: Settings
) -> None:
    override = cta_settings.base_dir / "templates" / "partials"
    override.mkdir(parents=True)
    (override / "header.html").write_text(
        '<tr><td><link rel="stylesheet" href="https://fonts.example/x.css">'
        '<script>alert(1)</script><a href="/relative">home</a>'
        '<img src="logo.png"></td></tr>'
    )
    rendered = render_email(article, cta_settings)
    assert "<script" not in rendered.html and "<link" not in rendered.html
    warnings = " ".join(rendered.report.warnings)
    assert "removed a <script> element" in warnings
    assert "removed the external stylesheet https://fonts.example/x.css" in warnings
    assert "relative link /relative resolved to https://news.example.org/relative" in warnings
    assert "has no width attribute" in warnings
    assert rendered.report.images_without_alt == ["logo.png"]
    assert 'src="https://news.example.org/2024/05/logo.png"' in rendered.html


def test_tokens_survive_inlining_and_fill(article: Article, cta_settings: Settings) -> None:
    rendered = render_email(article, cta_settings, archive_url="https://news.example.org/archive/7")
    assert 'href="%%unsubscribe_url.h%%"' in rendered.html
    assert 'href="%%preferences_url.h%%"' in rendered.html
    _, html, _ = rendered.fill(SAMPLE)
    assert 'href="https://news.example.org/u/abc?x=1&amp;y=2"' in html
    assert "%%" not in html
    footer = parse(html).find_class("footer")[0].text_content()
    assert "You're getting this email because you subscribed to The Example Times." in footer
    assert "1 Example Street, Springfield" in footer
    assert "Unsubscribe" in footer and "Update your preferences" in footer
    assert "View in your browser" in footer
    assert rendered.report.size_bytes < LIMIT_BYTES


def test_footer_names_the_list(article: Article, cta_settings: Settings) -> None:
    html = render_email(article, cta_settings, list_name="Morning Briefing").html
    assert "subscribed to Morning Briefing from The Example Times" in html
