"""kernel.inserts: batch INSERTs in the driver's form store exactly what SQLAlchemy's own executemany stores."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from kernel import Actor, inserts
from kernel.db import JSONData, Money, UTCDateTime
from tests.example import plugin as notes_plugin

TRICKY = ["", "plain", 'quote " inside', "back\\slash", "comma, and {braces}", "tab\tand\nnew line", "NULL", "null", "  spaced  ", "客户贸易", "emoji 😀", "\\N"]


def _table(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name, metadata,
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), primary_key=True, autoincrement=True),
        sa.Column("text", sa.String(200)),
        sa.Column("body", sa.Text),
        sa.Column("count", sa.Integer),
        sa.Column("big", sa.BigInteger),
        sa.Column("flag", sa.Boolean),
        sa.Column("amount", Money()),
        sa.Column("day", sa.Date),
        sa.Column("at", UTCDateTime),
        sa.Column("doc", JSONData),
        sa.Column("tokens", sa.Text().with_variant(ARRAY(sa.Text), "postgresql")),
    )


def _rows(postgres: bool) -> list[dict]:
    rows = []
    for i, text in enumerate(TRICKY):
        rows.append({
            "text": text,
            "body": text * 3,
            "count": i - 5,
            "big": 2**40 + i,
            "flag": i % 2 == 0,
            "amount": Decimal("12345.67") * i,
            "day": date(2024, 1, 1) + timedelta(days=i),
            "at": datetime(2026, 12, 2, 8, 30, 15, 123456 + i, tzinfo=timezone(timedelta(hours=8))),
            "doc": {"name": text, "list": [1, 2.5, None, True, text], "nested": {"客户": [text]}, "n": i},
            "tokens": list(TRICKY[: i + 1]) if postgres else " ".join(TRICKY[: i + 1]),
        })
    nothing = {key: None for key in rows[0]}
    rows.append({**nothing, "doc": [], "tokens": [] if postgres else ""})
    rows.append({**nothing, "tokens": None})  # a JSON column's None is JSON null, as SQLAlchemy stores it
    return rows


def _stored(conn: sa.Connection, table: sa.Table) -> list[tuple]:
    """Every row as the database holds it: the driver's raw values on SQLite, each column's text on PostgreSQL."""
    columns = [c.name for c in table.c if c.name != "id"]
    if conn.dialect.name == "postgresql":
        select = ", ".join(f"{name}::text" for name in columns)
    else:
        select = ", ".join(f"{name}, typeof({name})" for name in columns)
    return [tuple(row) for row in conn.exec_driver_sql(f"SELECT {select} FROM {table.name} ORDER BY id")]


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin)


def test_rows_are_stored_as_sqlalchemy_stores_them(site):
    metadata = sa.MetaData()
    fast, general = _table(metadata, "test_inserts_fast"), _table(metadata, "test_inserts_general")
    with site.engine.begin() as conn:
        metadata.create_all(conn)
        rows = _rows(conn.dialect.name == "postgresql")
        inserts.insert_rows(conn, fast, rows)
        conn.execute(sa.insert(general), rows)
        assert len(_stored(conn, fast)) == len(rows)
        assert _stored(conn, fast) == _stored(conn, general)
        assert [r.id for r in conn.execute(sa.select(fast.c.id).order_by(fast.c.id))] == list(range(1, len(rows) + 1))
        metadata.drop_all(conn)


def test_rows_sqlalchemy_must_complete_take_its_path(site):
    metadata = sa.MetaData()
    table = sa.Table(
        "test_inserts_defaults", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(20), nullable=False, unique=True),
        sa.Column("tags", JSONData, nullable=False, default=list),
    )
    with site.engine.begin() as conn:
        metadata.create_all(conn)
        inserts.insert_rows(conn, table, [{"name": "a"}, {"name": "b"}])  # a Python-side default to fill in
        assert [tuple(r) for r in conn.execute(sa.select(table.c.name, table.c.tags).order_by(table.c.id))] == [("a", []), ("b", [])]
        with pytest.raises(sa.exc.StatementError):  # a row without a key the first one has: SQLAlchemy's error
            inserts.insert_rows(conn, table, [{"name": "c", "tags": []}, {"tags": []}])


def test_a_unique_key_clash_is_sqlalchemys_integrity_error(site):
    metadata = sa.MetaData()
    table = sa.Table("test_inserts_unique", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(20), unique=True))
    with site.engine.connect() as conn:
        with conn.begin():
            metadata.create_all(conn)
        with conn.begin():
            savepoint = conn.begin_nested()
            with pytest.raises(sa.exc.IntegrityError):
                inserts.insert_rows(conn, table, [{"name": "a"}, {"name": "a"}])
            savepoint.rollback()
            inserts.insert_rows(conn, table, [{"name": "b"}])  # the transaction goes on after the savepoint
        with conn.begin():
            assert conn.scalars(sa.select(table.c.name)).all() == ["b"]
            metadata.drop_all(conn)


def test_an_import_batch_gets_the_ids_of_its_rows_in_order_after_a_deleted_last_record(site):
    actor = Actor.system("import")
    first = site.records.create_many(actor, "notes", [{"title": f"n{i}"} for i in range(3)])
    site.records.delete(actor, "notes", first[-1])  # moved to the recycle bin: its id is not given again
    ids = site.records.create_many(actor, "notes", [{"title": f"m{i}", "priority": 1 + i % 5} for i in range(50)])
    assert ids == list(range(ids[0], ids[0] + 50)) and ids[0] > first[-1]
    with site.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(notes_plugin.Note.__table__.c.id, notes_plugin.Note.__table__.c.title)).all())
    assert [stored[i] for i in ids] == [f"m{i}" for i in range(50)]
