"""Users' history holds their logins, failed logins and token names: only admins and the user themself read it."""

from __future__ import annotations

import pytest

from kernel import Actor
from tests.web.conftest import http_client, make_user

pytestmark = pytest.mark.anyio
SYSTEM = Actor.system("cli")


@pytest.fixture
def manager_user(site):
    return make_user(site, "boss@example.com", "sales_manager")


async def test_a_rep_reads_neither_another_users_history_nor_activity(app, site, admin_user, rep_user, manager_user):
    async with http_client(app) as anon:
        await anon.post("/api/v1/auth/token", json={"email": "admin@example.com", "password": "wrong-password"})
        await anon.post("/api/v1/auth/token", json={"email": "admin@example.com", "password": "s3cret-pass"})
    for token in (rep_user["token"], manager_user["token"]):
        async with http_client(app, token) as other:
            for tail in ("history", "activity"):
                refused = await other.get(f"/api/v1/users/{admin_user['id']}/{tail}")
                assert refused.status_code == 403, (tail, refused.text)
                assert "login" not in refused.text
            assert (await other.get(f"/api/v1/users/{admin_user['id']}")).status_code == 200  # the user itself stays readable
    async with http_client(app, admin_user["token"]) as admin:
        seen = (await admin.get(f"/api/v1/users/{admin_user['id']}/history")).json()["items"]
        assert "login" in [e["action"] for e in seen]
        assert (await admin.get(f"/api/v1/users/{rep_user['id']}/activity")).status_code == 200


async def test_a_user_reads_their_own_history(app, rep_user):
    async with http_client(app, rep_user["token"]) as rep:
        own = await rep.get(f"/api/v1/users/{rep_user['id']}/history")
        assert own.status_code == 200 and "create" in [e["action"] for e in own.json()["items"]]
        assert (await rep.get(f"/api/v1/users/{rep_user['id']}/activity")).status_code == 200


async def test_teams_and_roles_history_is_for_admins(app, site, admin_user, rep_user):
    team = site.records.create(SYSTEM, "teams", {"name": "North"})
    role = site.records.list(SYSTEM, "roles", filters={"name": "sales_rep"}).items[0]
    async with http_client(app, rep_user["token"]) as rep, http_client(app, admin_user["token"]) as admin:
        for path in (f"/api/v1/teams/{team['id']}", f"/api/v1/roles/{role['id']}"):
            for tail in ("history", "activity"):
                assert (await rep.get(f"{path}/{tail}")).status_code == 403
                assert (await admin.get(f"{path}/{tail}")).status_code == 200
