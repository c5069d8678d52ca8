"""``mailer serve``: the web app (subscribe, unsubscribe, preferences, archive,
tracking, SendGrid's webhook and the admin API) with uvicorn."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from mailer.cli._state import console, state
from mailer.exceptions import InputError
from mailer.signals import set_from_handler

if TYPE_CHECKING:
    from mailer.web.workers import Workers

__all__ = ["WorkersOption", "register", "serve", "start_workers"]

#: ``--workers N`` of ``mailer serve`` and ``mailer run``.
WorkersOption = Annotated[
    int,
    typer.Option(
        min=1,
        max=64,
        help="Web worker processes sharing the port (about one per core).",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="The port to listen on.")] = 8000,
    workers: WorkersOption = 1,
) -> None:
    """Run the web app until Ctrl-C."""
    cli = state(ctx)
    settings = cli.settings
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if workers == 1:
        # Imported here: with workers, each imports the app, and the parent only waits.
        from mailer.web.app import create_app
        from mailer.web.server import freeze_startup, web_server

        server = web_server(create_app(settings, cli.database), host, port)
        console.print(f"serving {settings.base_url} on http://{host}:{port} (Ctrl-C stops)")
        freeze_startup()
        server.run()
        return
    # Migrated once here, before the workers open the database each.
    cli.database.close()
    cli.close()
    pool = start_workers(cli.config, host, port, workers)
    console.print(
        f"serving {settings.base_url} on http://{host}:{pool.port} with {workers} worker "
        "processes (Ctrl-C stops)"
    )
    stop = threading.Event()

    def ask(signum: int, frame: FrameType | None) -> None:
        set_from_handler(stop)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, ask)
    try:
        pool.watch(stop)
    finally:
        pool.stop()


def start_workers(
    config: Path | None, host: str, port: int, count: int, *, log_level: str = "info"
) -> Workers:
    """``count`` worker processes on ``host:port``, started."""
    from mailer.web.workers import Workers, listen_each

    try:
        sockets = listen_each(host, port, count)
    except OSError as err:
        raise InputError(f"the web app cannot listen on {host}:{port}: {err.strerror}") from None
    pool = Workers(config, sockets, count, log_level=log_level)
    pool.start()
    return pool
