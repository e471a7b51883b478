"""Record rules over HTTP, the access explanation and the audit search."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from kernel import Actor
from kernel.web.api import record_routes
from kernel.web.auth import auth_routes
from kernel.web.errors import EXCEPTION_HANDLERS
from kernel.web.security_api import security_routes
from tests.web.conftest import http_client, make_user

pytestmark = pytest.mark.anyio
SYSTEM = Actor.system("cli")


@pytest.fixture
def app(site):
    """The API as the lead mounts it: auth, the security routes, then the generic entity routes."""
    api = [Mount("/auth", routes=auth_routes()), *security_routes(), *record_routes()]
    app = Starlette(routes=[Mount("/api/v1", routes=api)], exception_handlers=EXCEPTION_HANDLERS)
    app.state.site = site
    return app


@pytest.fixture
def teams(site, rep_user):
    east = site.records.create(SYSTEM, "teams", {"name": "east"})
    west = site.records.create(SYSTEM, "teams", {"name": "west"})
    site.records.update(SYSTEM, "users", rep_user["id"], {"team_id": east["id"]})
    outsider = make_user(site, "west@example.com", "sales_rep")
    site.records.update(SYSTEM, "users", outsider["id"], {"team_id": west["id"]})
    return outsider


@pytest.fixture
async def west(app, teams, anyio_backend):
    async with http_client(app, teams["token"]) as client:
        yield client


async def test_a_rep_cannot_reach_another_teams_record_by_any_endpoint(rep, west):
    mine = (await rep.post("/api/v1/notes", json={"title": "east plan", "priority": 2})).json()
    theirs = (await west.post("/api/v1/notes", json={"title": "west plan", "priority": 2})).json()
    listed = (await rep.get("/api/v1/notes")).json()
    assert [n["id"] for n in listed["items"]] == [mine["id"]] and listed["total"] == 1
    for query in (f"id={theirs['id']}", f"owner_id={theirs['owner_id']}", "q=west", "title=west plan", "priority__gte=1&sort=-id&limit=1&offset=1"):
        page = (await rep.get(f"/api/v1/notes?{query}")).json()
        assert page["items"] == [] and page["total"] in (0, 1), query
        assert theirs["id"] not in [n["id"] for n in page["items"]]
    url = f"/api/v1/notes/{theirs['id']}"
    for response in (
        await rep.get(url),
        await rep.patch(url, json={"title": "taken"}),
        await rep.delete(url),
        await rep.post(f"{url}/close", json={"reason": "x"}),
        await rep.get(f"{url}/history"),
    ):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert (await west.get(url)).json()["title"] == "west plan"


async def test_access_explains_allow_and_deny(client, rep, west, rep_user, teams):
    theirs = (await west.post("/api/v1/notes", json={"title": "west plan"})).json()
    denied = await client.get(f"/api/v1/notes/{theirs['id']}/access?user_id={rep_user['id']}")
    assert denied.status_code == 200
    body = denied.json()
    assert body["user"]["email"] == rep_user["email"] and body["role"] == {"name": "sales_rep", "grants": "defaults"}
    assert body["visible"] is False and body["scope"] == "own"
    assert body["actions"]["read"] == {
        "permission": "notes.read",
        "granted": True,
        "allowed": False,
        "refused_by": [],
        "reason": "outside role 'sales_rep''s record scope 'own', and no plugin rule matched",
    }
    assert body["actions"]["delete"]["granted"] is False and "does not hold notes.delete" in body["actions"]["delete"]["reason"]

    allowed = (await client.get(f"/api/v1/notes/{theirs['id']}/access?user_id={teams['id']}")).json()
    assert allowed["visible"] is True
    assert allowed["actions"]["update"]["allowed"] is True and "scope own" in allowed["actions"]["update"]["reason"]
    assert allowed["actions"]["close"]["permission"] == "notes.close"


async def test_access_is_for_admins_and_checks_its_input(client, rep, rep_user):
    note = (await rep.post("/api/v1/notes", json={"title": "x"})).json()
    url = f"/api/v1/notes/{note['id']}/access"
    assert (await rep.get(f"{url}?user_id={rep_user['id']}")).status_code == 403
    missing_user = await client.get(f"{url}?user_id=99999")
    assert missing_user.status_code == 422 and missing_user.json()["error"]["details"][0]["loc"] == ["query", "user_id"]
    assert (await client.get(url)).status_code == 422
    assert (await client.get(f"/api/v1/notes/99999/access?user_id={rep_user['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/nothing/1/access?user_id={rep_user['id']}")).status_code == 404


async def test_admins_search_the_audit_log(app, site, client, rep, rep_user, clock):
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("192.0.2.7", 1234)), base_url="http://testserver"
    ) as browser:
        await browser.post("/api/v1/auth/login", json={"email": rep_user["email"], "password": "wrong"})
    since = clock.now().isoformat()
    clock.advance(minutes=1)
    note = (await rep.post("/api/v1/notes", json={"title": "audited"})).json()

    failed = (await client.get("/api/v1/audit?action=login_failed")).json()
    assert failed["total"] == 1 and failed["items"][0]["ip"] == "192.0.2.7" and failed["items"][0]["record_id"] == rep_user["id"]
    created = (await client.get(f"/api/v1/audit?entity=notes&record_id={note['id']}&actor_id={rep_user['id']}&channel=api")).json()
    assert [i["action"] for i in created["items"]] == ["create"]
    assert (await client.get("/api/v1/audit", params={"since": clock.now().isoformat()})).json()["items"][0]["action"] == "create"
    assert (await client.get("/api/v1/audit", params={"until": since, "action": "create", "entity": "notes"})).json()["total"] == 0
    page = (await client.get("/api/v1/audit?limit=1&offset=1")).json()
    assert len(page["items"]) == 1 and page["total"] > 1

    assert (await rep.get("/api/v1/audit")).status_code == 403
    for bad in ("since=yesterday", "limit=0", "limit=100000", "record_id=abc"):
        response = await client.get(f"/api/v1/audit?{bad}")
        assert response.status_code == 422 and response.json()["error"]["details"][0]["loc"][0] == "query", bad


async def test_role_changes_reach_the_api_at_once_and_are_audited(client, rep, site):
    role = (await client.get("/api/v1/roles?name=sales_rep")).json()["items"][0]
    assert (await rep.post("/api/v1/notes", json={"title": "x"})).status_code == 201
    patched = await client.patch(f"/api/v1/roles/{role['id']}", json={"permissions": ["notes.read:own"]})
    assert patched.status_code == 200
    assert (await rep.post("/api/v1/notes", json={"title": "y"})).status_code == 403
    bad = await client.patch(f"/api/v1/roles/{role['id']}", json={"permissions": ["notes.read:everyone"]})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["loc"] == ["permissions", 0]
    history = (await client.get(f"/api/v1/audit?entity=roles&record_id={role['id']}")).json()["items"]
    assert history[0]["changes"] == {"permissions": [None, ["notes.read:own"]]}
