"""Recording what our own pages and tracking see (opens, clicks, unsubscribes) as
events, tied to the campaign's ledger row where there is one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mailer.storage.counters import record_events
from mailer.storage.events import Event, EventKind

__all__ = ["record"]


def record(
    session: Session,
    kind: EventKind,
    *,
    occurred_at: datetime,
    campaign_id: int | None = None,
    delivery_id: int | None = None,
    subscriber_id: int | None = None,
    list_id: int | None = None,
    link_index: int | None = None,
    url: str = "",
) -> Event:
    """Add an event of our own (``provider = "mailer"``), counted at once."""
    event = Event(
        kind=kind,
        hard=False,
        campaign_id=campaign_id,
        delivery_id=delivery_id,
        subscriber_id=subscriber_id,
        list_id=list_id,
        link_index=link_index,
        url=url,
        occurred_at=occurred_at,
        recorded_at=occurred_at,
        provider="mailer",
        reason="",
        raw={},
    )
    record_events(session, [event])
    return event
