"""The ``mailer`` command. Each group of subcommands lives in its own module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer import _click
from typer.core import TyperGroup

from mailer.cli import articles, campaigns, db, digests, lists, project, scheduling
from mailer.cli import check as check_cli
from mailer.cli import render as render_cli
from mailer.cli import subscribers as subscribers_cli
from mailer.cli import users as users_cli
from mailer.cli import web as web_cli
from mailer.cli import workers as workers_cli
from mailer.cli._state import CliState, err_console
from mailer.exceptions import MailerError

__all__ = ["app", "main"]


class _Group(TyperGroup):
    """Turns every MailerError into a one-line message and exit status 1: bad input
    and bad settings are the user's to fix, a traceback would only hide the message."""

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MailerError as err:
            err_console.print(f"[red]error:[/red] {escape(str(err))}", markup=True, soft_wrap=True)
            raise typer.Exit(1) from None
        finally:
            if isinstance(ctx.obj, CliState):
                ctx.obj.close()


app = typer.Typer(
    cls=_Group,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    help="Newsletters for publishers: articles in, email-safe HTML out, sent to your lists.",
)


@app.callback()
def _options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="MAILER_CONFIG",
            help="The settings file (default: ./mailer.toml).",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = CliState(config=config)


project.register(app)
render_cli.register(app)
app.add_typer(db.app, name="db")
app.add_typer(lists.app, name="lists")
app.add_typer(subscribers_cli.app, name="subscribers")
app.add_typer(campaigns.app, name="campaigns")
app.add_typer(articles.app, name="articles")
scheduling.register(app)
app.add_typer(digests.app, name="digests")
app.add_typer(users_cli.app, name="users")
web_cli.register(app)
check_cli.register(app)
workers_cli.register(app)


def main() -> None:
    app(prog_name="mailer")
