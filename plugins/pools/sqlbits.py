"""Small SQL helpers that read the same on SQLite and PostgreSQL.

They run on every claim (record rules, masks, counters), so what does not depend on the values is
built once: the padded list text per column, and the INSERT … ON CONFLICT statements per table and
set of columns (the values are bound at execution).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


@lru_cache(maxsize=512)
def _padded(column: Any) -> sa.ColumnElement[str]:
    """``' ' || column's text with brackets, commas and quotes as spaces || ' '`` (built once per column)."""
    text = sa.cast(column, sa.Text)
    for mark in ("[", "]", ",", '"'):
        text = sa.func.replace(text, mark, " ")
    return sa.literal(" ") + text + sa.literal(" ")


def list_has(column: Any, value: int | str) -> sa.ColumnElement[bool]:
    """Whether the JSON list in ``column`` holds ``value`` (an int, or a word without quotes or commas).

    The list's text (``[1, 2]``, ``["phone", "email"]`` — the same on both databases) is padded and
    its brackets, commas and quotes turned into spaces, so ``' 5 '`` is found only as a whole item.
    """
    return _padded(column).like(f"% {value} %")


@lru_cache(maxsize=256)
def _on_conflict(dialect: str, table: sa.Table, columns: tuple[str, ...], keys: tuple[str, ...], update: tuple[str, ...]) -> Any:
    """``INSERT INTO table (columns) … ON CONFLICT (keys) DO NOTHING`` (no ``update``) or ``DO UPDATE SET``
    the ``update`` columns to the new row's, with every value a bound parameter named after its column."""
    statement = (postgresql if dialect == "postgresql" else sqlite).insert(table).values({c: sa.bindparam(c) for c in columns})
    if not update:
        return statement.on_conflict_do_nothing(index_elements=list(keys))
    return statement.on_conflict_do_update(index_elements=list(keys), set_={name: statement.excluded[name] for name in update})


def insert_ignoring(conn: sa.Connection, table: sa.Table, row: dict[str, Any], keys: list[str]) -> None:
    """Insert ``row`` unless a row with the same ``keys`` exists (safe against a concurrent insert)."""
    conn.execute(_on_conflict(conn.dialect.name, table, tuple(row), tuple(keys), ()), row)


def upsert(conn: sa.Connection, table: sa.Table, row: dict[str, Any], keys: list[str], update: list[str]) -> None:
    """Insert ``row``, or set the ``update`` columns of the row with the same ``keys`` to its values."""
    conn.execute(_on_conflict(conn.dialect.name, table, tuple(row), tuple(keys), tuple(update)), row)


def upsert_many(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], keys: list[str], update: list[str]) -> None:
    """:func:`upsert` for rows with the same columns, in one executemany."""
    if rows:
        conn.execute(_on_conflict(conn.dialect.name, table, tuple(rows[0]), tuple(keys), tuple(update)), rows)
