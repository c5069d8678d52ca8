"""Fast multi-row inserts and IN lists for imports.

SQLAlchemy converts every parameter of every row through its type inside its own loop;
for a million-row import that loop cost more than the database. Here each column's
converter is looked up once and applied only where a column has one, values that are the
same for every row (the import's timestamp) are written into the statement once, and the
rows go to the driver's ``executemany`` directly. The SQL is still compiled by
SQLAlchemy for the dialect.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    Table,
    any_,
    bindparam,
    false,
    func,
    insert,
    literal,
    literal_column,
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
    """Insert ``rows`` (dicts with the same keys), each with the ``constants`` too."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    dialect = connection.dialect
    names = list(rows[0].keys())
    # Values the same in every row are written into the statement once, as literals.
    fixed: dict[str, Any] = {
        name: literal_column(
            str(
                literal(value, table.c[name].type).compile(
                    dialect=dialect, compile_kwargs={"literal_binds": True}
                )
            )
        )
        for name, value in (constants or {}).items()
    }
    compiled = insert(table).inline().values(fixed).compile(dialect=dialect, column_keys=names)
    order: list[str] = list(compiled.positiontup or names)
    get = itemgetter(*order)
    converters = [
        (at, convert)
        for at, name in enumerate(order)
        if (convert := table.c[name].type._cached_bind_processor(dialect)) is not None
    ]
    params: list[Any] = []
    for row in rows:
        values = list(get(row)) if len(order) > 1 else [get(row)]
        for at, convert in converters:
            if values[at] is not None:
                values[at] = convert(values[at])
        params.append(
            tuple(values) if compiled.positional else dict(zip(order, values, strict=True))
        )
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
