"""The app: routing, the error envelope for anything unexpected, and plugin routes."""

from __future__ import annotations

import logging

import pytest

from tests.web.test_api import assert_error

pytestmark = pytest.mark.anyio


async def test_health(anon):
    health = (await anon.get("/healthz")).json()
    assert health["status"] == "ok" and health["plugins"] == ["core", "notes", "extras"]


async def test_unknown_api_route_and_method(client):
    assert_error(await client.get("/api/v1/notes/1/close/again"), 404, "not_found")
    assert_error(await client.get("/api/v2/notes"), 404, "not_found")
    wrong = await client.put("/api/v1/notes")
    assert_error(wrong, 405, "method_not_allowed")
    assert set(wrong.headers["allow"].split(", ")) >= {"GET", "POST"}
    assert_error(await client.get("/api/v1/notes/1/close"), 405, "method_not_allowed")
    assert_error(await client.delete("/api/v1/meta/entities"), 405, "method_not_allowed")


async def test_unexpected_error_is_a_logged_generic_500(client, caplog):
    note = (await client.post("/api/v1/notes", json={"title": "x"})).json()
    with caplog.at_level(logging.ERROR, logger="kernel.web.errors"):
        response = await client.patch(f"/api/v1/notes/{note['id']}", json={"title": "explode on update"})
    error = assert_error(response, 500, "internal_error")
    assert "after_update" not in error["message"] and "Traceback" not in response.text
    assert "after_update failed on purpose" in caplog.text
    assert (await client.get(f"/api/v1/notes/{note['id']}")).json()["title"] == "x"  # rolled back


async def test_constraint_violation_is_not_a_500(client):
    orphan = await client.post("/api/v1/teams", json={"name": "Team", "parent_id": 4242})
    assert_error(orphan, 422, "validation_error")
    assert "FOREIGN" not in orphan.text


async def test_plugin_routes_are_mounted_under_their_name(client, anon):
    answer = await client.get("/api/v1/plugins/extras/whoami")
    assert answer.json() == {"plugin": "extras", "actor": "admin@example.com"}
    assert_error(await client.post("/api/v1/plugins/extras/refuse"), 403, "forbidden")
    assert_error(await client.get("/api/v1/plugins/extras/refuse"), 405, "method_not_allowed")
    assert_error(await client.get("/api/v1/plugins/extras/nothing"), 404, "not_found")
    assert_error(await client.get("/api/v1/plugins/notes/whoami"), 404, "not_found", ["path", "plugin"])
    assert_error(await anon.get("/api/v1/plugins/extras/whoami"), 401, "unauthorized")


async def test_disabled_plugin_routes_disappear_and_return(client):
    assert (await client.post("/api/v1/meta/plugins/extras/disable")).status_code == 200
    assert_error(await client.get("/api/v1/plugins/extras/whoami"), 404, "not_found", ["path", "plugin"])
    assert (await client.post("/api/v1/meta/plugins/extras/enable")).status_code == 200
    assert (await client.get("/api/v1/plugins/extras/whoami")).status_code == 200
