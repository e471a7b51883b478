"""Visibility through a parent (``Entity(parent=...)``), with the example notes made children of users."""

from dataclasses import replace

import pytest

from kernel import Actor, Forbidden, NotFound, hookimpl
from kernel.entities import ParentRef, check_entity
from kernel.permissions import explain
from tests.example import plugin as notes_plugin

SYSTEM = Actor.system("cli")


NOTES = notes_plugin.register_entities()[0]


def notes(**changes):
    return replace(NOTES, **changes)


def test_a_parent_is_a_column_and_an_entity_or_the_generic_pair():
    assert notes(parent=("owner_id", "users")).parents == (ParentRef(column="owner_id", entity="users"),)
    assert notes(parent=(("status", "owner_id"),)).parents == (ParentRef(column="owner_id", entity_column="status"),)
    with pytest.raises(TypeError, match="'ghost_id' is not a column"):
        check_entity(notes(parent=("ghost_id", "users")))
    with pytest.raises(TypeError, match="must be a pair of names"):
        check_entity(notes(parent=(("owner_id",),)))


@pytest.fixture
def site(make_site, monkeypatch):
    """Notes whose parent is their owner's user record: everyone may read users, so every owned note is readable."""
    monkeypatch.setattr(notes_plugin, "register_entities", hookimpl(lambda: [notes(parent=("owner_id", "users"))]))
    return make_site(notes_plugin)


def people(site):
    found = []
    for key in ("ann", "bob"):
        user = site.records.create(SYSTEM, "users", {"email": f"{key}@example.com", "name": key, "role": "sales_rep"})
        found.append(Actor(user_id=user["id"], label=key, role="sales_rep"))
    return found


def test_a_child_is_read_through_its_parent_but_written_by_its_own_scope(site):
    ann, bob = people(site)
    note = site.records.create(bob, "notes", {"title": "bob's"})
    orphan = site.records.create(SYSTEM, "notes", {"title": "nobody's"})
    assert [n["id"] for n in site.records.list(ann, "notes").items] == [note["id"]]  # not the orphan: no parent
    assert site.records.get(ann, "notes", note["id"])["title"] == "bob's"
    assert site.records.list(ann, "notes", q="bob").total == 1
    with pytest.raises(Forbidden, match="visible through its parent"):
        site.records.update(ann, "notes", note["id"], {"title": "ann's"})
    with pytest.raises(Forbidden):
        site.records.delete(ann, "notes", note["id"])
    with pytest.raises(Forbidden):
        site.records.act(ann, "notes", note["id"], "close", {"reason": "done"})
    with pytest.raises(NotFound):
        site.records.update(ann, "notes", orphan["id"], {"title": "ann's"})
    assert site.records.get(SYSTEM, "notes", note["id"])["title"] == "bob's"
    access = explain(site, ann, site.view.entity("notes"), note["id"])
    assert access["visible"] is True
    assert [r for r in access["rules"] if r["rule"] == "parent"][0]["detail"] == "owner_id → users"
    assert "visible through its parent (owner_id → users)" in access["actions"]["read"]["reason"]
    assert access["actions"]["update"]["allowed"] is False and access["actions"]["close"]["allowed"] is False
    assert explain(site, bob, site.view.entity("notes"), note["id"])["actions"]["update"]["allowed"] is True


def test_without_the_parents_read_grant_nothing_comes_through(site):
    ann, bob = people(site)
    site.records.create(bob, "notes", {"title": "bob's"})
    role = site.records.list(SYSTEM, "roles", filters={"name": "sales_rep"}).items[0]
    site.records.update(SYSTEM, "roles", role["id"], {"permissions": ["notes.read:own", "notes.create"]})
    assert site.records.list(ann, "notes").total == 0
