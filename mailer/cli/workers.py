"""``mailer worker`` (send batches for the senders of any machine) and ``mailer workers
ls`` (the workers alive, what each sends and how fast)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from mailer.cli._state import console, log_to_stderr, print_json, state
from mailer.storage.types import utcnow

workers_app = typer.Typer(no_args_is_help=True, help="The mailer worker processes.")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.add_typer(workers_app, name="workers")


def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-n", min=1, max=64, help="Batches sent at once.")
    ] = 1,
) -> None:
    """Send the batches of campaigns that senders on any machine claim (dispatch =
    "procrastinate"), until SIGTERM or Ctrl-C. Needs only database_url and the secrets."""
    from mailer.storage.database import open_database
    from mailer.workers.worker import Worker

    cli = state(ctx)
    log_to_stderr()
    # procrastinate logs every job it runs; ours says what matters.
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    # Not migrated here: the machine of mailer run does that (mailer db upgrade).
    database = open_database(cli.settings.database_url, migrate=False)
    try:
        Worker(cli.settings, database, concurrency=concurrency).run()
    finally:
        database.close()


@workers_app.command("ls")
def workers_ls(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """The workers, alive or silent, what each sends and its rate."""
    from mailer.workers.roster import list_workers

    cli = state(ctx)
    now = utcnow()
    silent = timedelta(seconds=cli.settings.worker_stalled_seconds)
    rows = list_workers(cli.database, now, silent)
    if json_output:
        print_json(
            [
                {
                    "name": row.name,
                    "host": row.host,
                    "pid": row.pid,
                    "alive": row.alive,
                    "concurrency": row.concurrency,
                    "campaign": row.campaign_id,
                    "messages": row.messages,
                    "rate_per_second": round(row.rate, 1),
                    "started_at": row.started_at.isoformat(),
                    "seen_at": row.seen_at.isoformat(),
                }
                for row in rows
            ]
        )
        return
    if not rows:
        console.print("no workers")
        return
    table = Table("worker", "state", "sends", "rate", "sent", "at once", "last seen")
    for row in rows:
        seen = int((now - row.seen_at).total_seconds())
        table.add_row(
            row.name,
            "alive" if row.alive else "[red]silent[/red]",
            f"campaign {row.campaign_id}" if row.campaign_id is not None else "waiting",
            f"{row.rate:,.1f}/s",
            f"{row.messages:,}",
            str(row.concurrency),
            f"{seen} s ago",
        )
    console.print(table)
