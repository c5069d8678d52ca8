"""What privacy law asks of us: hand over everything we hold, and forget on request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mailer.storage import tallies
from mailer.storage.models import Delivery, SuppressionReason
from mailer.storage.types import utcnow
from mailer.subscribers.subscriptions import find_subscriber, subscriber_dict
from mailer.subscribers.suppression import suppress, suppression_of

__all__ = ["export_data", "forget"]


def export_data(session: Session, email: str) -> dict[str, Any]:
    """Everything stored about one address (GDPR art. 15 and 20)."""
    subscriber = find_subscriber(session, email)
    data = subscriber_dict(subscriber)
    suppressed = suppression_of(session, subscriber.email_key)
    data["suppressed"] = (
        None
        if suppressed is None
        else {"reason": suppressed.reason.value, "since": suppressed.created_at.isoformat()}
    )
    return data


def forget(
    session: Session, email: str, *, source: str = "cli", now: datetime | None = None
) -> None:
    """Erase the subscriber's personal data (GDPR art. 17). Only the SHA-256 of the
    address stays, on the suppression list, so that no later import mails it again."""
    subscriber = find_subscriber(session, email)
    suppress(
        session,
        subscriber.email_key,
        SuppressionReason.FORGOTTEN,
        source=source,
        now=now or utcnow(),
    )
    # The cascade deletes their ledger rows behind the tallies' back.
    tallies.take(session.connection(), Delivery.subscriber_id == subscriber.id)
    session.delete(subscriber)
