"""Scheduling campaigns: the times are stored on the campaign, the daemon acts on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.campaigns.localtime import instant
from mailer.campaigns.records import get_campaign, move
from mailer.exceptions import InputError
from mailer.storage.models import (
    Campaign,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)

__all__ = ["audience_zones", "schedule", "unschedule"]


def schedule(
    session: Session,
    campaign_id: int,
    at: datetime,
    *,
    now: datetime,
    again: bool = False,
    local_time: bool = False,
    default_zone: str = "UTC",
) -> Campaign:
    """Schedule a draft (or, with ``again``, move a scheduled or missed campaign) to
    ``at``, an aware time in the future. With ``local_time``, ``at`` is a naive
    wall-clock time read in each subscriber's timezone; the campaign starts when the
    first zone gets there, and every zone must still be before it."""
    if (at.tzinfo is None) != local_time:
        raise ValueError("schedule() takes a naive wall-clock time exactly when local_time")
    wall = None
    if local_time:
        wall = at
        zones = audience_zones(session, campaign_id, default_zone)
        try:
            first_zone = min(zones, key=lambda zone: instant(wall, zone))
        except OverflowError:  # a year-9999 time that some zone reaches after the year
            raise InputError(f"the time {wall.isoformat()} is out of range") from None
        at = instant(wall, first_zone)
        if at <= now:
            raise InputError(
                f"{wall:%Y-%m-%d %H:%M} has already passed in {first_zone}, where some "
                "subscribers live; a local-time send needs a time still ahead everywhere"
            )
    elif at <= now:
        raise InputError(
            f"{at.isoformat()} is in the past (it is {now.astimezone(at.tzinfo).isoformat()}); "
            "use mailer campaigns send to send now"
        )
    return move(
        session,
        campaign_id,
        "reschedule" if again else "schedule",
        scheduled_at=at,
        local_time=wall.isoformat(timespec="minutes") if wall else None,
        now=now,
    )


def unschedule(session: Session, campaign_id: int, *, now: datetime) -> Campaign:
    """Back to draft: the campaign keeps everything but its time."""
    return move(session, campaign_id, "unschedule", scheduled_at=None, local_time=None, now=now)


def audience_zones(session: Session, campaign_id: int, default_zone: str) -> set[str]:
    """The timezones the confirmed members of the campaign's lists live in."""
    campaign = get_campaign(session, campaign_id)
    zone = func.coalesce(Subscriber.timezone, MailingList.timezone, default_zone)
    found = session.scalars(
        select(zone)
        .distinct()
        .select_from(Subscription)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(
            Subscription.list_id.in_([m.id for m in campaign.lists]),
            Subscription.status == SubscriptionStatus.CONFIRMED,
        )
    ).all()
    return set(found) or {default_zone}
