"""The audit log: every change made through the admin (and ``mailer users``), with who
made it and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
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
    session: Session, *, before: int | None = None, actor: str = "", limit: int = 50
) -> list[AuditEntry]:
    """The newest entries first; ``before`` an entry's id pages back."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    return list(session.scalars(query))
