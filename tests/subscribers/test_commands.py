"""The list and subscriber commands, as a user types them."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailer.exceptions import quoted
from mailer.storage import Database, Subscriber, Suppression, open_database
from tests.support.cli import Cli


def _db(cli: Cli) -> Database:
    from mailer.settings import load_settings

    return open_database(load_settings(cli.config).database_url)


def test_lists_create_ls_show_rm(cli: Cli) -> None:
    cli("lists", "create", "news", "--description", "Weekly news")
    cli("lists", "create", "alerts", "--double-opt-in")
    listed = json.loads(cli("lists", "ls", "--json").stdout)
    assert [(item["name"], item["double_opt_in"]) for item in listed] == [
        ("alerts", True),
        ("news", False),
    ]
    shown = json.loads(cli("lists", "show", "news", "--json").stdout)
    assert shown["description"] == "Weekly news"
    assert shown["confirmed"] == 0
    assert "news" in cli("lists", "ls").stdout

    taken = cli("lists", "create", "news", ok=False)
    assert taken.exit_code == 1
    assert "list 'news' already exists" in taken.stderr

    cli("subscribers", "add", "ann@example.com", "--list", "news")
    refused = cli("lists", "rm", "news", input="n\n", ok=False)
    assert refused.exit_code == 1
    assert len(json.loads(cli("lists", "ls", "--json").stdout)) == 2
    cli("lists", "rm", "news", "--yes")
    assert [item["name"] for item in json.loads(cli("lists", "ls", "--json").stdout)] == ["alerts"]
    cli("lists", "rm", "alerts")  # empty: no question asked


def test_an_unknown_list_names_the_known_ones(cli: Cli) -> None:
    cli("lists", "create", "news")
    result = cli("subscribers", "ls", "--list", "newz", ok=False)
    assert result.exit_code == 1
    assert "no list 'newz' (known lists: news)" in result.stderr


def test_add_show_and_ls(cli: Cli) -> None:
    cli("lists", "create", "news")
    cli(
        "subscribers", "add", " Ann.Lee@Example.COM ", "--list", "news", "--name", "Ann Lee",
        "--attr", "country=DE", "--attr", "age=42", "--tag", "donor", "--tag", "vip",
        "--timezone", "Europe/Berlin",
    )  # fmt: skip
    shown = json.loads(cli("subscribers", "show", "ann.lee@example.com", "--json").stdout)
    assert shown["email"] == "Ann.Lee@example.com"
    assert shown["attributes"] == {"country": "DE", "age": 42}
    assert shown["tags"] == ["donor", "vip"]
    assert shown["timezone"] == "Europe/Berlin"
    assert shown["subscriptions"][0]["status"] == "confirmed"
    assert shown["subscriptions"][0]["status_source"] == "cli"

    # The same address in another case is the same subscriber, updated.
    cli("subscribers", "add", "ANN.LEE@example.com", "--list", "news", "--tag", "press")
    members = json.loads(cli("subscribers", "ls", "--list", "news", "--json").stdout)
    assert len(members) == 1
    assert members[0]["tags"] == ["donor", "press", "vip"]
    assert "Ann.Lee@example.com" in cli("subscribers", "show", "ann.lee@example.com").stdout

    bad = cli("subscribers", "add", "not-an-address", "--list", "news", ok=False)
    assert "invalid email address 'not-an-address'" in bad.stderr
    bad_zone = cli(
        "subscribers", "add", "b@example.com", "-l", "news", "--timezone", "X/Y", ok=False
    )
    assert "unknown timezone 'X/Y'" in bad_zone.stderr


def test_double_opt_in_lists_wait_for_confirmation(cli: Cli) -> None:
    cli("lists", "create", "alerts", "--double-opt-in")
    cli("subscribers", "add", "a@example.com", "--list", "alerts")
    cli("subscribers", "add", "b@example.com", "--list", "alerts", "--confirmed")
    unconfirmed = cli("subscribers", "ls", "-l", "alerts", "--status", "unconfirmed", "--json")
    assert [m["email"] for m in json.loads(unconfirmed.stdout)] == ["a@example.com"]
    counts = json.loads(cli("lists", "show", "alerts", "--json").stdout)
    assert (counts["confirmed"], counts["unconfirmed"]) == (1, 1)


def test_unsubscribe_from_one_list_and_from_all(cli: Cli) -> None:
    cli("lists", "create", "news")
    cli("lists", "create", "alerts")
    for name in ("news", "alerts"):
        cli("subscribers", "add", "ann@example.com", "--list", name)
    cli("subscribers", "unsubscribe", "ann@example.com", "--list", "news")
    shown = json.loads(cli("subscribers", "show", "ann@example.com", "--json").stdout)
    assert {s["list"]: s["status"] for s in shown["subscriptions"]} == {
        "alerts": "confirmed",
        "news": "unsubscribed",
    }
    # Adding again is refused unless the person asked for it.
    again = cli("subscribers", "add", "ann@example.com", "--list", "news", ok=False)
    assert "unsubscribed from 'news'" in again.stderr
    cli("subscribers", "add", "ann@example.com", "--list", "news", "--resubscribe")

    cli("subscribers", "unsubscribe", "ann@example.com")
    shown = json.loads(cli("subscribers", "show", "ann@example.com", "--json").stdout)
    assert {s["status"] for s in shown["subscriptions"]} == {"unsubscribed"}
    data = json.loads(cli("subscribers", "export-data", "ann@example.com").stdout)
    assert data["suppressed"]["reason"] == "unsubscribed"
    assert shown["suppressed"]["reason"] == "unsubscribed"
    assert "suppressed  unsubscribed since" in cli("subscribers", "show", "ann@example.com").stdout
    cli("lists", "create", "third")
    refused = cli("subscribers", "add", "ann@example.com", "--list", "third", ok=False)
    assert "suppression list" in refused.stderr


def test_rm_deletes_without_a_trace(cli: Cli) -> None:
    cli("lists", "create", "news")
    cli("subscribers", "add", "ann@example.com", "--list", "news")
    cli("subscribers", "rm", "ann@example.com", "--yes")
    missing = cli("subscribers", "show", "ann@example.com", ok=False)
    assert "no subscriber 'ann@example.com'" in missing.stderr
    cli("subscribers", "add", "ann@example.com", "--list", "news")


def test_export_writes_a_file_import_reads_back(cli: Cli, tmp_path: Path) -> None:
    cli("lists", "create", "news")
    cli("lists", "create", "copy")
    cli("subscribers", "add", "ann@example.com", "-l", "news", "--name", "Ann, \"the\" Lee",
        "--attr", "city=Köln", "--tag", "a", "--tag", "b")  # fmt: skip
    cli("subscribers", "add", "bob@example.com", "-l", "news")
    out = tmp_path / "news.csv"
    assert (
        "wrote 2 subscribers" in cli("subscribers", "export", "-l", "news", "-o", str(out)).stdout
    )
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["email"] == "ann@example.com"
    assert rows[0]["name"] == 'Ann, "the" Lee'
    cli("subscribers", "import", str(out), "--list", "copy")
    copied = json.loads(cli("subscribers", "show", "ann@example.com", "--json").stdout)
    assert copied["attributes"] == {"city": "Köln"}
    assert copied["tags"] == ["a", "b"]
    assert {s["list"] for s in copied["subscriptions"]} == {"news", "copy"}


def test_export_data_and_forget(cli: Cli, tmp_path: Path) -> None:
    cli("lists", "create", "news")
    cli("subscribers", "add", "ann@example.com", "--list", "news", "--name", "Ann")
    data = json.loads(cli("subscribers", "export-data", "ann@example.com").stdout)
    assert data["name"] == "Ann"
    assert data["subscriptions"][0]["list"] == "news"
    assert data["suppressed"] is None

    cli("subscribers", "forget", "ann@example.com", "--yes")
    database = _db(cli)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 0
        (suppression,) = session.scalars(select(Suppression)).all()
        assert "ann" not in suppression.address_hash
        assert suppression.reason.value == "forgotten"
    database.close()
    # A later import does not bring the forgotten address back.
    source = tmp_path / "again.csv"
    source.write_text("email,name\nANN@example.com,Ann\nbob@example.com,Bob\n")
    summary = json.loads(cli("subscribers", "import", str(source), "-l", "news", "--json").stdout)
    assert summary["imported"] == 1
    assert summary["skipped"] == {"suppressed": 1}


def test_a_list_has_a_title_for_readers(cli: Cli) -> None:
    created = cli("lists", "create", "weekly", "--title", "The Weekly")
    assert created.stdout.strip() == "created list 'weekly', titled 'The Weekly'"
    cli("lists", "create", "alerts")
    listed = json.loads(cli("lists", "ls", "--json").stdout)
    assert [(item["name"], item["title"]) for item in listed] == [
        ("alerts", "alerts"),  # without --title, the name
        ("weekly", "The Weekly"),
    ]
    assert "The Weekly" in cli("lists", "ls").stdout
    assert re.search(r"^title +The Weekly", cli("lists", "show", "weekly").stdout, re.M)

    edited = cli("lists", "edit", "weekly", "--title", "  The Weekly Review ")
    assert edited.stdout.strip() == "list 'weekly' is titled 'The Weekly Review'"
    cli("lists", "edit", "weekly", "--description", "The week's best reporting")
    shown = json.loads(cli("lists", "show", "weekly", "--json").stdout)
    assert (shown["title"], shown["description"]) == (
        "The Weekly Review",
        "The week's best reporting",
    )
    for args, error in [
        ((), "lists edit: nothing to change; give --title, --description"),
        (("--title", " "), "list title '' must be 1 to 200 characters on one line"),
        (("--title", "A\nB"), "list title 'A\\nB' must be 1 to 200 characters on one line"),
        (("--title", "x" * 201), "must be 1 to 200 characters on one line"),
    ]:
        refused = cli("lists", "edit", "weekly", *args, ok=False)
        assert refused.exit_code == 1
        assert error in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    refused = cli("lists", "edit", "monthly", "--title", "M", ok=False)
    assert "no list 'monthly'" in refused.stderr
    assert json.loads(cli("lists", "show", "weekly", "--json").stdout)["title"] == (
        "The Weekly Review"
    )


def test_lists_edit_sets_opt_in_timezone_and_call_to_action(cli: Cli) -> None:
    cli("lists", "create", "weekly")
    cli("lists", "edit", "weekly", "--double-opt-in", "--timezone", "Europe/Berlin")
    shown = json.loads(cli("lists", "show", "weekly", "--json").stdout)
    assert (shown["double_opt_in"], shown["timezone"]) == (True, "Europe/Berlin")
    cli("lists", "edit", "weekly", "--single-opt-in", "--timezone", "", "--cta", "none")
    shown = json.loads(cli("lists", "show", "weekly", "--json").stdout)
    assert (shown["double_opt_in"], shown["timezone"], shown["default_cta"]) == (False, None, None)
    # A call-to-action must be configured, as when a mailing is rendered.
    refused = cli("lists", "edit", "weekly", "--cta", "give", ok=False)
    assert "no call-to-action 'give'" in refused.stderr
    refused = cli("lists", "create", "daily", "--cta", "give", ok=False)
    assert "no call-to-action 'give'" in refused.stderr


RULE = (
    "a list name is 1 to 64 lower-case letters a-z, digits, '-' and '_', starting with a "
    "letter or digit (like weekly-news)"
)


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("Weekly", "; did you mean 'weekly'?"),
        ("Morning-Briefing_2", "; did you mean 'morning-briefing_2'?"),
        ("morning briefing", ""),
        ("café", ""),
        ("-weekly", ""),
        ("a/b", ""),
        ("x" * 65, ""),
        ("", ""),
    ],
)
def test_a_new_list_name_must_be_a_slug(cli: Cli, name: str, hint: str) -> None:
    refused = cli("lists", "create", "--", name, ok=False)
    assert refused.exit_code == 1
    assert refused.stderr.strip() == f"error: list name {quoted(name)} is refused: {RULE}{hint}"
    assert json.loads(cli("lists", "ls", "--json").stdout) == []


def test_slugs_that_are_fine(cli: Cli) -> None:
    for name in ("weekly", "morning-briefing", "eu_2026", "7days", "x" * 64):
        cli("lists", "create", name)
    assert len(json.loads(cli("lists", "ls", "--json").stdout)) == 5


def test_a_list_from_before_the_slug_rule_keeps_working(cli: Cli) -> None:
    from mailer.storage import MailingList

    db = _db(cli)
    with db.session() as session:
        session.add(MailingList(name="Morning Briefing"))
    db.close()
    cli("subscribers", "add", "ann@example.com", "--list", "Morning Briefing")
    cli("lists", "edit", "Morning Briefing", "--title", "The Morning Briefing")
    shown = json.loads(cli("lists", "show", "Morning Briefing", "--json").stdout)
    assert (shown["title"], shown["confirmed"]) == ("The Morning Briefing", 1)
    cli("lists", "rm", "Morning Briefing", "--yes")


def test_a_local_part_over_64_octets_is_refused_by_add(cli: Cli) -> None:
    cli("lists", "create", "news")
    refused = cli("subscribers", "add", "ü" * 33 + "@example.com", "--list", "news", ok=False)
    assert refused.exit_code == 1
    assert "is 66 bytes long in UTF-8, more than the 64 that RFC 5321 allows" in refused.stderr
    cli("subscribers", "add", "ü" * 32 + "@example.com", "--list", "news")
    assert json.loads(cli("lists", "show", "news", "--json").stdout)["confirmed"] == 1
