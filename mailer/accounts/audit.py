"""The audit log: every change made through the admin, the command line and the API,
with who made it and when. Who: an account's email address (the admin), ``cli:<Unix
user>`` (the command line) or ``api`` (the API's token)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from mailer.storage.accounts import AuditEntry

__all__ = ["audit", "recent_entries"]


def audit(
    session: Session,
    actor: str,
    action: str,
    target: str = "",
    *,
    now: datetime,
    **detail: Any,
) -> AuditEntry:
    """Writes one entry in the transaction of the change it records, so that the entry
    and the change are stored together or not at all."""
    entry = AuditEntry(at=now, actor=actor, action=action, target=target, detail=detail)
    session.add(entry)
    return entry


def recent_entries(
    session: Session,
    *,
    before: int | None = None,
    actor: str = "",
    action: str = "",
    limit: int = 50,
) -> list[AuditEntry]:
    """The newest entries first; ``before`` an entry's id pages back. ``actor`` keeps
    one who (``cli`` also keeps every ``cli:<user>``), ``action`` one action (``campaign``
    also keeps every ``campaign.<action>``)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if actor:
        query = query.where(_named(AuditEntry.actor, actor, ":"))
    if action:
        query = query.where(_named(AuditEntry.action, action, "."))
    return list(session.scalars(query))


def _named(column: Any, name: str, separator: str) -> ColumnElement[bool]:
    """``name`` itself, or a name it begins, up to ``separator`` (no wildcards)."""
    return or_(column == name, column.startswith(name + separator, autoescape=True))
