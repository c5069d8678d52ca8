"""Test sends: the real message of a campaign to a few addresses, marked as a test and
kept out of the ledger."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from mailer.addresses import normalize_address
from mailer.campaigns.dispatch import BatchWorker
from mailer.campaigns.ledger import Claimed
from mailer.campaigns.records import get_campaign, list_ids, require_campaign_ready
from mailer.delivery.base import Backend
from mailer.delivery.message import Batch, RecipientResult
from mailer.settings import Settings
from mailer.storage.database import Database
from mailer.storage.models import Subscriber

__all__ = ["send_test"]


def send_test(
    database: Database,
    settings: Settings,
    backend: Backend,
    campaign_id: int,
    addresses: Sequence[str],
) -> list[RecipientResult]:
    """Send the campaign to ``addresses`` with "[TEST]" before its subject. A stored
    subscriber gets their own personalised copy; anyone else a copy with empty fields."""
    worker = BatchWorker(database, settings, backend, test=True)
    with database.session() as session:
        require_campaign_ready(session, settings, campaign_id)
        campaign = get_campaign(session, campaign_id)
        first_list = list_ids(campaign)[0]
        rows = []
        for number, raw in enumerate(addresses, start=1):
            address = normalize_address(raw)
            person = session.scalar(select(Subscriber).where(Subscriber.email_key == address.key))
            rows.append(
                Claimed(
                    delivery_id=number,
                    subscriber_id=person.id if person else 0,
                    list_id=first_list,
                    attempts=1,
                    email=person.email if person else address.email,
                    name=person.name if person else "",
                    attributes=person.attributes if person else {},
                    tags=person.tags if person else [],
                    timezone=person.timezone if person else None,
                )
            )
        uid = f"{campaign.uid}.test"
    parts = worker.parts(campaign_id)
    recipients = [worker.recipient(campaign_id, row, uid) for row in rows]
    with backend:
        return backend.send_batch(Batch(parts.content, recipients))
