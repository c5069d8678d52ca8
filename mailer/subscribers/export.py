"""Writing a list's members to CSV, in a layout the importer reads back."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from mailer.exceptions import FileInputError
from mailer.storage.models import SubscriptionStatus
from mailer.subscribers.csv_cells import SafeWriter
from mailer.subscribers.subscriptions import iter_subscriptions

__all__ = ["EXPORT_COLUMNS", "export_list"]

EXPORT_COLUMNS = ("email", "name", "status", "tags", "timezone", "attributes", "subscribed_at")


def export_list(
    session: Session, list_name: str, path: Path, status: SubscriptionStatus | None = None
) -> int:
    """Write the members of a list to ``path``; returns how many rows were written.
    Tags are comma-separated and attributes JSON, as ``mailer subscribers import``
    reads them; a cell a spreadsheet would run as a formula is escaped (see csv_cells)."""
    rows = iter_subscriptions(session, list_name, status)
    count = 0
    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = SafeWriter(handle)
            writer.writerow(EXPORT_COLUMNS)
            for subscriber, subscription in rows:
                writer.writerow(
                    [
                        subscriber.email,
                        subscriber.name,
                        subscription.status.value,
                        ",".join(subscriber.tags),
                        subscriber.timezone or "",
                        json.dumps(subscriber.attributes, ensure_ascii=False)
                        if subscriber.attributes
                        else "",
                        subscription.created_at.isoformat(),
                    ]
                )
                count += 1
    except OSError as err:
        raise FileInputError(path, f"cannot write: {err.strerror or err}") from None
    return count
