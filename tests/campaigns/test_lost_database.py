"""A send that loses its database: a PostgreSQL server that drops every connection, a
SQLite file another process keeps locked. The send waits for it (database_retry_seconds,
on the test's clock), then pauses saying why, or says it could not; nobody is mailed
twice, and no outcome of a message handed over is forgotten while the database can still
hear of it."""

from __future__ import annotations

import pickle
import re
import sqlite3
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from mailer.campaigns.dispatch import Handover
from mailer.campaigns.ledger import Claimed
from mailer.campaigns.sender import CampaignSender, Progress
from mailer.delivery import memory
from mailer.delivery.memory import MemoryBackend
from mailer.delivery.message import Outcome, Recipient, RecipientResult
from mailer.exceptions import DatabaseUnavailable
from mailer.settings import Settings
from mailer.storage import Database, open_database
from mailer.storage.retry import DatabaseRetry
from tests.campaigns.test_send import addresses, counts, make_campaign
from tests.support.cli import Cli
from tests.support.clock import Clock
from tests.support.database import PG_URL
from tests.support.examples import ARTICLE

#: The one-line reason: how long it was tried (on the test's clock, or a fraction of a
#: real second for the commands), and what SQLite said.
LOCKED = r"the database could not be reached for [0-9.]+ s \(database is locked\)"
WINDOW = 30.0  # database_retry_seconds here: seconds of the test's clock, never waited


def sqlite_only(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("a file lock is SQLite's")


def postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a server that drops its connections is PostgreSQL's")


def terminate_connections(conn: Connection | None = None) -> None:
    """What a restarted server does to every client: their connections end (all but
    ``conn``'s, or a connection of its own)."""
    if conn is None:
        assert PG_URL is not None
        engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as own:
            terminate_connections(own)
        engine.dispose()
        return
    killed = conn.execute(
        text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    ).scalar()
    assert killed


class FileLock:
    """Another process's hold on the SQLite file: BEGIN EXCLUSIVE on a connection of
    its own, which no other connection can write past."""

    def __init__(self, database_url: str):
        path = make_url(database_url).database
        assert path
        self.connection = sqlite3.connect(
            path, isolation_level=None, timeout=0, check_same_thread=False
        )
        self.taken = 0

    def take(self) -> None:
        self.connection.execute("BEGIN EXCLUSIVE")
        self.taken += 1

    def release(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")

    def close(self) -> None:
        self.release()
        self.connection.close()


@pytest.fixture
def fast(database_url: str, db: Database) -> Iterator[Database]:
    """The project's database as a sender opens it, but waiting 50 ms for a locked
    SQLite file instead of 30 s (each try of the retry waits that long)."""
    url = f"{database_url}?timeout=0.05" if database_url.startswith("sqlite") else database_url
    database = open_database(url, migrate=False)
    yield database
    database.close()


@pytest.fixture
def lock(database_url: str) -> Iterator[FileLock]:
    sqlite_only(database_url)
    held = FileLock(database_url)
    yield held
    held.close()


def window_clock(clock: Clock, at_end: Callable[[], None]) -> Callable[[], float]:
    """The retry's clock: the test's, which calls ``at_end`` once the window has passed
    since it was first read in an outage (the other process lets go just then)."""
    start: list[float] = []

    def seconds() -> float:
        now = clock.seconds()
        start.append(now)
        if now - start[0] >= WINDOW:
            at_end()
        return now

    return seconds


def sender(
    database: Database, settings: Settings, backend: Any, clock: Clock, **options: Any
) -> CampaignSender:
    settings = settings.model_copy(update={"database_retry_seconds": WINDOW})
    options.setdefault("batch_size", 7)
    return CampaignSender(database, settings, backend, clock=clock, sleep=clock.sleep, **options)


def after_first_batch(action: Callable[[], None]) -> Callable[[Progress], None]:
    done: list[int] = []

    def on_progress(progress: Progress) -> None:
        if not done:
            done.append(progress.done)
            action()

    return on_progress


class HookedBackend(MemoryBackend):
    """The memory backend, calling ``hook`` once, after handing over its ``at``-th
    message: the database is lost while a batch is out, before its outcomes are written."""

    def __init__(self, sent: list[EmailMessage], at: int, hook: Callable[[], None]):
        super().__init__(sent, {})
        self.at = at
        self.hook = hook

    def deliver(self, recipient: Recipient, message: bytes, message_id: str) -> RecipientResult:
        result = super().deliver(recipient, message, message_id)
        if len(self.messages) == self.at:
            self.hook()
        return result


def test_postgresql_dropping_every_connection_after_a_batch_is_ridden_out(
    database_url: str, fast: Database, db: Database, settings: Settings,
    weekly: list[str], backend: MemoryBackend, sent: list[EmailMessage], clock: Clock,
) -> None:  # fmt: skip
    postgres_only(database_url)
    campaign_id = make_campaign(db, settings)
    on_progress = after_first_batch(terminate_connections)
    outcome = sender(fast, settings, backend, clock, on_progress=on_progress).send(campaign_id)
    assert outcome.status.value == "sent"
    assert addresses(sent) == sorted(weekly)  # each once
    assert counts(fast, campaign_id) == {"sent": 25}


def test_postgresql_dropping_connections_while_a_batch_is_out_writes_its_outcomes_after(
    database_url: str, fast: Database, db: Database, settings: Settings,
    weekly: list[str], sent: list[EmailMessage], clock: Clock,
) -> None:  # fmt: skip
    postgres_only(database_url)
    campaign_id = make_campaign(db, settings)
    backend = HookedBackend(sent, 10, terminate_connections)  # the 3rd of the 2nd batch
    outcome = sender(fast, settings, backend, clock).send(campaign_id)
    assert outcome.status.value == "sent"
    assert addresses(sent) == sorted(weekly)
    assert counts(fast, campaign_id) == {"sent": 25}


def test_a_sqlite_lock_let_go_within_the_window_only_delays_the_send(
    fast: Database, db: Database, settings: Settings, weekly: list[str],
    backend: MemoryBackend, sent: list[EmailMessage], clock: Clock, lock: FileLock,
) -> None:  # fmt: skip
    campaign_id = make_campaign(db, settings)

    def sleep(seconds: float) -> None:  # the other process lets go while the send waits
        clock.sleep(seconds)
        lock.release()

    retry = DatabaseRetry(WINDOW, sleep=sleep, clock=clock.seconds)
    on_progress = after_first_batch(lock.take)
    send = sender(fast, settings, backend, clock, on_progress=on_progress, retry=retry)
    outcome = send.send(campaign_id)
    assert (lock.taken, outcome.status.value) == (1, "sent")
    assert addresses(sent) == sorted(weekly)
    assert counts(fast, campaign_id) == {"sent": 25}


def test_a_sqlite_lock_held_past_the_window_pauses_the_campaign_saying_why(
    fast: Database, db: Database, settings: Settings, weekly: list[str],
    backend: MemoryBackend, sent: list[EmailMessage], clock: Clock, lock: FileLock,
) -> None:  # fmt: skip
    campaign_id = make_campaign(db, settings)
    retry = DatabaseRetry(WINDOW, sleep=clock.sleep, clock=window_clock(clock, lock.release))
    on_progress = after_first_batch(lock.take)
    outcome = sender(fast, settings, backend, clock, on_progress=on_progress, retry=retry).send(
        campaign_id
    )
    assert outcome.status.value == "paused"
    assert re.fullmatch(LOCKED, outcome.reason)
    assert clock.slept >= WINDOW
    assert counts(fast, campaign_id) == {"sent": 7, "pending": 18}
    resumed = sender(fast, settings, backend, clock).resume(campaign_id)
    assert resumed.status.value == "sent"
    assert addresses(sent) == sorted(weekly)


def test_outcomes_a_lock_kept_out_of_the_ledger_are_written_when_it_is_let_go(
    fast: Database, db: Database, settings: Settings, weekly: list[str],
    sent: list[EmailMessage], clock: Clock, lock: FileLock,
) -> None:  # fmt: skip
    campaign_id = make_campaign(db, settings)
    retry = DatabaseRetry(WINDOW, sleep=clock.sleep, clock=window_clock(clock, lock.release))
    backend = HookedBackend(sent, 10, lock.take)
    outcome = sender(fast, settings, backend, clock, retry=retry).send(campaign_id)
    assert outcome.status.value == "paused"
    # The second batch went out while the file was locked: it is known sent, not unknown.
    assert counts(fast, campaign_id) == {"sent": 14, "pending": 11}
    assert sender(fast, settings, backend, clock).resume(campaign_id).status.value == "sent"
    assert addresses(sent) == sorted(weekly)
    assert counts(fast, campaign_id) == {"sent": 25}


def test_a_database_still_lost_when_pausing_leaves_the_campaign_sending_for_resume(
    fast: Database, db: Database, settings: Settings, weekly: list[str],
    sent: list[EmailMessage], clock: Clock, lock: FileLock,
) -> None:  # fmt: skip
    campaign_id = make_campaign(db, settings)
    backend = HookedBackend(sent, 10, lock.take)
    with pytest.raises(DatabaseUnavailable) as lost:
        sender(fast, settings, backend, clock).send(campaign_id)
    assert lost.value.campaign_id == campaign_id
    assert re.fullmatch(LOCKED, str(lost.value))
    lock.release()
    assert counts(fast, campaign_id) == {"sent": 7, "sending": 7, "pending": 11}
    # The batch whose outcomes could not be written may have gone: unknown, not resent.
    assert sender(fast, settings, backend, clock).resume(campaign_id).status.value == "sent"
    assert counts(fast, campaign_id) == {"sent": 18, "unknown": 7}
    assert addresses(sent) == sorted(weekly)  # nobody twice


@pytest.fixture
def project(cli: Cli, config_path: Path, settings: Settings, database_url: str) -> Cli:
    """A project on the memory backend, three readers, batches of one, and a short
    retry window (real seconds: the command waits them, a fraction of a second)."""
    sqlite_only(database_url)
    config_path.write_text(
        config_path.read_text().replace(database_url, f"{database_url}?timeout=0.05"),
        encoding="utf-8",
    )
    cli("lists", "create", "weekly")
    for name in ("ann", "bob", "cho"):
        cli("subscribers", "add", f"{name}@example.org", "--list", "weekly")
    cli("campaigns", "create", "--article", str(ARTICLE), "--list", "weekly")
    return cli


@pytest.fixture
def memory_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EmailMessage]]:
    monkeypatch.setenv("MAILER_BACKEND", "memory")
    monkeypatch.setenv("MAILER_SEND_BATCH_SIZE", "1")
    monkeypatch.setenv("MAILER_DATABASE_RETRY_SECONDS", "0.3")
    memory.outbox.clear()
    yield memory.outbox
    memory.outbox.clear()


def test_the_command_says_in_one_line_what_to_do_when_the_database_stays_lost(
    project: Cli, memory_backend: list[EmailMessage], lock: FileLock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    deliver = MemoryBackend.deliver

    def deliver_then_lock(self: MemoryBackend, *args: Any) -> RecipientResult:
        result = deliver(self, *args)
        if len(self.messages) == 2:
            lock.take()
        return result

    monkeypatch.setattr(MemoryBackend, "deliver", deliver_then_lock)
    stranded = project("campaigns", "send", "1", ok=False)
    assert stranded.exit_code == 3
    assert "Traceback" not in stranded.stdout + stranded.stderr
    [line] = stranded.stderr.strip().splitlines()
    assert re.fullmatch(
        f"error: {LOCKED}: campaign 1 could not be paused and stays sending; once the "
        "database is back, mailer campaigns resume 1 completes it",
        line,
    )
    lock.release()
    monkeypatch.setattr(MemoryBackend, "deliver", deliver)
    resumed = project("campaigns", "resume", "1")
    assert "campaign 1 is sent: sent 2, unknown 1" in resumed.stdout
    assert len(memory_backend) == 3  # nobody twice


def test_the_command_pauses_with_the_reason_once_the_database_answers_again(
    project: Cli, memory_backend: list[EmailMessage], lock: FileLock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    given_up = DatabaseRetry._given_up

    def let_go_when_given_up(self: DatabaseRetry, state: Any) -> bool:
        if given_up(self, state):
            lock.release()  # the other process lets go just as the send gives up
            return True
        return False

    monkeypatch.setattr(DatabaseRetry, "_given_up", let_go_when_given_up)
    deliver = MemoryBackend.deliver

    def deliver_then_lock(self: MemoryBackend, *args: Any) -> RecipientResult:
        result = deliver(self, *args)
        if len(self.messages) == 1 and not lock.taken:
            lock.take()
        return result

    monkeypatch.setattr(MemoryBackend, "deliver", deliver_then_lock)
    paused = project("campaigns", "send", "1", ok=False)
    assert paused.exit_code == 3
    assert "Traceback" not in paused.stdout + paused.stderr
    first, reason, advice = paused.stdout.splitlines()
    assert first == "campaign 1 is paused: pending 2, sent 1"
    assert re.fullmatch(f"paused: {LOCKED}", reason)
    assert advice == "mailer campaigns resume 1 goes on"
    assert "campaign 1 is sent: sent 3" in project("campaigns", "resume", "1").stdout
    assert len(memory_backend) == 3


def test_what_a_worker_process_could_not_write_crosses_back_whole() -> None:
    row = Claimed(1, 2, 3, 1, "ann@example.org", "Ann", {}, [], None)
    handover = Handover([(row, RecipientResult("x.1", Outcome.SENT, provider_message_id="m"))])
    err = DatabaseUnavailable("database is locked", 61.2, unwritten=handover, campaign_id=4)
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.campaign_id, back.unwritten) == (str(err), 4, handover)
    assert str(back) == "the database could not be reached for 61 s (database is locked)"


def test_a_database_lost_before_the_send_starts_changes_nothing_and_says_so(
    project: Cli, memory_backend: list[EmailMessage], lock: FileLock
) -> None:
    lock.take()
    refused = project("campaigns", "send", "1", ok=False)
    assert refused.exit_code == 3
    [line] = refused.stderr.strip().splitlines()
    assert re.fullmatch(
        f"error: {LOCKED}: campaign 1 is as it was; once the database is back, mailer "
        "campaigns send 1 goes on",
        line,
    )
    lock.release()
    assert "campaign 1 is sent: sent 3" in project("campaigns", "send", "1").stdout
