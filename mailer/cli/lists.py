"""``mailer lists``: create, edit, list, show and delete mailing lists."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mailer.cli._state import JsonOption, console, print_json, state
from mailer.exceptions import InputError
from mailer.subscribers.lists import (
    NAME_RULE,
    create_list,
    delete_list,
    edit_list,
    get_list,
    list_counts,
)

app = typer.Typer(no_args_is_help=True, help="Mailing lists.")


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=f"The list's slug: {NAME_RULE}.")],
    title: Annotated[
        str | None,
        typer.Option(
            help="What readers see, like 'The Weekly' (default: the name).", show_default=False
        ),
    ] = None,
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
            title=title,
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
            f"created list {created.name!r}, titled {created.title!r}"
            + (" (double opt-in)" if double_opt_in else "")
        )


@app.command("edit")
def edit(
    ctx: typer.Context,
    name: str,
    title: Annotated[str | None, typer.Option(help="What readers see.", show_default=False)] = None,
    description: Annotated[
        str | None, typer.Option(help="What readers get on this list.", show_default=False)
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Change a list's title or description (its name stays: links carry it)."""
    if title is None and description is None:
        raise InputError("lists edit: nothing to change; give --title or --description")
    with state(ctx).database.session() as session:
        edited = edit_list(session, name, title=title, description=description)
        (counts,) = list_counts(session, [edited])
    if json_output:
        print_json(counts.as_dict())
    else:
        console.print(f"list {edited.name!r} is titled {edited.title!r}")


@app.command("ls")
def ls(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """All lists with their titles and subscriber counts (show gives the rest)."""
    with state(ctx).database.session() as session:
        counts = list_counts(session)
    if json_output:
        print_json([c.as_dict() for c in counts])
        return
    if not counts:
        console.print("no lists yet: mailer lists create NAME")
        return
    table = Table("list", "title", "confirmed", "unconfirmed", "unsubscribed", "opt-in")
    for c in counts:
        table.add_row(
            c.list.name,
            c.list.title,
            str(c.confirmed),
            str(c.unconfirmed),
            str(c.unsubscribed),
            "double" if c.list.double_opt_in else "single",
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
