"""kernel.db: engines read and write JSON columns with orjson; the pool matches the web app's threads; texts_in finds what IN finds."""

from __future__ import annotations

import sqlalchemy as sa

from kernel.db import POOL_SIZE, JSONData, pool_size, texts_in
from tests.example import plugin as notes_plugin
from tests.example.plugin import Note

CUSTOM = {"owner": "李娜", "nested": {"list": [1, 2.5, None, True]}}


def test_json_columns_round_trip_as_compact_utf8(make_site):
    site = make_site(notes_plugin)
    with site.write() as conn:
        now = site.clock.now()
        note_id = conn.execute(
            sa.insert(Note.__table__).values(title="t", custom=CUSTOM, created_at=now, updated_at=now).returning(Note.__table__.c.id)
        ).scalar_one()
    with site.engine.connect() as conn:
        stored = conn.execute(sa.select(Note.__table__.c.custom).where(Note.__table__.c.id == note_id)).scalar_one()
        text = conn.execute(sa.text("SELECT CAST(custom AS TEXT) FROM notes_notes WHERE id = :id"), {"id": note_id}).scalar_one()
    assert stored == CUSTOM
    assert "李娜" in text  # written as UTF-8, not \\u escapes


def test_engines_pool_as_many_connections_as_the_web_app_runs_requests(make_site):
    assert pool_size(make_site(notes_plugin).engine) == POOL_SIZE


def test_json_columns_hold_any_json_value(make_site):
    site = make_site(notes_plugin)
    table = sa.Table("scratch_json", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("value", JSONData))
    values = [60, 0.25, "60", True, [1, "二"], {"a": None}]
    table.create(site.engine)
    try:
        with site.write() as conn:
            conn.execute(sa.insert(table), [{"id": i, "value": v} for i, v in enumerate(values)])
        with site.engine.connect() as conn:
            assert list(conn.scalars(sa.select(table.c.value).order_by(table.c.id))) == values
    finally:
        table.drop(site.engine)


def test_texts_in_finds_the_rows_a_plain_in_finds_whatever_the_texts_hold(make_site):
    site = make_site(notes_plugin)
    table = sa.Table("scratch_texts", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("key", sa.String(50), index=True))
    stored = ['plain', 'a"quote', "back\\slash", "it's", "{brace,comma}", "客户", " spaced ", "NULL", ""]
    table.create(site.engine)
    try:
        with site.write() as conn:
            conn.execute(sa.insert(table), [{"id": i, "key": k} for i, k in enumerate(stored)])
        with site.engine.connect() as conn:
            dialect = conn.dialect.name
            for wanted in (stored, stored[1:6], ["客户", "missing", "a\"quote"], ["nothing"], []):
                found = set(conn.scalars(sa.select(table.c.id).where(texts_in(table.c.key, wanted, dialect))))
                plain = set(conn.scalars(sa.select(table.c.id).where(table.c.key.in_(wanted))))
                assert found == plain == {i for i, k in enumerate(stored) if k in wanted}
            either = sa.or_(texts_in(table.c.key, ["plain"], dialect), texts_in(table.c.id.cast(sa.String), ["3"], dialect))
            assert sorted(conn.scalars(sa.select(table.c.id).where(either))) == [0, 3]  # also under OR, as the dedupe query uses it
    finally:
        table.drop(site.engine)
