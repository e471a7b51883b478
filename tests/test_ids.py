"""Ids are never reused, on either database, and a record's history is only its own."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from kernel import Actor, migrations
from kernel.models import ApiToken
from tests.example import plugin as notes_plugin

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
    team = site.records.create(SYSTEM, "teams", {"name": "North"})
    user = site.records.create(SYSTEM, "users", {"email": "rep@example.com", "team_id": team["id"]})
    with site.write() as conn:
        conn.execute(sa.insert(ApiToken.__table__).values(user_id=user["id"], name="cli", token_hash="x" * 64, created_at=site.clock.now()))
    notes = [site.records.create(SYSTEM, "notes", {"title": f"n{i}"}) for i in range(3)]
    with site.write() as conn:  # deleted as the code of then did (before the recycle bin): the newest, whose id SQLite would hand out again
        conn.execute(sa.delete(notes_plugin.Note.__table__).where(notes_plugin.Note.__table__.c.id == notes[-1]["id"]))

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
