"""Benchmark: the public web tier under the traffic a big send brings (issue 17).

Builds a project in a temporary folder with a campaign sent to --recipients readers
(100,000; the ledger rows written by bulk inserts, not by sending), starts ``mailer serve
--workers W`` on it, and drives each endpoint with wrk (``/usr/bin/wrk``, its script
``bench/web.lua`` beside this file) at each --connections for --seconds:

- click: ``GET /c/<token>/<n>`` of readers in turn (302 to the campaign's link)
- pixel: ``GET /o/<token>.gif``
- archive: ``GET /archive/<id>``
- unsubscribe: one-click ``POST /unsubscribe/<token>``, each reader once
- subscribe: ``POST /subscribe/<list>`` of distinct new addresses, each from a client
  of its own (X-Forwarded-For, which the app believes from 127.0.0.1 as from a reverse
  proxy there): a wave of sign-ups is many people, and the rate limits stay at their
  default (5 an hour per address and per client), which every request is under

It prints requests/s, p50, p99, errors (socket errors and answers that are neither 2xx
nor 3xx) and whether every event arrived: for the tracking endpoints the events stored,
for the others the unsubscribed subscriptions and new subscribers, against the requests
answered (wrk cuts off at most one request per connection at the end, which the
server may still have answered: a few more is right, fewer is a loss; an unsubscribe or
subscribe run that comes round to its first reader again counts each reader once).

    .venv/bin/python bench/web.py [--recipients 100000] [--workers 1,2]
        [--connections 16,64] [--seconds 20] [--database-url postgresql://.../h_web_bench]

Without --database-url it runs on a SQLite file. A PostgreSQL database given is emptied
first (its public schema dropped). Targets on 2 cores: click and pixel 3,000 requests/s
with p99 under 50 ms at 16 connections, one-click unsubscribe 1,000/s, archive 2,000/s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from mailer.campaigns import actions  # noqa: E402
from mailer.settings import load_settings  # noqa: E402
from mailer.settings.template import CONFIG_TEMPLATE  # noqa: E402
from mailer.storage import (  # noqa: E402
    CampaignStatus,
    Database,
    Delivery,
    Event,
    EventKind,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    open_database,
)
from mailer.subscribers.lists import create_list  # noqa: E402
from mailer.tokens import TokenData, sign  # noqa: E402
from mailer.web.csrf import timed_token  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
LUA = ROOT / "bench" / "web.lua"
ARTICLE = ROOT / "examples" / "article.md"
LINKS = [
    "https://news.example-times.org/2026/11/millbrook-council",
    "https://give.example-times.org/donate?utm_content=donate",
]
CHUNK = 10_000
ENDPOINTS = ("click", "pixel", "archive", "unsubscribe", "subscribe")


def client(number: int) -> str:
    """The ``number``-th client address of 10.0.0.0/8."""
    return f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, database_url: str, port: int) -> Path:
    body = CONFIG_TEMPLATE.format(
        base_url=f"http://127.0.0.1:{port}",
        secret_key=SECRET,
        publisher_name="The Example Times",
        from_address="newsletter@example.org",
        postal_address="1 Example Street, Springfield",
        timezone="Europe/Berlin",
    )
    lines = body.splitlines()
    overrides = {
        "database_url": f'"{database_url}"',
        "outbox_dir": f'"{folder / "outbox"}"',
    }
    for key, value in overrides.items():
        at = next((i for i, old in enumerate(lines) if old.startswith(f"{key} =")), None)
        if at is None:
            lines.insert(0, f"{key} = {value}")
        else:
            lines[at] = f"{key} = {value}"
    path = folder / "mailer.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def empty_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def build(config: Path, recipients: int) -> tuple[int, int, list[tuple[int, int]]]:
    """The list, its readers and a campaign sent to them: (campaign id, list id, and
    each reader's subscriber and ledger row ids)."""
    settings = load_settings(config)
    database = open_database(settings.database_url)
    now = datetime.now(UTC)
    with database.session() as session:
        mailing_list = create_list(session, "readers", title="The Morning Post")
        list_id = mailing_list.id
        campaign = actions.create(
            session, settings, article=str(ARTICLE), lists=["readers"], now=now
        )
        campaign.status = CampaignStatus.SENT
        campaign.started_at = campaign.finished_at = now
        campaign.links = list(LINKS)
        campaign_id = campaign.id
    for start in range(0, recipients, CHUNK):
        numbers = range(start, min(start + CHUNK, recipients))
        with database.session() as session:
            emails = [f"reader{n}@example.org" for n in numbers]
            session.execute(
                insert(Subscriber), [{"email": e, "email_key": e, "name": ""} for e in emails]
            )
            found = select(Subscriber.email, Subscriber.id).where(Subscriber.email.in_(emails))
            ids: dict[str, int] = {row[0]: row[1] for row in session.execute(found)}
            session.execute(
                insert(Subscription),
                [
                    {
                        "subscriber_id": ids[e],
                        "list_id": list_id,
                        "status": SubscriptionStatus.CONFIRMED,
                    }
                    for e in emails
                ],
            )
            session.execute(
                insert(Delivery),
                [
                    {
                        "campaign_id": campaign_id,
                        "subscriber_id": ids[e],
                        "list_id": list_id,
                        "status": "sent",
                        "sent_at": now,
                    }
                    for e in emails
                ],
            )
    with database.session() as session:
        readers = [
            (subscriber_id, delivery_id)
            for subscriber_id, delivery_id in session.execute(
                select(Delivery.subscriber_id, Delivery.id)
                .where(Delivery.campaign_id == campaign_id)
                .order_by(Delivery.id)
            )
        ]
    database.close()
    return campaign_id, list_id, readers


@contextmanager
def serving(config: Path, port: int, workers: int) -> Iterator[None]:
    command = [sys.executable, "-m", "mailer", "--config", str(config), "serve"]
    command += ["--port", str(port), "--workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("mailer serve did not start") from None
                time.sleep(0.2)  # polling a server's start, with a deadline
        # Every worker up: each answers its first request once it has its app.
        for _ in range(workers * 4):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30):
                pass
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)


def wrk(port: int, requests: Path, connections: int, seconds: int) -> dict[str, float]:
    env = {
        **os.environ,
        "WEB_BENCH_REQUESTS": str(requests),
        "WEB_BENCH_ORIGIN": f"http://127.0.0.1:{port}",
        "WEB_BENCH_THREADS": "2",
    }
    out = subprocess.run(
        [
            WRK,
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(LUA),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("{"))
    return dict(json.loads(line))


def settled(count: Callable[[], int], at_least: int, timeout: float = 30) -> int:
    """The count once it reaches ``at_least`` (the writer's last batch stored) or stops
    growing within ``timeout``."""
    deadline = time.monotonic() + timeout
    last = count()
    while last < at_least and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the database for the last batch, with a deadline
        last = count()
    return last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--connections", default="16,64")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--endpoints", default=",".join(ENDPOINTS), help="which to drive, comma-separated"
    )
    args = parser.parse_args()
    endpoints = args.endpoints.split(",")
    unknown = sorted(set(endpoints) - set(ENDPOINTS))
    if unknown:
        known = ", ".join(ENDPOINTS)
        parser.error(f"--endpoints: no endpoint {', '.join(unknown)} (there are {known})")
    workers = [int(w) for w in args.workers.split(",")]
    connections = [int(c) for c in args.connections.split(",")]
    with tempfile.TemporaryDirectory(prefix="mailer-bench-web-") as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'mailer.db'}"
        if url.startswith("postgresql"):
            empty_postgres(url)
        port = free_port()
        config = write_config(folder, url, port)
        started = time.perf_counter()
        campaign_id, list_id, readers = build(config, args.recipients)
        print(
            f"{len(readers):,} recipients on {url.split(':', 1)[0]} "
            f"built in {time.perf_counter() - started:.1f} s"
        )
        database = open_database(url, migrate=False)
        run(folder, config, database, port, campaign_id, list_id, readers, workers, connections,
            args.seconds, endpoints)  # fmt: skip
        database.close()


def run(
    folder: Path,
    config: Path,
    database: Database,
    port: int,
    campaign_id: int,
    list_id: int,
    readers: list[tuple[int, int]],
    workers: list[int],
    connections: list[int],
    seconds: int,
    endpoints: list[str],
) -> None:
    def click_token(subscriber_id: int, delivery_id: int) -> str:
        return sign(
            SECRET, TokenData("click", subscriber_id, list_id, extra=f"{campaign_id}.{delivery_id}")
        )

    def events(kind: EventKind) -> Callable[[], int]:
        def count() -> int:
            with database.session() as session:
                return session.scalar(select(func.count()).where(Event.kind == kind)) or 0

        return count

    def unsubscribed() -> int:
        with database.session() as session:
            return (
                session.scalar(
                    select(func.count()).where(
                        Subscription.status == SubscriptionStatus.UNSUBSCRIBED
                    )
                )
                or 0
            )

    def subscribers() -> int:
        with database.session() as session:
            return session.scalar(select(func.count()).select_from(Subscriber)) or 0

    def leave(subscriber_id: int) -> TokenData:
        return TokenData("unsubscribe", subscriber_id, list_id, extra=str(campaign_id))

    sample = readers[:20_000]
    files = {
        "click": [f"/c/{click_token(s, d)}/{d % len(LINKS)}" for s, d in sample],
        "pixel": [f"/o/{click_token(s, d)}.gif" for s, d in sample],
        "archive": [f"/archive/{campaign_id}"],
    }
    counts: dict[str, Callable[[], int]] = {
        "click": events(EventKind.CLICKED),
        "pixel": events(EventKind.OPENED),
        "archive": lambda: 0,
        "unsubscribe": unsubscribed,
        "subscribe": subscribers,
    }
    # Each unsubscribe and subscribe run gets readers and addresses of its own.
    runs = len(workers) * len(connections)
    share = len(readers) // runs
    body = "List-Unsubscribe=One-Click"
    print(f"\n{seconds} s a run, wrk -t2; the machine's load: {os.getloadavg()[0]:.1f}\n")
    print("| workers | endpoint | conns | requests/s | p50 | p99 | errors | events arrived |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    number = 0
    for count in workers:
        with serving(config, port, count):
            for conns in connections:
                mine = readers[number * share : (number + 1) * share]
                files["unsubscribe"] = [
                    f"/unsubscribe/{sign(SECRET, leave(s))}\t{body}" for s, _ in mine
                ]
                csrf = timed_token(SECRET, f"subscribe|{list_id}", time.time())
                files["subscribe"] = [
                    f"/subscribe/readers\temail=new{number}-{n}%40example.org&name=&website="
                    f"&csrf={csrf}\t{client(number * share + n)}"
                    for n in range(share)
                ]
                number += 1
                for endpoint in endpoints:
                    lines = files[endpoint]
                    path = folder / f"{endpoint}.txt"
                    path.write_text("\n".join(lines) + "\n")
                    before = counts[endpoint]()
                    figures = wrk(port, path, conns, seconds)
                    answered = int(figures["requests"])
                    tracked = endpoint != "archive"
                    # An unsubscribe or subscribe run that went through its readers
                    # (or addresses) came round to them again: each counts once.
                    once = endpoint in ("unsubscribe", "subscribe")
                    expected = min(answered, len(lines)) if once else answered
                    arrived = (
                        settled(counts[endpoint], before + expected) - before if tracked else 0
                    )
                    whole = "yes" if arrived >= expected else "NO"
                    verdict = f"{whole} ({arrived:,} of {expected:,})" if tracked else "n/a"
                    errors = int(figures["socket_errors"] + figures["bad_status"])
                    print(
                        f"| {count} | {endpoint} | {conns} | {answered / figures['seconds']:,.0f} "
                        f"| {figures['p50_us'] / 1000:.1f} ms | {figures['p99_us'] / 1000:.1f} ms "
                        f"| {errors} | {verdict} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
