from __future__ import annotations

from mailer.articles import Article
from mailer.articles.plain_text import parse_text
from mailer.rendering import render_email
from mailer.rendering.text import block_text, inline_to_text, wrap
from mailer.settings import Settings
from tests.support.rendering import SAMPLE


def test_the_text_part_reads_on_its_own(article: Article, cta_settings: Settings) -> None:
    rendered = render_email(article, cta_settings, archive_url="https://news.example.org/a/7")
    _, _, text = rendered.fill(SAMPLE)
    assert "<" not in text.replace("<https", "")  # no HTML left
    assert text.startswith("The Example Times · 31 May 2024\n")
    assert "THE FERRY THAT WOULD NOT SINK" in text
    assert "By Ana Ribeiro and Tom Okafor" in text
    assert "> A river town without a ferry" in text
    assert "Good morning, Ann." in text  # the expression, raw
    assert "How a sunken boat became a town project\n=======" in text
    assert "1. Drying the hull slowly under cover" in text
    assert "[1] The Millbrook ferry logbooks" in text
    # Links are kept, with their UTM parameters.
    assert (
        "https://millbrookhistory.example.org/ferry?utm_source=the-example-times"
        "&utm_medium=email&utm_campaign=the-ferry-that-would-not-sink" in text
    )
    # The call-to-action and the footer.
    assert "KEEP LOCAL NEWS FREE FOR EVERYONE" in text
    assert "$10: https://news.example.org/donate?src=email&amount=10&utm_source=" in text
    assert "Unsubscribe: https://news.example.org/u/abc?x=1&y=2" in text  # raw, not &amp;
    assert "View in your browser: https://news.example.org/a/7" in text
    assert all(len(line) <= 72 or "http" in line for line in text.splitlines())
    assert "\n\n\n" not in text


def test_links_in_text() -> None:
    assert (
        inline_to_text('See <a href="https://x.org/a">this</a>.') == "See this (https://x.org/a)."
    )
    assert inline_to_text('<a href="https://x.org/">https://x.org/</a>') == "https://x.org/"
    assert inline_to_text('<a href="mailto:ed@x.org">ed@x.org</a>') == "ed@x.org"
    assert inline_to_text('<a href="tel:+49123">call us</a>') == "call us (tel:+49123)"
    assert inline_to_text("a<br>b &amp; <em>c</em>") == "a\nb & c"
    tagged = inline_to_text('<a href="https://x.org/">x</a>', lambda url: url + "?t=1")
    assert tagged == "x (https://x.org/?t=1)"


def test_wrapping_never_breaks_urls() -> None:
    long_url = "https://example.org/" + "a" * 100
    wrapped = wrap(f"Read {long_url} now, please, it is a very long line of text indeed.")
    assert long_url in wrapped.splitlines()
    quoted = block_text(parse_text("T\n\n> " + "word " * 30 + "\n").blocks[0])
    assert all(line.startswith("> ") and len(line) <= 72 for line in quoted.splitlines())
