"""``mailer serve``: the web app (subscribe, unsubscribe, preferences, archive,
tracking, SendGrid's webhook and the admin API) with uvicorn."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from mailer.cli._state import console, state

__all__ = ["register", "serve"]


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="The port to listen on.")] = 8000,
) -> None:
    """Run the web app until Ctrl-C."""
    from mailer.web.app import create_app
    from mailer.web.server import web_server

    cli = state(ctx)
    settings = cli.settings
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app = create_app(settings, cli.database)
    console.print(f"serving {settings.base_url} on http://{host}:{port} (Ctrl-C stops)")
    web_server(app, host, port).run()
