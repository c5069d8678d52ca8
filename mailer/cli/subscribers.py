"""``mailer subscribers``: add, list, show, import, export, unsubscribe and forget."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Column, Table

from mailer.cli import _audit
from mailer.cli._state import JsonOption, console, err_console, print_json, state
from mailer.exceptions import PartialImport
from mailer.storage import Database
from mailer.storage.models import SubscriptionStatus
from mailer.subscribers.export import export_list
from mailer.subscribers.importer import ImportSummary, import_file
from mailer.subscribers.privacy import export_data, forget
from mailer.subscribers.subscriptions import (
    add_subscriber,
    find_subscriber,
    iter_subscriptions,
    parse_attribute,
    remove_subscriber,
    subscriber_dict,
    unsubscribe,
)

app = typer.Typer(no_args_is_help=True, help="Subscribers and their subscriptions.")

ListOption = Annotated[str, typer.Option("--list", "-l", help="The list's name.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")]
ResubscribeOption = Annotated[
    bool,
    typer.Option(
        "--resubscribe",
        help="Subscribe again addresses that unsubscribed or are suppressed "
        "(only when the people asked for it).",
    ),
]


@app.command("add")
def add(
    ctx: typer.Context,
    email: str,
    list_name: ListOption,
    name: Annotated[str | None, typer.Option(help="The subscriber's name.")] = None,
    attr: Annotated[
        list[str] | None, typer.Option("--attr", help="key=value (repeatable).")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")] = None,
    timezone: Annotated[str | None, typer.Option(help="An IANA timezone.")] = None,
    confirmed: Annotated[
        bool, typer.Option("--confirmed", help="On a double opt-in list: already confirmed.")
    ] = False,
    resubscribe: ResubscribeOption = False,
    json_output: JsonOption = False,
) -> None:
    """Add an address to a list (or update it if it is stored already)."""
    attributes = dict(parse_attribute(item) for item in attr or [])
    with state(ctx).database.session() as session:
        subscription = add_subscriber(
            session,
            email,
            list_name,
            name=name,
            attributes=attributes,
            tags=tag or [],
            timezone=timezone,
            confirmed=confirmed,
            resubscribe=resubscribe,
        )
        session.flush()  # a new subscriber's id
        _audit.write(
            session,
            "subscriber.add",
            f"subscriber {subscription.subscriber.id}",
            list=list_name,
            status=subscription.status.value,
        )
        data = subscriber_dict(subscription.subscriber)
    if json_output:
        print_json(data)
    else:
        console.print(f"{data['email']} is {subscription.status.value} on {list_name!r}")


@app.command("ls")
def ls(
    ctx: typer.Context,
    list_name: ListOption,
    status: Annotated[
        SubscriptionStatus | None, typer.Option(help="Only members with this status.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many (0: all).")] = 0,
    json_output: JsonOption = False,
) -> None:
    """The members of a list."""
    rows: list[dict[str, Any]] = []
    with state(ctx).database.session() as session:
        for subscriber, subscription in iter_subscriptions(session, list_name, status):
            rows.append(
                {
                    "email": subscriber.email,
                    "name": subscriber.name,
                    "status": subscription.status.value,
                    "tags": subscriber.tags,
                    "timezone": subscriber.timezone,
                    "status_changed_at": subscription.status_changed_at.isoformat(),
                }
            )
            if limit and len(rows) >= limit:
                break
    if json_output:
        print_json(rows)
        return
    table = Table("name", "status", "tags", "timezone", "since")
    table.columns.insert(0, Column("email", no_wrap=True))
    for row in rows:
        table.add_row(
            row["email"],
            row["name"],
            row["status"],
            ", ".join(row["tags"]),
            row["timezone"] or "",
            row["status_changed_at"][:10],
        )
    console.print(table)
    console.print(f"{len(rows)} subscriber{'s' if len(rows) != 1 else ''}")


@app.command("show")
def show(ctx: typer.Context, email: str, json_output: JsonOption = False) -> None:
    """One subscriber with every subscription."""
    with state(ctx).database.session() as session:
        data = export_data(session, email)
    if json_output:
        print_json(data)
        return
    grid = Table.grid(padding=(0, 2))
    for key in ("email", "name", "timezone", "created_at"):
        grid.add_row(key.replace("_", " "), str(data[key] or ""))
    if data["suppressed"]:
        # No list mails them, whatever their subscriptions say.
        suppressed = data["suppressed"]
        grid.add_row("suppressed", f"{suppressed['reason']} since {suppressed['since'][:19]}")
    grid.add_row("tags", ", ".join(data["tags"]))
    for key, value in data["attributes"].items():
        grid.add_row(f"attr.{key}", str(value))
    console.print(grid)
    table = Table("list", "status", "since", "how")
    for s in data["subscriptions"]:
        table.add_row(s["list"], s["status"], s["status_changed_at"][:19], s["status_source"])
    console.print(table)


@app.command("unsubscribe")
def unsubscribe_command(
    ctx: typer.Context,
    email: str,
    list_name: Annotated[
        str | None, typer.Option("--list", "-l", help="Only this list (default: every list).")
    ] = None,
) -> None:
    """Unsubscribe from one list, or from every list (which also suppresses the address)."""
    with state(ctx).database.session() as session:
        subscriber_id = find_subscriber(session, email).id
        left = unsubscribe(session, email, list_name)
        _audit.write(
            session,
            "subscriber.unsubscribe",
            f"subscriber {subscriber_id}",
            lists=left,
            every_list=list_name is None,
        )
    if list_name is None:
        console.print(f"{email.strip()} unsubscribed from every list and suppressed")
    elif left:
        console.print(f"{email.strip()} unsubscribed from {list_name!r}")
    else:
        console.print(f"{email.strip()} had already unsubscribed from {list_name!r}")


@app.command("rm")
def rm(ctx: typer.Context, email: str, yes: YesOption = False) -> None:
    """Delete a subscriber without a trace (a later import may add it again; see forget)."""
    if not yes:
        typer.confirm(f"delete {email.strip()} and every subscription?", abort=True)
    with state(ctx).database.session() as session:
        subscriber_id = find_subscriber(session, email).id
        remove_subscriber(session, email)
        # The entry names the id only: the address is what was deleted.
        _audit.write(session, "subscriber.remove", f"subscriber {subscriber_id}")
    console.print(f"deleted {email.strip()}")


@app.command("export")
def export(
    ctx: typer.Context,
    list_name: ListOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="The CSV file to write.")],
    status: Annotated[
        SubscriptionStatus | None, typer.Option(help="Only members with this status.")
    ] = None,
) -> None:
    """Write a list's members to CSV (a file `subscribers import` reads back)."""
    with state(ctx).database.session() as session:
        count = export_list(session, list_name, output, status)
    console.print(f"wrote {count} subscriber{'s' if count != 1 else ''} to {output}")


@app.command("export-data")
def export_data_command(ctx: typer.Context, email: str) -> None:
    """Everything stored about an address, as JSON (a data subject access request)."""
    with state(ctx).database.session() as session:
        print_json(export_data(session, email))


@app.command("forget")
def forget_command(ctx: typer.Context, email: str, yes: YesOption = False) -> None:
    """Erase an address's personal data; keep only a hash so it is never mailed again."""
    if not yes:
        typer.confirm(f"erase everything about {email.strip()}?", abort=True)
    with state(ctx).database.session() as session:
        subscriber_id = find_subscriber(session, email).id
        forget(session, email)
        # The entry names the id only: writing the address down would keep what was erased.
        _audit.write(session, "subscriber.forget", f"subscriber {subscriber_id}")
    console.print(f"forgot {email.strip()}; its hash stays on the suppression list")


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A CSV file (Mailchimp, listmonk or email[,name]).")],
    list_name: ListOption,
    confirmed: Annotated[
        bool,
        typer.Option(
            "--confirmed", help="On a double opt-in list: these people already confirmed."
        ),
    ] = False,
    resubscribe: ResubscribeOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count, store nothing.")
    ] = False,
    encoding: Annotated[str, typer.Option(help="The file's encoding.")] = "utf-8-sig",
    json_output: JsonOption = False,
) -> None:
    """Import subscribers from CSV; rejected rows go to FILE.rejected.csv with the reason."""
    database = state(ctx).database
    size = file.stat().st_size if file.is_file() else 0
    with Progress(
        TextColumn("[bold]importing"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=json_output or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("import", total=size)
        try:
            summary = import_file(
                database,
                file,
                list_name,
                confirmed=confirmed,
                resubscribe=resubscribe,
                dry_run=dry_run,
                encoding=encoding,
                progress=lambda done: bar.update(task, completed=done),
            )
        except PartialImport as err:
            if isinstance(err.summary, ImportSummary):
                _audit_import(database, err.summary, file, failed=True)
                _print_summary(err.summary, json_output)
            raise
    _audit_import(database, summary, file, failed=False)
    _print_summary(summary, json_output)


def _audit_import(database: Database, summary: ImportSummary, file: Path, *, failed: bool) -> None:
    """The import's entry, after it as the admin writes its own: an import commits batch
    by batch, so no one transaction holds it. A dry run stores nothing and writes none."""
    if summary.dry_run:
        return
    with database.session() as session:
        _audit.write(
            session,
            "list.import_failed" if failed else "list.import",
            f"list {summary.list}",
            file=file.name,
            read=summary.read,
            imported=summary.imported,
            updated=summary.updated,
            rejected=summary.rejected,
        )


def _print_summary(summary: ImportSummary, json_output: bool) -> None:
    if json_output:
        print_json(summary.as_dict())
        return
    if summary.dry_run:
        console.print("dry run: nothing stored")
    table = Table(show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for label, value in (
        ("read", summary.read),
        ("imported", summary.imported),
        ("updated", summary.updated),
        ("unchanged", summary.unchanged),
        ("duplicates", summary.duplicates),
        *((f"skipped: {reason}", count) for reason, count in sorted(summary.skipped.items())),
        ("rejected", summary.rejected),
    ):
        table.add_row(label, f"{value:,}")
    console.print(table)
    if summary.rejected_file:
        console.print(f"rejected rows with their reasons: {summary.rejected_file}")
