"""Inserting events as rows, not as ORM objects: a session's flush inserts them one
statement each on SQLite, which cannot say which id RETURNING gave which row, and a
batch of tracking hits is thousands. :func:`insert_events` writes them, sets their ids
and tells which of them are the first of their kind for their message.

Which event is the first is told by ``event_firsts``, a row per (campaign, ledger row,
kind, hard) whose primary key the database guards: the event whose ``INSERT ... ON
CONFLICT DO NOTHING`` inserts it is the first, on PostgreSQL too when two requests
record opens of one message at once (the second waits for the first to commit, then
finds the row). An index lookup on ``events`` would race there. An event without a
ledger row (one a webhook could not tie) is the first on its own, as the unique counts
have always counted it.

On SQLite that is three statements (an executemany of the events, their last id, the
firsts' executemany); on PostgreSQL one, every column one array: ids from the
sequence, the events and their firsts inserted by the same statement. A group of
unsubscribes, say, is a few milliseconds of round trips and of their Python, and these
were three of its eight.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnDefault,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    Table,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from mailer.storage.events import Event, EventKind
from mailer.storage.models import Base, string_enum

__all__ = ["EventFirst", "insert_events"]


class EventFirst(Base):
    __tablename__ = "event_firsts"
    # The campaign leads so that deleting a campaign deletes its rows by the key.
    __table_args__ = (PrimaryKeyConstraint("campaign_id", "delivery_id", "kind", "hard"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # The ledger row's bare number, like the events' (no foreign key: forgetting a
    # subscriber deletes the row and must not change the counts).
    delivery_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    kind: Mapped[EventKind] = mapped_column(string_enum(EventKind))
    hard: Mapped[bool] = mapped_column()
    # Which event it was, for anyone who checks the counters against the events.
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))


def insert_events(connection: Connection, events: Sequence[Event]) -> set[int]:
    """Insert ``events``, set their ids, and record the firsts among those of a ledger
    row; the ids of those firsts. Raises what the insert raises (an event recorded
    twice, a campaign deleted meanwhile)."""
    table = Event.__table__
    assert isinstance(table, Table)
    columns = [column for column in table.columns if column.key != "id"]
    rows = [_row(event, columns) for event in events]
    if connection.dialect.name == "postgresql":
        ids, firsts = _insert_arrays(connection, columns, rows)
        _set_ids(events, ids)
        return firsts
    # SQLite gives each new row the highest id plus one, and the transaction holds the
    # file's write lock from the first row on: ours are the last len(rows).
    connection.execute(insert(table), rows)
    last = connection.scalar(_last_id())
    assert last is not None
    _set_ids(events, range(last - len(rows) + 1, last + 1))
    return _sqlite_firsts(connection, events)


def _set_ids(events: Sequence[Event], ids: Iterable[int]) -> None:
    for event, event_id in zip(events, ids, strict=True):
        event.id = event_id


def _sqlite_firsts(connection: Connection, events: Sequence[Event]) -> set[int]:
    candidates: dict[tuple[int, int, str, bool], int] = {}
    for event in events:
        if event.campaign_id is not None and event.delivery_id is not None:
            key = (event.campaign_id, event.delivery_id, EventKind(event.kind).value, event.hard)
            candidates.setdefault(key, event.id)
    if not candidates:
        return set()
    values = [
        {"campaign_id": c, "delivery_id": d, "kind": k, "hard": h, "event_id": event_id}
        for (c, d, k, h), event_id in sorted(candidates.items())
    ]
    return set(connection.scalars(_add_firsts(), values))


@functools.cache
def _add_firsts() -> Any:
    table = EventFirst.__table__
    assert isinstance(table, Table)
    return sqlite.insert(table).on_conflict_do_nothing().returning(table.c.event_id)


#: The events' columns as PostgreSQL has them (as the migrations made them), for the
#: arrays.
_PG_TYPES = {
    "id": "bigint",
    "kind": "varchar",
    "hard": "boolean",
    "campaign_id": "integer",
    "delivery_id": "bigint",
    "subscriber_id": "integer",
    "list_id": "integer",
    "link_index": "integer",
    "url": "text",
    "occurred_at": "timestamp",
    "recorded_at": "timestamp",
    "provider": "varchar",
    "provider_event_id": "varchar",
    "reason": "text",
    "raw": "jsonb",
}


def _insert_arrays(
    connection: Connection, columns: list[Column[Any]], rows: list[dict[str, Any]]
) -> tuple[list[int], set[int]]:
    """Insert ``rows`` on PostgreSQL as one array a column (``unnest``), and their
    firsts; their ids in order, and those of the firsts. One array a column: a
    statement of a thousand rows' VALUES costs psycopg more to read (a regular
    expression over all of it, never cached) than the server to run, a fifth of a
    millisecond a row."""
    arrays: dict[str, list[Any]] = {}
    for column in columns:
        process = column.type._cached_bind_processor(connection.dialect)
        values = [row[column.key] for row in rows]
        arrays[column.key] = [process(v) for v in values] if process else values
    ids: list[int] = []
    firsts: set[int] = set()
    for event_id, first in connection.execute(_insert_unnest(tuple(arrays)), arrays):
        ids.append(event_id)
        if first:
            firsts.add(event_id)
    return ids, firsts


@functools.cache
def _insert_unnest(names: tuple[str, ...]) -> Any:
    # ``new`` is materialized (nextval is volatile): the events, their firsts and the
    # answer all read the same rows and ids. Each data-modifying part runs once, to its
    # end, whether or not the outer query reads it. The firsts are taken in key order,
    # as every writer takes them: two writers wait for each other's rows without a
    # deadlock. ``raw`` is the JSON text SQLAlchemy makes of each value: text[] casts to
    # jsonb[].
    arrays = ", ".join(f"CAST(:{name} AS {_PG_TYPES[name]}[])" for name in names)
    columns = ", ".join(names)
    return text(
        f"WITH new AS MATERIALIZED ("
        f"SELECT nextval(pg_get_serial_sequence('events', 'id')) AS id, u.* "
        f"FROM unnest({arrays}) WITH ORDINALITY AS u({columns}, n)), "
        f"stored AS (INSERT INTO events (id, {columns}) SELECT id, {columns} FROM new), "
        "firsts AS (INSERT INTO event_firsts (campaign_id, delivery_id, kind, hard, event_id) "
        "SELECT DISTINCT ON (campaign_id, delivery_id, kind, hard) "
        "campaign_id, delivery_id, kind, hard, id FROM new "
        "WHERE campaign_id IS NOT NULL AND delivery_id IS NOT NULL "
        "ORDER BY campaign_id, delivery_id, kind, hard, n "
        "ON CONFLICT DO NOTHING RETURNING event_id) "
        "SELECT new.id, firsts.event_id IS NOT NULL FROM new "
        "LEFT JOIN firsts ON firsts.event_id = new.id ORDER BY new.n"
    )


def _row(event: Event, columns: list[Column[Any]]) -> dict[str, Any]:
    """``event``'s values by column; a column it leaves unset takes its default, on the
    event too, as a flush would fill it."""
    values = event.__dict__
    row = {}
    for column in columns:
        value = values.get(column.key)
        if value is None and column.default is not None:
            default = column.default
            assert isinstance(default, ColumnDefault)
            value = default.arg(None) if default.is_callable else default.arg
            setattr(event, column.key, value)
        row[column.key] = value
    return row


@functools.cache
def _last_id() -> Any:
    return select(func.max(Event.__table__.c.id))
