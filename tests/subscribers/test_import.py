"""Importing CSV files: the layouts other tools export, the merge policy, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mailer.exceptions import FileInputError, NotFound, PartialImport
from mailer.storage import Database, Subscriber, Subscription
from mailer.subscribers import importer
from mailer.subscribers.importer import ImportSummary, import_file
from mailer.subscribers.lists import create_list
from mailer.subscribers.privacy import export_data
from tests.support.cli import Cli


@pytest.fixture
def news(db: Database) -> Database:
    with db.session() as session:
        create_list(session, "news")
        create_list(session, "alerts", double_opt_in=True)
    return db


def write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    if isinstance(text, str):
        text = text.encode(encoding)
    path.write_bytes(text)
    return path


def people(db: Database, list_name: str = "news") -> dict[str, dict[str, Any]]:
    """Every member of a list by email, with their status."""
    with db.session() as session:
        rows = session.execute(
            select(Subscriber, Subscription)
            .join(Subscription)
            .where(Subscription.list.has(name=list_name))
        ).all()
        return {
            s.email: {
                "name": s.name,
                "attributes": s.attributes,
                "tags": s.tags,
                "timezone": s.timezone,
                "status": sub.status.value,
            }
            for s, sub in rows
        }


MAILCHIMP = (
    "\ufeffEmail Address,First Name,Last Name,Address,Phone Number,TAGS,TIMEZONE,"
    "MEMBER_RATING,OPTIN_TIME,LEID\r\n"
    'ann@example.com,Ann,Lee,"1 Main St, Springfield",555-1234,"""Donor"",""Gala, 2024""",'
    "Europe/Berlin,4,2024-01-01 10:00:00,123\r\n"
    'bob@example.org,"Robert ""Bob""",Smith,,,,America/New_York,2,,124\r\n'
    "not-an-address,Bad,Row,,,,,1,,125\r\n"
)


def test_mailchimp_export(news: Database, tmp_path: Path) -> None:
    source = write(tmp_path / "mailchimp.csv", MAILCHIMP)
    summary = import_file(news, source, "news")
    assert (summary.read, summary.imported, summary.rejected) == (3, 2, 1)
    got = people(news)
    assert got["ann@example.com"] == {
        "name": "Ann Lee",
        "attributes": {
            "address": "1 Main St, Springfield",
            "phone_number": "555-1234",
            "member_rating": "4",
            "optin_time": "2024-01-01 10:00:00",
        },
        "tags": ["Donor", "Gala, 2024"],
        "timezone": "Europe/Berlin",
        "status": "confirmed",
    }
    assert got["bob@example.org"]["name"] == 'Robert "Bob" Smith'
    assert got["bob@example.org"]["attributes"]["first_name"] == 'Robert "Bob"'
    with (tmp_path / "mailchimp.rejected.csv").open(encoding="utf-8") as handle:
        rejected = list(csv.reader(handle))
    assert rejected[0][:4] == ["line", "reason", "Email Address", "First Name"]
    assert rejected[1][:3] == ["4", "An email address must have an @-sign.", "not-an-address"]
    assert summary.rejected_file == str(tmp_path / "mailchimp.rejected.csv")


def test_mailchimp_unsubscribed_and_cleaned_exports_are_honoured(
    news: Database, tmp_path: Path
) -> None:
    import_file(
        news, write(tmp_path / "a.csv", "email\ngone@example.com\nbounce@example.com\n"), "news"
    )
    unsubscribed = write(
        tmp_path / "unsub.csv",
        "Email Address,UNSUB_TIME,UNSUB_CAMPAIGN_TITLE\ngone@example.com,2024-05-01,May\n",
    )
    cleaned = write(
        tmp_path / "clean.csv", "Email Address,CLEAN_TIME\nbounce@example.com,2024-05-02\n"
    )
    assert import_file(news, unsubscribed, "news").skipped == {"unsubscribed": 1}
    assert import_file(news, cleaned, "news").skipped == {"bounced": 1}
    got = people(news)
    assert got["gone@example.com"]["status"] == "unsubscribed"
    assert got["bounce@example.com"]["status"] == "unsubscribed"
    with news.session() as session:
        assert export_data(session, "bounce@example.com")["suppressed"]["reason"] == "hard_bounce"


def test_listmonk_export(news: Database, tmp_path: Path) -> None:
    source = write(
        tmp_path / "listmonk.csv",
        "uuid,email,name,attributes,status,created_at,updated_at\n"
        '1a,ann@example.com,Ann,"{""city"": ""Bonn"", ""projects"": 3}",enabled,2024-01-01,2024-01-02\n'
        "1b,spam@example.com,Spam,{},blocklisted,2024-01-01,2024-01-02\n"
        '1c,broken@example.com,Broken,"{not json",enabled,2024-01-01,2024-01-02\n',
    )
    summary = import_file(news, source, "news")
    assert (summary.imported, summary.skipped, summary.rejected) == (1, {"blocklisted": 1}, 1)
    got = people(news)
    assert got["ann@example.com"]["attributes"] == {"city": "Bonn", "projects": 3}
    assert got["spam@example.com"]["status"] == "unsubscribed"
    rejected = (tmp_path / "listmonk.rejected.csv").read_text()
    assert "attributes is not valid JSON" in rejected


def test_plain_files_with_and_without_a_header(news: Database, tmp_path: Path) -> None:
    plain = write(tmp_path / "plain.csv", "ann@example.com,Ann Lee\nbob@example.com\n")
    assert import_file(news, plain, "news").imported == 2
    semicolons = write(tmp_path / "semi.csv", "E-Mail;Name;Stadt\ncarl@example.com;Carl;Köln\n")
    assert import_file(news, semicolons, "news").imported == 1
    tabs = write(tmp_path / "tabs.tsv", "email\tname\ndora@example.com\tDora\n")
    assert import_file(news, tabs, "news").imported == 1
    got = people(news)
    assert got["ann@example.com"]["name"] == "Ann Lee"
    assert got["bob@example.com"]["name"] == ""
    assert got["carl@example.com"]["attributes"] == {"stadt": "Köln"}
    assert got["dora@example.com"]["name"] == "Dora"


def test_quoted_fields_with_newlines_keep_line_numbers(news: Database, tmp_path: Path) -> None:
    source = write(
        tmp_path / "multi.csv",
        'email,name,notes\r\nann@example.com,Ann,"two\r\nlines, and ""quotes"""\r\nbad@,Bad,x\r\n',
    )
    summary = import_file(news, source, "news")
    assert people(news)["ann@example.com"]["attributes"]["notes"] == 'two\r\nlines, and "quotes"'
    assert summary.rejected == 1
    assert (tmp_path / "multi.rejected.csv").read_text().splitlines()[1].startswith("4,")


def test_a_name_with_line_breaks_is_kept_on_one_line(news: Database, tmp_path: Path) -> None:
    # A line break would fail every message to them (it cannot go into To:).
    source = write(tmp_path / "names.csv", 'email,name\r\nann@example.com,"Ann\r\n\tLee\x1f"\r\n')
    import_file(news, source, "news")
    assert people(news)["ann@example.com"]["name"] == "Ann Lee"


def test_duplicates_merge_and_a_rerun_changes_nothing(news: Database, tmp_path: Path) -> None:
    source = write(
        tmp_path / "dups.csv",
        "email,name,tags,city\n"
        "ann@example.com,Ann,a,Bonn\n"
        "ANN@Example.com,,b,\n"
        "ann@example.com,Annie,,Köln\n"
        "bob@example.com,Bob,,\n",
    )
    first = import_file(news, source, "news", batch_size=2)
    assert (first.read, first.imported, first.duplicates) == (4, 2, 2)
    assert people(news)["ann@example.com"] == {
        "name": "Annie",
        "attributes": {"city": "Köln"},
        "tags": ["a", "b"],
        "timezone": None,
        "status": "confirmed",
    }
    again = import_file(news, source, "news", batch_size=2)
    assert (again.imported, again.updated, again.unchanged, again.duplicates) == (0, 0, 2, 2)
    with news.session() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 2


def test_stored_subscribers_are_merged_not_erased(news: Database, tmp_path: Path) -> None:
    import_file(
        news,
        write(tmp_path / "a.csv", "email,name,tags,city\nann@example.com,Ann,a,Bonn\n"),
        "news",
    )
    summary = import_file(
        news, write(tmp_path / "b.csv", "email,name,tags,zip\nann@example.com,,b,53111\n"), "news"
    )
    assert summary.updated == 1
    assert people(news)["ann@example.com"] == {
        "name": "Ann",
        "attributes": {"city": "Bonn", "zip": "53111"},
        "tags": ["a", "b"],
        "timezone": None,
        "status": "confirmed",
    }


def test_double_opt_in_and_confirmed(news: Database, tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", "email\nann@example.com\n")
    assert import_file(news, source, "alerts").imported == 1
    assert people(news, "alerts")["ann@example.com"]["status"] == "unconfirmed"
    summary = import_file(news, source, "alerts", confirmed=True)
    assert summary.updated == 1
    assert people(news, "alerts")["ann@example.com"]["status"] == "confirmed"


def test_unsubscribed_and_suppressed_addresses_are_not_resubscribed(
    news: Database, tmp_path: Path
) -> None:
    from mailer.subscribers.subscriptions import unsubscribe

    source = write(tmp_path / "a.csv", "email\nann@example.com\nbob@example.com\n")
    import_file(news, source, "news")
    with news.session() as session:
        unsubscribe(session, "ann@example.com", "news")
        unsubscribe(session, "bob@example.com")  # every list: suppressed
    summary = import_file(news, source, "news")
    assert summary.skipped == {"suppressed": 1, "unsubscribed": 1}
    assert {p["status"] for p in people(news).values()} == {"unsubscribed"}
    summary = import_file(news, source, "news", resubscribe=True)
    assert summary.updated == 2
    assert {p["status"] for p in people(news).values()} == {"confirmed"}
    with news.session() as session:
        assert export_data(session, "bob@example.com")["suppressed"] is None


def test_dry_run_counts_and_stores_nothing(news: Database, tmp_path: Path) -> None:
    source = write(
        tmp_path / "a.csv", "email\nann@example.com\nann@example.com\nbad\nbob@example.com\n"
    )
    summary = import_file(news, source, "news", dry_run=True, batch_size=1)
    assert (summary.imported, summary.duplicates, summary.rejected) == (2, 1, 1)
    assert people(news) == {}
    assert not (tmp_path / "a.rejected.csv").exists()


def test_a_stale_rejected_file_is_removed(news: Database, tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", "email\nbad\n")
    import_file(news, source, "news")
    assert (tmp_path / "a.rejected.csv").exists()
    write(source, "email\nann@example.com\n")
    assert import_file(news, source, "news").rejected_file is None
    assert not (tmp_path / "a.rejected.csv").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"name,city\nAnn,Bonn\n", "no email column: the header has 'name', 'city'"),
        (
            "email,name\nann@example.com,Jürgen\n".encode("latin-1"),
            r"a\.csv:2: not valid utf-8-sig",
        ),
    ],
)
def test_bad_files_say_what_and_where(
    news: Database, tmp_path: Path, content: bytes, message: str
) -> None:
    with pytest.raises(FileInputError, match=message):
        import_file(news, write(tmp_path / "a.csv", content), "news")
    assert people(news) == {}


def test_the_right_encoding_reads_it(news: Database, tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", "email,name\nann@example.com,Jürgen\n", encoding="cp1252")
    import_file(news, source, "news", encoding="cp1252")
    assert people(news)["ann@example.com"]["name"] == "Jürgen"
    with pytest.raises(FileInputError, match="unknown encoding 'klingon'"):
        import_file(news, source, "news", encoding="klingon")


def test_missing_file_and_unknown_list(news: Database, tmp_path: Path) -> None:
    with pytest.raises(FileInputError, match=r"nope\.csv: no such file"):
        import_file(news, tmp_path / "nope.csv", "news")
    with pytest.raises(NotFound, match="no list 'newz'"):
        import_file(news, write(tmp_path / "a.csv", "email\na@example.com\n"), "newz")


def test_a_failure_part_way_keeps_what_was_committed_and_a_rerun_completes(
    news: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(
        tmp_path / "a.csv", "email\n" + "".join(f"p{i}@example.com\n" for i in range(10))
    )
    real_flush = importer._Merger.flush
    calls = iter(range(100))

    def failing_flush(self: Any, database: Database, batch: Any) -> None:
        if next(calls) == 2:
            raise KeyboardInterrupt
        real_flush(self, database, batch)

    monkeypatch.setattr(importer._Merger, "flush", failing_flush)
    with pytest.raises(PartialImport, match="import stopped at line 6 \\(interrupted\\)") as caught:
        import_file(news, source, "news", batch_size=2)
    assert isinstance(caught.value.summary, ImportSummary)
    assert caught.value.summary.imported == 4
    assert len(people(news)) == 4
    monkeypatch.setattr(importer._Merger, "flush", real_flush)
    summary = import_file(news, source, "news", batch_size=2)
    assert (summary.imported, summary.unchanged) == (6, 4)
    assert len(people(news)) == 10


def test_import_command_prints_a_summary_and_json(cli: Cli, tmp_path: Path) -> None:
    cli("lists", "create", "news")
    source = write(tmp_path / "a.csv", MAILCHIMP)
    out = cli("subscribers", "import", str(source), "--list", "news").stdout
    assert "imported" in out
    assert "a.rejected.csv" in out
    summary = json.loads(cli("subscribers", "import", str(source), "-l", "news", "--json").stdout)
    assert (summary["read"], summary["unchanged"], summary["rejected"]) == (3, 2, 1)
    dry = cli("subscribers", "import", str(source), "-l", "news", "--dry-run").stdout
    assert "dry run: nothing stored" in dry
    missing = cli("subscribers", "import", str(tmp_path / "x.csv"), "-l", "news", ok=False)
    assert missing.exit_code == 1
    assert "x.csv: no such file" in missing.stderr


def test_a_local_part_over_64_octets_is_rejected_with_the_reason(
    news: Database, tmp_path: Path
) -> None:
    long_local = "ü" * 33  # 33 characters, 66 octets in UTF-8
    source = write(
        tmp_path / "long.csv", f"email\n{'a' * 64}@example.org\n{long_local}@example.org\n"
    )
    summary = import_file(news, source, "news")
    assert (summary.imported, summary.rejected) == (1, 1)
    with (tmp_path / "long.rejected.csv").open(encoding="utf-8") as handle:
        rejected = list(csv.reader(handle))
    assert rejected[1] == [
        "3",
        "the part before the @-sign is 66 bytes long in UTF-8, more than the 64 that "
        "RFC 5321 allows",
        f"{long_local}@example.org",
    ]
    assert set(people(news)) == {f"{'a' * 64}@example.org"}
