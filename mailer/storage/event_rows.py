"""Inserting events as rows, not as ORM objects: a session's flush inserts them one
statement each on SQLite, which cannot say which id RETURNING gave which row, and a
batch of tracking hits is thousands. :func:`insert_events` writes them in one statement
(an executemany on SQLite, one array a column on PostgreSQL) and sets their ids.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, ColumnDefault, Table, func, insert, select, text
from sqlalchemy.engine import Connection

from mailer.storage.events import Event

__all__ = ["insert_events"]


def insert_events(connection: Connection, events: Sequence[Event]) -> None:
    """Insert ``events`` in one statement (or one executemany) and set their ids."""
    table = Event.__table__
    assert isinstance(table, Table)
    columns = [column for column in table.columns if column.key != "id"]
    rows = [_row(event, columns) for event in events]
    if connection.dialect.name == "postgresql":
        ids = _insert_arrays(connection, columns, rows)
    else:
        # SQLite gives each new row the highest id plus one, and the transaction holds
        # the file's write lock from the first row on: ours are the last len(rows).
        connection.execute(insert(table), rows)
        last = connection.scalar(_last_id())
        assert last is not None
        ids = list(range(last - len(rows) + 1, last + 1))
    for event, event_id in zip(events, ids, strict=True):
        event.id = event_id


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
) -> list[int]:
    """Insert ``rows`` on PostgreSQL as one array a column (``unnest``), their ids taken
    from the sequence first: a statement of a thousand rows' VALUES costs psycopg more to
    read (a regular expression over all of it, never cached) than the server to run,
    a fifth of a millisecond a row."""
    ids = list(connection.scalars(_next_ids(), {"n": len(rows)}))
    arrays: dict[str, list[Any]] = {"id": ids}
    for column in columns:
        process = column.type._cached_bind_processor(connection.dialect)
        values = [row[column.key] for row in rows]
        arrays[column.key] = [process(v) for v in values] if process else values
    connection.execute(_insert_unnest(tuple(arrays)), arrays)
    return ids


@functools.cache
def _next_ids() -> Any:
    return text(
        "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, :n)"
    )


@functools.cache
def _insert_unnest(names: tuple[str, ...]) -> Any:
    # ``raw`` is the JSON text SQLAlchemy makes of each value: text[] casts to jsonb[].
    arrays = ", ".join(f"CAST(:{name} AS {_PG_TYPES[name]}[])" for name in names)
    columns = ", ".join(names)
    return text(f"INSERT INTO events ({columns}) SELECT * FROM unnest({arrays})")


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
