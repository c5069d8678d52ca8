"""SendGrid's event webhook as a provider: checking that a request is SendGrid's, and
normalising its events to our one :class:`~mailer.events.model.ProviderEvent`.

SendGrid signs ``timestamp + body`` with ECDSA (P-256, SHA-256); the public key is the
one its Mail Settings show (``sendgrid_webhook_public_key``), and
``sendgrid.helpers.eventwebhook`` checks the signature. A request whose timestamp is older
than ``webhook_max_age`` is refused, so that a captured request cannot be replayed later;
within that time, events already recorded (by ``sg_event_id``) are recorded once.

Our delivery id comes back in the event as the custom argument ``mailer_delivery``
(:data:`~mailer.delivery.sendgrid_payload.DELIVERY_ARG`: the payload that puts it in the
message names it, and we read the same name); the recipient's address, IP and user agent
are left out of what is kept of the raw event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook, EventWebhookHeader

from mailer.delivery.sendgrid_payload import DELIVERY_ARG
from mailer.events.model import ProviderEvent, TurnedOff, dropped_as, kind_of
from mailer.exceptions import WebhookRefused
from mailer.settings import Settings
from mailer.settings.keys import load_public_key
from mailer.storage.events import EventKind
from mailer.storage.models import SuppressionReason

__all__ = [
    "DROP_REASONS",
    "EVENT_KINDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SendGridProvider",
    "from_settings",
    "normalise",
    "parse_events",
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

#: SendGrid drops mail to addresses on its own lists; its reasons (in lower case), and
#: what they mean here. Any other drop ("Spam Content", ...) suppresses nothing.
DROP_REASONS: dict[str, SuppressionReason] = {
    "bounced address": SuppressionReason.HARD_BOUNCE,
    "invalid": SuppressionReason.HARD_BOUNCE,
    "spam reporting address": SuppressionReason.COMPLAINT,
    "unsubscribed address": SuppressionReason.UNSUBSCRIBED,
}

# Fields that name the person: not kept in the stored raw event.
_PERSONAL = frozenset({"email", "ip", "useragent"})
_MAX_ID = 200
_OFF = "the SendGrid webhook is off: set sendgrid_webhook_public_key in mailer.toml"


class SendGridProvider:
    """SendGrid's webhook, verified with ``key`` and refused when older than ``max_age``."""

    name = "sendgrid"
    title = "SendGrid"
    kinds: Mapping[str, EventKind] = EVENT_KINDS
    drop_reasons: Mapping[str, SuppressionReason] = DROP_REASONS

    def __init__(self, key: ec.EllipticCurvePublicKey, max_age: int):
        self.key = key
        self.max_age = max_age

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        """Raise WebhookRefused unless the request is signed by our key and recent."""
        signature, timestamp = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
        if not signature or not timestamp:
            raise WebhookRefused(401, f"the {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are missing")
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
            raise WebhookRefused(400, f"{TIMESTAMP_HEADER} is not a Unix time")
        if abs(now.timestamp() - int(timestamp)) > self.max_age:
            raise WebhookRefused(
                403, f"the request was signed more than {self.max_age} seconds away"
            )
        try:
            payload = body.decode("utf-8")
            valid = EventWebhook().verify_signature(payload, signature, timestamp, self.key)
        except (ValueError, TypeError, InvalidSignature):
            valid = False
        if not valid:
            raise WebhookRefused(403, "the signature does not match")

    def parse(self, body: bytes, now: datetime) -> list[ProviderEvent]:
        """The events of a verified body, in our terms."""
        return [normalise(item, now=now) for item in parse_events(body)]


def from_settings(settings: Settings) -> SendGridProvider | TurnedOff:
    """SendGrid's provider when the settings hold its verification key; else off."""
    key = settings.sendgrid_webhook_public_key
    if not key:
        return TurnedOff(SendGridProvider.name, _OFF)
    return SendGridProvider(load_public_key(key), settings.webhook_max_age)


def parse_events(body: bytes) -> list[dict[str, Any]]:
    """The events of a request body: a JSON array of objects."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise WebhookRefused(400, "the body is not JSON") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise WebhookRefused(400, "the body must be a JSON array of event objects")
    return data


def normalise(event: Mapping[str, Any], *, now: datetime) -> ProviderEvent:
    """One SendGrid event in our terms."""
    kind = kind_of(EVENT_KINDS, _text(event.get("event")))
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
        dropped_as=dropped_as(DROP_REASONS, reason) if kind is EventKind.DROPPED else None,
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
