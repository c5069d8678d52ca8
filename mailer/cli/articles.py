"""``mailer articles show``: what a reader understood of an article, and what it left out.

The loading helper here (:func:`read_article`) is what ``render``, ``preview`` and
``campaigns create`` use too, so that each says what it fetched and takes ``--encoding``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mailer.cli._state import JsonOption, console, err_console, print_json

if TYPE_CHECKING:
    from mailer.articles import Article
    from mailer.articles.loader import Fetched

__all__ = ["EncodingOption", "app", "read_article"]

#: ``--encoding``: the text encoding of a file or page whose own is wrong or unknown.
EncodingOption = Annotated[
    str | None,
    typer.Option(
        help="The source's text encoding (e.g. cp1252), if it is not UTF-8 or the page's own.",
        show_default=False,
    ),
]
_SHOWN = 160  # characters of a dropped piece in the table; --json has them whole

app = typer.Typer(no_args_is_help=True, help="Articles: check what is read from a source.")


def read_article(source: str, *, item: int | None = None, encoding: str | None = None) -> Article:
    """The article at ``source``; what a URL gave is said on standard error."""
    from mailer.articles import load_article

    def said(fetched: Fetched) -> None:
        err_console.print(str(fetched))

    return load_article(source, item=item, encoding=encoding, on_fetch=said)


@app.command("show")
def show(
    source: Annotated[
        str,
        typer.Argument(
            help="A .md, .html or .txt file, a feed, an http(s) URL, or - for standard input.",
            show_default=False,
        ),
    ],
    item: Annotated[
        int | None, typer.Option(help="From a feed: the item (0 is the first).")
    ] = None,
    encoding: EncodingOption = None,
    json_output: JsonOption = False,
) -> None:
    """Print what the reader understood: title, byline, date, lead image, every block
    with its kind, the call-to-action, and each piece of page furniture it left out."""
    article = read_article(source, item=item, encoding=encoding)
    if json_output:
        print_json(article_report(article))
        return
    _print(article)


def article_report(article: Article) -> dict[str, Any]:
    """The article as JSON, with each block's plain text, the text as a whole
    (``body_text``) and what was dropped."""
    data = article.to_dict()
    for block, shown in zip(article.blocks, data["blocks"], strict=True):
        shown["text"] = _block_text(block)
    data["body_text"] = article.body_text
    data["dropped"] = [{"text": d.text, "why": d.why} for d in article.dropped]
    return data


def _block_text(block: Any) -> str:
    from mailer.articles import Article, Image

    if isinstance(block, Image):
        return _plain(block.caption) or block.alt
    return Article(title="", blocks=(block,)).body_text


def _plain(inline_html: str) -> str:
    from mailer.articles.sanitize import inline_text

    return inline_text(inline_html)


def _print(article: Article) -> None:
    from mailer.articles import Image

    head = Table.grid(padding=(0, 2))
    head.add_row("title", Text(article.title))
    for label, value in (
        ("subtitle", _plain(article.subtitle)),
        ("byline", article.byline),
        ("date", article.date.isoformat() if article.date else ""),
        ("url", article.url),
        ("lead image", _image(article.image) if article.image else ""),
        ("tags", ", ".join(article.tags)),
    ):
        if value:
            head.add_row(label, Text(value))
    if article.cta is not None:
        head.add_row("call to action", Text(", ".join(article.cta) or "none"))
    console.print(head)
    console.print(f"\n{len(article.blocks)} blocks")
    blocks = Table.grid(padding=(0, 2))
    for i, block in enumerate(article.blocks, 1):
        text = _image(block) if isinstance(block, Image) else _block_text(block)
        blocks.add_row(str(i), block.kind, Text(text))
    console.print(blocks)
    if article.appeal is not None:
        _print_appeal(article.appeal)
    if not article.dropped:
        console.print("\nnothing dropped")
        return
    console.print(f"\n{len(article.dropped)} pieces dropped as page furniture")
    for piece in article.dropped:
        text = piece.text if len(piece.text) <= _SHOWN else piece.text[: _SHOWN - 1] + "…"
        console.print(Text(f"{piece.why}: {text}"))


def _print_appeal(appeal: Any) -> None:
    console.print("\nthe article's own appeal (shown as the call-to-action box, not as text)")
    rows = Table.grid(padding=(0, 2))
    for label, value in (
        ("heading", _plain(appeal.heading)),
        ("text", _plain(appeal.text)),
        ("button", appeal.button_label),
        ("link", appeal.url or "none: the configured call-to-action's, else no button"),
    ):
        if value:
            rows.add_row(label, Text(value))
    for gift in appeal.gifts:
        rows.add_row("gift", Text(_plain(gift)))
    console.print(rows)


def _image(image: Any) -> str:
    caption = _plain(image.caption)
    return " — ".join(part for part in (image.src, image.alt, caption) if part)
