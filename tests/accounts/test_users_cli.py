"""``mailer users``: add, ls, passwd, rm, as an operator types them."""

from __future__ import annotations

import json

from mailer.accounts.passwords import verify_password
from mailer.accounts.users import get_user
from mailer.settings import Settings
from mailer.storage import open_database
from tests.support.cli import Cli


def test_add_list_change_and_remove_accounts(cli: Cli, settings: Settings) -> None:
    added = cli(
        "users",
        "add",
        "ana@example.org",
        "--role",
        "admin",
        "--password-stdin",
        input="correct horse battery\n",
    )
    assert "added ana@example.org as admin" in added.stdout
    cli("users", "add", "eli@example.org", "--password-stdin", input="another long one\n")
    listed = json.loads(cli("users", "ls", "--json").stdout)
    assert [(u["email"], u["role"]) for u in listed] == [
        ("ana@example.org", "admin"),
        ("eli@example.org", "editor"),
    ]
    cli("users", "passwd", "eli@example.org", "--password-stdin", input="a third password\n")
    with open_database(settings.database_url) as db, db.session() as session:
        assert verify_password(
            get_user(session, "eli@example.org").password_hash, "a third password"
        )
    assert "removed eli@example.org" in cli("users", "rm", "eli@example.org").stdout
    refused = cli("users", "rm", "ana@example.org", ok=False)
    assert refused.exit_code == 1
    assert "last admin" in refused.stderr
    table = cli("users", "ls").stdout
    assert "ana@example.org" in table and "never" in table


def test_bad_input_is_one_clear_line(cli: Cli) -> None:
    short = cli("users", "add", "ana@example.org", "--password-stdin", input="short\n", ok=False)
    assert "at least 10 characters" in short.stderr
    role = cli(
        "users",
        "add",
        "ana@example.org",
        "--role",
        "owner",
        "--password-stdin",
        input="correct horse battery\n",
        ok=False,
    )
    assert "unknown role 'owner'" in role.stderr
    empty = cli("users", "add", "ana@example.org", "--password-stdin", input="", ok=False)
    assert "no password on standard input" in empty.stderr
    address = cli(
        "users",
        "add",
        "not-an-address",
        "--password-stdin",
        input="correct horse battery\n",
        ok=False,
    )
    assert address.exit_code == 1
    assert "no terminal" in cli("users", "add", "ana@example.org", ok=False).stderr
