"""``mailer render`` and ``mailer preview``: an article to an email, to check it before
sending."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from mailer.cli._state import console, print_json, state
from mailer.cli.articles import EncodingOption, read_article
from mailer.exceptions import InputError
from mailer.signals import set_from_handler

if TYPE_CHECKING:
    from mailer.articles import Article
    from mailer.rendering import RenderedEmail

# The rendering stack (lxml, premailer, readability, ...) is imported by the commands
# that use it, so that every other command starts without it.

__all__ = ["register"]

ArticleArgument = Annotated[
    str,
    typer.Argument(
        help="A Markdown (.md), HTML (.html), text (.txt) or feed file, or an http(s) URL.",
        show_default=False,
    ),
]
CtaOption = Annotated[
    list[str] | None,
    typer.Option(
        "--cta",
        help="A call-to-action from mailer.toml (repeat for several; 'none' for none). "
        "Default: the article's front matter, else default_cta.",
        show_default=False,
    ),
]
TemplateOption = Annotated[
    str | None,
    typer.Option(
        help="The template to use instead of article/digest (NAME.html).", show_default=False
    ),
]
ListOption = Annotated[
    str | None,
    typer.Option("--list", help="The list it goes to (named in the footer).", show_default=False),
]
SubjectOption = Annotated[
    str | None,
    typer.Option(
        help="The subject (default: the title); may use {{ subscriber.… }}.", show_default=False
    ),
]
ItemOption = Annotated[
    int | None,
    typer.Option(help="From a feed: the item to render (0 is the first).", show_default=False),
]
DigestOption = Annotated[bool, typer.Option("--digest", help="From a feed: a digest of its items.")]
LimitOption = Annotated[int, typer.Option(help="Most items in a digest.")]


def register(app: typer.Typer) -> None:
    app.command("render")(render)
    app.command("preview")(preview)


def render(
    ctx: typer.Context,
    article: ArticleArgument,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The folder to write into.", show_default=False)
    ],
    cta: CtaOption = None,
    template: TemplateOption = None,
    list_name: ListOption = None,
    subject: SubjectOption = None,
    item: ItemOption = None,
    digest: DigestOption = False,
    limit: LimitOption = 10,
    encoding: EncodingOption = None,
    raw: Annotated[
        bool,
        typer.Option(help="Keep the per-recipient tokens instead of filling in a sample reader."),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Render an article to DIR/email.html, DIR/email.txt and DIR/report.json."""
    from mailer.rendering.preview import preview_context

    rendered = _render(
        ctx, article, cta, template, list_name, subject, item, digest, limit, encoding
    )
    html, text = rendered.html, rendered.text
    if not raw:
        _, html, text = rendered.fill(preview_context(state(ctx).settings))
    output.mkdir(parents=True, exist_ok=True)
    (output / "email.html").write_text(html, encoding="utf-8")
    (output / "email.txt").write_text(text, encoding="utf-8")
    report = {"subject": rendered.subject, **rendered.report.to_dict()}
    (output / "report.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    if json_output:
        print_json(report)
        return
    _print_report(rendered)
    console.print(f"wrote {output / 'email.html'}, email.txt and report.json")


def preview(
    ctx: typer.Context,
    article: ArticleArgument,
    cta: CtaOption = None,
    template: TemplateOption = None,
    list_name: ListOption = None,
    subject: SubjectOption = None,
    item: ItemOption = None,
    digest: DigestOption = False,
    limit: LimitOption = 10,
    encoding: EncodingOption = None,
    screenshot_file: Annotated[
        Path | None,
        typer.Option(
            "--screenshot",
            help="Save a PNG taken by headless Chromium instead of serving the preview.",
            show_default=False,
        ),
    ] = None,
    height: Annotated[int, typer.Option(help="Height of the preview in pixels.")] = 1800,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free one).")] = 0,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the browser.")
    ] = True,
) -> None:
    """Show the rendered email at desktop and phone widths side by side."""
    from mailer.rendering.preview import (
        DESKTOP_WIDTH,
        PHONE_WIDTH,
        PreviewServer,
        preview_context,
        preview_page,
        screenshot,
    )

    rendered = _render(
        ctx, article, cta, template, list_name, subject, item, digest, limit, encoding
    )
    filled_subject, html, text = rendered.fill(preview_context(state(ctx).settings))
    page = preview_page(html, filled_subject, height=height - 60)
    if screenshot_file is not None:
        width = DESKTOP_WIDTH + PHONE_WIDTH + 110
        saved = screenshot(page, screenshot_file, width=width, height=height)
        console.print(f"wrote {saved}")
        return
    server = PreviewServer(page, html, text, port=port)
    console.print(f"preview at {server.url} (email alone: {server.url}email.html); Ctrl-C stops")
    if open_browser:
        webbrowser.open(server.url)
    try:
        _serve_until_stopped()
    finally:
        server.close()


def _serve_until_stopped() -> None:
    """Wait for Enter at a terminal; without one (stdin closed or a pipe, as under a
    service manager or ``nohup``), until SIGINT or SIGTERM."""
    if sys.stdin is not None and sys.stdin.isatty():
        with contextlib.suppress(KeyboardInterrupt, EOFError, typer.Abort):
            typer.prompt("press Enter to stop", default="", show_default=False)
        return
    stopped = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: set_from_handler(stopped))
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _render(
    ctx: typer.Context,
    source: str,
    cta: list[str] | None,
    template: str | None,
    list_name: str | None,
    subject: str | None,
    item: int | None,
    digest: bool,
    limit: int,
    encoding: str | None = None,
) -> RenderedEmail:
    from mailer.articles import load_feed
    from mailer.rendering import render_email

    cli = state(ctx)
    content: Article | list[Article]
    if digest and item is not None:
        raise InputError("--item picks one article and --digest takes several: give one of them")
    if digest:
        content = load_feed(source, limit=limit)
    else:
        content = read_article(source, item=item, encoding=encoding)
    if list_name is not None:
        from mailer.subscribers.lists import get_list

        with cli.database.session() as session:
            list_name = get_list(session, list_name).title
    return render_email(
        content, cli.settings, subject=subject, ctas=cta, list_name=list_name, template=template
    )


def _print_report(rendered: RenderedEmail) -> None:
    from mailer.rendering import LIMIT_BYTES

    report = rendered.report
    table = Table.grid(padding=(0, 2))
    table.add_row("subject", Text(rendered.subject))
    table.add_row(
        "html size",
        f"{report.size_bytes / 1024:.1f} KB of {LIMIT_BYTES // 1024} KB"
        + (" (cut to fit)" if report.truncated else ""),
    )
    table.add_row("text size", f"{report.text_bytes / 1024:.1f} KB")
    table.add_row("links", str(len(report.links)))
    table.add_row(
        "images without alt",
        Text(", ".join(report.images_without_alt) if report.images_without_alt else "none"),
    )
    for i, warning in enumerate(report.warnings):
        table.add_row("warnings" if i == 0 else "", Text(warning, style="yellow"))
    if not report.warnings:
        table.add_row("warnings", "none")
    console.print(table)
