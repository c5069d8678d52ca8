"""The pause a provider's "too many" (SendGrid's 429) puts on every worker.

The worker whose request was refused writes how long to hold off into
``send_throttles``; every worker of every machine reads it before it hands a batch to
that backend, so the provider sees the whole send slow down, not one worker of it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert

from mailer.storage.models import Throttle

__all__ = ["held_off", "hold_off"]


def hold_off(conn: Connection, backend: str, seconds: float, reason: str, now: datetime) -> None:
    """No batch goes to ``backend`` for ``seconds`` from ``now`` (a hold that ends later
    stays)."""
    until = now + timedelta(seconds=max(seconds, 0.0))
    statement = insert(Throttle).values(backend=backend, until=until, reason=reason[:500])
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[Throttle.backend],
            set_={"until": until, "reason": statement.excluded.reason},
            where=Throttle.until < until,
        )
    )


def held_off(conn: Connection, backend: str, now: datetime) -> float:
    """The seconds left before a batch may go to ``backend`` (0: at once)."""
    until = conn.scalar(select(Throttle.until).where(Throttle.backend == backend))
    if until is None:
        return 0.0
    return max((until - now).total_seconds(), 0.0)
