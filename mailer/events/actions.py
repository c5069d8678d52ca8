"""What a provider's events do: each is recorded once (by the provider's event id), tied
to our ledger row through our delivery id, and some act on the address at once:

- a hard bounce suppresses it (``hard_bounce``) and marks the ledger row bounced;
- soft bounces suppress it after ``soft_bounce_limit`` of them in a row, that is with no
  delivery to the address in between;
- a spam report suppresses it (``complaint``) and ends every subscription;
- an unsubscribe ends every subscription and suppresses it (``unsubscribed``);
- a drop because the provider itself holds the address as bounced, reported or
  unsubscribed (the event's ``dropped_as``, which its provider's module sets) does what
  that event would have done.

Nothing here knows a provider: the events come in our terms (:mod:`mailer.events.model`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailer.addresses import normalize_address
from mailer.events.model import ProviderEvent
from mailer.exceptions import InvalidAddress, NotFound
from mailer.settings import Settings
from mailer.storage.counters import record_events
from mailer.storage.events import Event, EventKind
from mailer.storage.models import Campaign, Delivery, Subscriber, SuppressionReason
from mailer.subscribers.subscriptions import unsubscribe
from mailer.subscribers.suppression import suppress

__all__ = ["WebhookReport", "record_provider_events", "soft_bounces_in_a_row"]

# The events that suppress the address at once, whatever else they say.
_SUPPRESSES = {
    EventKind.COMPLAINED: SuppressionReason.COMPLAINT,
    EventKind.UNSUBSCRIBED: SuppressionReason.UNSUBSCRIBED,
}
_MAX_ROW_ID = 2**63 - 1
_CHUNK = 500


@dataclass
class WebhookReport:
    """What became of a request's events: the count the webhook answers with."""

    received: int = 0
    recorded: int = 0
    duplicates: int = 0
    suppressed: int = 0


def record_provider_events(
    session: Session,
    settings: Settings,
    events: Sequence[ProviderEvent],
    *,
    provider: str,
    now: datetime,
) -> WebhookReport:
    """Record ``events`` and act on them; events seen before are skipped."""
    report = WebhookReport(received=len(events))
    fresh = _unseen(session, events)
    pairs = _record(session, fresh, provider, now)
    report.recorded = len(pairs)
    report.duplicates = len(events) - len(pairs)
    for item, delivery in pairs:
        if _act(session, settings, item, delivery, now):
            report.suppressed += 1
    return report


def _unseen(session: Session, events: Sequence[ProviderEvent]) -> list[ProviderEvent]:
    """``events`` but those recorded before, and each event once (by its provider's id)."""
    seen = _known_ids(session, [e.provider_event_id for e in events if e.provider_event_id])
    fresh: list[ProviderEvent] = []
    for item in events:
        if item.provider_event_id is not None:
            if item.provider_event_id in seen:
                continue
            seen.add(item.provider_event_id)
        fresh.append(item)
    return fresh


def _record(
    session: Session, fresh: list[ProviderEvent], provider: str, now: datetime
) -> list[tuple[ProviderEvent, Delivery | None]]:
    """Store ``fresh`` tied to our ledger rows; the events and rows that were stored."""
    deliveries = _deliveries(session, [item.delivery_ref for item in fresh])
    pairs = [(item, deliveries.get(item.delivery_ref)) for item in fresh]
    try:
        # A savepoint: the same events, delivered twice at once, are recorded once.
        with session.begin_nested():
            record_events(session, [_event(i, delivery, provider, now) for i, delivery in pairs])
    except IntegrityError:
        pairs = _one_by_one(session, pairs, provider, now)
    return pairs


def _event(item: ProviderEvent, delivery: Delivery | None, provider: str, now: datetime) -> Event:
    return Event(
        kind=item.kind,
        hard=item.hard,
        campaign_id=delivery.campaign_id if delivery else None,
        delivery_id=delivery.id if delivery else None,
        subscriber_id=delivery.subscriber_id if delivery else None,
        list_id=delivery.list_id if delivery else None,
        url=item.url,
        occurred_at=item.occurred_at,
        recorded_at=now,
        provider=provider,
        provider_event_id=item.provider_event_id,
        reason=item.reason,
        raw=item.raw,
    )


def _one_by_one(
    session: Session,
    pairs: list[tuple[ProviderEvent, Delivery | None]],
    provider: str,
    now: datetime,
) -> list[tuple[ProviderEvent, Delivery | None]]:
    """Another request recorded some of these events meanwhile: record the others."""
    recorded = []
    for item, delivery in pairs:
        try:
            with session.begin_nested():
                record_events(session, [_event(item, delivery, provider, now)])
        except IntegrityError:
            continue
        recorded.append((item, delivery))
    return recorded


def _known_ids(session: Session, ids: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        known.update(
            found
            for found in session.scalars(
                select(Event.provider_event_id).where(Event.provider_event_id.in_(chunk))
            )
            if found is not None
        )
    return known


def _deliveries(session: Session, refs: list[str]) -> dict[str, Delivery]:
    """Our ledger rows of delivery ids ``<campaign uid>.<row id>`` whose uid matches."""
    wanted: dict[int, list[tuple[str, str]]] = {}
    for ref in set(refs):
        uid, _, number = ref.rpartition(".")
        digits = number.isascii() and number.isdigit()
        if uid and not ref.startswith("confirm.") and digits and int(number) <= _MAX_ROW_ID:
            wanted.setdefault(int(number), []).append((uid, ref))
    found: dict[str, Delivery] = {}
    ids = sorted(wanted)
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(Delivery, Campaign.uid)
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(Delivery.id.in_(ids[start : start + _CHUNK]))
        )
        for delivery, campaign_uid in rows:
            for uid, ref in wanted[delivery.id]:
                if uid == campaign_uid:
                    found[ref] = delivery
    return found


def _act(
    session: Session,
    settings: Settings,
    item: ProviderEvent,
    delivery: Delivery | None,
    now: datetime,
) -> bool:
    """Do what the event asks of the address; True if it was suppressed."""
    if item.kind is EventKind.BOUNCED and item.hard and delivery is not None:
        delivery.bounced = True
    reason = _suppression(session, settings, item, delivery)
    if reason is None:
        return False
    email = _address(session, item, delivery)
    try:
        key = normalize_address(email).key
    except InvalidAddress:
        return False
    suppress(session, key, reason, source="webhook", now=now)
    if reason in (SuppressionReason.COMPLAINT, SuppressionReason.UNSUBSCRIBED):
        # Not (or no longer) a subscriber: then the suppression is all there is to do.
        with contextlib.suppress(NotFound):
            unsubscribe(session, email, None, source="webhook", now=now)
    return True


def _suppression(
    session: Session, settings: Settings, item: ProviderEvent, delivery: Delivery | None
) -> SuppressionReason | None:
    """The suppression the event asks for, if any."""
    if item.kind is EventKind.BOUNCED:
        if item.hard:
            return SuppressionReason.HARD_BOUNCE
        # A soft bounce counts only when we know whose it is.
        if delivery is None:
            return None
        in_a_row = soft_bounces_in_a_row(session, delivery.subscriber_id)
        return SuppressionReason.HARD_BOUNCE if in_a_row >= settings.soft_bounce_limit else None
    if item.kind is EventKind.DROPPED:
        return item.dropped_as
    return _SUPPRESSES.get(item.kind)


def _address(session: Session, item: ProviderEvent, delivery: Delivery | None) -> str:
    """The event's address: as the provider gave it, else our ledger row's subscriber's."""
    if item.email or delivery is None:
        return item.email
    subscriber = session.get(Subscriber, delivery.subscriber_id)
    return subscriber.email if subscriber is not None else ""


def soft_bounces_in_a_row(session: Session, subscriber_id: int) -> int:
    """Soft bounces of a subscriber since the last message that was delivered to them."""
    last_delivered = session.scalar(
        select(func.max(Event.occurred_at)).where(
            Event.subscriber_id == subscriber_id, Event.kind == EventKind.DELIVERED
        )
    )
    query = select(func.count()).where(
        Event.subscriber_id == subscriber_id,
        Event.kind == EventKind.BOUNCED,
        Event.hard.is_(False),
    )
    if last_delivered is not None:
        query = query.where(Event.occurred_at > last_delivered)
    return session.scalar(query) or 0
