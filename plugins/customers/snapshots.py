"""Whole rows as JSON and back, for merges that must be undone exactly."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from kernel import UTCDateTime, jsonable


def snapshot(conn: sa.Connection, table: sa.Table, record_id: int) -> dict[str, Any]:
    """Every column of one row (hidden ones too), JSON-able."""
    row = conn.execute(sa.select(table).where(table.c.id == record_id)).one()
    return jsonable(dict(row._mapping))  # type: ignore[no-any-return]


def column_value(column: sa.Column[Any], value: Any) -> Any:
    """A snapshot value as the column takes it."""
    if value is None:
        return None
    if isinstance(column.type, UTCDateTime | sa.DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, sa.Date):
        return date.fromisoformat(value)
    return value


def row_values(table: sa.Table, saved: dict[str, Any]) -> dict[str, Any]:
    """A snapshot as insertable column values."""
    return {column.name: column_value(column, saved.get(column.name)) for column in table.columns if column.name in saved}
