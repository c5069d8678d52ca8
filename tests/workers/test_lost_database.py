"""A worker whose way to the database is cut for ten seconds rides it out: the batch in
hand writes its outcomes once the database is back, procrastinate's worker is started
again, and the rest of the campaign goes; nobody gets it twice."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from mailer.campaigns import actions
from mailer.campaigns.records import campaign_view
from mailer.campaigns.sender import Progress
from mailer.settings import Settings
from mailer.storage import Database, open_database
from tests.support.readers import weekly_list
from tests.workers.machines import Proxy
from tests.workers.test_queue import campaign, running

pytestmark = pytest.mark.slow

OUTAGE = 10.0  # seconds: less than worker_stalled_seconds, so the worker is not given up


def test_a_worker_that_loses_the_database_for_ten_seconds_rides_it_out(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from mailer.workers.worker import Worker

    emails = weekly_list(db, 24)
    settings.send_batch_size = 2
    settings.worker_stalled_seconds = 30
    campaign_id = campaign(db, settings)
    url = make_url(settings.database_url)
    proxy = Proxy(url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    far = settings.model_copy(update={"database_url": proxied})
    far_db = open_database(proxied, migrate=False)
    restored = threading.Timer(OUTAGE, proxy.restore)

    def cut_once(progress: Progress) -> None:
        if progress.done >= 4 and not restored.is_alive() and not restored.finished.is_set():
            proxy.cut()
            restored.start()

    caplog.set_level(logging.WARNING, logger="mailer")
    try:
        sender = actions.sender_for(db, settings, on_progress=cut_once)
        with running(Worker(far, far_db, concurrency=2)):
            outcome = sender.send(campaign_id)
    finally:
        restored.cancel()
        proxy.close()
        far_db.close()
    assert restored.finished.is_set()
    assert outcome.status.value == "sent"
    with db.session() as session:
        assert campaign_view(session, campaign_id).counts == {"sent": len(emails)}
    received = Counter(
        message_from_bytes(path.read_bytes())["To"]
        for path in Path(settings.outbox_dir).glob("*.eml")
    )
    assert sum(received.values()) == len(emails)
    assert max(received.values()) == 1
    assert any("out of reach" in record.getMessage() for record in caplog.records)
