"""A group of one-click unsubscribes as :func:`~mailer.web.leaving.leave_all` stores it,
on each database (PostgreSQL does it in one statement of its own): who leaves, which
events are recorded and tied to what, what the counters count, and which title each
request is answered with."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from mailer.settings import Settings
from mailer.storage import Database, Event, EventCount, EventKind, Subscription
from mailer.subscribers.subscriptions import add_subscriber, unsubscribe
from mailer.web.leaving import Leaving, leave_all
from tests.support.clock import Clock
from tests.support.web import send_to_readers

TITLE = "The Morning Post"
NO_SUCH = 999_999


def test_a_group_leaves_each_subscription_once_and_records_what_it_can_tie(
    db: Database, settings: Settings, clock: Clock
) -> None:
    sent = send_to_readers(db, settings, clock)
    (_, s0, d0), (_, s1, _), (_, s2, _) = sent.readers
    with db.session() as session:
        # One who got no email of the campaign, and one who left already.
        s3 = add_subscriber(session, "late@example.org", "readers", confirmed=True).subscriber_id
        s4 = add_subscriber(session, "gone@example.org", "readers", confirmed=True).subscriber_id
        unsubscribe(session, "gone@example.org", "readers", now=clock.now)
    before = status_of(db, s4)
    at = clock.now + timedelta(minutes=1)
    c, lst = sent.campaign_id, sent.list_id
    group = [
        Leaving(s0, lst, c, at),
        Leaving(s0, lst, c, at),  # the same link posted twice
        Leaving(s1, lst, None, at),  # a link of no campaign
        Leaving(s2, lst, NO_SUCH, at + timedelta(seconds=2)),  # its campaign deleted
        Leaving(s3, lst, c, at),  # no ledger row for them
        Leaving(NO_SUCH, lst, c, at),  # a subscriber forgotten
        Leaving(s4, lst, c, at),  # left already
    ]
    with db.writing() as session:
        titles = leave_all(session, group)
    assert titles == [TITLE] * 5 + [None, TITLE]
    last = at + timedelta(seconds=2)
    for subscriber_id in (s0, s1, s2, s3):
        assert status_of(db, subscriber_id) == ("unsubscribed", "web", last)
    assert status_of(db, s4) == before
    events = unsubscribes(db)
    assert [(e.campaign_id, e.delivery_id, e.subscriber_id) for e in events] == [
        (c, d0, s0),
        (None, None, s1),
        (None, None, s2),
        (c, None, s3),
    ]
    assert {(e.list_id, e.occurred_at, e.provider, e.hard) for e in events} == {
        (lst, last, "mailer", False)
    }
    assert counted(db, c) == (2, 2)

    # Again: nothing more to leave, nothing more recorded, and the same answers.
    with db.writing() as session:
        assert leave_all(session, group[:2]) == [TITLE, TITLE]
    assert len(unsubscribes(db)) == 4
    assert counted(db, c) == (2, 2)


def status_of(db: Database, subscriber_id: int) -> tuple[str, str, object]:
    with db.session() as session:
        subscription = session.scalars(
            select(Subscription).where(Subscription.subscriber_id == subscriber_id)
        ).one()
        return (
            subscription.status.value,
            subscription.status_source,
            subscription.status_changed_at,
        )


def unsubscribes(db: Database) -> list[Event]:
    with db.session() as session:
        return list(
            session.scalars(
                select(Event)
                .where(Event.kind == EventKind.UNSUBSCRIBED)
                .order_by(Event.subscriber_id)
            )
        )


def counted(db: Database, campaign_id: int) -> tuple[int, int]:
    with db.session() as session:
        rows = session.scalars(
            select(EventCount).where(
                EventCount.campaign_id == campaign_id,
                EventCount.kind == EventKind.UNSUBSCRIBED,
            )
        ).all()
        return sum(r.total for r in rows), sum(r.first for r in rows)
