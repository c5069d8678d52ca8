"""Local-time sends: waves as each timezone reaches the time, across a DST change; and a
run missed for longer than late_send_limit."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mailer.campaigns import actions
from mailer.campaigns.records import campaign_view
from mailer.campaigns.schedule import schedule
from mailer.campaigns.sender import CampaignSender
from mailer.delivery.memory import MemoryBackend
from mailer.exceptions import InputError
from mailer.scheduling.daemon import Daemon
from mailer.settings import Settings
from mailer.storage import Database, Delivery, Subscriber
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber
from tests.support.clock import Clock, InlineExecutor
from tests.support.examples import ARTICLE

ZONES = {
    "tokyo@example.org": "Asia/Tokyo",
    "tokyo2@example.org": "Asia/Tokyo",
    "ny@example.org": "America/New_York",
    "ny2@example.org": "America/New_York",
    "berlin@example.org": None,  # the configured timezone, Europe/Berlin
    "berlin2@example.org": None,
}


@pytest.fixture
def world(db: Database, settings: Settings) -> int:
    with db.session() as session:
        create_list(session, "world")
        for email, zone in ZONES.items():
            add_subscriber(session, email, "world", timezone=zone)
        return actions.create(session, settings, article=str(ARTICLE), lists=["world"]).id


def test_waves_across_three_timezones_on_a_dst_change(
    db: Database, settings: Settings, world: int, sent: list[EmailMessage]
) -> None:
    clock = Clock(now=datetime(2026, 3, 27, tzinfo=UTC))
    # 02:30 on the night Europe's clocks jump from 02:00 to 03:00.
    wall = datetime(2026, 3, 29, 2, 30)
    with db.session() as session:
        campaign = schedule(session, world, wall, now=clock.now, local_time=True,
                            default_zone=settings.timezone)  # fmt: skip
        assert campaign.scheduled_at == datetime(2026, 3, 28, 17, 30, tzinfo=UTC)  # Tokyo first
        assert campaign.local_time == "2026-03-29T02:30"

    clock.now = datetime(2026, 3, 28, 17, 30, tzinfo=UTC)
    sender = CampaignSender(db, settings, MemoryBackend(sent, {}), clock=clock, sleep=clock.sleep)
    assert sender.send(world).status.value == "sent"
    with db.session() as session:
        sent_at = dict(
            session.execute(
                select(Subscriber.email, Delivery.sent_at).join(
                    Subscriber, Subscriber.id == Delivery.subscriber_id
                )
            ).all()
        )
    assert sent_at == {
        "tokyo@example.org": datetime(2026, 3, 28, 17, 30, tzinfo=UTC),  # 02:30 JST
        "tokyo2@example.org": datetime(2026, 3, 28, 17, 30, tzinfo=UTC),
        # 02:30 does not exist in Berlin that night: sent at 03:30 CEST, as far after the jump
        "berlin@example.org": datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        "berlin2@example.org": datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        "ny@example.org": datetime(2026, 3, 29, 6, 30, tzinfo=UTC),  # 02:30 EDT
        "ny2@example.org": datetime(2026, 3, 29, 6, 30, tzinfo=UTC),
    }
    assert len(sent) == 6


def test_a_local_time_already_past_somewhere_is_refused(
    db: Database, settings: Settings, world: int
) -> None:
    now = datetime(2026, 3, 28, 18, 0, tzinfo=UTC)  # already past 02:30 in Tokyo
    with db.session() as session, pytest.raises(InputError, match="already passed in Asia/Tokyo"):
        schedule(session, world, datetime(2026, 3, 29, 2, 30), now=now,
                 local_time=True, default_zone=settings.timezone)  # fmt: skip


def test_a_run_missed_for_longer_than_the_limit_is_marked_missed(
    db: Database, settings: Settings, world: int, sent: list[EmailMessage],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    clock = Clock(now=datetime(2026, 3, 27, tzinfo=UTC))
    with db.session() as session:
        schedule(session, world, clock.now + timedelta(hours=1), now=clock.now)
    clock.sleep(14 * 3600)
    daemon = Daemon(settings, db, clock=clock, backend_factory=lambda s: MemoryBackend(sent, {}),
                    executor=InlineExecutor(), reconcile_seconds=3600)  # fmt: skip
    with caplog.at_level(logging.INFO, logger="mailer"):
        daemon.start()
    daemon.stop()
    assert sent == []
    with db.session() as session:
        campaign = campaign_view(session, world).campaign
        assert campaign.status.value == "missed"
        assert "13 h 0 min before the scheduler ran" in campaign.status_reason
        # A missed campaign can be given a new time.
        schedule(session, world, clock.now + timedelta(hours=1), now=clock.now, again=True)
    assert "more than late_send_limit (12 h 0 min)" in caplog.text
