"""``mailer digests``: recurring mailings of a feed's new items."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mailer.cli import _audit
from mailer.cli._state import JsonOption, console, print_json, state
from mailer.cli.campaigns import send_with_progress
from mailer.scheduling.digests import (
    create_digest,
    digest_dict,
    get_digest,
    list_digests,
    run_digest,
    set_paused,
)
from mailer.storage.types import utcnow

app = typer.Typer(no_args_is_help=True, help="Recurring digests of a feed's new items.")

NameArgument = Annotated[str, typer.Argument(help="The digest's name.")]


@app.command("create")
def create(
    ctx: typer.Context,
    name: NameArgument,
    feed: Annotated[str, typer.Option(help="The RSS or Atom feed: a URL or a file.")],
    list_name: Annotated[str, typer.Option("--list", "-l", help="The list it goes to.")],
    cron: Annotated[str, typer.Option(help='When, as a crontab line: "0 9 * * TUE".')],
    tz: Annotated[
        str | None, typer.Option("--tz", help="The cron's timezone (default: configured).")
    ] = None,
    subject: Annotated[str, typer.Option(help="The subject (default: from the items).")] = "",
    max_items: Annotated[int, typer.Option(help="At most this many items a mailing.")] = 10,
    cta: Annotated[
        list[str] | None, typer.Option(help="A call-to-action by name (repeatable).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """A digest that mailer run sends on its schedule."""
    cli = state(ctx)
    with cli.database.session() as session:
        digest = create_digest(
            session,
            cli.settings,
            name,
            feed=feed,
            list_name=list_name,
            cron=cron,
            timezone=tz,
            subject=subject,
            max_items=max_items,
            ctas=cta or [],
        )
        _audit.write(session, "digest.create", f"digest {digest.name}", list=list_name, cron=cron)
        data = digest_dict(digest, utcnow())
    if json_output:
        print_json(data)
    else:
        console.print(f"digest {name!r} created; next run {data['next_run']}")


@app.command("ls")
def ls(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Every digest, its schedule and its last run."""
    now = utcnow()
    with state(ctx).database.session() as session:
        rows = [digest_dict(d, now) for d in list_digests(session)]
    if json_output:
        print_json(rows)
        return
    if not rows:
        console.print("no digests yet: mailer digests create NAME --feed URL --list L --cron ...")
        return
    table = Table("digest", "list", "cron", "next run", "last run", "result")
    for row in rows:
        table.add_row(
            row["name"],
            row["list"],
            f"{row['cron']} ({row['timezone']})",
            "paused" if row["paused"] else (row["next_run"] or "")[:16].replace("T", " "),
            (row["last_run_at"] or "")[:16].replace("T", " "),
            row["last_error"] or row["last_result"],
        )
    console.print(table)


@app.command("show")
def show(ctx: typer.Context, name: NameArgument, json_output: JsonOption = False) -> None:
    """One digest in detail."""
    with state(ctx).database.session() as session:
        data = digest_dict(get_digest(session, name), utcnow())
    if json_output:
        print_json(data)
        return
    grid = Table.grid(padding=(0, 2))
    for key, value in data.items():
        grid.add_row(key.replace("_", " "), str(value if value is not None else ""))
    console.print(grid)


@app.command("run")
def run(ctx: typer.Context, name: NameArgument) -> None:
    """Run a digest now: its new items, if any, go out as a campaign."""
    cli = state(ctx)
    result = run_digest(cli.database, cli.settings, name)
    if result.campaign_id is not None:
        # After the run, which stores the campaign in a transaction of its own.
        with cli.database.session() as session:
            _audit.write(
                session,
                "digest.run",
                f"digest {name}",
                campaign=result.campaign_id,
                items=result.new_items,
            )
    if result.error:
        console.print(f"the feed could not be read: {result.error}")
        raise typer.Exit(1)
    if result.campaign_id is None:
        console.print(f"digest {name!r}: no new items, nothing sent")
        return
    console.print(f"digest {name!r}: {result.new_items} new items, campaign {result.campaign_id}")
    send_with_progress(cli, result.campaign_id, resume=False)


@app.command("pause")
def pause(ctx: typer.Context, name: NameArgument) -> None:
    """Stop running a digest on its schedule (mailer digests resume starts it again)."""
    _set_paused(ctx, name, True)
    console.print(f"digest {name!r} paused")


@app.command("resume")
def resume(ctx: typer.Context, name: NameArgument) -> None:
    """Run a paused digest on its schedule again."""
    _set_paused(ctx, name, False)
    console.print(f"digest {name!r} runs on its schedule again")


@app.command("rm")
def rm(
    ctx: typer.Context,
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a digest (the campaigns it sent stay)."""
    if not yes:
        typer.confirm(f"delete digest {name!r}?", abort=True)
    with state(ctx).database.session() as session:
        session.delete(get_digest(session, name))
        _audit.write(session, "digest.delete", f"digest {name}")
    console.print(f"deleted digest {name!r}")


def _set_paused(ctx: typer.Context, name: str, paused: bool) -> None:
    with state(ctx).database.session() as session:
        digest = set_paused(session, name, paused)
        _audit.write(
            session, "digest.pause" if paused else "digest.resume", f"digest {digest.name}"
        )
