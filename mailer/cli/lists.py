"""``mailer lists``: create, list, show and delete mailing lists."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mailer.cli._state import JsonOption, console, print_json, state
from mailer.subscribers.lists import create_list, delete_list, get_list, list_counts

app = typer.Typer(no_args_is_help=True, help="Mailing lists.")


@app.command("create")
def create(
    ctx: typer.Context,
    name: str,
    double_opt_in: Annotated[
        bool, typer.Option("--double-opt-in", help="New subscribers must confirm by email.")
    ] = False,
    description: Annotated[str, typer.Option(help="What readers get on this list.")] = "",
    timezone: Annotated[
        str | None, typer.Option(help="Where members without a timezone live (local-time sends).")
    ] = None,
    cta: Annotated[
        list[str] | None,
        typer.Option(help="A call-to-action its mailings get when the article names none."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Create a list."""
    with state(ctx).database.session() as session:
        created = create_list(
            session,
            name,
            description=description,
            double_opt_in=double_opt_in,
            timezone=timezone,
            default_cta=cta,
        )
        (counts,) = list_counts(session, [created])
    if json_output:
        print_json(counts.as_dict())
    else:
        console.print(
            f"created list {created.name!r}" + (" (double opt-in)" if double_opt_in else "")
        )


@app.command("ls")
def ls(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """All lists with their subscriber counts."""
    with state(ctx).database.session() as session:
        counts = list_counts(session)
    if json_output:
        print_json([c.as_dict() for c in counts])
        return
    if not counts:
        console.print("no lists yet: mailer lists create NAME")
        return
    table = Table("list", "confirmed", "unconfirmed", "unsubscribed", "opt-in", "description")
    for c in counts:
        table.add_row(
            c.list.name,
            str(c.confirmed),
            str(c.unconfirmed),
            str(c.unsubscribed),
            "double" if c.list.double_opt_in else "single",
            c.list.description,
        )
    console.print(table)


@app.command("show")
def show(ctx: typer.Context, name: str, json_output: JsonOption = False) -> None:
    """One list in detail."""
    with state(ctx).database.session() as session:
        (counts,) = list_counts(session, [get_list(session, name)])
    data = counts.as_dict()
    if json_output:
        print_json(data)
        return
    table = Table.grid(padding=(0, 2))
    for key, value in data.items():
        table.add_row(key.replace("_", " "), str(value))
    console.print(table)


@app.command("rm")
def rm(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a list and its subscriptions (subscribers on other lists stay)."""
    with state(ctx).database.session() as session:
        (counts,) = list_counts(session, [get_list(session, name)])
        if counts.total and not yes:
            typer.confirm(
                f"list {name!r} has {counts.total} subscriptions; delete it with them?",
                abort=True,
            )
        delete_list(session, name)
    console.print(f"deleted list {name!r}")
