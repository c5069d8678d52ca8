"""Events and the counters kept with them: a campaign's events of each kind, per
five-minute slot, in total and "first" (the first of their kind for their message,
which is what a unique count counts), so that the reports of a campaign of a million
messages sum a few thousand rows instead of counting a million events.

:func:`record_events` is the one way events are stored: it adds them and brings the
counters up to date in the same transaction, so the two never disagree.

Which event is the first of its kind for its message is told by ``event_firsts``
(:mod:`mailer.storage.event_rows`, which inserts the events and those rows together).
An event without a ledger row (one a webhook could not tie) is the first on its own, as
the unique counts have always counted it.

Slots are five minutes (the narrowest bucket a timeline draws) rather than hours: a
week of a campaign is at most about 2,000 slots per kind.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from mailer.storage.event_rows import insert_events, pg_arrays, pg_new, pg_store, set_ids
from mailer.storage.events import Event, EventKind
from mailer.storage.models import Base, string_enum

__all__ = ["SHARDS", "SLOT", "EventCount", "pg_count", "pg_shard", "record_events", "slot_of"]

#: The width of a counter's slot.
SLOT = timedelta(minutes=5)


#: How many rows a slot's count of a kind may be spread over on PostgreSQL.
SHARDS = 16


class EventCount(Base):
    __tablename__ = "event_counts"
    __table_args__ = (PrimaryKeyConstraint("campaign_id", "kind", "hard", "slot", "shard"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    kind: Mapped[EventKind] = mapped_column(string_enum(EventKind))
    hard: Mapped[bool] = mapped_column()
    # The start of the five-minute slot (UTC) the events occurred in.
    slot: Mapped[datetime] = mapped_column()
    total: Mapped[int] = mapped_column(BigInteger)
    first: Mapped[int] = mapped_column(BigInteger)
    # Which of the slot's rows (the reports sum them). Every write of a campaign's
    # events updates its slot's row, and a row stays locked until its transaction's
    # commit is on disk: with one row, two workers' unsubscribe groups took turns at
    # it, each waiting for the other's fsync. On PostgreSQL a statement takes one of
    # SHARDS at random; on SQLite, whose writers take turns anyway, it is always 0.
    shard: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")


def slot_of(moment: datetime) -> datetime:
    """The start of the slot ``moment`` falls in."""
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


# The statements are made once: making them cost more than running them
# (an ON CONFLICT's ``excluded`` builds its columns anew each time).


@functools.cache
def _add_counts() -> Any:
    table = EventCount.__table__
    assert isinstance(table, Table)
    statement = sqlite.insert(table)
    return statement.on_conflict_do_update(
        index_elements=["campaign_id", "kind", "hard", "slot", "shard"],
        set_={
            "total": statement.table.c.total + statement.excluded.total,
            "first": statement.table.c.first + statement.excluded.first,
        },
    )


def record_events(session: Session, events: Sequence[Event]) -> None:
    """Store ``events`` and count them, in the session's transaction. Raises what the
    insert raises (an event recorded twice): then nothing of it may be committed, so
    callers that go on run it in a savepoint.

    The events are inserted as rows (:mod:`mailer.storage.event_rows`), not added to the
    session: they stay transient, their ``id`` set. On PostgreSQL the events, their
    firsts and their counts are one statement, on SQLite four."""
    if not events:
        return
    # What the session holds is written first, as its own statements would have done
    # (a campaign the events name, say): those below go to its connection directly.
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        arrays = pg_arrays(connection, events)
        set_ids(events, connection.scalars(_pg_record(), {**arrays, "shard": pg_shard()}))
        return
    firsts = insert_events(connection, events)
    counted = [e for e in events if e.campaign_id is not None]
    if not counted:
        return
    rows: dict[tuple[int, str, bool, datetime], list[int]] = {}
    for event in counted:
        assert event.campaign_id is not None
        key = (event.campaign_id, EventKind(event.kind).value, bool(event.hard))
        row = rows.setdefault((*key, slot_of(event.occurred_at)), [0, 0])
        row[0] += 1
        row[1] += event.delivery_id is None or event.id in firsts
    connection.execute(
        _add_counts(),
        [
            {"campaign_id": c, "kind": k, "hard": h, "slot": s, "total": t, "first": f}
            # In key order, as every writer takes them.
            for (c, k, h, s), (t, f) in sorted(rows.items())
        ],
    )


def pg_count(source: str) -> str:
    """The parts of a PostgreSQL ``WITH`` that store the events of relation ``source``
    (as :func:`~mailer.storage.event_rows.pg_store` reads it), their firsts and their
    counts, as :func:`record_events` does on SQLite, in shard ``:shard`` (bind
    :func:`pg_shard`): the counters' rows in key order, as every writer takes them, so
    that two writers wait for each other's rows without deadlocking. The slot is
    :func:`slot_of`'s, as migration 0007 computes it."""
    slot = (
        "date_trunc('hour', occurred_at) "
        "+ floor(extract(minute FROM occurred_at) / 5) * interval '5 minutes'"
    )
    return (
        f"{pg_store(source)}, "
        "counted AS (INSERT INTO event_counts "
        "(campaign_id, kind, hard, slot, shard, total, first) "
        f"SELECT campaign_id, kind, hard, {slot}, CAST(:shard AS smallint), count(*), "
        "count(*) FILTER (WHERE delivery_id IS NULL OR id IN (SELECT event_id FROM firsts)) "
        f"FROM {source} WHERE campaign_id IS NOT NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 "
        "ON CONFLICT (campaign_id, kind, hard, slot, shard) DO UPDATE SET "
        "total = event_counts.total + excluded.total, first = event_counts.first + excluded.first)"
    )


def pg_shard() -> int:
    """The shard of the counters' rows a statement on PostgreSQL writes (at random: two
    writers at once take the same one time in SHARDS)."""
    return random.randrange(SHARDS)


@functools.cache
def _pg_record() -> Any:
    return text(f"WITH {pg_new()}, {pg_count('new')} SELECT id FROM new ORDER BY n")
