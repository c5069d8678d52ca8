"""What the admin's dashboard and a campaign's report show beyond :mod:`.stats`: opens
and clicks over time, the campaigns sent lately with their rates, and what is next.

The timeline is counted by the database, bucket by bucket, so that a million events
never come into Python. A bucket's ``unique`` counts the messages opened (or clicked) in
that bucket: a reader who opens on Monday and on Wednesday counts in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Float, Integer, case, cast, func, literal, select
from sqlalchemy.orm import Session

from mailer.campaigns.records import get_campaign
from mailer.campaigns.stats import summaries
from mailer.storage.events import Event, EventKind
from mailer.storage.models import Campaign, CampaignStatus

__all__ = ["Bucket", "Timeline", "recent_campaigns", "timeline", "upcoming"]

HOUR = 3600
DAY = 86400
#: Hours for the first two days (when most readers look), days after that.
HOURLY_SPAN = 2 * DAY
# Nice widths for automatic buckets, and about how many buckets a chart reads well with.
_WIDTHS = (300, 900, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 7 * DAY)
_AUTO_BUCKETS = 48

Buckets = Literal["hours-then-days", "auto"] | int


@dataclass(frozen=True)
class Bucket:
    start: datetime
    end: datetime
    opens: int
    unique_opens: int
    clicks: int
    unique_clicks: int


@dataclass(frozen=True)
class Timeline:
    campaign_id: int
    started_at: datetime | None
    buckets: list[Bucket]

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "buckets": [
                {
                    "start": b.start.isoformat(),
                    "end": b.end.isoformat(),
                    "opens": b.opens,
                    "unique_opens": b.unique_opens,
                    "clicks": b.clicks,
                    "unique_clicks": b.unique_clicks,
                }
                for b in self.buckets
            ],
        }


def _seconds_since(session: Session, start: datetime) -> ColumnElement[Any]:
    """Seconds from ``start`` to each event, in the database's own arithmetic."""
    if session.get_bind().dialect.name == "sqlite":
        naive = start.replace(tzinfo=None).isoformat(sep=" ")
        # Julian days are floats: rounded to the millisecond, ten hours are 36,000
        # seconds and not 35,999.99999 (which would fall into the bucket before).
        days = func.julianday(Event.occurred_at) - func.julianday(literal(naive))
        return func.round(days * DAY, 3)
    return func.extract("epoch", Event.occurred_at - literal(start))


def _floor(session: Session, value: ColumnElement[Any]) -> ColumnElement[Any]:
    # PostgreSQL's cast rounds; SQLite's truncates, which is the floor from 0 up.
    if session.get_bind().dialect.name == "sqlite":
        return cast(value, Integer)
    return cast(func.floor(value), Integer)


def _bucket_index(
    session: Session, seconds: ColumnElement[Any], width: int | None
) -> ColumnElement[Any]:
    late = cast(seconds, Float)
    if width is not None:
        return _floor(session, late / width)
    hours = HOURLY_SPAN // HOUR
    return case(
        (late < HOURLY_SPAN, _floor(session, late / HOUR)),
        else_=hours + _floor(session, (late - HOURLY_SPAN) / DAY),
    )


def _bounds(index: int, start: datetime, width: int | None) -> tuple[datetime, datetime]:
    if width is not None:
        first = start + timedelta(seconds=index * width)
        return first, first + timedelta(seconds=width)
    hours = HOURLY_SPAN // HOUR
    if index < hours:
        first = start + timedelta(hours=index)
        return first, first + timedelta(hours=1)
    first = start + timedelta(seconds=HOURLY_SPAN, days=index - hours)
    return first, first + timedelta(days=1)


def _auto_width(session: Session, campaign_id: int, start: datetime) -> int:
    last = session.scalar(
        select(func.max(Event.occurred_at)).where(
            Event.campaign_id == campaign_id, Event.kind.in_([EventKind.OPENED, EventKind.CLICKED])
        )
    )
    span = (last - start).total_seconds() if last is not None else 0.0
    return next((w for w in _WIDTHS if span / w <= _AUTO_BUCKETS), _WIDTHS[-1])


def timeline(
    session: Session, campaign_id: int, *, buckets: Buckets = "hours-then-days"
) -> Timeline:
    """Opens and clicks, total and unique, per bucket since the campaign started:
    hours for two days then days, buckets of ``buckets`` seconds, or (``"auto"``) a
    width that gives at most about 48 buckets. Empty buckets in between are filled in;
    events from before the start count in the first."""
    campaign = get_campaign(session, campaign_id)
    start = campaign.started_at
    if start is None:
        return Timeline(campaign_id, None, [])
    width: int | None = buckets if isinstance(buckets, int) else None
    if buckets == "auto":
        width = _auto_width(session, campaign_id, start)
    seconds = _seconds_since(session, start)
    index = _bucket_index(session, case((seconds < 0, 0), else_=seconds), width).label("bucket")
    rows = session.execute(
        select(index, Event.kind, func.count(), func.count(func.distinct(Event.delivery_id)))
        .where(
            Event.campaign_id == campaign_id, Event.kind.in_([EventKind.OPENED, EventKind.CLICKED])
        )
        .group_by(index, Event.kind)
    ).all()
    counts: dict[tuple[int, str], tuple[int, int]] = {
        (int(i), EventKind(kind).value): (total, unique) for i, kind, total, unique in rows
    }
    last = max((i for i, _ in counts), default=-1)
    return Timeline(campaign_id, start, [_bucket(i, start, width, counts) for i in range(last + 1)])


def _bucket(
    index: int, start: datetime, width: int | None, counts: dict[tuple[int, str], tuple[int, int]]
) -> Bucket:
    first, end = _bounds(index, start, width)
    opens = counts.get((index, EventKind.OPENED.value), (0, 0))
    clicks = counts.get((index, EventKind.CLICKED.value), (0, 0))
    return Bucket(first, end, opens[0], opens[1], clicks[0], clicks[1])


_SENT_LATELY = (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SENT)


def recent_campaigns(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    """The campaigns started most lately (sending, paused or sent), newest first, each
    with sent, delivered, opened, clicked, call-to-action clicks and their rates as
    :func:`.stats.campaign_stats` counts them."""
    campaigns = session.scalars(
        select(Campaign)
        .where(Campaign.status.in_(_SENT_LATELY), Campaign.started_at.is_not(None))
        .order_by(Campaign.started_at.desc(), Campaign.id.desc())
        .limit(limit)
    ).all()
    counted = summaries(session, campaigns)
    return [
        {
            "id": c.id,
            "subject": c.subject,
            "status": c.status.value,
            "started_at": c.started_at.isoformat() if c.started_at else None,
            **counted[c.id],
        }
        for c in campaigns
    ]


def upcoming(session: Session, now: datetime, limit: int = 10) -> list[dict[str, Any]]:
    """Scheduled campaigns due at ``now`` or later, soonest first. (Digests' next runs
    come from their cron lines, in :mod:`mailer.scheduling`, a layer above this one.)"""
    campaigns = session.scalars(
        select(Campaign)
        .where(Campaign.status == CampaignStatus.SCHEDULED, Campaign.scheduled_at >= now)
        .order_by(Campaign.scheduled_at, Campaign.id)
        .limit(limit)
    ).all()
    return [
        {
            "id": c.id,
            "subject": c.subject,
            "scheduled_at": c.scheduled_at.isoformat() if c.scheduled_at else None,
            "local_time": c.local_time,
            "lists": [m.name for m in c.lists],
        }
        for c in campaigns
    ]
