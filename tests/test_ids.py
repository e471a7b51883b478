"""Ids are never reused, on either database, and a record's history is only its own."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from kernel import Actor, audit, migrations
from kernel.models import ApiToken, Team, User
from tests.example import plugin as notes_plugin
from tests.example.plugin import Note

SYSTEM = Actor.system("cli")


def test_a_new_record_never_takes_a_deleted_records_id_or_history(make_site):
    site = make_site(notes_plugin)
    first = site.records.create(SYSTEM, "notes", {"title": "secret plan", "body": "for the old owner"})
    site.records.update(SYSTEM, "notes", first["id"], {"body": "still secret"})
    site.records.delete(SYSTEM, "notes", first["id"])
    second = site.records.create(SYSTEM, "notes", {"title": "new note"})
    assert second["id"] > first["id"]
    assert [e["action"] for e in site.records.history(SYSTEM, "notes", second["id"])] == ["create"]
    user = site.records.create(SYSTEM, "users", {"email": "gone@example.com"})
    site.records.delete(SYSTEM, "users", user["id"])
    assert site.records.create(SYSTEM, "users", {"email": "new@example.com"})["id"] > user["id"]


def test_upgrading_an_existing_database_keeps_rows_and_links_and_skips_used_ids(make_site):
    site = make_site(notes_plugin, migrate=False)
    with site.write() as conn:
        command.upgrade(migrations.alembic_config(site, conn), "core@5e4a9c2d7b10")  # before the ids revision
    with site.write() as conn:
        command.upgrade(migrations.alembic_config(site, conn), "notes@5cdc63106a29")
    # rows written as the older code wrote them (plain SQL: today's write path also touches tables
    # that schema does not have yet, such as files and timers)
    now = site.clock.now()
    stamps = {"created_at": now, "updated_at": now}
    with site.write() as conn:
        team = {"id": conn.execute(sa.insert(Team.__table__).values(name="North", **stamps).returning(Team.__table__.c.id)).scalar_one()}
        values = {"email": "rep@example.com", "role": "sales_rep", "team_id": team["id"], **stamps}
        user = {"id": conn.execute(sa.insert(User.__table__).values(values).returning(User.__table__.c.id)).scalar_one()}
        conn.execute(sa.insert(ApiToken.__table__).values(user_id=user["id"], name="cli", token_hash="x" * 64, created_at=now))
        notes = [{"id": conn.execute(sa.insert(Note.__table__).values(title=f"n{i}", **stamps).returning(Note.__table__.c.id)).scalar_one()} for i in range(3)]
        conn.execute(sa.delete(Note.__table__).where(Note.__table__.c.id == notes[-1]["id"]))  # the newest: its id is the one SQLite would hand out again
        audit.write(conn, [audit.entry(SYSTEM, now, "notes", notes[-1]["id"], "delete", {"title": ["n2", None]})])  # as a delete leaves it

    migrations.upgrade(site)

    assert site.records.get(SYSTEM, "users", user["id"])["team_id"] == team["id"]  # not nulled by rebuilding teams
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(ApiToken.__table__)) == 1  # nor cascaded away
    assert [n["title"] for n in site.records.list(SYSTEM, "notes", sort="id").items] == ["n0", "n1"]
    assert site.records.create(SYSTEM, "notes", {"title": "n3"})["id"] > notes[-1]["id"]
    if site.engine.dialect.name == "sqlite":
        with site.engine.connect() as conn:
            sql = conn.scalar(sa.text("SELECT sql FROM sqlite_master WHERE name = 'kernel_users'"))
        assert "AUTOINCREMENT" in sql.upper()


def test_history_and_activity_leave_out_entries_older_than_the_record(make_site):
    """A database from before ids were kept may hold another record's entries under a reused id."""
    from datetime import timedelta

    from kernel import activity, audit

    site = make_site(notes_plugin)
    note = site.records.create(SYSTEM, "notes", {"title": "new"})
    earlier = site.clock.now() - timedelta(days=1)
    with site.write() as conn:
        audit.write(conn, [audit.entry(SYSTEM, earlier, "notes", note["id"], "delete", {"title": ["old secret", None]})])
    assert [e["action"] for e in site.records.history(SYSTEM, "notes", note["id"])] == ["create"]
    assert [e["title"] for e in activity.record_activity(site, SYSTEM, "notes", note["id"])["items"]] == ["create"]
