"""Small SQL helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def list_has(column: Any, value: int | str) -> sa.ColumnElement[bool]:
    """Whether the JSON list in ``column`` holds ``value`` (an int, or a word without quotes or commas).

    The list's text (``[1, 2]``, ``["phone", "email"]`` — the same on both databases) is padded and
    its brackets, commas and quotes turned into spaces, so ``' 5 '`` is found only as a whole item.
    """
    text = sa.cast(column, sa.Text)
    for mark in ("[", "]", ",", '"'):
        text = sa.func.replace(text, mark, " ")
    return (sa.literal(" ") + text + sa.literal(" ")).like(f"% {value} %")


def insert_ignoring(conn: sa.Connection, table: sa.Table, row: dict[str, Any], keys: list[str]) -> None:
    """Insert ``row`` unless a row with the same ``keys`` exists (safe against a concurrent insert)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).values(row).on_conflict_do_nothing(index_elements=keys))


def upsert(conn: sa.Connection, table: sa.Table, row: dict[str, Any], keys: list[str], update: list[str]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(row)
    conn.execute(statement.on_conflict_do_update(index_elements=keys, set_={name: statement.excluded[name] for name in update}))
