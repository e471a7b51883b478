"""Old credentials end with the change: a password reset, a new role or deactivation ends the
user's sessions and tokens at once, in every process (two sites on one database here)."""

from __future__ import annotations

import pytest

from kernel import Actor
from kernel.web.app import create_app
from kernel.web.auth import issue_token
from tests.example import plugin as notes_plugin
from tests.web import extras
from tests.web.conftest import http_client, make_user
from tests.web.test_auth import PASSWORD, browser, sign_in

pytestmark = pytest.mark.anyio
SYSTEM = Actor.system("cli")


@pytest.fixture
def two_sites(make_site):
    """Two processes' sites on the same database, each keeping lookups for a minute."""
    return make_site(notes_plugin, extras, refresh_seconds=60), make_site(notes_plugin, extras, refresh_seconds=60, migrate=False)


async def statuses(apps, token, path="/api/v1/notes"):
    found = []
    for app in apps:
        async with http_client(app, token) as client:
            found.append((await client.get(path)).status_code)
    return found


@pytest.mark.parametrize("change", [{"password": "a-new-passphrase"}, {"role": "sales_manager"}, {"active": False}])
async def test_a_change_ends_tokens_and_sessions_in_every_process(two_sites, change):
    one, other = two_sites
    apps = [create_app(site=one), create_app(site=other)]
    make_user(one, "admin@example.com", "admin")
    user = make_user(one, "rep@example.com", "sales_rep")
    async with browser(apps[0]) as web:
        assert (await sign_in(web, user["email"])).status_code == 200
        assert await statuses(apps, user["token"]) == [200, 200]  # both processes know the token now
        other.records.update(SYSTEM, "users", user["id"], change)
        assert await statuses(apps, user["token"]) == [401, 401]
        assert (await web.get("/api/v1/notes")).status_code == 401
    if change.get("active") is not False:
        fresh = issue_token(one, user["id"])["token"]
        assert await statuses(apps, fresh) == [200, 200]


async def test_a_demoted_admin_loses_admin_rights_at_once_even_where_the_change_was_made(two_sites):
    one, other = two_sites
    apps = [create_app(site=one), create_app(site=other)]
    make_user(one, "first@example.com", "admin")
    second = make_user(one, "second@example.com", "admin")
    assert await statuses(apps, second["token"], "/api/v1/audit") == [200, 200]
    one.records.update(SYSTEM, "users", second["id"], {"role": "sales_rep"})
    assert await statuses(apps, second["token"], "/api/v1/audit") == [401, 401]
    demoted = issue_token(other, second["id"])["token"]
    assert await statuses(apps, demoted, "/api/v1/audit") == [403, 403]


async def test_a_team_change_applies_to_the_next_request_without_ending_the_token(two_sites):
    one, other = two_sites
    apps = [create_app(site=one), create_app(site=other)]
    team = one.records.create(SYSTEM, "teams", {"name": "North"})
    rep = make_user(one, "rep@example.com", "sales_rep")
    one.records.update(SYSTEM, "users", rep["id"], {"team_id": team["id"]})
    note = one.records.create(SYSTEM, "notes", {"title": "north", "owner_id": rep["id"]})
    manager = make_user(one, "manager@example.com", "sales_manager")
    path = f"/api/v1/notes/{note['id']}"
    assert await statuses(apps, manager["token"], path) == [404, 404]  # not in the manager's team yet
    one.records.update(SYSTEM, "users", manager["id"], {"team_id": team["id"]})
    assert await statuses(apps, manager["token"], path) == [200, 200]


async def test_unchanged_credentials_keep_working(two_sites):
    one, other = two_sites
    apps = [create_app(site=one), create_app(site=other)]
    user = make_user(one, "rep@example.com", "sales_rep")
    other.records.update(SYSTEM, "users", user["id"], {"name": "New name", "role": "sales_rep", "active": True})
    assert await statuses(apps, user["token"]) == [200, 200]
    async with browser(apps[1]) as web:
        assert (await sign_in(web, user["email"], PASSWORD)).status_code == 200
        assert (await web.get("/api/v1/notes")).status_code == 200
