"""The tests' own databases: a migrated site is reused, never with a previous test's rows in it.

On SQLite a template file is copied; on PostgreSQL the schema a test used is reset (its rows
deleted, the migration's rows and the sequences put back) and handed to the next test, unless
the test changed its structure.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kernel.testdatabases import TestDatabases
from kernel.testing import postgres_url


def _migrate(calls: list[str]) -> Any:
    def migrate(url: str) -> None:
        calls.append(url)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            key = "INTEGER PRIMARY KEY" if engine.dialect.name == "sqlite" else "SERIAL PRIMARY KEY"
            conn.execute(sa.text(f"CREATE TABLE kinds (id {key}, name TEXT NOT NULL)"))
            conn.execute(sa.text(f"CREATE TABLE things (id {key}, kind_id INTEGER REFERENCES kinds (id), name TEXT)"))
            conn.execute(sa.text("INSERT INTO kinds (name) VALUES ('seeded')"))
        engine.dispose()

    return migrate


def _rows(url: str) -> tuple[list[str], list[str], int]:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        kinds = list(conn.scalars(sa.text("SELECT name FROM kinds ORDER BY id")))
        things = list(conn.scalars(sa.text("SELECT name FROM things ORDER BY id")))
        next_id = conn.scalar(sa.text("INSERT INTO kinds (name) VALUES ('probe') RETURNING id"))
    engine.dispose()
    return kinds, things, next_id


def _write(url: str, statement: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(statement))
    engine.dispose()


def test_a_migrated_site_is_reused_clean_and_a_changed_one_is_not(tmp_path):
    databases = TestDatabases(postgres_url())
    calls: list[str] = []
    try:
        first = databases.fresh(_folder(tmp_path, "a"))
        databases.copy_migrated("key", None, first, _migrate(calls))
        _write(first, "INSERT INTO kinds (name) VALUES ('added'), ('another')")
        _write(first, "INSERT INTO things (kind_id, name) VALUES (1, 'a thing')")
        databases.drop(first)

        second = databases.fresh(_folder(tmp_path, "b"))
        assert databases.is_empty(second)
        databases.copy_migrated("key", None, second, _migrate(calls))
        assert len(calls) == 1  # migrated once, for the first test
        assert _rows(second) == (["seeded"], [], 2)  # the first test's rows are gone; ids go on as after the migration
        if databases.base_url is not None:
            _write(second, "ALTER TABLE things ADD COLUMN note TEXT")  # a changed structure is not handed on
            databases.drop(second)
            third = databases.fresh(_folder(tmp_path, "c"))
            databases.copy_migrated("key", None, third, _migrate(calls))
            assert len(calls) == 2
            assert _rows(third) == (["seeded"], [], 2)
            databases.drop(third)
            with sa.create_engine(databases.base_url).connect() as conn:
                left = conn.scalar(sa.text("SELECT count(*) FROM pg_namespace WHERE nspname = ANY(:names)"),
                                   {"names": [databases._schema(u) for u in (first, second, third)]})
            assert left == 0
    finally:
        databases.close()


def _folder(tmp_path: Any, name: str) -> Any:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    return folder
