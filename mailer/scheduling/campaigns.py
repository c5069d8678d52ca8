"""Scheduling campaigns: the times are stored on the campaign, the daemon acts on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mailer.delivery.campaigns import move
from mailer.exceptions import InputError
from mailer.storage.models import Campaign

__all__ = ["schedule", "unschedule"]


def schedule(
    session: Session,
    campaign_id: int,
    at: datetime,
    *,
    now: datetime,
    again: bool = False,
) -> Campaign:
    """Schedule a draft (or, with ``again``, move a scheduled or missed campaign) to
    ``at``, an aware time in the future."""
    if at.tzinfo is None:
        raise ValueError("schedule() takes an aware datetime")
    if at <= now:
        raise InputError(
            f"{at.isoformat()} is in the past (it is {now.astimezone(at.tzinfo).isoformat()}); "
            "use mailer campaigns send to send now"
        )
    return move(
        session, campaign_id, "reschedule" if again else "schedule", scheduled_at=at, now=now
    )


def unschedule(session: Session, campaign_id: int, *, now: datetime) -> Campaign:
    """Back to draft: the campaign keeps everything but its time."""
    return move(session, campaign_id, "unschedule", scheduled_at=None, now=now)
