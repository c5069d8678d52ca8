"""One subscriber's page in the admin: who they are, their lists, whether they are
suppressed, what they did lately and what was sent to them; and editing their fields.

Unsubscribing, forgetting and exporting are ``subscriptions.unsubscribe``,
``privacy.forget`` and ``privacy.export_data`` (by the address, which the detail has).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailer.addresses import clean_name
from mailer.exceptions import NotFound
from mailer.storage.events import Event, EventKind
from mailer.storage.models import Campaign, Delivery, Subscriber, Subscription
from mailer.subscribers.fields import check_attributes, check_name, check_tags
from mailer.subscribers.lists import check_timezone
from mailer.subscribers.suppression import suppression_of

__all__ = [
    "ACTIVITY",
    "RECENT",
    "DeliveryLine",
    "EventLine",
    "SubscriberDetail",
    "SubscriptionLine",
    "edit_subscriber",
    "get_subscriber",
    "subscriber_detail",
]

#: How many events and deliveries the page shows.
RECENT = 20
#: The events the page shows: what the person did and what came back; not "processed",
#: "delivered" or "deferred", which every message has and which would fill the list.
ACTIVITY = (
    EventKind.OPENED,
    EventKind.CLICKED,
    EventKind.BOUNCED,
    EventKind.DROPPED,
    EventKind.COMPLAINED,
    EventKind.UNSUBSCRIBED,
    EventKind.RESUBSCRIBED,
)


@dataclass(frozen=True)
class SubscriptionLine:
    list_name: str
    list_title: str
    status: str
    status_changed_at: datetime
    status_source: str
    subscribed_at: datetime


@dataclass(frozen=True)
class EventLine:
    kind: str
    occurred_at: datetime
    campaign_id: int | None
    url: str
    hard: bool
    reason: str


@dataclass(frozen=True)
class DeliveryLine:
    campaign_id: int
    subject: str
    status: str
    sent_at: datetime | None
    bounced: bool
    error: str


@dataclass(frozen=True)
class SubscriberDetail:
    id: int
    email: str
    name: str
    tags: list[str]
    attributes: dict[str, Any]
    timezone: str | None
    created_at: datetime
    updated_at: datetime
    subscriptions: list[SubscriptionLine]
    suppressed: str | None  # the reason (hard_bounce, complaint, unsubscribed), or None
    suppressed_since: datetime | None
    events: list[EventLine]  # newest first, at most RECENT
    deliveries: list[DeliveryLine]  # newest first, at most RECENT


def get_subscriber(session: Session, subscriber_id: int) -> Subscriber:
    """The subscriber with this id, with their subscriptions; NotFound if there is none
    (a forgotten subscriber is gone)."""
    found = session.scalar(
        select(Subscriber)
        .where(Subscriber.id == subscriber_id)
        .options(selectinload(Subscriber.subscriptions).selectinload(Subscription.list))
    )
    if found is None:
        raise NotFound("subscriber", f"#{subscriber_id}")
    return found


def subscriber_detail(session: Session, subscriber_id: int) -> SubscriberDetail:
    """Everything the subscriber's page shows; NotFound if there is no such subscriber.
    Each part is one indexed query (events by ix_events_subscriber_kind, deliveries by
    ix_deliveries_subscriber)."""
    subscriber = get_subscriber(session, subscriber_id)
    suppression = suppression_of(session, subscriber.email_key)
    return SubscriberDetail(
        id=subscriber.id,
        email=subscriber.email,
        name=subscriber.name,
        tags=list(subscriber.tags),
        attributes=dict(subscriber.attributes),
        timezone=subscriber.timezone,
        created_at=subscriber.created_at,
        updated_at=subscriber.updated_at,
        subscriptions=[
            SubscriptionLine(
                list_name=s.list.name,
                list_title=s.list.title,
                status=s.status.value,
                status_changed_at=s.status_changed_at,
                status_source=s.status_source,
                subscribed_at=s.created_at,
            )
            for s in sorted(subscriber.subscriptions, key=lambda s: s.list.name)
        ],
        suppressed=None if suppression is None else suppression.reason.value,
        suppressed_since=None if suppression is None else suppression.created_at,
        events=_events(session, subscriber.id),
        deliveries=_deliveries(session, subscriber.id),
    )


def _events(session: Session, subscriber_id: int) -> list[EventLine]:
    rows = session.scalars(
        select(Event)
        .where(Event.subscriber_id == subscriber_id, Event.kind.in_(ACTIVITY))
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(RECENT)
    )
    return [
        EventLine(
            kind=e.kind.value,
            occurred_at=e.occurred_at,
            campaign_id=e.campaign_id,
            url=e.url,
            hard=e.hard,
            reason=e.reason,
        )
        for e in rows
    ]


def _deliveries(session: Session, subscriber_id: int) -> list[DeliveryLine]:
    rows = session.execute(
        select(Delivery, Campaign.subject)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.subscriber_id == subscriber_id)
        .order_by(Delivery.id.desc())
        .limit(RECENT)
    )
    return [
        DeliveryLine(
            campaign_id=d.campaign_id,
            subject=subject,
            status=d.status.value,
            sent_at=d.sent_at,
            bounced=d.bounced,
            error=d.error,
        )
        for d, subject in rows
    ]


def edit_subscriber(
    session: Session,
    subscriber_id: int,
    *,
    name: str | None = None,
    tags: list[str] | None = None,
    attributes: dict[str, Any] | None = None,
    timezone: str | None = None,
) -> Subscriber:
    """Set a subscriber's fields from the admin's form: what is given replaces what is
    stored (the form shows all of it; an empty timezone clears it), what is None stays.
    The same checks as every other way in (``fields``); InputError or TooLarge if one
    fails, before anything changes."""
    subscriber = get_subscriber(session, subscriber_id)
    cleaned = None if name is None else clean_name(name)
    if cleaned is not None:
        check_name(cleaned)
    kept_tags = None if tags is None else sorted({t.strip() for t in tags if t.strip()})
    check_tags(kept_tags or [])
    check_attributes(attributes or {})
    if timezone:
        check_timezone(timezone)
    if cleaned is not None:
        subscriber.name = cleaned
    if kept_tags is not None:
        subscriber.tags = kept_tags
    if attributes is not None:
        subscriber.attributes = dict(attributes)
    if timezone is not None:
        subscriber.timezone = timezone or None
    session.flush()
    return subscriber
