"""Subscribers and their subscriptions: add, find, list, unsubscribe, remove."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailer.addresses import Address, clean_name, normalize_address
from mailer.exceptions import InputError, NotFound, StateError, quoted
from mailer.storage import tallies
from mailer.storage.models import (
    Delivery,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from mailer.storage.types import utcnow
from mailer.subscribers.fields import check_attributes, check_name, check_tags
from mailer.subscribers.lists import check_timezone, get_list
from mailer.subscribers.suppression import lift, suppress, suppression_of

__all__ = [
    "add_subscriber",
    "find_subscriber",
    "initial_status",
    "iter_subscriptions",
    "parse_attribute",
    "remove_subscriber",
    "set_status",
    "subscriber_dict",
    "unsubscribe",
]


def parse_attribute(text: str) -> tuple[str, Any]:
    """``key=value``; the value is read as JSON where it is JSON (numbers, true, lists),
    else kept as text, so that segments can compare ``attr.age > 30``."""
    key, eq, raw = text.partition("=")
    key = key.strip()
    if not eq or not key:
        raise InputError(f"attribute {quoted(text)} must look like key=value")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key, value


def initial_status(mailing_list: MailingList, *, confirmed: bool) -> SubscriptionStatus:
    """New members of a double opt-in list wait for their confirmation unless the
    caller vouches that they already confirmed."""
    if confirmed or not mailing_list.double_opt_in:
        return SubscriptionStatus.CONFIRMED
    return SubscriptionStatus.UNCONFIRMED


def find_subscriber(session: Session, email: str) -> Subscriber:
    key = normalize_address(email).key
    found = session.scalar(
        select(Subscriber)
        .where(Subscriber.email_key == key)
        .options(selectinload(Subscriber.subscriptions).selectinload(Subscription.list))
    )
    if found is None:
        raise NotFound("subscriber", email.strip())
    return found


def add_subscriber(
    session: Session,
    email: str,
    list_name: str,
    *,
    name: str | None = None,
    attributes: dict[str, Any] | None = None,
    tags: Sequence[str] = (),
    timezone: str | None = None,
    confirmed: bool = False,
    resubscribe: bool = False,
    source: str = "cli",
    now: datetime | None = None,
) -> Subscription:
    """Add an address to a list, or update the subscriber if it is stored already.

    An address that unsubscribed from this list, or is on the suppression list, is not
    subscribed again unless ``resubscribe`` says the person asked for it.
    """
    now = now or utcnow()
    address = normalize_address(email)
    mailing_list = get_list(session, list_name)
    _check_fields(name, attributes, tags, timezone)
    suppressed = suppression_of(session, address.key)
    if suppressed is not None and not resubscribe:
        raise StateError(
            f"{address.email} is on the suppression list ({suppressed.reason.value}); "
            "pass --resubscribe if the person asked to be subscribed again"
        )
    subscriber = _stored_subscriber(session, address, now)
    _merge_fields(subscriber, name, attributes, tags, timezone)
    session.flush()

    if suppressed is not None:
        lift(session, address.key)
    subscription = _join(
        session,
        address,
        subscriber,
        mailing_list,
        confirmed=confirmed,
        resubscribe=resubscribe,
        source=source,
        now=now,
    )
    session.flush()
    return subscription


def _check_fields(
    name: str | None, attributes: dict[str, Any] | None, tags: Sequence[str], timezone: str | None
) -> None:
    if timezone:
        check_timezone(timezone)
    if name is not None:
        check_name(clean_name(name))
    check_attributes(attributes or {})
    check_tags([t.strip() for t in tags])


def _stored_subscriber(session: Session, address: Address, now: datetime) -> Subscriber:
    """The subscriber with this address, added (with nothing known about it) if there is
    none yet."""
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email_key == address.key))
    if subscriber is None:
        subscriber = Subscriber(
            email=address.email,
            email_key=address.key,
            name="",
            attributes={},
            tags=[],
            created_at=now,
            updated_at=now,
        )
        session.add(subscriber)
    return subscriber


def _merge_fields(
    subscriber: Subscriber,
    name: str | None,
    attributes: dict[str, Any] | None,
    tags: Sequence[str],
    timezone: str | None,
) -> None:
    """What is given replaces (name, timezone) or adds to (attributes, tags) what is
    stored; what is not given is kept."""
    if name is not None:
        subscriber.name = clean_name(name)
    if attributes:
        subscriber.attributes = {**subscriber.attributes, **attributes}
    if tags:
        subscriber.tags = sorted({*subscriber.tags, *(t.strip() for t in tags if t.strip())})
    if timezone:
        subscriber.timezone = timezone


def _join(
    session: Session,
    address: Address,
    subscriber: Subscriber,
    mailing_list: MailingList,
    *,
    confirmed: bool,
    resubscribe: bool,
    source: str,
    now: datetime,
) -> Subscription:
    """The subscriber's subscription to the list: a new one, one that was unsubscribed
    and is resubscribed, one that waited and is confirmed, or the one there was."""
    subscription = session.scalar(
        select(Subscription).where(
            Subscription.subscriber_id == subscriber.id, Subscription.list_id == mailing_list.id
        )
    )
    status = initial_status(mailing_list, confirmed=confirmed)
    if subscription is None:
        subscription = Subscription(
            subscriber=subscriber,
            list=mailing_list,
            status=status,
            status_changed_at=now,
            status_source=source,
            created_at=now,
        )
        session.add(subscription)
    elif subscription.status is SubscriptionStatus.UNSUBSCRIBED:
        if not resubscribe:
            raise StateError(
                f"{address.email} unsubscribed from {mailing_list.name!r} on "
                f"{subscription.status_changed_at:%Y-%m-%d}; pass --resubscribe if the "
                "person asked to be subscribed again"
            )
        set_status(subscription, status, source=source, now=now)
    elif subscription.status is SubscriptionStatus.UNCONFIRMED and confirmed:
        set_status(subscription, SubscriptionStatus.CONFIRMED, source=source, now=now)
    return subscription


def set_status(
    subscription: Subscription, status: SubscriptionStatus, *, source: str, now: datetime
) -> bool:
    if subscription.status is status:
        return False
    subscription.status = status
    subscription.status_changed_at = now
    subscription.status_source = source
    return True


def iter_subscriptions(
    session: Session, list_name: str, status: SubscriptionStatus | None = None
) -> Iterator[tuple[Subscriber, Subscription]]:
    """The members of a list in address order, streamed."""
    mailing_list = get_list(session, list_name)
    query = (
        select(Subscriber, Subscription)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.list_id == mailing_list.id)
        .order_by(Subscriber.email_key)
        .execution_options(yield_per=2000)
    )
    if status is not None:
        query = query.where(Subscription.status == status)
    yield from session.execute(query)


def unsubscribe(
    session: Session,
    email: str,
    list_name: str | None = None,
    *,
    source: str = "cli",
    now: datetime | None = None,
) -> list[str]:
    """Unsubscribe from one list, or from every list (which also suppresses the address
    so that no later import or list adds it back). Returns the lists left."""
    now = now or utcnow()
    subscriber = find_subscriber(session, email)
    left: list[str] = []
    for subscription in subscriber.subscriptions:
        if list_name is not None and subscription.list.name != list_name:
            continue
        if set_status(subscription, SubscriptionStatus.UNSUBSCRIBED, source=source, now=now):
            left.append(subscription.list.name)
    if list_name is not None and not any(
        s.list.name == list_name for s in subscriber.subscriptions
    ):
        get_list(session, list_name)  # an unknown list says so, with the known ones
        raise NotFound("subscription", f"{subscriber.email} on {list_name}")
    if list_name is None:
        suppress(
            session, subscriber.email_key, SuppressionReason.UNSUBSCRIBED, source=source, now=now
        )
    return left


def remove_subscriber(session: Session, email: str) -> None:
    """Delete the subscriber and every subscription. Unlike ``forget`` this keeps no
    trace, so a later import may add the address again."""
    subscriber = find_subscriber(session, email)
    # The cascade deletes their ledger rows behind the tallies' back.
    tallies.take(session.connection(), Delivery.subscriber_id == subscriber.id)
    session.delete(subscriber)


def subscriber_dict(subscriber: Subscriber) -> dict[str, Any]:
    """Everything stored about a subscriber, as JSON-ready data."""
    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "attributes": subscriber.attributes,
        "tags": subscriber.tags,
        "timezone": subscriber.timezone,
        "created_at": subscriber.created_at.isoformat(),
        "updated_at": subscriber.updated_at.isoformat(),
        "subscriptions": [
            {
                "list": s.list.name,
                "status": s.status.value,
                "status_changed_at": s.status_changed_at.isoformat(),
                "status_source": s.status_source,
                "subscribed_at": s.created_at.isoformat(),
            }
            for s in sorted(subscriber.subscriptions, key=lambda s: s.list.name)
        ],
    }
