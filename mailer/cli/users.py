"""``mailer users``: the accounts of the admin under ``/admin``."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.table import Table

from mailer.accounts.audit import audit
from mailer.accounts.users import add_user, list_users, parse_role, remove_user, set_password
from mailer.cli._audit import cli_actor
from mailer.cli._state import JsonOption, console, print_json, state
from mailer.exceptions import InputError
from mailer.storage.types import utcnow

app = typer.Typer(no_args_is_help=True, help="Accounts of the admin web app (/admin).")

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (for scripts)."),
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InputError("--password-stdin: no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise InputError("no terminal to ask for the password: give --password-stdin")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        raise InputError("the two passwords differ")
    return password


@app.command("add")
def add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The account's email address.")],
    role: Annotated[
        str, typer.Option(help="admin (everything), editor (composes, tests) or viewer (reads).")
    ] = "editor",
    password_stdin: PasswordStdin = False,
) -> None:
    """Add an account (the password is asked for, or read with --password-stdin)."""
    chosen = parse_role(role)
    password = _password(password_stdin)
    now = utcnow()
    with state(ctx).database.session() as session:
        user = add_user(session, email, chosen, password, now=now)
        audit(session, cli_actor(), "user.add", f"user {user.email}", now=now, role=chosen.value)
    console.print(f"added {user.email} as {chosen.value}; sign in at /admin")


@app.command("ls")
def ls(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """All accounts with their roles and last sign-ins."""
    with state(ctx).database.session() as session:
        rows: list[dict[str, str]] = [
            {
                "email": u.email,
                "role": u.role.value,
                "created_at": u.created_at.isoformat(),
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else "",
            }
            for u in list_users(session)
        ]
    if json_output:
        print_json(rows)
        return
    if not rows:
        console.print("no accounts yet: mailer users add EMAIL --role admin")
        return
    table = Table("email", "role", "created", "last sign-in")
    for row in rows:
        table.add_row(
            row["email"],
            row["role"],
            row["created_at"][:16],
            row["last_login_at"][:16] or "never",
        )
    console.print(table)


@app.command("rm")
def rm(ctx: typer.Context, email: str) -> None:
    """Remove an account; its sign-ins end at once (the last admin stays)."""
    now = utcnow()
    with state(ctx).database.session() as session:
        user = remove_user(session, email)
        audit(session, cli_actor(), "user.remove", f"user {user.email}", now=now)
    console.print(f"removed {user.email}")


@app.command("passwd")
def passwd(ctx: typer.Context, email: str, password_stdin: PasswordStdin = False) -> None:
    """Set an account's password; its sign-ins end."""
    password = _password(password_stdin)
    now = utcnow()
    with state(ctx).database.session() as session:
        user = set_password(session, email, password, now=now)
        audit(session, cli_actor(), "user.password", f"user {user.email}", now=now)
    console.print(f"changed the password of {user.email}; its sign-ins have ended")
