"""Batches deferred in the claim's transaction and sent by workers in this process:
every recipient once, progress from the ledger; a pause reaches the workers; a
provider's hold reaches every worker; ``mailer workers ls``."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from mailer.campaigns import actions, ledger
from mailer.campaigns.dispatch import BatchJob
from mailer.campaigns.records import campaign_view, list_ids, move
from mailer.campaigns.sender import Progress
from mailer.delivery.backends import get_backend
from mailer.delivery.message import Outcome
from mailer.exceptions import ConfigError
from mailer.settings import Settings
from mailer.storage import Database
from mailer.storage.models import DeliveryStatus
from mailer.storage.retry import DatabaseRetry
from mailer.storage.types import utcnow
from mailer.workers.dispatcher import QueueDispatcher
from mailer.workers.job import BatchRunner
from mailer.workers.queue import shared
from mailer.workers.roster import Roster
from mailer.workers.throttle import held_off, hold_off
from mailer.workers.worker import Worker
from tests.support.cli import Cli
from tests.support.examples import ARTICLE
from tests.support.readers import weekly_list


@contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    thread = threading.Thread(target=worker.run, kwargs={"handle_signals": False})
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(timeout=30)
        assert not thread.is_alive()


def campaign(db: Database, settings: Settings) -> int:
    with db.session() as session:
        return actions.create(session, settings, article=str(ARTICLE), lists=["weekly"]).id


def test_two_workers_send_every_message_once(db: Database, settings: Settings) -> None:
    emails = weekly_list(db, 30)
    settings.send_batch_size = 4
    campaign_id = campaign(db, settings)
    seen = []
    sender = actions.sender_for(db, settings, on_progress=seen.append)
    with running(Worker(settings, db)), running(Worker(settings, db, concurrency=2)):
        outcome = sender.send(campaign_id)
    assert outcome.status.value == "sent"
    with db.session() as session:
        assert campaign_view(session, campaign_id).counts == {"sent": len(emails)}
    assert len(list(settings.outbox_dir.glob("*.eml"))) == len(emails)
    assert seen[-1].done == len(emails)
    with db.engine.begin() as conn:
        # Every job done and gone; no worker row left behind.
        assert conn.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM send_workers")).scalar() == 0


def test_a_pause_reaches_the_workers_and_leaves_nothing_in_flight(
    db: Database, settings: Settings
) -> None:
    emails = weekly_list(db, 30)
    settings.send_batch_size = 2
    campaign_id = campaign(db, settings)

    def pause_once(progress: Progress) -> None:
        if progress.done == 2:
            with db.session() as session:
                actions.pause(session, campaign_id, reason="editor's call")

    sender = actions.sender_for(db, settings, on_progress=pause_once)
    with running(Worker(settings, db)):
        outcome = sender.send(campaign_id)
    assert outcome.status.value == "paused"
    with db.session() as session:
        counts = campaign_view(session, campaign_id).counts
    # The batches already deferred went back to wait; nothing is left in flight.
    assert set(counts) == {"sent", "pending"}
    assert counts["sent"] < len(emails)
    assert counts["sent"] + counts["pending"] == len(emails)
    assert len(list(settings.outbox_dir.glob("*.eml"))) == counts["sent"]


def test_a_providers_hold_reaches_every_worker(db: Database, settings: Settings) -> None:
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    first = BatchRunner(db, settings, get_backend, Roster(db, "a", 1), retry=DatabaseRetry(0),
                        stop=threading.Event(), clock=lambda: now)  # fmt: skip
    backend = first.worker(shared(settings)).backend
    assert backend.on_throttled is not None
    backend.throttled(30.0, "SendGrid API response 429: too many requests")
    with db.engine.begin() as conn:
        # Another machine's worker reads it before its next batch; a shorter hold
        # written later does not shorten it.
        hold_off(conn, backend.name, 5.0, "later", now)
        assert held_off(conn, backend.name, now) == 30.0
        assert held_off(conn, backend.name, now + timedelta(seconds=31)) == 0.0
        assert held_off(conn, "SMTP", now) == 0.0
    first.close()


def test_workers_ls_shows_each_worker_what_it_sends_and_its_rate(
    db: Database, config_path: Path
) -> None:
    now = utcnow()
    alive = Roster(db, "mail-1:101:aaaaaa", 4, clock=lambda: now)
    alive.taking(7)
    alive.done(7, 500)
    alive.taking(7)
    alive.write()
    silent = Roster(db, "mail-2:202:bbbbbb", 1, clock=lambda: now - timedelta(minutes=5))
    silent.write()
    cli = Cli(config_path)
    rows = {row["name"]: row for row in json.loads(cli("workers", "ls", "--json").stdout)}
    assert rows["mail-1:101:aaaaaa"]["alive"] is True
    assert rows["mail-1:101:aaaaaa"]["campaign"] == 7
    assert rows["mail-1:101:aaaaaa"]["messages"] == 500
    assert rows["mail-1:101:aaaaaa"]["rate_per_second"] > 0
    assert rows["mail-2:202:bbbbbb"]["alive"] is False
    table = cli("workers", "ls").stdout
    assert "campaign 7" in table
    # The command reads the real clock, some seconds after the rows were written.
    assert re.search(r"\b3\d\d s ago", table), table


def _claim_batch(db: Database, campaign_id: int) -> BatchJob:
    """The campaign started and its rows claimed as one batch, as a sender does."""
    now = utcnow()
    with db.session() as session:
        lists = list_ids(move(session, campaign_id, "send", now=now))
    with db.engine.begin() as conn:
        ledger.materialize(conn, campaign_id, lists, now)
        return BatchJob(campaign_id, tuple(ledger.claim(conn, campaign_id, 10, now)))


def _runner(db: Database, settings: Settings) -> BatchRunner:
    """A worker's batch runner, without the worker around it."""
    return BatchRunner(db, settings, get_backend, Roster(db, "a", 1), retry=DatabaseRetry(0),
                       stop=threading.Event())  # fmt: skip


def test_a_job_run_again_skips_what_was_sent(db: Database, settings: Settings) -> None:
    emails = weekly_list(db, 6)
    campaign_id = campaign(db, settings)
    job = _claim_batch(db, campaign_id)
    runner = _runner(db, settings)
    runner.run(job, shared(settings))
    runner.run(job, shared(settings))  # procrastinate retrying it, say
    runner.close()
    assert len(list(settings.outbox_dir.glob("*.eml"))) == len(emails)
    with db.session() as session:
        assert campaign_view(session, campaign_id).counts == {"sent": len(emails)}


def test_with_no_worker_alive_the_sender_says_so_and_a_pause_calls_the_jobs_off(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    emails = weekly_list(db, 6)
    settings.send_batch_size = 2
    campaign_id = campaign(db, settings)
    caplog.set_level(logging.WARNING, logger="mailer")
    sender = actions.sender_for(db, settings)
    thread = threading.Thread(target=sender.send, args=(campaign_id,))
    thread.start()
    deadline = time.monotonic() + 30
    while not any("no mailer worker is alive" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "the sender did not say that no worker is alive"
        time.sleep(0.05)  # polling the log, with a deadline
    with db.session() as session:
        actions.pause(session, campaign_id, reason="no workers today")
    thread.join(30)
    assert not thread.is_alive()
    with db.session() as session:
        view = campaign_view(session, campaign_id)
    assert view.campaign.status.value == "paused"
    assert view.counts == {"pending": len(emails)}
    with db.engine.begin() as conn:
        statuses = conn.execute(text("SELECT DISTINCT status::text FROM procrastinate_jobs"))
        assert {status for (status,) in statuses} == {"cancelled"}


def test_a_job_whose_end_was_lost_is_done_once_the_ledger_has_every_outcome(
    db: Database, settings: Settings
) -> None:
    weekly_list(db, 3)
    campaign_id = campaign(db, settings)
    now = utcnow()
    with db.session() as session:
        lists = list_ids(move(session, campaign_id, "send", now=now))
    dispatcher = QueueDispatcher(db, settings, settles=0.1)
    with db.engine.begin() as conn:
        ledger.materialize(conn, campaign_id, lists, now)
        job = BatchJob(campaign_id, tuple(ledger.claim(conn, campaign_id, 10, now)))
        dispatcher.claimed(conn, job)
    with db.engine.begin() as conn:
        # A worker took the job and wrote every outcome; then the database went away
        # before procrastinate could hear that the job had ended.
        worker_id = conn.execute(text("SELECT procrastinate_register_worker_v1()")).scalar()
        conn.execute(
            text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w"),
            {"w": worker_id},
        )
        ledger.move_ids(conn, job.delivery_ids, DeliveryStatus.SENDING,
                        status=DeliveryStatus.SENT)  # fmt: skip
    report = dispatcher.dispatch(job)
    assert report.outcomes == {Outcome.SENT: 3}
    with db.engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar() == 0


def test_a_worker_that_cannot_make_the_messages_gives_the_rows_back_and_fails_the_job(
    db: Database, settings: Settings
) -> None:
    emails = weekly_list(db, 3)
    campaign_id = campaign(db, settings)
    job = _claim_batch(db, campaign_id)
    runner = _runner(db, settings)
    signing = {**shared(settings), "dkim_selector": "mail", "dkim_domain": "example.org"}
    with pytest.raises(ConfigError, match="dkim_private_key"):
        runner.run(job, signing)
    with db.session() as session:
        assert campaign_view(session, campaign_id).counts == {"pending": len(emails)}
