"""Gmail clips a message whose HTML passes about 102 KB: the renderer keeps under it."""

from __future__ import annotations

import base64

import pytest

from mailer.articles import Article, Heading, Image, Paragraph
from mailer.articles.markdown import parse_markdown
from mailer.exceptions import RenderError
from mailer.rendering import CLIP_BYTES, LIMIT_BYTES, WARN_BYTES, render_email
from mailer.settings import Settings
from tests.support.rendering import SAMPLE


def _long_article(paragraphs: int, url: str = "https://news.example.org/long") -> Article:
    blocks: list[Paragraph | Heading] = []
    for i in range(paragraphs):
        if i % 10 == 0:
            blocks.append(Heading(f"Part {i // 10 + 1}"))
        blocks.append(
            Paragraph(
                f"Paragraph {i}: " + "The council met again to discuss the ferry budget. " * 8
            )
        )
    return Article(title="A very long read", blocks=tuple(blocks), url=url, cta=())


def test_a_long_article_is_cut_at_a_paragraph_and_links_to_the_rest(settings: Settings) -> None:
    rendered = render_email(_long_article(400), settings)
    report = rendered.report
    assert report.truncated
    assert WARN_BYTES < report.size_bytes <= LIMIT_BYTES < CLIP_BYTES
    _, html, text = rendered.fill(SAMPLE)
    assert len(html.encode()) <= LIMIT_BYTES
    assert "This article continues online: read the rest" in html
    assert "https://news.example.org/long?utm_source=the-example-times&amp;utm_medium=email" in html
    assert "This article continues online: https://news.example.org/long?utm_source=" in text
    # Cut after a whole paragraph, the same place in both parts.
    kept = text.count("Paragraph ")
    assert 50 < kept < 400
    last = f"Paragraph {kept - 1}: "
    assert last in html and f"Paragraph {kept}: " not in html
    assert html.index(last) < html.index("This article continues online")
    blocks = kept + (kept - 1) // 10 + 1  # with the headings
    assert any(w.startswith(f"cut after {blocks} of 440 blocks") for w in report.warnings)
    assert any("close to where Gmail clips" in w for w in report.warnings)


def test_a_short_article_is_not_cut(settings: Settings) -> None:
    report = render_email(_long_article(20), settings).report
    assert not report.truncated and report.size_bytes < WARN_BYTES
    assert report.warnings == []


def test_a_cut_without_a_url_says_so(settings: Settings) -> None:
    rendered = render_email(_long_article(400, url=""), settings)
    assert "This article is too long for email and has been shortened." in rendered.html
    assert any("no address to link the rest to" in w for w in rendered.report.warnings)


def test_a_huge_inline_image_never_reaches_the_email(settings: Settings) -> None:
    huge = base64.b64encode(b"\0" * 500_000).decode()
    article = parse_markdown(f"# Pictures\n\nText.\n\n![big](data:image/png;base64,{huge})\n")
    rendered = render_email(article, settings)
    assert rendered.report.size_bytes < 40_000
    assert "base64" not in rendered.html
    # Even when it comes in as a block (from stored data), it is removed.
    stored = Article(title="T", blocks=(Paragraph("x"), Image(src=f"data:image/png;base64,{huge}")))
    rendered = render_email(stored, settings)
    assert "base64" not in rendered.html
    assert any("embedded as data:" in w for w in rendered.report.warnings)


def test_templates_too_big_on_their_own_are_an_error(settings: Settings) -> None:
    override = settings.base_dir / "templates" / "partials"
    override.mkdir(parents=True)
    (override / "header.html").write_text(
        "<tr><td>" + "<p>Sponsored message.</p>" * 6000 + "</td></tr>"
    )
    with pytest.raises(RenderError, match="the templates alone pass the 100 KB limit"):
        render_email(_long_article(400), settings)
