"""Fast multi-row inserts for imports.

SQLAlchemy converts every parameter of every row through its type (datetimes, JSON,
enums) inside its own loop; for a million-row import that loop costs more than the
database. Here each column's converter is looked up once, values that are the same for
every row (the import's timestamp) are converted once, and the rows go to the driver's
``executemany`` directly. The SQL is still compiled by SQLAlchemy for the dialect.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Integer,
    String,
    Table,
    any_,
    bindparam,
    false,
    func,
    insert,
    literal_column,
    Select,
    select,
)
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute

__all__ = ["bulk_insert", "in_values"]


def bulk_insert(
    connection: Connection,
    model: type[DeclarativeBase],
    rows: Sequence[Mapping[str, Any]],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``rows`` (dicts with the same keys) plus ``constants`` in every row."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    constants = dict(constants or {})
    names = [*rows[0].keys(), *constants]
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=names)
    converters: dict[str, Callable[[Any], Any] | None] = {
        name: table.c[name].type._cached_bind_processor(dialect) for name in names
    }
    fixed = {
        name: (convert(value) if (convert := converters[name]) else value)
        for name, value in constants.items()
    }
    order: Sequence[str] = compiled.positiontup or names
    plan = [(name, fixed.get(name), converters[name], name in fixed) for name in order]

    def convert_row(row: Mapping[str, Any]) -> list[Any]:
        out = []
        for name, value, convert, is_fixed in plan:
            if is_fixed:
                out.append(value)
            else:
                raw = row[name]
                out.append(convert(raw) if convert is not None and raw is not None else raw)
        return out

    if compiled.positional:
        params: list[Any] = [tuple(convert_row(row)) for row in rows]
    else:
        params = [dict(zip(order, convert_row(row), strict=True)) for row in rows]
    connection.exec_driver_sql(str(compiled), params)


def in_values(
    connection: Connection,
    column: ColumnElement[Any] | QueryableAttribute[Any],
    values: Sequence[str | int],
) -> ColumnElement[bool]:
    """``column IN values`` with one parameter instead of one per value: compiling
    thousands of parameters costs more than running the query. The values travel as a
    JSON array on SQLite and as an array on PostgreSQL."""
    if not values:
        return false()
    item_type: Any = String() if isinstance(values[0], str) else Integer()
    if connection.dialect.name == "sqlite":
        items: Select[Any] = select(literal_column("value")).select_from(
            func.json_each(bindparam(None, json.dumps(list(values)), type_=String()))
        )
        return column.in_(items.scalar_subquery())
    if connection.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(item_type)))
    return column.in_(list(values))
