"""What the admin's dashboard and a campaign's report show beyond :mod:`.stats`: opens
and clicks over time, the campaigns sent lately with their rates, and what is next.

The timeline is summed from the counters recording keeps per five-minute slot
(:mod:`mailer.storage.counters`), so that a million events are never counted again. A
slot counts in the bucket its start falls in: a bucket's edges are exact when the
campaign started on a five-minute mark, else its events may move by up to five minutes.

A bucket's ``unique`` counts the messages opened (or clicked) for the first time in that
bucket, new readers: a reader who opens on Monday and again on Wednesday counts on
Monday only, and the buckets' uniques add up to the campaign's unique count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only, selectinload

from mailer.campaigns.records import get_campaign
from mailer.campaigns.stats import summaries
from mailer.storage.counters import EventCount
from mailer.storage.events import EventKind
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
    # Messages opened (clicked) for the first time in this bucket: new readers.
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


def _bucket_index(seconds: float, width: int | None) -> int:
    late = max(seconds, 0.0)  # events from before the start count in the first bucket
    if width is not None:
        return int(late // width)
    hours = HOURLY_SPAN // HOUR
    if late < HOURLY_SPAN:
        return int(late // HOUR)
    return hours + int((late - HOURLY_SPAN) // DAY)


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


def _auto_width(slots: list[datetime], start: datetime) -> int:
    span = (max(slots) - start).total_seconds() if slots else 0.0
    return next((w for w in _WIDTHS if span / w <= _AUTO_BUCKETS), _WIDTHS[-1])


def timeline(
    session: Session, campaign_id: int, *, buckets: Buckets = "hours-then-days"
) -> Timeline:
    """Opens and clicks, total and first (new readers), per bucket since the campaign started:
    hours for two days then days, buckets of ``buckets`` seconds, or (``"auto"``) a
    width that gives at most about 48 buckets. Empty buckets in between are filled in;
    events from before the start count in the first."""
    campaign = get_campaign(session, campaign_id)
    start = campaign.started_at
    if start is None:
        return Timeline(campaign_id, None, [])
    rows = session.execute(
        select(
            EventCount.slot, EventCount.kind, func.sum(EventCount.total), func.sum(EventCount.first)
        )
        .where(
            EventCount.campaign_id == campaign_id,
            EventCount.kind.in_([EventKind.OPENED, EventKind.CLICKED]),
        )
        .group_by(EventCount.slot, EventCount.kind)
    ).all()
    width: int | None = buckets if isinstance(buckets, int) else None
    if buckets == "auto":
        width = _auto_width([row[0] for row in rows], start)
    counts: dict[tuple[int, str], tuple[int, int]] = {}
    for slot, kind, total, first in rows:
        key = (_bucket_index((slot - start).total_seconds(), width), EventKind(kind).value)
        before = counts.get(key, (0, 0))
        counts[key] = (before[0] + int(total), before[1] + int(first))
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
        # What the summaries read, not the stored article and email (tens of KB each).
        .options(
            load_only(
                Campaign.id, Campaign.subject, Campaign.status, Campaign.started_at, Campaign.links
            )
        )
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
        # Not the stored article and email (tens of KB each), and the lists in one query.
        .options(
            load_only(Campaign.id, Campaign.subject, Campaign.scheduled_at, Campaign.local_time),
            selectinload(Campaign.lists),
        )
    ).all()
    return [
        {
            "id": c.id,
            "subject": c.subject,
            "scheduled_at": c.scheduled_at.isoformat() if c.scheduled_at else None,
            "local_time": c.local_time,
            "lists": [m.name for m in c.lists],
            # What readers see of each list, for a page to show.
            "list_titles": [m.title for m in c.lists],
        }
        for c in campaigns
    ]
