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
firsts' executemany). On PostgreSQL the events are one array a column
(:func:`pg_arrays`), and one statement takes their ids from the sequence and inserts
them and their firsts (:func:`pg_new`, :func:`pg_store`), and their counts
(:func:`mailer.storage.counters.pg_count`); a group of unsubscribes puts these parts
after its own (:mod:`mailer.web.leaving`). A group of unsubscribes is a few
milliseconds of round trips and of their Python: each statement was one more.
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
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from mailer.storage.events import Event, EventKind
from mailer.storage.models import Base, string_enum

__all__ = [
    "PG_NEXT_ID",
    "PG_TYPES",
    "EventFirst",
    "insert_events",
    "pg_arrays",
    "pg_new",
    "pg_store",
    "pg_values",
    "set_ids",
]


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
    """Insert ``events`` on SQLite, set their ids, and record the firsts among those of a
    ledger row; the ids of those firsts. Raises what the insert raises (an event
    recorded twice, a campaign deleted meanwhile). On PostgreSQL the events are
    inserted by a statement of their own (:func:`pg_new`, :func:`pg_store`)."""
    table = Event.__table__
    assert isinstance(table, Table)
    rows = [_row(event) for event in events]
    # SQLite gives each new row the highest id plus one, and the transaction holds the
    # file's write lock from the first row on: ours are the last len(rows).
    connection.execute(insert(table), rows)
    last = connection.scalar(_last_id())
    assert last is not None
    set_ids(events, range(last - len(rows) + 1, last + 1))
    return _sqlite_firsts(connection, events)


def set_ids(events: Sequence[Event], ids: Iterable[int]) -> None:
    """Give ``events`` the ids the database gave their rows, in order."""
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
#: arrays and the casts.
PG_TYPES = {
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


def pg_values(connection: Connection, event: Event) -> dict[str, Any]:
    """``event``'s values by column, as a PostgreSQL statement binds them."""
    return {name: values[0] for name, values in pg_arrays(connection, [event]).items()}


def pg_arrays(connection: Connection, events: Sequence[Event]) -> dict[str, list[Any]]:
    """``events`` as one array a column, for :func:`pg_new`: a statement of a thousand
    rows' VALUES costs psycopg more to read (a regular expression over all of it,
    never cached) than the server to run, a fifth of a millisecond a row."""
    rows = [_row(event) for event in events]
    arrays: dict[str, list[Any]] = {}
    for column in _columns():
        process = column.type._cached_bind_processor(connection.dialect)
        values = [row[column.key] for row in rows]
        arrays[column.key] = [process(v) for v in values] if process else values
    return arrays


def pg_new() -> str:
    """``new``: the events of :func:`pg_arrays`' parameters, each with its id from the
    sequence and its place ``n``, for :func:`pg_store`."""
    names = [column.key for column in _columns()]
    arrays = ", ".join(f"CAST(:{name} AS {PG_TYPES[name]}[])" for name in names)
    # Materialized (nextval is volatile): every part reads the same rows and ids.
    # ``raw`` is the JSON text SQLAlchemy makes of each value: text[] casts to jsonb[].
    return (
        "new AS MATERIALIZED ("
        f"SELECT {PG_NEXT_ID} AS id, u.* "
        f"FROM unnest({arrays}) WITH ORDINALITY AS u({', '.join(names)}, n))"
    )


#: The next of the events' ids.
PG_NEXT_ID = "nextval(pg_get_serial_sequence('events', 'id'))"


def pg_store(source: str) -> str:
    """The parts of a PostgreSQL ``WITH`` that insert the events of relation ``source``
    (every column of the events, ``id`` as :data:`PG_NEXT_ID` gives it, and their order
    ``n``) and their firsts: ``firsts`` returns the ids of those that are.

    Each data-modifying part runs once, to its end, whether or not the query reads it.
    The firsts are taken in key order, as every writer takes them: two writers wait for
    each other's rows without a deadlock."""
    columns = ", ".join(["id", *(column.key for column in _columns())])
    return (
        f"stored AS (INSERT INTO events ({columns}) SELECT {columns} FROM {source}), "
        "firsts AS (INSERT INTO event_firsts (campaign_id, delivery_id, kind, hard, event_id) "
        "SELECT DISTINCT ON (campaign_id, delivery_id, kind, hard) "
        f"campaign_id, delivery_id, kind, hard, id FROM {source} "
        "WHERE campaign_id IS NOT NULL AND delivery_id IS NOT NULL "
        "ORDER BY campaign_id, delivery_id, kind, hard, n "
        "ON CONFLICT DO NOTHING RETURNING event_id)"
    )


@functools.cache
def _columns() -> list[Column[Any]]:
    """The events' columns but ``id``."""
    table = Event.__table__
    assert isinstance(table, Table)
    return [column for column in table.columns if column.key != "id"]


def _row(event: Event) -> dict[str, Any]:
    """``event``'s values by column; a column it leaves unset takes its default, on the
    event too, as a flush would fill it."""
    values = event.__dict__
    row = {}
    for column in _columns():
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
