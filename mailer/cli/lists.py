"""``mailer lists``: create, edit, list, show and delete mailing lists."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mailer.cli import _audit
from mailer.cli._state import JsonOption, console, print_json, state
from mailer.exceptions import InputError
from mailer.rendering.ctas import choose_ctas
from mailer.settings import Settings
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
            default_cta=None if cta is None else _known_ctas(state(ctx).settings, cta),
        )
        _audit.write(session, "list.create", f"list {created.name}")
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
    double_opt_in: Annotated[
        bool | None,
        typer.Option(
            "--double-opt-in/--single-opt-in",
            help="Whether new subscribers must confirm by email.",
            show_default=False,
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="Where members without a timezone live ('' for none).", show_default=False
        ),
    ] = None,
    cta: Annotated[
        list[str] | None,
        typer.Option(help="Its default call-to-action (again for more; 'none' for none)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Change a list's title, description, opt-in, timezone or default call-to-action
    (its name stays: links carry it)."""
    if all(v is None for v in (title, description, double_opt_in, timezone, cta)):
        raise InputError(
            "lists edit: nothing to change; give --title, --description, --double-opt-in "
            "or --single-opt-in, --timezone or --cta"
        )
    settings = state(ctx).settings
    with state(ctx).database.session() as session:
        edited = edit_list(
            session,
            name,
            title=title,
            description=description,
            double_opt_in=double_opt_in,
            timezone=timezone,
            default_cta=None if cta is None else _known_ctas(settings, cta),
        )
        _audit.write(
            session,
            "list.edit",
            f"list {edited.name}",
            title=edited.title,
            double_opt_in=edited.double_opt_in,
        )
        (counts,) = list_counts(session, [edited])
    if json_output:
        print_json(counts.as_dict())
    else:
        console.print(f"list {edited.name!r} is titled {edited.title!r}")


def _known_ctas(settings: Settings, names: list[str]) -> list[str]:
    """The names, each a configured call-to-action (the renderer's check); 'none', none."""
    return choose_ctas(settings, requested=names, article=None, list_default=None)


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
        gone = delete_list(session, name)
        _audit.write(session, "list.delete", f"list {name}", subscriptions=gone)
    console.print(f"deleted list {name!r}")
