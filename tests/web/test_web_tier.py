"""The web tier under load's rules: opens and clicks are written in batches and none
is lost on a clean shutdown, an unsubscribe is stored before its answer, the subscribe
rate limits hold across app instances (each worker process is one), and ``mailer serve
--workers 2`` serves."""

from __future__ import annotations

import fcntl
import select as io_select
import socket
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import anyio
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from mailer.settings import Settings
from mailer.storage import (
    Database,
    Event,
    EventKind,
    MailingList,
    RateLimitHit,
    Subscriber,
    open_database,
)
from mailer.storage.rate_limits import take_hit
from mailer.web.group_commit import GroupCommit
from mailer.web.hits import Hit, HitWriter
from mailer.web.ratelimit import SharedWindow
from mailer.web.workers import listen, listen_each
from tests.support.config import write_config
from tests.support.database import sqlite_at_head
from tests.support.processes import MailerProcess
from tests.support.web import BASE, Sent, token
from tests.web.test_tracking import track


def count(db: Database, kind: EventKind) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).where(Event.kind == kind)) or 0


@pytest.mark.anyio
async def test_no_open_or_click_is_lost_on_a_clean_shutdown(
    app: FastAPI, db: Database, sent: Sent
) -> None:
    # A plain client, which does not wait for the writer: the shutdown must store all.
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:

            async def hit(n: int) -> None:
                reader = n % len(sent.readers)
                if n % 2:
                    answer = await client.get(f"/o/{track(sent, reader)}.gif")
                    assert answer.status_code == 200
                else:
                    answer = await client.get(f"/c/{track(sent, reader)}/1")
                    assert answer.status_code == 302

            async with anyio.create_task_group() as group:
                for n in range(120):
                    group.start_soon(hit, n)
    assert (count(db, EventKind.OPENED), count(db, EventKind.CLICKED)) == (60, 60)
    with db.session() as session:
        listed = session.scalars(select(Event.list_id).where(Event.kind == EventKind.OPENED))
        assert set(listed) == {sent.list_id}


@pytest.mark.anyio
async def test_an_unsubscribe_is_stored_before_its_answer(
    app: FastAPI, db: Database, sent: Sent
) -> None:
    _, subscriber_id, _ = sent.readers[1]
    link = (
        f"/unsubscribe/{token('unsubscribe', subscriber_id, sent.list_id, str(sent.campaign_id))}"
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            answer = await client.post(link, data={"List-Unsubscribe": "One-Click"})
            assert answer.status_code == 200
            # Read while the app still runs, from a connection of another engine.
            with open_database(str(db.engine.url.render_as_string(False))) as other:
                with other.session() as session:
                    subscriber = session.get(Subscriber, subscriber_id)
                    assert subscriber is not None
                    assert subscriber.subscriptions[0].status.value == "unsubscribed"
                assert count(other, EventKind.UNSUBSCRIBED) == 1


def test_the_rate_limit_holds_across_processes_sharing_a_database(settings: Settings) -> None:
    now = [1_000_000.0]
    # Two engines on one database, as two worker processes have.
    with (
        open_database(settings.database_url) as one,
        open_database(settings.database_url) as two,
    ):
        first = SharedWindow(one, 2, 60, lambda: now[0])
        second = SharedWindow(two, 2, 60, lambda: now[0])
        assert first.hit("ip|192.0.2.1") and second.hit("ip|192.0.2.1")
        assert not first.hit("ip|192.0.2.1") and not second.hit("ip|192.0.2.1")
        assert second.hit("ip|192.0.2.2")
        now[0] += 60
        assert first.hit("ip|192.0.2.1")
        with pytest.raises(ValueError, match="positive"):
            SharedWindow(one, 0, 60, lambda: 0.0)


def test_a_hit_does_not_wait_for_the_old_rows_another_transaction_deletes(db: Database) -> None:
    """On PostgreSQL a hit deletes the hits out of the window, of every key, on its way;
    one that another transaction holds (a subscription's, which takes its hits in its
    own transaction) is left to it and not counted, rather than waited for."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the other transaction is done first")
    window = SharedWindow(db, 1, 60, lambda: 1_000.0)
    with db.session() as session:
        assert take_hit(session, "ip|192.0.2.7", 1, 60, 900.0)  # out of the window at 1,000
    with db.session() as holder:
        locked = holder.scalars(select(RateLimitHit.id).with_for_update()).all()
        assert locked
        with db.session() as session:
            # Waiting for the holder would fail after this instead of hanging the suite.
            session.execute(text("SET LOCAL lock_timeout = '10s'"))
            assert window.hit("ip|192.0.2.7", session)
            assert not window.hit("ip|192.0.2.7", session)


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path) -> Iterator[MailerProcess]:
    # SQLite only: the workers are what is tried, and each database is the same code.
    config = write_config(tmp_path, sqlite_at_head(sqlite_template, tmp_path / "mailer.db"))
    serve = MailerProcess("--config", str(config), "serve", "--port", "0", "--workers", "2",
                          both=True)  # fmt: skip
    yield serve
    serve.kill()


@pytest.mark.slow
def test_serve_with_two_workers_answers_and_stops(served: MailerProcess) -> None:
    line = served.wait_for("worker processes")
    url = line.split(" on ", 1)[1].split()[0]
    # The socket listens before the workers are up: the first answer waits for one.
    answers = [httpx.get(f"{url}/healthz", timeout=60).status_code for _ in range(4)]
    assert answers == [200] * 4
    assert served.stop() == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads on Linux")
def test_each_worker_has_a_socket_and_a_burst_of_connections_is_spread_over_them() -> None:
    sockets = listen_each("127.0.0.1", 0, 2)
    clients: list[socket.socket] = []
    try:
        assert len({sock.getsockname() for sock in sockets}) == 1
        # A client that opens its connections together, as wrk and image proxies do: on
        # one shared socket, the worker that woke first took them all.
        clients = [socket.create_connection(sockets[0].getsockname()) for _ in range(32)]
        taken = [0, 0]
        while sum(taken) < len(clients):
            ready, _, _ = io_select.select(sockets, [], [], 10)
            assert ready, f"only {sum(taken)} of {len(clients)} connections arrived"
            for sock in ready:
                connection, _ = sock.accept()
                connection.close()
                taken[sockets.index(sock)] += 1
        assert min(taken) > 0, taken
    finally:
        for one in clients + sockets:
            one.close()


def test_a_port_that_is_served_already_is_refused() -> None:
    """A second ``mailer serve --workers 2`` on the port fails rather than quietly
    taking a share of its connections."""
    first = listen_each("127.0.0.1", 0, 2)
    try:
        port = first[0].getsockname()[1]
        with pytest.raises(OSError):
            listen_each("127.0.0.1", port, 2)
        with pytest.raises(OSError):
            listen("127.0.0.1", port)
    finally:
        for sock in first:
            sock.close()


def test_grouped_work_is_committed_before_run_returns_and_one_failure_spoils_nothing(
    db: Database,
) -> None:
    calls: list[int] = []

    def work(session: Session, numbers: Sequence[int]) -> list[str]:
        calls.append(len(numbers))
        if 3 in numbers:
            raise ValueError("list three is refused")
        session.add_all(MailingList(name=f"list{n}", title=f"List {n}") for n in numbers)
        return [f"list{n}" for n in numbers]

    group = GroupCommit(db, work)
    other = open_database(db.engine.url.render_as_string(False))
    start = threading.Barrier(8)
    results: dict[int, object] = {}

    def make(n: int) -> None:
        start.wait()
        try:
            results[n] = group.run(n)
        except ValueError as err:
            results[n] = err
        # Committed before run returned: another engine's session sees it.
        if n != 3:
            with other.session() as session:
                assert session.scalar(select(MailingList).where(MailingList.name == f"list{n}"))

    threads = [threading.Thread(target=make, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    group.close()
    other.close()
    assert isinstance(results.pop(3), ValueError)
    assert results == {n: f"list{n}" for n in range(8) if n != 3}
    # Fewer groups than callers, or a group failed and its items ran alone.
    assert sum(calls) >= 8


@pytest.mark.anyio
async def test_coroutines_wait_for_their_group_without_a_thread_each(db: Database) -> None:
    def work(session: Session, numbers: Sequence[int]) -> list[int]:
        session.add_all(MailingList(name=f"list{n}", title=f"List {n}") for n in numbers)
        return [n * 2 for n in numbers]

    group = GroupCommit(db, work)
    results: list[int] = []

    async def one(n: int) -> None:
        results.append(await group.arun(n))

    async with anyio.create_task_group() as tasks:
        for n in range(20):
            tasks.start_soon(one, n)
    group.close()
    assert sorted(results) == [n * 2 for n in range(20)]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(MailingList)) == 20
    # Once closed, an item runs alone.
    closed = GroupCommit(db, work)
    closed.close()
    assert await closed.arun(30) == 60


def test_hits_beyond_what_may_wait_for_the_database_are_dropped_and_counted(
    db: Database, sent: Sent, caplog: pytest.LogCaptureFixture
) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the writers' turn is taken on a SQLite file")
    writer = HitWriter(db, max_waiting=5)
    _, subscriber_id, delivery_id = sent.readers[0]
    turns = Path(f"{db.engine.url.database}-writers.lock")
    with open(turns, "ab") as turn:
        # The writer waits for its turn as for a database that does not answer.
        fcntl.flock(turn, fcntl.LOCK_EX)
        for minute in range(20):
            at = datetime(2026, 3, 1, 9, minute, tzinfo=UTC)
            writer.put(Hit(EventKind.OPENED, sent.campaign_id, delivery_id, subscriber_id, at))
    assert writer.flush(timeout=30)
    writer.close()
    stored = count(db, EventKind.OPENED)
    # Five waited, and the writer had taken up to five before it waited for its turn.
    assert 5 <= stored <= 10
    assert writer.dropped == 20 - stored
    assert f"{20 - stored} tracking events dropped" in caplog.text
