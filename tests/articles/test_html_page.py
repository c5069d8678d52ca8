from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest

from mailer.articles import Image, ListBlock, Paragraph, Quote, load_article
from mailer.articles.html_page import parse_html_page
from mailer.exceptions import ArticleError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "article.html"

ARTICLE_TEXT = " ".join(
    f"Sentence {i} of the real article, which is long enough to be the main content."
    for i in range(12)
)


def test_a_saved_news_page_keeps_only_the_article() -> None:
    article = load_article(EXAMPLE)
    assert article.title == "Library roof repairs to start in July"
    assert article.url == "https://news.example.org/2024/06/library-roof"
    assert article.byline == "Priya Natarajan"
    assert article.date == dt.date(2024, 6, 12)
    assert article.subtitle == "The council found the money after all: a bequest and a bake sale."
    assert article.tags == ("local",)
    assert not article.personalised
    text = json.dumps(article.to_dict())
    for left_behind in (
        "Politics",  # navigation
        "tote bag",  # donation banner
        "Share on",  # share buttons
        "Print",
        "Related stories",
        "Comments (42)",
        "Privacy",
        "dataLayer",
        "video.example.net",
        "By Priya",  # the byline line: the email shows the byline itself
    ):
        assert left_behind not in text, left_behind
    assert isinstance(article.blocks[0], Paragraph)
    assert article.blocks[0].html.startswith("The leaking roof")
    image = next(b for b in article.blocks if isinstance(b, Image))
    assert image.src == "https://news.example.org/media/library-roof.jpg"
    assert image.caption == "Buckets in the reading room in February. Photo: <em>Lena Marsh</em>."
    quote = next(b for b in article.blocks if isinstance(b, Quote))
    assert quote.cite == "Joan Feld, head librarian"
    assert any(isinstance(b, ListBlock) for b in article.blocks)
    summer = next(b for b in article.blocks if "summer page" in getattr(b, "html", ""))
    assert 'href="https://news.example.org/library/summer-2024"' in summer.html  # type: ignore[union-attr]
    # The page has images, so og:image is not added as a lead image on top of them.
    assert article.image is None


def test_hostile_html_is_sanitised() -> None:
    huge = base64.b64encode(b"\x89PNG" + b"\0" * 3_000_000).decode()
    page = f"""<html><head><title>Hostile</title>
<meta http-equiv="refresh" content="0;url=https://evil.example/">
<script>steal()</script><style>body {{ display: none }}</style></head>
<body><article><h1>Hostile</h1>
<p onclick="steal()" style="color: red">{ARTICLE_TEXT}
<a href="javascript:steal()">click</a> <a href=" JaVaScRiPt:steal()">again</a>
<a href="https://fine.example/" onmouseover="steal()">fine</a></p>
<img src="x.png" onerror="steal()" alt="x">
<img src="data:image/png;base64,{huge}" alt="huge">
<svg onload="steal()"><circle r="1"/></svg>
<iframe src="https://evil.example/frame"></iframe>
<form action="https://evil.example/"><input name="card"><button>Pay</button></form>
<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x">
<p>{ARTICLE_TEXT}</p>
</article></body></html>"""
    article = parse_html_page(page, source="hostile.html", url="https://news.example.org/a")
    dumped = json.dumps(article.to_dict())
    for bad in ("script", "steal", "onerror", "onclick", "javascript", "data:", "iframe", "form"):
        assert bad not in dumped.lower(), bad
    assert "evil.example" not in dumped
    assert len(dumped) < 10_000  # the 3 MB inline image is gone
    assert "Sentence 11 of the real article" in dumped
    assert any('<a href="https://fine.example/">fine</a>' in str(b) for b in article.blocks)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b" \n\t\n", "is empty"),
        (b"\x00\x01\x02\x03 binary \xff\xfe", "is a binary file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00 <html>", "is a binary file"),
        (b"<html><head><title>Empty</title></head><body></body></html>", "no article text"),
        (b"<html><body><p>x</p></body></html>", "no title"),
    ],
)
def test_pages_that_cannot_be_used_are_reported(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(content)
    with pytest.raises(ArticleError, match=message) as caught:
        load_article(path)
    assert str(caught.value).startswith(str(path))


def test_a_page_in_a_declared_legacy_encoding(tmp_path: Path) -> None:
    page = (
        '<html><head><meta charset="iso-8859-1"><title>Café</title></head><body>'
        f"<article><h1>Café</h1><p>Crème brûlée. {ARTICLE_TEXT}</p></article></body></html>"
    )
    path = tmp_path / "latin1.htm"
    path.write_bytes(page.encode("iso-8859-1"))
    article = load_article(path)
    assert article.title == "Café"
    assert "Crème brûlée" in article.blocks[0].html  # type: ignore[union-attr]
