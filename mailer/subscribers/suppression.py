"""The global suppression list: addresses no campaign may mail, on any list."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mailer.addresses import address_hash
from mailer.storage.models import Suppression, SuppressionReason
from mailer.storage.types import utcnow

__all__ = ["lift", "suppress", "suppressed_hashes", "suppression_counts", "suppression_of"]


def suppression_of(session: Session, key: str) -> Suppression | None:
    return session.scalar(select(Suppression).where(Suppression.address_hash == address_hash(key)))


def suppressed_hashes(session: Session, hashes: Iterable[str]) -> set[str]:
    """Which of these address hashes are suppressed."""
    wanted = list(hashes)
    if not wanted:
        return set()
    rows = session.scalars(
        select(Suppression.address_hash).where(Suppression.address_hash.in_(wanted))
    )
    return set(rows)


def suppress(
    session: Session,
    key: str,
    reason: SuppressionReason,
    *,
    source: str = "cli",
    now: datetime | None = None,
) -> Suppression:
    """Suppress an address; an existing entry keeps its first reason unless the new one
    is the stronger ``forgotten``."""
    existing = suppression_of(session, key)
    if existing is not None:
        if reason is SuppressionReason.FORGOTTEN:
            existing.reason = reason
        return existing
    entry = Suppression(
        address_hash=address_hash(key), reason=reason, source=source, created_at=now or utcnow()
    )
    session.add(entry)
    session.flush()
    return entry


def lift(session: Session, key: str) -> bool:
    """Remove an address from the suppression list (it consented again)."""
    result = session.execute(
        delete(Suppression).where(Suppression.address_hash == address_hash(key))
    )
    return bool(getattr(result, "rowcount", 0))


def suppression_counts(session: Session) -> dict[str, int]:
    """How many addresses are suppressed, by reason (every reason, 0 where none), for the
    dashboard. Not per list: an entry is a hash of an address, which no list row holds,
    and matching them would hash every member."""
    rows = session.execute(
        select(Suppression.reason, func.count()).group_by(Suppression.reason)
    ).all()
    counted = {SuppressionReason(reason).value: count for reason, count in rows}
    return {reason.value: counted.get(reason.value, 0) for reason in SuppressionReason}
