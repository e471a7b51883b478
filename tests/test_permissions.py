"""Roles, permissions and record rules, through the one write path (Records)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kernel import Actor, Forbidden, NotFound, PluginError, ValidationError
from kernel.audit import AUDIT
from kernel.permissions import explain, grants
from tests.example import plugin as notes_plugin
from tests.helpers import plugin_module

SYSTEM = Actor.system("cli")


def as_actor(user):
    return Actor(user_id=user["id"], label=user["email"], role=user["role"], team_id=user["team_id"])


@pytest.fixture
def org(site):
    """sales (managed by boss) ⊃ east ⊃ east_1; west beside them; a rep in each, an executive."""
    create = site.records.create
    sales = create(SYSTEM, "teams", {"name": "sales"})
    east = create(SYSTEM, "teams", {"name": "east", "parent_id": sales["id"]})
    east_1 = create(SYSTEM, "teams", {"name": "east-1", "parent_id": east["id"]})
    west = create(SYSTEM, "teams", {"name": "west"})
    people = {
        "boss": ("sales_manager", None),
        "east_rep": ("sales_rep", east["id"]),
        "east_peer": ("sales_rep", east["id"]),
        "deep_rep": ("sales_rep", east_1["id"]),
        "west_rep": ("sales_rep", west["id"]),
        "exec": ("executive", None),
    }
    users = {
        key: as_actor(create(SYSTEM, "users", {"email": f"{key}@example.cn", "role": role, "team_id": team}))
        for key, (role, team) in people.items()
    }
    site.records.update(SYSTEM, "teams", sales["id"], {"manager_id": users["boss"].user_id})
    notes = {key: create(users[key], "notes", {"title": f"{key} note", "priority": 2}) for key in ("east_rep", "east_peer", "deep_rep", "west_rep")}
    return users, notes


def visible_ids(site, actor, **query):
    page = site.records.list(actor, "notes", **query)
    return sorted(r["id"] for r in page.items), page.total


def test_a_rep_sees_and_touches_only_own_records_everywhere(site, org):
    users, notes = org
    rep, theirs = users["east_rep"], notes["west_rep"]["id"]
    assert visible_ids(site, rep) == ([notes["east_rep"]["id"]], 1)
    # filters, sort and search that would single out the other record find nothing
    assert visible_ids(site, rep, filters={"id": theirs}) == ([], 0)
    assert visible_ids(site, rep, filters={"owner_id": users["west_rep"].user_id}) == ([], 0)
    assert visible_ids(site, rep, q="west") == ([], 0)
    assert visible_ids(site, rep, sort="-owner_id", limit=1)[1] == 1
    for attempt in (
        lambda: site.records.get(rep, "notes", theirs),
        lambda: site.records.update(rep, "notes", theirs, {"title": "mine now"}),
        lambda: site.records.delete(rep, "notes", theirs),
        lambda: site.records.act(rep, "notes", theirs, "close", {"reason": "x"}),
        lambda: site.records.history(rep, "notes", theirs),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert site.records.get(SYSTEM, "notes", theirs)["title"] == "west_rep note"


def test_a_rep_may_not_delete_by_default_but_may_close_own(site, org):
    users, notes = org
    rep, mine = users["east_rep"], notes["east_rep"]["id"]
    assert site.records.act(rep, "notes", mine, "close", {"reason": "done"})["status"] == "done"
    with pytest.raises(Forbidden, match="may not delete notes"):
        site.records.delete(rep, "notes", mine)


def test_a_manager_sees_the_nested_sub_teams(site, org):
    users, notes = org
    boss = users["boss"]
    expected = sorted(notes[k]["id"] for k in ("east_rep", "east_peer", "deep_rep"))
    assert visible_ids(site, boss) == (expected, 3)
    deep = notes["deep_rep"]["id"]
    assert site.records.update(boss, "notes", deep, {"priority": 5})["priority"] == 5
    with pytest.raises(NotFound):
        site.records.get(boss, "notes", notes["west_rep"]["id"])


def test_team_scope_covers_the_own_team_and_below(site, org):
    users, notes = org
    role = site.records.list(SYSTEM, "roles", filters={"name": "sales_rep"}).items[0]
    defaults = sorted(grants(site, "sales_rep").names)
    granted = [g if g != "notes.read" else "notes.read:team" for g in defaults]
    site.records.update(SYSTEM, "roles", role["id"], {"permissions": granted})
    expected = sorted(notes[k]["id"] for k in ("east_rep", "east_peer", "deep_rep"))
    assert visible_ids(site, users["east_rep"]) == (expected, 3)
    assert visible_ids(site, users["deep_rep"]) == ([notes["deep_rep"]["id"]], 1)


def test_executive_reads_everything_and_writes_nothing(site, org):
    users, notes = org
    boss_exec = users["exec"]
    assert visible_ids(site, boss_exec)[1] == 4
    some = notes["west_rep"]["id"]
    assert site.records.get(boss_exec, "notes", some)["id"] == some
    for attempt in (
        lambda: site.records.create(boss_exec, "notes", {"title": "x"}),
        lambda: site.records.update(boss_exec, "notes", some, {"title": "x"}),
        lambda: site.records.delete(boss_exec, "notes", some),
        lambda: site.records.act(boss_exec, "notes", some, "close", {"reason": "x"}),
        lambda: site.records.create(boss_exec, "roles", {"name": "sneaky"}),
    ):
        with pytest.raises(Forbidden):
            attempt()


def test_a_custom_role_gets_exactly_its_grants_and_changes_apply_at_once(site, org):
    users, notes = org
    role = site.records.create(SYSTEM, "roles", {"name": "auditor", "permissions": ["notes.read:all"]})
    auditor = as_actor(site.records.create(SYSTEM, "users", {"email": "a@example.cn", "role": "auditor"}))
    assert visible_ids(site, auditor)[1] == 4
    with pytest.raises(Forbidden):
        site.records.update(auditor, "notes", notes["west_rep"]["id"], {"title": "x"})

    site.records.update(SYSTEM, "roles", role["id"], {"permissions": ["notes.read:own", "notes.update"]})
    assert visible_ids(site, auditor) == ([], 0)
    with pytest.raises(NotFound):
        site.records.update(auditor, "notes", notes["west_rep"]["id"], {"title": "x"})

    with site.engine.connect() as conn:
        changes = conn.scalars(sa.select(AUDIT.c.changes).where(AUDIT.c.entity == "roles", AUDIT.c.action == "update")).all()
    assert changes == [{"permissions": [["notes.read:all"], ["notes.read:own", "notes.update"]]}]


def test_built_in_role_defaults_are_replaced_by_a_stored_list_and_restored_by_null(site, org):
    users, notes = org
    role = site.records.list(SYSTEM, "roles", filters={"name": "executive"}).items[0]
    assert role["permissions"] is None and grants(site, "executive").source == "defaults"
    site.records.update(SYSTEM, "roles", role["id"], {"permissions": ["users.read"]})
    with pytest.raises(Forbidden):
        site.records.list(users["exec"], "notes")
    site.records.update(SYSTEM, "roles", role["id"], {"permissions": None})
    assert visible_ids(site, users["exec"])[1] == 4


def test_grants_are_validated_and_admin_cannot_be_limited(site):
    with pytest.raises(ValidationError) as caught:
        site.records.create(SYSTEM, "roles", {"name": "bad", "permissions": ["notes.read", "notes.fly", "notes.update:own"]})
    assert [d["loc"] for d in caught.value.details] == [["permissions", 1], ["permissions", 2]]
    assert "unknown permission 'notes.fly'" in caught.value.details[0]["msg"]
    assert "only a read permission" in caught.value.details[1]["msg"]
    admin_role = site.records.list(SYSTEM, "roles", filters={"name": "admin"}).items[0]
    with pytest.raises(ValidationError, match="every permission"):
        site.records.update(SYSTEM, "roles", admin_role["id"], {"permissions": []})


def test_owner_defaults_to_the_creator_and_assigning_needs_permission(site, org):
    users, notes = org
    rep, boss = users["east_rep"], users["boss"]
    assert notes["east_rep"]["owner_id"] == rep.user_id
    with pytest.raises(Forbidden) as caught:
        site.records.create(rep, "notes", {"title": "gift", "owner_id": users["west_rep"].user_id})
    assert caught.value.details == [{"loc": ["owner_id"], "msg": "needs the permission notes.assign"}]
    for who in (rep, boss, SYSTEM):  # an edit never moves a record to another owner, whoever sends it
        with pytest.raises(ValidationError) as caught:
            site.records.update(who, "notes", notes["east_rep"]["id"], {"owner_id": users["east_peer"].user_id})
        assert caught.value.details[0]["loc"] == ["owner_id"] and "assign" in caught.value.message
    with pytest.raises(Forbidden):
        site.records.assign(rep, "notes", [notes["east_rep"]["id"]], users["east_peer"].user_id)
    [moved] = site.records.assign(boss, "notes", [notes["east_rep"]["id"]], users["east_peer"].user_id)
    assert moved["owner_id"] == users["east_peer"].user_id
    assert site.records.create(SYSTEM, "notes", {"title": "unowned"})["owner_id"] is None


def test_plugin_rules_widen_and_filters_narrow(make_site, clock):
    pinned = plugin_module("pinned", record_rules=lambda entity, table: table.c.priority == 1 if entity == "notes" else None)
    no_archive = plugin_module("no_archive", record_filter=lambda entity, table: table.c.status != "archived" if entity == "notes" else None)
    site = make_site(notes_plugin, pinned, no_archive)
    rep = as_actor(site.records.create(SYSTEM, "users", {"email": "r@example.cn", "role": "sales_rep"}))
    pinned_note = site.records.create(SYSTEM, "notes", {"title": "everyone", "priority": 1, "owner_id": 999})
    site.records.create(SYSTEM, "notes", {"title": "hidden", "owner_id": 999})
    mine = site.records.create(rep, "notes", {"title": "mine"})
    archived = site.records.create(rep, "notes", {"title": "old", "status": "archived"})
    assert visible_ids(site, rep) == (sorted([pinned_note["id"], mine["id"]]), 2)
    with pytest.raises(NotFound):
        site.records.get(rep, "notes", archived["id"])

    answer = explain(site, rep, site.view.entity("notes"), pinned_note["id"])
    assert answer["visible"] and answer["actions"]["read"]["allowed"]
    assert [(r["plugin"], r["rule"], r["matched"]) for r in answer["rules"]] == [
        ("core", "scope", False),
        ("pinned", "record_rules", True),
        ("no_archive", "record_filter", True),
    ]


def test_plugins_declare_permissions_and_default_grants(make_site):
    declares = plugin_module(
        "declares",
        register_permissions=lambda: [
            {"name": "notes.delete", "roles": ["sales_rep"]},
            {"name": "notes.export", "label": {"en": "Export notes"}, "roles": ["marketer"]},
        ],
    )
    site = make_site(notes_plugin, declares)
    rep = as_actor(site.records.create(SYSTEM, "users", {"email": "r@example.cn", "role": "sales_rep"}))
    note = site.records.create(rep, "notes", {"title": "bin me"})
    site.records.delete(rep, "notes", note["id"])
    assert "notes.export" in grants(site, "marketer").names
    assert "notes.delete" not in grants(site, "sales_manager").names  # the declaration replaced the defaults

    broken = plugin_module("broken", register_permissions=lambda: [{"name": "no dots", "roles": []}])
    with pytest.raises(PluginError, match="broken"):
        grants(make_site(notes_plugin, broken), "sales_rep")


def test_system_actor_keeps_full_access(site, org):
    assert visible_ids(site, SYSTEM)[1] == 4


def test_teams_refuse_missing_parents_managers_and_cycles(site):
    top = site.records.create(SYSTEM, "teams", {"name": "top"})
    below = site.records.create(SYSTEM, "teams", {"name": "below", "parent_id": top["id"]})
    with pytest.raises(ValidationError, match="parent_id: a team cannot be placed below itself"):
        site.records.update(SYSTEM, "teams", top["id"], {"parent_id": below["id"]})
    with pytest.raises(ValidationError, match="parent_id: no team with id 999"):
        site.records.create(SYSTEM, "teams", {"name": "orphan", "parent_id": 999})
    with pytest.raises(ValidationError, match="manager_id: no user with id 999"):
        site.records.update(SYSTEM, "teams", top["id"], {"manager_id": 999})


def test_a_new_record_given_to_someone_else_goes_only_to_an_active_user(site, org):
    users, _ = org
    boss = users["boss"]
    site.records.update(SYSTEM, "users", users["east_peer"].user_id, {"active": False})
    for owner in (99999, users["east_peer"].user_id):
        with pytest.raises(ValidationError) as caught:
            site.records.create(boss, "notes", {"title": "for you", "owner_id": owner})
        assert caught.value.details[0]["loc"] == ["owner_id"]
    assert site.records.create(boss, "notes", {"title": "ok", "owner_id": users["east_rep"].user_id})["owner_id"] == users["east_rep"].user_id
