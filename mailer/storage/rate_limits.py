"""Rate-limit hits kept in the database, so that every web worker process counts the
same ones: a row per hit, a key's hits over the window counted when it is hit again.

Keys are stored hashed (SHA-256): a limit per client would otherwise keep its address.
Two hits of one key at once are taken in turn, not both under the limit: on PostgreSQL
an advisory lock of the key's hash orders them; on SQLite the first statement (a
delete) takes the file's write lock, which the transaction holds until it commits.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import BigInteger, Float, Index, Integer, String, delete, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from mailer.storage.models import Base

__all__ = ["RateLimitHit", "take_hit"]


class RateLimitHit(Base):
    __tablename__ = "rate_limit_hits"
    __table_args__ = (
        Index("ix_rate_limit_hits_key_at", "key", "at"),
        Index("ix_rate_limit_hits_at", "at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    # The SHA-256 of the limit's key, in hex.
    key: Mapped[str] = mapped_column(String(64))
    # When, in seconds since 1970 (the limit's own clock).
    at: Mapped[float] = mapped_column(Float)


_DELETE_UNLOCKED = text(
    "DELETE FROM rate_limit_hits WHERE id IN "
    "(SELECT id FROM rate_limit_hits WHERE at <= :cutoff FOR UPDATE SKIP LOCKED)"
)


def take_hit(session: Session, key: str, limit: int, window: float, now: float) -> bool:
    """Count a hit of ``key`` at ``now`` unless it already had ``limit`` in the last
    ``window`` seconds; whether it was counted. Hits older than the window, of every
    key, are deleted on the way."""
    hashed = hashlib.sha256(key.encode()).hexdigest()
    cutoff = now - window
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": hashed}
        )
        # The old rows that another transaction is deleting are left to it: waiting for
        # it would put every hit behind the longest transaction that holds one (a
        # subscription's, which takes its hits in its own transaction).
        session.execute(_DELETE_UNLOCKED, {"cutoff": cutoff})
    else:
        session.execute(delete(RateLimitHit).where(RateLimitHit.at <= cutoff))
    # Within the window: a row of this key left to another transaction to delete is
    # still there.
    count = session.scalar(
        select(func.count())
        .select_from(RateLimitHit)
        .where(RateLimitHit.key == hashed, RateLimitHit.at > cutoff)
    )
    if (count or 0) >= limit:
        return False
    session.add(RateLimitHit(key=hashed, at=now))
    return True
