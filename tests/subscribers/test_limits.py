"""Names, attributes and tags have caps, wherever people come in, and errors quote at
most a few dozen characters of what they were given."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailer.exceptions import InputError, InvalidAddress, NotFound, TooLarge, quoted
from mailer.storage import Database, Subscriber
from mailer.subscribers.importer import import_file, rejected_path
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber
from tests.support.cli import Cli

MEGABYTE = 1_000_000


def test_quoted_cuts_long_input() -> None:
    assert quoted("short") == "'short'"
    assert quoted("x" * 200_000) == f"{'x' * 40!r}… (200,000 characters)"
    assert len(str(InvalidAddress("a" * 200_000, "bad"))) < 100
    assert len(str(NotFound("list", "b" * 200_000))) < 100


@pytest.fixture
def news(db: Database) -> Database:
    with db.session() as session:
        create_list(session, "news")
    return db


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "n" * MEGABYTE}, "the name has 1,000,000 characters; the limit is 300"),
        ({"attributes": {"k" * 101: 1}}, "the attribute name 'kkkk"),
        ({"attributes": {"bio": "b" * 2001}}, "attribute 'bio' has 2,003 characters"),
        ({"attributes": {"deep": {"a": ["x" * 1000] * 3}}}, "attribute 'deep' has"),
        (
            {"attributes": {str(n): n for n in range(201)}},
            "the set of attributes has 201 attributes",
        ),
        ({"attributes": {"n": 2**64}}, "attribute 'n': a whole number outside 64 bits"),
        ({"tags": ["t" * 101]}, "the tag 'tttt"),
        ({"tags": [f"t{n}" for n in range(101)]}, "the list of tags has 101 tags"),
    ],
)
def test_add_refuses_what_is_over_a_cap(news: Database, fields: dict, message: str) -> None:
    with news.session() as session, pytest.raises(InputError) as caught:
        add_subscriber(session, "ann@example.org", "news", **fields)
    assert message in str(caught.value)
    assert len(str(caught.value)) < 200
    with news.session() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 0


def test_up_to_the_caps_is_fine(news: Database) -> None:
    with news.session() as session:
        add_subscriber(
            session,
            "ann@example.org",
            "news",
            name="n" * 300,
            attributes={"k" * 100: "v" * 1998, "n": 2**63 - 1},
            tags=["t" * 100],
        )


def test_the_command_line_says_it_in_one_line(cli: Cli) -> None:
    cli("lists", "create", "news")
    result = cli("subscribers", "add", "ann@example.org", "-l", "news", "--name", "n" * 100_000,
                 ok=False)  # fmt: skip
    assert result.exit_code == 1
    assert "the name has 100,000 characters; the limit is 300" in result.stderr
    assert len(result.stderr) < 200
    big = cli("subscribers", "add", "ann@example.org", "-l", "news", "--attr",
              f"n={10**30}", ok=False)  # fmt: skip
    assert "attribute 'n': a whole number outside 64 bits" in big.stderr


def test_an_import_rejects_rows_over_a_cap_with_line_and_reason(
    news: Database, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "bio", "attributes"])
        writer.writerow(["ok@example.org", "Ok", "short", ""])
        writer.writerow(["long@example.org", "n" * MEGABYTE, "", ""])
        writer.writerow(["bio@example.org", "B", "b" * 5000, ""])
        writer.writerow(["json@example.org", "J", "", json.dumps({"n": 10**20})])
    summary = import_file(news, source, "news")
    assert (summary.imported, summary.rejected) == (1, 3)
    with rejected_path(source).open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert [(r[0], r[1]) for r in rows[1:]] == [
        ("3", "the name has 1,000,000 characters; the limit is 300"),
        ("4", "attribute 'bio' has 5,002 characters; the limit is 2,000"),
        ("5", "attribute 'n': a whole number outside 64 bits"),
    ]


def test_a_binary_header_is_quoted_in_part(news: Database, tmp_path: Path) -> None:
    garbage = bytes(range(256)).replace(b"\n", b"").replace(b"\r", b"") * 800
    source = tmp_path / "garbage.csv"
    source.write_bytes(garbage + b"\n")
    with pytest.raises(InputError) as caught:
        import_file(news, source, "news", encoding="latin-1")
    message = str(caught.value)
    assert "no email column" in message
    assert len(message) < 600, len(message)


def test_too_large_names_its_limit() -> None:
    assert str(TooLarge("the name", 301, 300)) == "the name has 301 characters; the limit is 300"


def test_a_long_list_name_is_quoted_in_part(db: Database) -> None:
    with db.session() as session, pytest.raises(InputError) as caught:
        create_list(session, "l" * MEGABYTE)
    assert "is refused: a list name is 1 to 64 lower-case letters" in str(caught.value)
    # At most 40 characters of the name, then the rule (which is longer than the old one).
    assert "l" * 41 not in str(caught.value)
    assert len(str(caught.value)) < 250


def test_a_timezone_too_long_for_a_file_name_is_just_unknown(
    news: Database, tmp_path: Path
) -> None:
    # ZoneInfo looks the name up as a file: a long one was an OSError that stopped the import.
    source = tmp_path / "in.csv"
    source.write_text(f"email,timezone\nann@example.org,{'x' * 5000}\n")
    summary = import_file(news, source, "news")
    assert summary.imported == 1
