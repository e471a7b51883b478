"""Admin pages for users, teams, roles and permissions, and record rules."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from kernel import Actor, Conflict, Forbidden, ValidationError
from kernel.audit import AUDIT
from kernel.web.app import create_app
from kernel.web.auth import issue_token
from tests.example import plugin as notes_plugin
from tests.web import admin_rules
from tests.web.test_ui import PASSWORD, add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SYSTEM = Actor.system("cli")
ADMIN_PAGES = ("/admin/users", "/admin/teams", "/admin/roles", "/admin/roles/sales_rep", "/admin/record-rules")


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin, admin_rules, default_locale="en")


@pytest.fixture
def app(site):
    return create_app(site=site)


@pytest.fixture
def admin(app, site):
    add_user(site, "admin@example.com", "admin")
    return signed_in(app, "admin@example.com")


@pytest.fixture
def rep_user(site):
    return add_user(site, "rep@example.com", "sales_rep")


def role_row(site, name):
    return site.records.list(SYSTEM, "roles", filters={"name": name}).items[0]


def as_actor(user):
    return Actor(user_id=user["id"], label=user["email"], role=user["role"], team_id=user.get("team_id"), channel="api")


def alert(html: str) -> str:
    found = re.search(r'class="alert alert-error" role="alert">(.*?)</p>', html, re.S)
    return found.group(1).strip() if found else ""


# -- access ---------------------------------------------------------------------------------


def test_only_admins_open_the_admin_pages_and_every_write_needs_the_csrf_token(app, site, admin, rep_user):
    client, token = admin
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 200, path
    menu = client.get("/admin/users").text
    for path in ("/admin/plugins", "/admin/fields", "/admin/users", "/admin/teams", "/admin/roles", "/admin/record-rules", "/admin/audit", "/admin/settings"):
        assert f'href="{path}"' in menu, path
    assert 'href="/admin/users" aria-current="page"' in menu

    rep, rep_token = signed_in(app, "rep@example.com")
    for path in ADMIN_PAGES:
        assert rep.get(path).status_code == 403, path
    assert "/admin/users" not in rep.get("/").text
    assert rep.post("/admin/users", data={"csrf_token": rep_token, "id": str(rep_user["id"]), "op": "deactivate"}).status_code == 403
    assert rep.post("/admin/roles/sales_rep", data={"csrf_token": rep_token, "op": "reset"}).status_code == 403

    for path, data in (
        ("/admin/users", {"id": str(rep_user["id"]), "op": "deactivate"}),
        ("/admin/roles", {"name": "auditor"}),
        ("/admin/roles/sales_rep", {"op": "save"}),
        ("/admin/record-rules", {"scope.sales_rep.notes": "all"}),
        ("/admin/teams", {"user_id": str(rep_user["id"])}),
    ):
        assert client.post(path, data=data).status_code == 403, path
    assert site.records.get(SYSTEM, "users", rep_user["id"])["active"] is True
    assert role_row(site, "sales_rep")["permissions"] is None
    assert site.records.list(SYSTEM, "roles", filters={"name": "auditor"}).total == 0


# -- users ----------------------------------------------------------------------------------


def test_users_list_searches_filters_and_pages(site, admin):
    client, _ = admin
    team = site.records.create(SYSTEM, "teams", {"name": "East"})
    for n in range(30):
        site.records.create(SYSTEM, "users", {"email": f"u{n:02d}@example.com", "name": f"User {n:02d}", "role": "sales_rep",
                                              "team_id": team["id"] if n < 3 else None, "active": n != 5})
    first = client.get("/admin/users").text
    assert first.count('class="record-link"') == 25 and "Page 1 of 2" in first
    second = client.get("/admin/users?page=2").text
    assert second.count('class="record-link"') == 6  # 30 + the admin
    by_team = client.get(f"/admin/users?team={team['id']}").text
    assert set(re.findall(r"u\d\d@example.com", by_team)) == {"u00@example.com", "u01@example.com", "u02@example.com"}
    inactive = client.get("/admin/users?active=no").text
    assert set(re.findall(r"u\d\d@example.com", inactive)) == {"u05@example.com"}
    found = client.get("/admin/users?q=user+1&role=sales_rep").text
    assert set(re.findall(r"u\d\d@example.com", found)) == {f"u1{n}@example.com" for n in range(10)}
    assert "Never" in found  # nobody of them signed in
    assert "No user matches these filters." in client.get("/admin/users?role=executive").text


def test_admin_page_shows_last_sign_in(site, admin):
    client, _ = admin
    page = client.get("/admin/users?q=admin").text
    assert "Never" not in page  # the admin signed in to get here


def test_deactivate_and_activate_a_user(site, admin, rep_user):
    client, token = admin
    done = client.post("/admin/users?q=rep", data={"csrf_token": token, "id": str(rep_user["id"]), "op": "deactivate"})
    assert done.status_code == 303 and done.headers["location"] == "/admin/users?q=rep"
    assert site.records.get(SYSTEM, "users", rep_user["id"])["active"] is False
    assert client.post("/admin/users", data={"csrf_token": token, "id": str(rep_user["id"]), "op": "activate"}).status_code == 303
    assert site.records.get(SYSTEM, "users", rep_user["id"])["active"] is True


def test_nobody_deactivates_themselves_and_the_last_admin_stays(site, admin):
    client, token = admin
    me = site.records.list(SYSTEM, "users", filters={"email": "admin@example.com"}).items[0]
    refused = client.post("/admin/users", data={"csrf_token": token, "id": str(me["id"]), "op": "deactivate"})
    assert refused.status_code == 409 and alert(refused.text) == "you cannot deactivate your own account"
    assert site.records.get(SYSTEM, "users", me["id"])["active"] is True

    # the generic user form goes through the same hook
    demoted = client.post(f"/r/users/{me['id']}/edit", data={"csrf_token": token, "email": "admin@example.com", "role": "sales_rep",
                                                             "active.present": "1", "active": "1"})
    assert demoted.status_code == 409 and "the last active administrator must stay an active admin" in demoted.text
    assert site.records.get(SYSTEM, "users", me["id"])["role"] == "admin"

    other = site.records.create(SYSTEM, "users", {"email": "second@example.com", "role": "admin"})
    with pytest.raises(ValidationError, match="your own account"):
        site.records.delete(as_actor(me), "users", me["id"])
    site.records.update(as_actor(me), "users", other["id"], {"active": False})  # me is still an active admin
    with pytest.raises(Conflict, match="admin@example.com is the last active administrator"):
        site.records.update(SYSTEM, "users", me["id"], {"role": "executive"})
    with pytest.raises(Conflict, match="last active administrator"):
        site.records.delete(SYSTEM, "users", me["id"])
    site.records.update(SYSTEM, "users", other["id"], {"active": True})
    site.records.update(SYSTEM, "users", me["id"], {"role": "executive"})  # another admin is active now
    assert site.records.get(SYSTEM, "users", me["id"])["role"] == "executive"


# -- teams ----------------------------------------------------------------------------------


def test_team_tree_members_and_moving_a_user(site, admin, rep_user):
    client, token = admin
    boss = site.records.create(SYSTEM, "users", {"email": "boss@example.com", "name": "Boss", "role": "sales_manager"})
    sales = site.records.create(SYSTEM, "teams", {"name": "Sales", "manager_id": boss["id"]})
    north = site.records.create(SYSTEM, "teams", {"name": "North", "parent_id": sales["id"]})
    site.records.create(SYSTEM, "teams", {"name": "Alpha"})
    site.records.update(SYSTEM, "users", boss["id"], {"team_id": sales["id"]})
    page = client.get("/admin/teams").text
    order = re.findall(r'<li class="card team depth-(\d)">\s*<div class="team-head">\s*<h2>.*?<a href="/r/teams/\d+">([^<]+)</a>', page, re.S)
    assert order == [("0", "Alpha"), ("0", "Sales"), ("1", "North")]
    assert "Manager: Boss" in page and "1 member" in page

    moved = client.post("/admin/teams", data={"csrf_token": token, "user_id": str(rep_user["id"]), "team_id": str(north["id"])})
    assert moved.status_code == 303
    assert site.records.get(SYSTEM, "users", rep_user["id"])["team_id"] == north["id"]
    assert "rep@example.com" in client.get("/admin/teams").text
    nowhere = client.post("/admin/teams", data={"csrf_token": token, "user_id": "", "team_id": str(north["id"])})
    assert nowhere.status_code == 422 and alert(nowhere.text) == "Pick a user."
    client.post("/admin/teams", data={"csrf_token": token, "user_id": str(rep_user["id"]), "team_id": ""})
    assert site.records.get(SYSTEM, "users", rep_user["id"])["team_id"] is None


# -- roles ----------------------------------------------------------------------------------


def test_the_matrix_changes_what_a_sales_rep_may_do(app, site, admin, rep_user):
    client, token = admin
    api = TestClient(app, headers={"Authorization": f"Bearer {issue_token(site, rep_user['id'])['token']}"})
    assert api.post("/api/v1/notes", json={"title": "allowed"}).status_code == 201

    page = client.get("/admin/roles/sales_rep").text
    assert 'name="grant" value="notes.create" checked' in page
    assert re.search(r'name="read.notes">.*?<option value="own" selected', page, re.S)
    assert "Using the defaults declared by the plugins." in page

    saved = client.post("/admin/roles/sales_rep", data={"csrf_token": token, "op": "save", "read.notes": "team", "read.users": "yes",
                                                        "grant": ["notes.update", "notes.close"]})
    assert saved.status_code == 303
    stored = role_row(site, "sales_rep")["permissions"]
    assert "notes.create" not in stored and {"notes.read:team", "notes.update", "notes.close", "users.read"} <= set(stored)
    refused = api.post("/api/v1/notes", json={"title": "forbidden now"})
    assert refused.status_code == 403
    with site.engine.connect() as conn:
        changes = conn.execute(sa.select(AUDIT.c.changes).where(AUDIT.c.entity == "roles", AUDIT.c.action == "update")).scalars().all()
    assert len(changes) == 1 and changes[0]["permissions"][0] is None

    again = client.post("/admin/roles/sales_rep", data={"csrf_token": token, "op": "reset"})
    assert again.status_code == 303 and role_row(site, "sales_rep")["permissions"] is None
    assert api.post("/api/v1/notes", json={"title": "allowed again"}).status_code == 201


def test_the_admin_role_cannot_lose_its_rights(site, admin):
    client, token = admin
    page = client.get("/admin/roles/admin").text
    assert "Administrators always hold every permission" in page and "<fieldset class=\"card\" disabled>" in page
    refused = client.post("/admin/roles/admin", data={"csrf_token": token, "op": "save", "grant": ["notes.read"]})
    assert refused.status_code == 422 and alert(refused.text) == "the admin role always has every permission"
    assert role_row(site, "admin")["permissions"] is None


def test_create_a_role_copying_grants_and_delete_it(site, admin):
    client, token = admin
    bad = client.post("/admin/roles", data={"csrf_token": token, "name": "Bad Name", "label_en": "Bad"})
    assert bad.status_code == 422 and 'id="role-name-error"' in bad.text
    created = client.post("/admin/roles", data={"csrf_token": token, "name": "auditor", "label_en": "Auditor", "label_zh_CN": "审计",
                                                "copy_from": "executive"})
    assert created.status_code == 303 and created.headers["location"] == "/admin/roles/auditor?created=1"
    auditor = role_row(site, "auditor")
    assert auditor["label"] == {"en": "Auditor", "zh_CN": "审计"}
    assert "notes.read:all" in auditor["permissions"] and "notes.create" not in auditor["permissions"]
    clash = client.post("/admin/roles", data={"csrf_token": token, "name": "auditor"})
    assert clash.status_code == 422 and "already taken" in clash.text

    listing = client.get("/admin/roles").text
    assert "Auditor" in listing and "Built-in" in listing
    holder = site.records.create(SYSTEM, "users", {"email": "aud@example.com", "role": "auditor"})
    page = client.get("/admin/roles/auditor").text
    assert "1 user has this role" in page
    kept = client.post("/admin/roles/auditor", data={"csrf_token": token, "op": "delete"})
    assert kept.status_code == 422 and "still given to users" in alert(kept.text)
    site.records.update(SYSTEM, "users", holder["id"], {"role": "sales_rep"})
    gone = client.post("/admin/roles/auditor", data={"csrf_token": token, "op": "delete"})
    assert gone.status_code == 303 and site.records.list(SYSTEM, "roles", filters={"name": "auditor"}).total == 0
    builtin = client.post("/admin/roles/executive", data={"csrf_token": token, "op": "delete"})
    assert builtin.status_code == 422 and "a built-in role cannot be deleted" in builtin.text


# -- record rules ---------------------------------------------------------------------------


def test_record_scope_changes_which_rows_a_user_sees(site, admin, rep_user):
    client, token = admin
    other = site.records.create(SYSTEM, "users", {"email": "other@example.com", "role": "sales_rep"})
    site.records.create(SYSTEM, "notes", {"title": "mine", "owner_id": rep_user["id"]})
    site.records.create(SYSTEM, "notes", {"title": "theirs", "owner_id": other["id"]})
    site.records.create(SYSTEM, "notes", {"title": "Shared plan", "owner_id": other["id"]})
    rep = as_actor(rep_user)
    assert sorted(n["title"] for n in site.records.list(rep, "notes").items) == ["Shared plan", "mine"]

    page = client.get("/admin/record-rules").text
    assert re.search(r'name="scope.sales_rep.notes">.*?<option value="own" selected', page, re.S)
    assert "Everyone also sees notes whose title starts with Shared" in page and "widens the role" in page

    saved = client.post("/admin/record-rules", data={"csrf_token": token, "scope.sales_rep.notes": "all", "scope.executive.notes": "all"})
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/record-rules?saved=1"  # executive already had all
    assert sorted(n["title"] for n in site.records.list(rep, "notes").items) == ["Shared plan", "mine", "theirs"]
    assert "notes.read:all" in role_row(site, "sales_rep")["permissions"]
    assert role_row(site, "executive")["permissions"] is None

    client.post("/admin/record-rules", data={"csrf_token": token, "scope.sales_rep.notes": "none"})
    with pytest.raises(Forbidden):
        site.records.list(rep, "notes")
    assert "1 role changed." in client.get("/admin/record-rules?saved=1").text
