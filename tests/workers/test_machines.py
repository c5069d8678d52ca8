"""Two ``mailer worker`` processes, each in its own folder with only the database URL
and the secrets (two machines, as near as one machine stands in), started before the
sender, send a 20,000 recipient SMTP campaign for ``mailer campaigns send``. One worker
is killed with SIGKILL in the middle, then the sender too; after ``resume``, nobody got
the campaign twice, and every recipient who got nothing is listed unknown."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from mailer.campaigns import actions
from mailer.settings import Settings, load_settings
from mailer.storage import Database
from mailer.storage.models import Delivery, DeliveryStatus, Subscriber
from mailer.subscribers.importer import import_file
from mailer.subscribers.lists import create_list
from tests.support.config import SENDER, append_config, write_config
from tests.support.examples import DONATE
from tests.workers.machines import Sink, machine, mailer_process

pytestmark = pytest.mark.slow

RECIPIENTS = 20_000
ARTICLE = "---\ntitle: A short one\n---\n\nA few words, so that 20,000 messages stay small.\n"


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.stop()


def _readers(db: Database, folder: Path, count: int) -> None:
    people = folder / "people.csv"
    people.write_text(
        "email,name\n" + "".join(f"r{i}@example.net,Reader {i}\n" for i in range(count)),
        encoding="utf-8",
    )
    with db.session() as session:
        create_list(session, "many")
    import_file(db, people, "many", confirmed=True)


def _leader_settings(folder: Path, pg_url: str, sink: Sink) -> Settings:
    folder.mkdir()
    config = write_config(
        folder,
        pg_url,
        dispatch='"procrastinate"',
        worker_stalled_seconds="2",
        backend='"smtp"',
        smtp_url=f'"{sink.url}"',
        from_address=f'"{SENDER}"',
        send_batch_size="500",
    )
    return load_settings(append_config(config, DONATE))


def _wait_until_sent(db: Database, campaign_id: int, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    query = select(func.count()).where(
        Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.SENT
    )
    while time.monotonic() < deadline:
        with db.session() as session:
            if session.scalar(query) >= count:
                return
        time.sleep(0.1)  # polling the ledger, with a deadline
    raise AssertionError(f"fewer than {count} sent in {timeout} s")


def _wait_until_both_work(db: Database, timeout: float = 60) -> None:
    """Until the jobs at work hold more rows not yet recorded than one worker can (its
    concurrency, 2, times the batch, 500): each worker has some in hand, so the one
    killed next leaves rows in flight."""
    deadline = time.monotonic() + timeout
    in_hand = text(
        """
SELECT count(*) FROM deliveries
 WHERE status = 'sending' AND id IN (
       SELECT jsonb_array_elements_text(args->'delivery_ids')::bigint
         FROM procrastinate_jobs WHERE status = 'doing')
"""
    )
    while time.monotonic() < deadline:
        with db.session() as session:
            if session.scalar(in_hand) > 2 * 500:
                return
        time.sleep(0.01)  # polling the ledger, with a deadline
    raise AssertionError(f"never more rows in hand than one worker holds in {timeout} s")


def test_a_worker_and_the_sender_killed_mid_send_leave_nobody_sent_twice(
    db: Database, pg_url: str, tmp_path: Path, sink: Sink
) -> None:
    workers = [
        mailer_process(machine(tmp_path / name, pg_url, sink.url), "worker", "--concurrency", "2")
        for name in ("machine-a", "machine-b")
    ]
    try:
        settings = _leader_settings(tmp_path / "leader", pg_url, sink)
        _readers(db, tmp_path, RECIPIENTS)
        article = tmp_path / "article.md"
        article.write_text(ARTICLE, encoding="utf-8")
        with db.session() as session:
            campaign_id = actions.create(session, settings, article=str(article), lists=["many"]).id
        for worker in workers:
            worker.wait_for("on queue")
        assert settings.config_file is not None
        leader = mailer_process(settings.config_file, "campaigns", "send", str(campaign_id))
        _wait_until_sent(db, campaign_id, RECIPIENTS // 4)
        _wait_until_both_work(db)
        workers[0].kill()
        _wait_until_sent(db, campaign_id, RECIPIENTS // 2)
        leader.kill()
        outcome = actions.sender_for(db, settings).resume(campaign_id)
    finally:
        codes = [worker.stop() for worker in workers]
    assert codes[1] == 0, "".join(workers[1].log)
    assert outcome.status.value == "sent"

    got = sink.recipients()
    assert [address for address, count in got.items() if count > 1] == []
    with db.session() as session:
        statuses = dict(
            session.execute(
                select(Subscriber.email, Delivery.status)
                .join(Delivery, Delivery.subscriber_id == Subscriber.id)
                .where(Delivery.campaign_id == campaign_id)
            ).all()
        )
    assert len(statuses) == RECIPIENTS
    unknown = {a for a, status in statuses.items() if status is DeliveryStatus.UNKNOWN}
    sent = {a for a, status in statuses.items() if status is DeliveryStatus.SENT}
    assert unknown, "the killed worker had a batch in hand"
    assert sent | unknown == set(statuses)
    assert sent <= set(got)
    assert set(statuses) - set(got) <= unknown  # whoever got nothing is listed unknown
