"""Batches deferred in the claim's transaction and sent by workers in this process:
every recipient once, progress from the ledger, a silent worker's rows unknown."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from mailer.campaigns import actions
from mailer.campaigns.records import campaign_view
from mailer.settings import Settings
from mailer.storage import Database
from mailer.workers.worker import Worker
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


def _campaign(db: Database, settings: Settings) -> int:
    with db.session() as session:
        return actions.create(session, settings, article=str(ARTICLE), lists=["weekly"]).id


def test_two_workers_send_every_message_once(db: Database, settings: Settings) -> None:
    emails = weekly_list(db, 30)
    settings.send_batch_size = 4
    campaign_id = _campaign(db, settings)
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
