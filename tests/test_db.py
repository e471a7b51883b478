"""kernel.db: engines read and write JSON columns with orjson; the pool matches the web app's threads."""

from __future__ import annotations

import sqlalchemy as sa

from kernel.db import POOL_SIZE, JSONData, pool_size
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
