"""kernel.OwnerChange: a plugin's owner moves (claim, release, return) recorded as such on the ownership
events, through Records.assign(change=) and Records.update_many(owner_change=); RecordError.worded."""

import pytest
import sqlalchemy as sa

from kernel import Actor, Conflict, NotFound, OwnerChange, ValidationError
from kernel.messages import Labels, localize
from kernel.testing import plugin_module
from tests.example import plugin as notes_plugin


@pytest.fixture
def users(site, admin):
    return [site.records.create(admin, "users", {"email": f"u{n}@example.com", "name": f"U{n}", "role": "sales_rep"})["id"] for n in (1, 2)]


def events(site, record_id):
    from kernel.ownership import events_of

    with site.engine.connect() as conn:
        return events_of(conn, "notes", record_id)


def test_assign_with_a_change_keeps_its_action_via_and_rule_and_may_leave_no_owner(site, admin, users):
    note = site.records.create(admin, "notes", {"title": "a", "body": "b"})
    change = OwnerChange("claim", reason="wanted it", via_entity="queues", via_id=3, rule="first_come")
    [claimed] = site.records.assign(admin, "notes", [note["id"]], users[0], change=change)
    assert claimed["owner_id"] == users[0]
    site.records.assign(admin, "notes", [note["id"]], None, change=OwnerChange("release", reason="done", via_entity="queues", via_id=3))
    first, second = events(site, note["id"])
    assert (first["action"], first["via_entity"], first["via_id"], first["rule"], first["reason"]) == ("claim", "queues", 3, "first_come", "wanted it")
    assert (second["action"], second["from_owner"], second["to_owner"]) == ("release", users[0], None)
    with pytest.raises(ValidationError):
        site.records.assign(admin, "notes", [note["id"]], None)  # without a change, an owner is needed


def test_assign_takes_the_row_its_caller_locked_without_reading_it_again_and_keeps_the_rules(make_site, admin):
    no_archive = plugin_module("no_archive", record_filter=lambda actor, entity, table: table.c.status != "archived" if entity == "notes" and actor.user_id else None)
    site = make_site(notes_plugin, no_archive)
    owner = site.records.create(admin, "users", {"email": "o@example.com", "name": "O", "role": "sales_rep"})["id"]
    boss = Actor(user_id=owner, label="o@example.com", role="admin")  # an admin user: the plugin's rule applies to them
    shown, archived = (site.records.create(admin, "notes", {"title": t, "status": s}) for t, s in (("shown", "open"), ("old", "archived")))
    notes = site.view.entity("notes").table
    statements: list[str] = []

    def locked_rows(conn):
        return {r.id: dict(r._mapping) for r in conn.execute(sa.select(notes).where(notes.c.id.in_([shown["id"], archived["id"]])))}

    with site.write() as conn:
        stored = locked_rows(conn)
        sa.event.listen(conn, "before_cursor_execute", lambda c, cursor, statement, *rest: statements.append(statement))
        site.records.assign(admin, "notes", [shown["id"]], owner, conn=conn, stored=stored)  # no rule for the system: not read at all
        assert not [s for s in statements if s.lstrip().startswith("SELECT") and "notes_notes" in s]
        stored = locked_rows(conn)
        statements.clear()
        [given] = site.records.assign(boss, "notes", [shown["id"]], None, conn=conn, stored=stored, change=OwnerChange("release"))
        checks = [s for s in statements if s.lstrip().startswith("SELECT") and "notes_notes" in s]
        assert len(checks) == 1 and "status" in checks[0] and "title" not in checks[0].split("FROM")[0]  # the rule checked by id, not the row read
        assert given["owner_id"] is None
        with pytest.raises(NotFound):  # the row handed in does not widen what the actor may change
            site.records.assign(boss, "notes", [archived["id"]], owner, conn=conn, stored=stored)
    assert site.records.get(admin, "notes", archived["id"])["owner_id"] is None
    assert [e["action"] for e in events(site, shown["id"])] == ["assign", "release"]


def test_update_many_may_change_owners_with_an_owner_change_only(site, admin, users):
    notes = [site.records.create(admin, "notes", {"title": f"n{i}", "body": "b", "owner_id": users[i % 2]}) for i in range(4)]
    ids = [n["id"] for n in notes]
    with pytest.raises(ValidationError):
        site.records.update_many(admin, "notes", ids=ids, changes={"owner_id": None})
    job = Actor.system(job="queues.return")
    changed = site.records.update_many(job, "notes", ids=ids, changes={"owner_id": None}, owner_change=OwnerChange("return", reason="late", rule="days"))
    assert changed == ids
    for note in notes:
        [event] = events(site, note["id"])
        assert (event["action"], event["from_owner"], event["to_owner"], event["rule"]) == ("return", note["owner_id"], None, "days")


def test_a_worded_refusal_keeps_its_values_through_translation(site):
    exc = Conflict.worded("cooldown until %(until)s", until="2026-01-08")
    assert exc.message == "cooldown until 2026-01-08" and exc.status == 409
    translated = localize(exc, Labels(site.view, None, "zh_CN", lambda text: {"cooldown until %(until)s": "冷却期至 %(until)s"}.get(text, text)))
    assert translated.message == "冷却期至 2026-01-08"


def test_an_owner_change_is_a_short_word_and_names_both_via_parts():
    with pytest.raises(ValueError):
        OwnerChange("give away")
    with pytest.raises(ValueError):
        OwnerChange("claim", via_entity="queues")


def test_a_plugins_assign_action_answers_instead_of_the_kernels(make_site, admin):
    from pydantic import BaseModel

    from kernel import Action
    from kernel.testing import plugin_module
    from tests.example import plugin as notes_plugin

    class Body(BaseModel):
        owner_id: int

    def handler(site, conn, actor, entity, record, body):
        raise Conflict("only through the queue's rules")

    queue = plugin_module("queue", requires=("notes",), register_entity_actions=lambda: {"notes": [Action("assign", {"en": "Assign"}, handler, Body)]})
    site = make_site(notes_plugin, queue)
    note = site.records.create(admin, "notes", {"title": "a", "body": "b"})
    with pytest.raises(Conflict, match="queue's rules"):
        site.records.act(admin, "notes", note["id"], "assign", {"owner_id": 1})
