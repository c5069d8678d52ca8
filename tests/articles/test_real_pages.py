"""Real news pages (tests/data/articles, from the article-extraction benchmark): the
article is found, scored the benchmark's way, and what was left out is reported."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from mailer.articles.furniture import shingles
from mailer.articles.html_page import decode_html, parse_html_page

DATA = Path(__file__).resolve().parents[1] / "data" / "articles"
TRUTH = json.loads((DATA / "ground-truth.json").read_text("utf-8"))


def f1(true: str, predicted: str) -> float:
    expected, got = shingles(true), shingles(predicted)
    shared = sum((expected & got).values())
    if not shared:
        return 0.0
    precision, recall = shared / sum(got.values()), shared / sum(expected.values())
    return 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("key", sorted(TRUTH))
def test_the_article_of_a_real_page(key: str) -> None:
    page = decode_html(gzip.decompress((DATA / f"{key}.html.gz").read_bytes()))
    article = parse_html_page(page, source=key, url=TRUTH[key]["url"])
    assert f1(TRUTH[key]["articleBody"], article.body_text) >= 0.98
    assert "\n\n" in article.body_text  # paragraphs stay apart
    whys = {d.why for d in article.dropped}
    assert "navigation" in whys or "the page's header" in whys
    for dropped in article.dropped:
        assert dropped.text.strip() and dropped.why
        assert dropped.text not in article.body_text.split("\n\n")


def test_trafilatura_outvotes_what_readability_kept_that_is_not_the_article() -> None:
    key = "51374560f40088e227f0053ff1bb0b8525d10a8d7bfbff1cd6033f42347fd85b"
    page = decode_html(gzip.decompress((DATA / f"{key}.html.gz").read_bytes()))
    article = parse_html_page(page, url=TRUTH[key]["url"])
    outvoted = [d for d in article.dropped if d.why == "not article text to trafilatura"]
    assert outvoted
    for dropped in outvoted:
        assert dropped.text not in TRUTH[key]["articleBody"]
