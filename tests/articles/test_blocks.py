"""Article HTML to blocks: the path Markdown, web pages and feeds share."""

from __future__ import annotations

from mailer.articles import Code, Heading, Image, ListBlock, Paragraph, Quote, Rule
from mailer.articles.blocks import html_to_blocks


def test_containers_are_looked_into_and_inline_runs_become_paragraphs() -> None:
    blocks = html_to_blocks(
        "<div><section>Loose text <b>bold</b><div>Own block</div>tail</section></div>"
        "<p>a <span>b</span> c<br>d</p><p> <br> </p>"
    )
    assert blocks == [
        Paragraph("Loose text <b>bold</b>"),
        Paragraph("Own block"),
        Paragraph("tail"),
        Paragraph("a b c<br>d"),
    ]


def test_headings_are_levels_two_to_four() -> None:
    blocks = html_to_blocks("<h1>One</h1><h2>Two</h2><h3>Three</h3><h5>Five</h5><h2> </h2>")
    assert blocks == [Heading("One", 2), Heading("Two", 2), Heading("Three", 3), Heading("Five", 4)]


def test_images_figures_and_linked_images() -> None:
    blocks = html_to_blocks(
        '<p>Before <img src="https://x.org/a.png" alt=" A  b " width="300px" height="200">'
        " after</p>"
        '<figure><a href="https://x.org/big"><img src="https://x.org/b.png" alt="B"></a>'
        "<figcaption>The <em>caption</em></figcaption></figure>"
        '<a href="https://x.org/c"><img src="https://x.org/c.png" title="Titled"></a>'
    )
    assert blocks == [
        Paragraph("Before"),
        Image("https://x.org/a.png", "A b", width=300, height=200),
        Paragraph("after"),
        Image("https://x.org/b.png", "B", "The <em>caption</em>", href="https://x.org/big"),
        Image("https://x.org/c.png", caption="Titled", href="https://x.org/c"),
    ]


def test_quotes_and_who_said_them() -> None:
    blocks = html_to_blocks(
        "<p>First.</p>"
        "<blockquote><p>As <cite>The Times</cite> said.</p><p><cite>Ann</cite></p></blockquote>"
        "<blockquote><p>Y</p><footer>— Bob</footer></blockquote>"
        "<blockquote><p>One</p><p>Two</p><p>-- Carla</p></blockquote>"
    )
    assert blocks[1:] == [
        Quote(("As The Times said.",), "Ann"),
        Quote(("Y",), "Bob"),
        Quote(("One", "Two"), "Carla"),
    ]


def test_lists_code_rules_and_tables() -> None:
    blocks = html_to_blocks(
        "<ol><li><p>Loose</p><p>item</p></li><li>Nested<ul><li>inner</li></ul></li></ol>"
        "<pre><code>x = 1\n  y = 2\n</code></pre><hr>"
        "<table><tr><th>Name</th><th>Votes</th></tr><tr><td>Ann</td><td>9</td></tr></table>"
    )
    assert blocks == [
        ListBlock(("Loose<br>item", "Nested<ul><li>inner</li></ul>"), ordered=True),
        Code("x = 1\n  y = 2"),
        Rule(),
        Paragraph("Name · Votes"),
        Paragraph("Ann · 9"),
    ]


def test_relative_urls_are_resolved_against_the_base() -> None:
    (paragraph,) = html_to_blocks(
        '<p><a href="../b">b</a> <a href="mailto:x@y.org">m</a> <a href="#n">n</a></p>',
        base_url="https://x.org/news/a/",
    )
    assert paragraph == Paragraph(
        '<a href="https://x.org/news/b">b</a> <a href="mailto:x@y.org">m</a> '
        '<a href="https://x.org/news/a/#n">n</a>'
    )
