from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailer.articles import (
    Article,
    Code,
    Footnotes,
    Heading,
    Image,
    ListBlock,
    Paragraph,
    Quote,
    Rule,
    load_article,
)
from mailer.exceptions import ArticleError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("name", "content", "title"),
    [
        ("a.markdown", "# Markdown\n\nText.\n", "Markdown"),
        ("a", "---\ntitle: Sniffed markdown\n---\nText.\n", "Sniffed markdown"),
        ("a", "Sniffed text\n\nText.\n", "Sniffed text"),
        ("a.txt", (EXAMPLES / "feed.xml").read_text(), "Library roof repairs to start in July"),
        ("a.rss", (EXAMPLES / "feed.xml").read_text(), "Library roof repairs to start in July"),
        ("page", (EXAMPLES / "article.html").read_text(), "Library roof repairs to start in July"),
    ],
)
def test_the_kind_is_told_by_suffix_or_content(
    tmp_path: Path, name: str, content: str, title: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert load_article(path).title == title


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match=r"missing\.md: cannot be read: no such file"):
        load_article(tmp_path / "missing.md")
    with pytest.raises(ArticleError, match="cannot be read: it is a folder"):
        load_article(tmp_path)
    latin = tmp_path / "latin.md"
    latin.write_bytes("# Caf\xe9\n".encode("latin-1"))
    with pytest.raises(ArticleError, match="is not UTF-8 text"):
        load_article(latin)


def test_only_feeds_have_items() -> None:
    with pytest.raises(ArticleError, match="is not a feed"):
        load_article(EXAMPLES / "article.md", item=1)


def test_every_block_kind_round_trips_through_json() -> None:
    article = Article(
        title="T",
        blocks=(
            Heading("H", 3),
            Paragraph("P <em>x</em>"),
            Image("https://x.org/i.png", "alt", "cap", 300, 200, "https://x.org/"),
            Quote(("a", "b"), "c", epigraph=True),
            ListBlock(("1", "2"), ordered=True),
            Code("x = 1\n"),
            Rule(),
            Footnotes(("n",)),
        ),
        cta=(),
        tags=("a",),
    )
    assert Article.from_dict(json.loads(json.dumps(article.to_dict()))) == article
