"""The report's numbers: the timeline's buckets, the campaigns sent lately with their
rates, and what is scheduled next, from rows written with known times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from mailer.campaigns.ledger import recount
from mailer.campaigns.report import recent_campaigns, timeline, upcoming
from mailer.campaigns.stats import campaign_stats
from mailer.storage import Database, record_events
from mailer.storage.events import Event, EventKind
from mailer.storage.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    MailingList,
    Subscriber,
)

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
LINKS = ["https://example.org/story", "https://give.example.org/?utm_content=donate"]


def campaign(
    session: Session, n: int, status: CampaignStatus, started: datetime | None, **extra: object
) -> Campaign:
    row = Campaign(
        uid=f"c{n}",
        subject=f"Issue {n}",
        status=status,
        from_address="news@example.org",
        started_at=started,
        links=LINKS,
        **extra,
    )
    session.add(row)
    session.flush()
    return row


def ledger(session: Session, campaign_id: int, readers: int) -> list[int]:
    """``readers`` new subscribers, each with a sent ledger row; their rows' ids."""
    mailing_list = session.query(MailingList).first() or MailingList(name="weekly")
    session.add(mailing_list)
    session.flush()
    ids = []
    for _ in range(readers):
        number = session.query(Subscriber).count()
        person = Subscriber(email=f"r{number}@example.org", email_key=f"r{number}@example.org")
        session.add(person)
        session.flush()
        row = Delivery(
            campaign_id=campaign_id,
            subscriber_id=person.id,
            list_id=mailing_list.id,
            status=DeliveryStatus.SENT,
        )
        session.add(row)
        session.flush()
        ids.append(row.id)
    recount(session.connection(), campaign_id)
    return ids


def event(
    session: Session, campaign_id: int, delivery: int, kind: EventKind, at: datetime, link: int = 0
) -> None:
    event = Event(
        kind=kind,
        campaign_id=campaign_id,
        delivery_id=delivery,
        link_index=link if kind is EventKind.CLICKED else None,
        occurred_at=at,
    )
    record_events(session, [event])


def test_hours_for_two_days_then_days(db: Database) -> None:
    with db.session() as session:
        sent = campaign(session, 1, CampaignStatus.SENT, START)
        a, b = ledger(session, sent.id, 2)
        at = START.__add__
        event(session, sent.id, a, EventKind.OPENED, at(timedelta(minutes=5)))
        event(session, sent.id, a, EventKind.OPENED, at(timedelta(minutes=50)))  # same hour
        event(session, sent.id, b, EventKind.OPENED, at(timedelta(hours=2, minutes=1)))
        event(session, sent.id, b, EventKind.CLICKED, at(timedelta(hours=2, minutes=3)))
        event(session, sent.id, a, EventKind.OPENED, at(timedelta(days=3, hours=1)))
        event(session, sent.id, a, EventKind.DELIVERED, at(timedelta(hours=5)))  # not counted
        event(session, sent.id, a, EventKind.OPENED, START - timedelta(minutes=1))  # first bucket
    with db.session() as session:
        found = timeline(session, sent.id)
    buckets = found.buckets
    # 48 hours, then day 3 (index 48) and day 4 (index 49).
    assert len(buckets) == 50
    assert (buckets[0].start, buckets[0].end) == (START, START + timedelta(hours=1))
    assert (buckets[0].opens, buckets[0].unique_opens) == (3, 1)
    assert (buckets[2].opens, buckets[2].clicks, buckets[2].unique_clicks) == (1, 1, 1)
    assert buckets[48].start == START + timedelta(days=2)
    assert buckets[49].start == START + timedelta(days=3)
    assert buckets[49].end == START + timedelta(days=4)
    assert buckets[49].opens == 1
    assert sum(b.opens for b in buckets) == 5
    assert all(b.opens == 0 for b in buckets[3:49])


def test_fixed_and_automatic_widths(db: Database) -> None:
    with db.session() as session:
        sent = campaign(session, 1, CampaignStatus.SENT, START)
        (a,) = ledger(session, sent.id, 1)
        event(session, sent.id, a, EventKind.OPENED, START + timedelta(minutes=20))
        event(session, sent.id, a, EventKind.OPENED, START + timedelta(hours=10))
    with db.session() as session:
        fixed = timeline(session, sent.id, buckets=900)
        auto = timeline(session, sent.id, buckets="auto")
    assert [b.opens for b in fixed.buckets if b.opens] == [1, 1]
    assert fixed.buckets[1].opens == 1 and fixed.buckets[40].opens == 1
    # Ten hours at most 48 buckets: fifteen minutes each.
    assert auto.buckets[1].end - auto.buckets[1].start == timedelta(minutes=15)


def test_a_campaign_not_started_has_no_timeline(db: Database) -> None:
    with db.session() as session:
        draft = campaign(session, 1, CampaignStatus.DRAFT, None)
        assert timeline(session, draft.id).buckets == []


def test_recent_campaigns_newest_first_with_the_rates_of_the_stats(db: Database) -> None:
    with db.session() as session:
        old = campaign(session, 1, CampaignStatus.SENT, START - timedelta(days=7))
        new = campaign(session, 2, CampaignStatus.SENT, START)
        campaign(session, 3, CampaignStatus.DRAFT, None)
        rows = ledger(session, new.id, 4)
        ledger(session, old.id, 2)
        for row in rows:
            event(session, new.id, row, EventKind.DELIVERED, START)
        event(session, new.id, rows[0], EventKind.OPENED, START)
        event(session, new.id, rows[0], EventKind.OPENED, START)
        event(session, new.id, rows[1], EventKind.OPENED, START)
        event(session, new.id, rows[1], EventKind.CLICKED, START, link=1)  # the donation box
        event(session, new.id, rows[0], EventKind.CLICKED, START, link=0)
    with db.session() as session:
        found = recent_campaigns(session, limit=10)
        stats = campaign_stats(session, new.id)
    assert [c["id"] for c in found] == [new.id, old.id]
    first = found[0]
    assert (first["sent"], first["delivered"], first["opened"], first["clicked"]) == (4, 4, 2, 2)
    assert first["cta_clicked"] == 1
    assert first["rates"] == {**stats["rates"], "cta_click": 0.25}
    assert first["rates"]["open"] == 0.5
    assert found[1]["sent"] == 2 and found[1]["rates"]["open"] == 0.0


def test_recent_campaigns_limit(db: Database) -> None:
    with db.session() as session:
        for n in range(4):
            campaign(session, n, CampaignStatus.SENT, START + timedelta(hours=n))
        assert [c["subject"] for c in recent_campaigns(session, limit=2)] == ["Issue 3", "Issue 2"]


def test_upcoming_soonest_first(db: Database) -> None:
    with db.session() as session:
        late = campaign(
            session, 1, CampaignStatus.SCHEDULED, None, scheduled_at=START + timedelta(days=3)
        )
        soon = campaign(
            session, 2, CampaignStatus.SCHEDULED, None, scheduled_at=START + timedelta(hours=1)
        )
        campaign(
            session, 3, CampaignStatus.SCHEDULED, None, scheduled_at=START - timedelta(hours=1)
        )
        campaign(session, 4, CampaignStatus.DRAFT, None, scheduled_at=START + timedelta(hours=2))
        found = upcoming(session, START, limit=10)
    assert [c["id"] for c in found] == [soon.id, late.id]
    assert found[0]["scheduled_at"] == (START + timedelta(hours=1)).isoformat()
