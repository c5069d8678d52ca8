"""SendGrid's event webhook: checking that a request is SendGrid's, and normalising its
events to our one :class:`~mailer.storage.events.EventKind`.

SendGrid signs ``timestamp + body`` with ECDSA (P-256, SHA-256); the public key is the
one its Mail Settings show, and ``sendgrid.helpers.eventwebhook`` checks the signature.
A request whose timestamp is older than ``webhook_max_age`` is refused, so that a
captured request cannot be replayed later; within that time, events already recorded
(by ``sg_event_id``) are recorded once.

Normalisation is a plain mapping of SendGrid's event names, falling back to UNKNOWN
(django-anymail's way). Our delivery id comes back in the event as the custom argument
``mailer_delivery``; the recipient's address, IP and user agent are left out of what is
kept of the raw event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook, EventWebhookHeader

from mailer.delivery.sendgrid_payload import DELIVERY_ARG
from mailer.storage.events import EventKind

__all__ = [
    "EVENT_KINDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ProviderEvent",
    "WebhookRefused",
    "normalise",
    "parse_events",
    "verify_request",
]

SIGNATURE_HEADER: str = EventWebhookHeader.SIGNATURE
TIMESTAMP_HEADER: str = EventWebhookHeader.TIMESTAMP

#: SendGrid's event names and ours; anything else is UNKNOWN.
EVENT_KINDS: dict[str, EventKind] = {
    "processed": EventKind.PROCESSED,
    "delivered": EventKind.DELIVERED,
    "deferred": EventKind.DEFERRED,
    "bounce": EventKind.BOUNCED,
    "dropped": EventKind.DROPPED,
    "open": EventKind.OPENED,
    "click": EventKind.CLICKED,
    "spamreport": EventKind.COMPLAINED,
    "unsubscribe": EventKind.UNSUBSCRIBED,
    "group_unsubscribe": EventKind.UNSUBSCRIBED,
    "group_resubscribe": EventKind.RESUBSCRIBED,
}

# Fields that name the person: not kept in the stored raw event.
_PERSONAL = frozenset({"email", "ip", "useragent"})
_MAX_ID = 200


class WebhookRefused(Exception):
    """A request that is not (or no longer) a valid SendGrid request."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


def verify_request(
    key: ec.EllipticCurvePublicKey | None,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: datetime,
    max_age: int,
) -> None:
    """Raise WebhookRefused unless the request is signed by ``key`` and recent."""
    if key is None:
        raise WebhookRefused(
            403, "the SendGrid webhook is off: set sendgrid_webhook_public_key in mailer.toml"
        )
    if not signature or not timestamp:
        raise WebhookRefused(401, f"the {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are missing")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise WebhookRefused(400, f"{TIMESTAMP_HEADER} is not a Unix time")
    if abs(now.timestamp() - int(timestamp)) > max_age:
        raise WebhookRefused(403, f"the request was signed more than {max_age} seconds away")
    try:
        payload = body.decode("utf-8")
        valid = EventWebhook().verify_signature(payload, signature, timestamp, key)
    except (ValueError, TypeError, InvalidSignature):
        valid = False
    if not valid:
        raise WebhookRefused(403, "the signature does not match")


def parse_events(body: bytes) -> list[dict[str, Any]]:
    """The events of a request body: a JSON array of objects."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise WebhookRefused(400, "the body is not JSON") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise WebhookRefused(400, "the body must be a JSON array of event objects")
    return data


@dataclass(frozen=True)
class ProviderEvent:
    """One provider event in our terms."""

    kind: EventKind
    hard: bool  # a bounce for good
    occurred_at: datetime
    email: str  # the recipient, as the provider gave it ("" if it did not)
    delivery_ref: str  # our delivery id: "<campaign uid>.<ledger row id>"
    provider_event_id: str | None
    reason: str
    url: str
    raw: dict[str, Any]


def normalise(event: Mapping[str, Any], *, now: datetime) -> ProviderEvent:
    """One SendGrid event in our terms."""
    name = _text(event.get("event"))
    kind = EVENT_KINDS.get(name, EventKind.UNKNOWN)
    email = _text(event.get("email"))
    hard = kind is EventKind.BOUNCED and _text(event.get("type")) != "blocked"
    reason = _scrub(_text(event.get("reason")) or _text(event.get("response")), email)
    event_id = _text(event.get("sg_event_id"))
    return ProviderEvent(
        kind=kind,
        hard=hard,
        occurred_at=_time(event.get("timestamp"), now),
        email=email,
        delivery_ref=_text(event.get(DELIVERY_ARG)),
        provider_event_id=event_id if 0 < len(event_id) <= _MAX_ID else None,
        reason=reason,
        url=_text(event.get("url")) if kind is EventKind.CLICKED else "",
        raw={k: _scrub_value(v, email) for k, v in event.items() if k not in _PERSONAL},
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _time(value: Any, now: datetime) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return now


def _scrub(text: str, email: str) -> str:
    """``text`` without the recipient's address (a bounce message often quotes it)."""
    if not email or not text:
        return text
    return re.sub(re.escape(email), "<recipient>", text, flags=re.IGNORECASE)


def _scrub_value(value: Any, email: str) -> Any:
    return _scrub(value, email) if isinstance(value, str) else value
