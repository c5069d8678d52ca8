from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from mailer.articles import (
    Article,
    Footnotes,
    Heading,
    Image,
    ListBlock,
    Paragraph,
    Quote,
    load_article,
)
from mailer.articles.markdown import parse_markdown
from mailer.exceptions import ArticleError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "article.md"


def test_the_example_article_reads_completely() -> None:
    article = load_article(EXAMPLE)
    assert article.title == "The ferry that would not sink"
    assert article.subtitle.startswith("After sixty years on the riverbed")
    assert article.byline == "Ana Ribeiro and Tom Okafor"
    assert article.date == dt.date(2024, 5, 31)
    assert article.url == "https://news.example.org/2024/05/millbrook-ferry"
    assert article.preheader.startswith("A town vote")
    assert article.tags == ("local", "history", "transport")
    assert article.cta == ("donate",)
    assert article.personalised
    # The lead image's relative address is resolved against the article's url.
    assert article.image == Image(
        src="https://news.example.org/media/2024/05/ferry-lead.jpg",
        alt="The restored wooden ferry tied up at the Millbrook landing at dawn",
        caption="The ferry at the Millbrook landing on Tuesday morning. Photo by Lena Marsh.",
    )
    kinds = [b.kind for b in article.blocks]
    assert kinds[0] == "quote" and article.blocks[0].epigraph  # type: ignore[union-attr]
    assert {"paragraph", "heading", "image", "quote", "list", "footnotes"} <= set(kinds)
    body = EXAMPLE.read_text().split("---", 2)[2]
    assert 750 <= len(body.split()) <= 1000  # a realistic length, about 800 words


def test_blocks_from_markdown() -> None:
    article = parse_markdown(
        """---
title: T
url: https://example.org/news/story
---
Some *emphasis*, **strong**, `code` and [a link](/about "About").

## A heading

![Alt text](pic.jpg "A caption")

> Quoted words.
>
> — Somebody

- one
- two

1. first
2. second

A note.[^n]

[^n]: The *note* itself.
""",
        source="story.md",
    )
    blocks = article.blocks
    assert blocks[0] == Paragraph(
        "Some <em>emphasis</em>, <strong>strong</strong>, <code>code</code> and "
        '<a href="https://example.org/about" title="About">a link</a>.'
    )
    assert blocks[1] == Heading("A heading", 2)
    assert blocks[2] == Image(
        src="https://example.org/news/pic.jpg", alt="Alt text", caption="A caption"
    )
    assert blocks[3] == Quote(("Quoted words.",), cite="Somebody", epigraph=False)
    assert blocks[4] == ListBlock(("one", "two"), ordered=False)
    assert blocks[5] == ListBlock(("first", "second"), ordered=True)
    assert blocks[6] == Paragraph("A note.<sup>[1]</sup>")
    assert blocks[7] == Footnotes(("The <em>note</em> itself.",))


def test_a_quote_before_the_first_paragraph_is_an_epigraph() -> None:
    article = parse_markdown("# Title\n\n> Words.\n\nText.\n\n> Later.\n")
    assert article.title == "Title"
    first, _, later = article.blocks
    assert isinstance(first, Quote) and first.epigraph
    assert isinstance(later, Quote) and not later.epigraph


@pytest.mark.parametrize(
    ("value", "expected"),
    [("donate", ("donate",)), ("[donate, share]", ("donate", "share")), ("none", ()), (None, None)],
)
def test_cta_in_front_matter(value: str | None, expected: tuple[str, ...] | None) -> None:
    front = f"cta: {value}\n" if value is not None else ""
    article = parse_markdown(f"---\ntitle: T\n{front}---\nText.\n")
    assert article.cta == expected


def test_raw_html_in_markdown_is_sanitised() -> None:
    article = parse_markdown(
        '# T\n\n<script>alert(1)</script>\n\nHi <img src=x onerror="alert(1)"> '
        '<a href="javascript:alert(1)">there</a>\n'
    )
    assert "script" not in json.dumps(article.to_dict())
    assert "onerror" not in json.dumps(article.to_dict())
    assert "javascript" not in json.dumps(article.to_dict())


def test_expressions_are_kept_for_rendering() -> None:
    article = parse_markdown('# T\n\nHello {{ subscriber.first_name or "friend" }}!\n')
    assert article.blocks == (Paragraph('Hello {{ subscriber.first_name or "friend" }}!'),)
    assert article.personalised
    assert not parse_markdown("---\ntitle: T\npersonalise: false\n---\nx\n").personalised


def test_no_title_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "untitled.md"
    path.write_text("Just text.\n")
    with pytest.raises(ArticleError, match=r"untitled\.md: no title"):
        load_article(path)


def test_broken_front_matter_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.md"
    path.write_text("---\ntitle: T\ntags: [a, b\nauthor: x\n---\nText.\n")
    with pytest.raises(ArticleError) as caught:
        load_article(path)
    assert str(caught.value).startswith(f"{path}:")
    assert caught.value.line is not None and caught.value.line >= 3
    assert "front matter is not valid YAML" in str(caught.value)


@pytest.mark.parametrize(
    ("front", "message"),
    [
        ("date: someday", "front matter date"),
        ("url: /relative", "front matter url"),
        ("title: [a, b]", "front matter title"),
        ("cta: {a: 1}", "front matter cta"),
    ],
)
def test_bad_front_matter_values(front: str, message: str) -> None:
    with pytest.raises(ArticleError, match=message):
        parse_markdown(f"---\ntitle: T\n{front}\n---\nText.\n", source="a.md")


def test_article_round_trips_through_json() -> None:
    article = load_article(EXAMPLE)
    data = json.loads(json.dumps(article.to_dict()))
    assert Article.from_dict(data) == article


@pytest.mark.parametrize(
    "image",
    [
        "javascript:alert(5)",
        "JavaScript:alert(5)",
        '"java\\tscript:alert(5)"',
        "data:image/png;base64,AAAA",
        "vbscript:msgbox",
        "file:///etc/passwd",
    ],
)
def test_a_lead_image_must_be_http_or_relative(tmp_path: Path, image: str) -> None:
    path = tmp_path / "a.md"
    path.write_text(f"---\ntitle: T\nimage: {image}\n---\nText.\n")
    with pytest.raises(ArticleError) as caught:
        load_article(path)
    assert str(caught.value).startswith(f"{path}: front matter image: must be an http(s) URL")


@pytest.mark.parametrize(
    ("url", "image", "src"),
    [
        ("", "https://cdn.example.org/a.jpg", "https://cdn.example.org/a.jpg"),
        ("", "HTTP://cdn.example.org/a.jpg", "HTTP://cdn.example.org/a.jpg"),
        ("https://example.org/news/", "media/a.jpg", "https://example.org/news/media/a.jpg"),
        ("https://example.org/news/", "/a.jpg", "https://example.org/a.jpg"),
        ("https://example.org/news/", "//cdn.example.org/a.jpg", "https://cdn.example.org/a.jpg"),
        # Without a url, a relative path stays as it is: the renderer resolves it.
        ("", "media/a.jpg", "media/a.jpg"),
    ],
)
def test_http_and_relative_lead_images_are_kept(url: str, image: str, src: str) -> None:
    front = f"url: {url}\n" if url else ""
    article = parse_markdown(f"---\ntitle: T\n{front}image: {image}\n---\nText.\n")
    assert article.image is not None and article.image.src == src
