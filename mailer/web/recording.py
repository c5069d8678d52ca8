"""The events of what our own pages and tracking see (opens, clicks, unsubscribes),
tied to the campaign's ledger row where there is one."""

from __future__ import annotations

from datetime import datetime

from mailer.storage.events import Event, EventKind

__all__ = ["own_event"]


def own_event(
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
    """An event of our own (``provider = "mailer"``), to store with
    :func:`~mailer.storage.counters.record_events`."""
    return Event(
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
