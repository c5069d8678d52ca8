"""Benchmark: what the admin's dashboard and a campaign's report ask of the database.

Builds once, into ``bench/.data/admin-<N>.db`` (or ``--dir``), reusing it if present, a
SQLite database with N subscribers (1,000,000) on one list and a sent campaign with a
ledger row for each of them and the events a SendGrid campaign gets: 99% delivered, 1%
bounced for good, 40% opened (a third of them several times), 5% clicked (a fifth of
those on the donation box), opens and clicks thinning out over a week; twelve older,
smaller campaigns, two scheduled ones and a digest. The rows are written by SQL from a
counter (no Python loop over a million rows), so building takes well under a minute;
the event counters are then filled by migration 0007's own SQL, as for a database made
before them (reusing an older database migrates it, which fills them the same way).

Then times (median of --runs, each in a fresh session) campaign_stats, timeline,
recent_campaigns, upcoming, list_counts and, where mailer/subscribers/search.py exists,
a subscriber search, against the target of issue 15: each under 200 ms. The distinct
counts over the events that the counters replaced are timed first, for the before.

    .venv/bin/python bench/admin.py [--subscribers 1000000] [--dir DIR] [--runs 7] [--rebuild]

With ``--database-url postgresql+psycopg://...`` the same is timed on PostgreSQL: the
SQLite database is built (or reused) as above, then copied into that database, which is
emptied first (reused if it holds as many ledger rows).

Then the admin's pages themselves, through the whole app (routing, sign-in, queries,
templates) by Starlette's test client signed in as an admin: the dashboard, the
subscriber search, the big campaign's page and its report, the lists.
"""

from __future__ import annotations

import argparse
import importlib.util
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import Session  # noqa: E402

from mailer.campaigns.report import recent_campaigns, timeline, upcoming  # noqa: E402
from mailer.campaigns.stats import campaign_stats  # noqa: E402
from mailer.storage import Base, Database, open_database  # noqa: E402
from mailer.subscribers.lists import list_counts  # noqa: E402

TARGET_MS = 200.0
DATA = ROOT / "bench" / ".data"
# The big campaign started a day and a half before "now", so that its timeline has
# hours and days; its send took an hour.
STARTED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
NOW = STARTED + timedelta(days=8)
LINKS = [
    "https://news.example-times.org/2026/11/millbrook-council",
    "https://news.example-times.org/2026/11/river-report",
    "https://give.example-times.org/donate?utm_content=donate",
    "https://give.example-times.org/donate?amount=10&utm_content=donate",
    "https://news.example-times.org/about",
]


def stamp(moment: datetime) -> str:
    """A datetime as SQLAlchemy stores it on SQLite (naive UTC, microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def sql_time(seconds: str) -> str:
    """SQL for STARTED plus ``seconds`` (an SQL expression), in the stored format."""
    return f"strftime('%Y-%m-%d %H:%M:%S', '{stamp(STARTED)[:19]}', '+' || ({seconds}) || ' seconds') || '.000000'"  # noqa: E501


# A deterministic scatter of the counter i over 0..999 (Knuth's multiplicative hash),
# and another, independent one.
H1 = "(((i * 2654435761) % 4294967296) % 1000)"
H2 = "(((i * 40503 + 12345) % 65521) % 1000)"
# Seconds after the send that a reader looks: mostly in the first hours, some days later.
DELAY = f"CAST(({H2} * {H2} * {H2}) / 1.0e9 * 604800 AS INTEGER)"
SENT_OFFSET = "(i * 3600 / :n)"


def build(path: Path, count: int) -> None:
    """Create the database at ``path`` (migrated by mailer, filled by SQL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    open_database(f"sqlite:///{partial}").close()
    db = sqlite3.connect(partial)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-200000")
    params = {"n": count, "now": stamp(STARTED - timedelta(days=60))}
    for label, statements in (
        ("subscribers", _subscribers()),
        ("campaigns", _campaigns()),
        ("ledger", _ledger()),
        ("events", _events()),
        # Written by SQL behind record_events' back, so counted as migration 0007 counts
        # the events of a database made before the counters.
        ("event counters", _counters()),
        # And the ledger's tallies, as migration 0008 tallies a ledger made before them.
        ("ledger tallies", [_migration("0008_delivery_tallies").BACKFILL]),
        ("ANALYZE", ["ANALYZE"]),
    ):
        started = time.perf_counter()
        for statement in statements:
            db.execute(statement, params)
        db.commit()
        print(f"  {label}: {time.perf_counter() - started:.1f} s")
    db.close()
    partial.rename(path)


def _counter(limit: str = ":n") -> str:
    return f"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {limit}) "


def _subscribers() -> list[str]:
    return [
        "INSERT INTO lists (id, name, title, description, double_opt_in, created_at) "
        "VALUES (1, 'bench', 'The Bench Weekly', '', 0, :now), "
        "(2, 'small', 'A small list', '', 1, :now)",
        _counter() + "INSERT INTO subscribers (id, email, email_key, name, attributes, tags, "
        "created_at, updated_at) SELECT i, 'reader' || i || '@mail' || (i % 500) || "
        "'.example.com', 'reader' || i || '@mail' || (i % 500) || '.example.com', "
        "'Reader ' || i, '{}', CASE WHEN i % 7 = 0 THEN '[\"donor\"]' ELSE '[]' END, "
        ":now, :now FROM c",
        # 95% confirmed, 3% unsubscribed, 2% not yet confirmed.
        _counter() + "INSERT INTO subscriptions (id, subscriber_id, list_id, status, "
        "status_changed_at, status_source, created_at) SELECT i, i, 1, CASE "
        "WHEN i % 100 < 3 THEN 'unsubscribed' WHEN i % 100 < 5 THEN 'unconfirmed' "
        "ELSE 'confirmed' END, :now, 'import', :now FROM c",
        _counter("1000") + "INSERT INTO subscriptions (subscriber_id, list_id, status, "
        "status_changed_at, status_source, created_at) SELECT i, 2, 'confirmed', :now, "
        "'web', :now FROM c",
    ]


def _campaign_row(id_: int, status: str, started: datetime | None, scheduled: str) -> str:
    links = "[" + ", ".join(f'"{link}"' for link in LINKS) + "]"
    when = f"'{stamp(started)}'" if started else "NULL"
    done = f"'{stamp(started + timedelta(hours=1))}'" if started else "NULL"
    return (
        "INSERT INTO campaigns (id, uid, subject, status, status_reason, from_address, "
        "from_name, reply_to, segment, ctas, source, article, rendered, created_at, "
        "scheduled_at, local_time, tracking, links, started_at, finished_at, worker, "
        f"heartbeat_at) VALUES ({id_}, 'bench{id_}', 'Issue {id_}: the week in Millbrook', "
        f"'{status}', '', 'news@example-times.org', 'The Example Times', '', '', "
        f"'[\"donate\"]', 'bench', '{{}}', '{{}}', :now, {scheduled}, NULL, 1, '{links}', "
        f"{when}, {done}, '', NULL)"
    )


def _campaigns() -> list[str]:
    rows = [_campaign_row(1, "sent", STARTED, "NULL")]
    # Older campaigns, a week apart, to the small list.
    for k in range(2, 14):
        rows.append(_campaign_row(k, "sent", STARTED - timedelta(days=7 * (k - 1)), "NULL"))
    for k, days in ((14, 2), (15, 9)):
        rows.append(_campaign_row(k, "scheduled", None, f"'{stamp(NOW + timedelta(days=days))}'"))
    rows.append(_campaign_row(16, "draft", None, "NULL"))
    rows.append("INSERT INTO campaign_lists SELECT 1, 1")
    rows.append("INSERT INTO campaign_lists SELECT id, 2 FROM campaigns WHERE id > 1")
    rows.append(
        "INSERT INTO digests (name, feed, list_id, cron, timezone, subject, max_items, ctas, "
        "paused, created_at, last_result, last_error) VALUES ('weekly-digest', "
        "'https://news.example-times.org/feed.xml', 2, '0 8 * * mon', 'Europe/Berlin', '', 10, "
        "'[]', 0, :now, '', '')"
    )
    return rows


def _ledger() -> list[str]:
    sent_at = sql_time(SENT_OFFSET)
    return [
        _counter() + "INSERT INTO deliveries (id, campaign_id, subscriber_id, list_id, status, "
        "attempts, provider_message_id, error, bounced, created_at, claimed_at, sent_at) "
        f"SELECT i, 1, i, 1, 'sent', 1, 'sg' || i, '', 0, :now, {sent_at}, {sent_at} FROM c",
        # The small campaigns: a thousand rows each, a third opened.
        "INSERT INTO deliveries (campaign_id, subscriber_id, list_id, status, attempts, "
        "provider_message_id, error, bounced, created_at, sent_at) SELECT c.id, s.subscriber_id, "
        "2, 'sent', 1, '', '', 0, :now, c.started_at FROM campaigns c JOIN subscriptions s "
        "ON s.list_id = 2 WHERE c.id BETWEEN 2 AND 13",
        "INSERT INTO events (kind, hard, campaign_id, delivery_id, subscriber_id, list_id, url, "
        "occurred_at, recorded_at, provider, reason, raw) SELECT 'opened', 0, campaign_id, id, "
        "subscriber_id, 2, '', sent_at, sent_at, 'mailer', '', '{}' FROM deliveries "
        "WHERE campaign_id > 1 AND id % 3 = 0",
    ]


def _event(kind: str, when: str, extra: str = "NULL, ''", hard: str = "0") -> str:
    return (
        "INSERT INTO events (kind, hard, campaign_id, delivery_id, subscriber_id, list_id, "
        "link_index, url, occurred_at, recorded_at, provider, reason, raw) "
        f"SELECT '{kind}', {hard}, 1, i, i, 1, {extra}, {when}, {when}, 'sendgrid', '', '{{}}' "
    )


def _events() -> list[str]:
    sent = SENT_OFFSET
    # Each opener opens once, a third of them a second time, a ninth a third time.
    repeat = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < :n), "
    return [
        _counter() + _event("delivered", sql_time(f"{sent} + 5")) + "FROM c WHERE i % 100 <> 0",
        _counter()
        + _event("bounced", sql_time(f"{sent} + 5"), hard="1")
        + "FROM c WHERE i % 100 = 0",
        repeat
        + "k(j) AS (VALUES (0), (1), (2)) "
        + _event("opened", sql_time(f"{sent} + {DELAY} + j * 3600 * (1 + i % 5)"))
        + f"FROM c JOIN k ON j = 0 OR (j = 1 AND i % 3 = 0) OR (j = 2 AND i % 9 = 0) "
        f"WHERE {H1} < 400 AND i % 100 <> 0",
        repeat
        + "k(j) AS (VALUES (0), (1)) "
        + _event(
            "clicked",
            sql_time(f"{sent} + {DELAY} + 30 + j * 600"),
            extra=f"(i + j) % {len(LINKS)}, ''",
        )
        + f"FROM c JOIN k ON j = 0 OR i % 4 = 0 WHERE {H1} < 50 AND i % 100 <> 0",
        _counter()
        + _event("unsubscribed", sql_time(f"{sent} + {DELAY} + 60"))
        + f"FROM c WHERE {H1} < 400 AND i % 500 = 1",
        _counter()
        + _event("complained", sql_time(f"{sent} + {DELAY} + 90"))
        + "FROM c WHERE i % 5000 = 7",
    ]


def _migration(name: str) -> Any:
    path = ROOT / "mailer" / "storage" / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"mailer_migration_{name}", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration


def _counters() -> list[str]:
    return list(_migration("0007_event_counts").backfill_statements("sqlite"))


def copy_to_postgresql(path: Path, url: str) -> None:
    """Copy the SQLite database at ``path`` into the PostgreSQL database ``url`` (emptied
    and migrated first), table by table with COPY, then ANALYZE it. Reused if it already
    holds as many ledger rows."""
    import psycopg
    from sqlalchemy import make_url

    open_database(url).close()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    source = sqlite3.connect(path)
    wanted = source.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    with psycopg.connect(dsn, autocommit=True) as pg:
        have = pg.execute("SELECT count(*) FROM deliveries").fetchone()
        if have is not None and have[0] == wanted:
            print(f"reusing {make_url(url).database} ({wanted:,} ledger rows)")
            return
        tables = [t.name for t in Base.metadata.sorted_tables]
        pg.execute("SET TIME ZONE 'UTC'")
        pg.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        for table in tables:
            started = time.perf_counter()
            columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
            names = ", ".join(columns)
            with pg.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {names} FROM {table}"):
                    copy.write_row(row)
            if "id" in columns:
                pg.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
            print(f"  copied {table}: {time.perf_counter() - started:.1f} s")
        pg.execute("VACUUM ANALYZE")
    source.close()


# What campaign_stats and the timeline counted before the counters: distinct messages
# over the campaign's events. Timed beside the queries for the before and after.
BEFORE = {
    "campaign_stats' kinds, from the events": (
        "SELECT kind, hard, count(*), count(DISTINCT coalesce(delivery_id, -id)) FROM events "
        "WHERE campaign_id = 1 GROUP BY kind, hard"
    ),
    "timeline's hours, from the events": (
        "SELECT strftime('%Y-%m-%d %H', occurred_at), kind, count(*), "
        "count(DISTINCT delivery_id) FROM events WHERE campaign_id = 1 "
        "AND kind IN ('opened', 'clicked') GROUP BY 1, 2"
    ),
}


def before_ms(path: Path, runs: int) -> dict[str, float]:
    db = sqlite3.connect(path)
    try:
        return {
            label: median_ms(lambda sql=sql: db.execute(sql).fetchall(), runs)
            for label, sql in BEFORE.items()
        }
    finally:
        db.close()


# What a campaign's counts by status cost before the tallies: the ledger's rows counted.
LEDGER_BEFORE = (
    "SELECT campaign_id, status, count(*) FROM deliveries WHERE campaign_id IN "
    "(1, 2, 3, 4, 5, 6, 7, 8, 9, 10) GROUP BY campaign_id, status"
)


def ledger_before_ms(database: Database, runs: int) -> float:
    from sqlalchemy import text

    def count() -> object:
        with database.engine.connect() as connection:
            return connection.execute(text(LEDGER_BEFORE)).all()

    count()
    return median_ms(count, runs)


def median_ms(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def in_session(database: Database, query: Callable[[Session], object]) -> Callable[[], object]:
    """``query`` in a session of its own, as one page's request would run it."""

    def run() -> object:
        with database.session() as session:
            return query(session)

    return run


class Client(Protocol):
    def get(self, url: str) -> Any: ...


def time_url(client: Client, url: str, runs: int) -> float:
    """The median time of GET ``url`` through ``client``, which must answer 200: the
    place for the admin's pages (dashboard, report, subscriber search) once they exist."""

    def fetch() -> None:
        answer = client.get(url)
        if answer.status_code != 200:
            raise SystemExit(f"GET {url}: {answer.status_code}")

    fetch()  # a first request warms the app's caches (templates, routes)
    return median_ms(fetch, runs)


PAGES = [
    "/admin",
    "/admin/subscribers?q=reader4242",
    "/admin/subscribers?list=bench&status=confirmed",
    "/admin/campaigns/1",
    "/admin/campaigns/1/report",
    "/admin/lists",
]


def admin_client(path: Path, database: Database, url: str) -> Any:
    """A test client of the whole app on ``database``, signed in as an admin."""
    from fastapi.testclient import TestClient

    from mailer.accounts.users import add_user, find_user
    from mailer.settings import Settings
    from mailer.storage import Role
    from mailer.web.app import create_app

    settings = Settings(
        base_dir=path.parent,
        database_url=url,
        secret_key="bench-secret-key-0123456789abcdef",
        base_url="http://testserver",
        from_address="newsletter@example-times.org",
        publisher_name="The Example Times",
        postal_address="1 Example Street, Springfield",
    )
    with database.session() as session:
        if find_user(session, "bench@example.org") is None:
            add_user(session, "bench@example.org", Role.ADMIN, "bench password 1234", now=NOW)
    client = TestClient(create_app(settings, database, clock=lambda: NOW))
    page = client.get("/admin/login").text
    token = page.split('name="form_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/admin/login",
        data={
            "email": "bench@example.org",
            "password": "bench password 1234",
            "next": "/admin",
            "form_token": token,
        },
        follow_redirects=False,
    )
    if answer.status_code != 303:
        raise SystemExit(f"could not sign in: {answer.status_code}")
    return client


def time_pages(path: Path, database: Database, url: str, runs: int) -> int:
    """Prints each page's median time; returns how many are over the target."""
    slow = 0
    client = admin_client(path, database, url)
    with client:
        for url in PAGES:
            label = f"GET {url}"
            elapsed = time_url(client, url, runs)
            verdict = "ok" if elapsed < TARGET_MS else "SLOW"
            slow += verdict == "SLOW"
            print(f"{label:52} {elapsed:8.1f} ms  (target {TARGET_MS:.0f} ms: {verdict})")
    return slow


def search_query() -> Callable[[Session], object] | None:
    """A subscriber search, if mailer/subscribers/search.py has been written."""
    if importlib.util.find_spec("mailer.subscribers.search") is None:
        return None
    from mailer.subscribers import search

    return lambda session: search.search_subscribers(
        session, query="reader4242", list_name="bench", status=None, tag=None, after=None, limit=50
    )


def queries() -> dict[str, Callable[[Session], object]]:
    found: dict[str, Callable[[Session], object]] = {
        "campaign_stats (1M ledger rows)": lambda s: campaign_stats(s, 1),
        "timeline (hours, then days)": lambda s: timeline(s, 1),
        "timeline (automatic buckets)": lambda s: timeline(s, 1, buckets="auto"),
        "recent_campaigns (10)": lambda s: recent_campaigns(s, limit=10),
        "upcoming (10)": lambda s: upcoming(s, NOW, limit=10),
        "list_counts": list_counts,
    }
    search = search_query()
    if search is None:
        print("(no mailer/subscribers/search.py yet: the subscriber search is not timed)")
    else:
        found["search_subscribers"] = search
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=DATA, help="where the database is kept")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="build the database afresh")
    parser.add_argument(
        "--database-url",
        help="time PostgreSQL instead: the SQLite database built is copied into this one "
        "(emptied first), e.g. postgresql+psycopg://postgres@127.0.0.1:5432/h_perf_bench",
    )
    args = parser.parse_args()
    path = args.dir / f"admin-{args.subscribers}.db"
    if args.rebuild:
        path.unlink(missing_ok=True)
    if path.exists():
        print(f"reusing {path}")
    else:
        print(f"building {path} ({args.subscribers:,} subscribers and ledger rows)")
        started = time.perf_counter()
        build(path, args.subscribers)
        print(f"built in {time.perf_counter() - started:.1f} s")
    url = f"sqlite:///{path}"
    started = time.perf_counter()
    database = open_database(url)
    print(f"opened (and migrated, counters filled if new) in {time.perf_counter() - started:.1f} s")
    if args.database_url:
        database.close()
        url = args.database_url
        copy_to_postgresql(path, url)
        database = open_database(url)
    else:
        for label, elapsed in before_ms(path, args.runs).items():
            print(f"{label:40} {elapsed:8.1f} ms  (before the counters)")
    elapsed = ledger_before_ms(database, args.runs)
    print(f"{'the ledger counted by status (10)':40} {elapsed:8.1f} ms  (before the tallies)")
    slow = 0
    try:
        for label, query in queries().items():
            run = in_session(database, query)
            run()  # the first run reads the pages from disk into the cache
            elapsed = median_ms(run, args.runs)
            verdict = "ok" if elapsed < TARGET_MS else "SLOW"
            slow += verdict == "SLOW"
            print(f"{label:40} {elapsed:8.1f} ms  (target {TARGET_MS:.0f} ms: {verdict})")
        slow += time_pages(path, database, url, args.runs)
    finally:
        database.close()
    if slow:
        sys.exit(f"{slow} of them over {TARGET_MS:.0f} ms")


if __name__ == "__main__":
    main()
