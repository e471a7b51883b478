"""Generic REST: /api/v1/E, /api/v1/E/{id}, history, actions, duplicates, and their errors."""

from __future__ import annotations

import pytest

from kernel import Actor
from kernel.fielddefs import add_field

pytestmark = pytest.mark.anyio


def assert_error(response, status, code, loc=None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if loc is not None:
        assert [d["loc"] for d in error["details"]][0] == loc
    return error


async def test_create_get_patch_delete_round_trip(client):
    created = await client.post("/api/v1/notes", json={"title": "Call ACME", "due": "2026-02-01"})
    assert created.status_code == 201
    note = created.json()
    assert note["title"] == "Call ACME" and note["due"] == "2026-02-01"
    assert note["created_at"] == "2026-01-05T09:00:00+00:00"
    assert "warnings" not in note

    fetched = await client.get(f"/api/v1/notes/{note['id']}")
    assert fetched.json() == note

    patched = await client.patch(f"/api/v1/notes/{note['id']}", json={"priority": 1})
    assert patched.status_code == 200 and patched.json()["priority"] == 1

    deleted = await client.delete(f"/api/v1/notes/{note['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(await client.get(f"/api/v1/notes/{note['id']}"), 404, "not_found")


async def test_list_pages_filters_sorts_and_searches(client, site, admin):
    add_field(site, admin, "notes", "region", {"type": "string", "enum": ["north", "south"]})
    for title, priority, region in [("alpha", 1, "north"), ("beta", 2, "south"), ("gamma", 5, "north"), ("delta", 4, None)]:
        custom = {"region": region} if region else {}
        assert (await client.post("/api/v1/notes", json={"title": title, "priority": priority, "custom": custom})).status_code == 201

    page = (await client.get("/api/v1/notes", params={"limit": 2, "offset": 1, "sort": "-priority"})).json()
    assert [n["title"] for n in page["items"]] == ["delta", "beta"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)

    north = (await client.get("/api/v1/notes", params={"region": "north", "sort": "title"})).json()
    assert [n["title"] for n in north["items"]] == ["alpha", "gamma"]

    ranged = (await client.get("/api/v1/notes", params={"priority__gte": 2, "priority__lte": 4, "sort": "priority"})).json()
    assert [n["title"] for n in ranged["items"]] == ["beta", "delta"]

    found = (await client.get("/api/v1/notes", params={"q": "ELT"})).json()
    assert [n["title"] for n in found["items"]] == ["delta"]

    default = (await client.get("/api/v1/notes")).json()
    assert default["limit"] == 50 and default["offset"] == 0 and len(default["items"]) == 4


async def test_custom_values_travel_in_custom_and_hidden_fields_stay_hidden(client, site, admin):
    add_field(site, admin, "notes", "score", {"type": "integer", "minimum": 0})
    note = (await client.post("/api/v1/notes", json={"title": "x", "custom": {"score": 7}})).json()
    assert note["custom"] == {"score": 7}
    cleared = await client.patch(f"/api/v1/notes/{note['id']}", json={"custom": {"score": None}})
    assert cleared.json()["custom"] == {}

    user = await client.post("/api/v1/users", json={"email": "new@example.com", "password": "long enough pw", "role": "sales_rep"})
    assert user.status_code == 201
    assert "password_hash" not in user.json() and "password" not in user.json()
    listed = (await client.get("/api/v1/users")).json()["items"]
    assert all("password_hash" not in u for u in listed)


async def test_removed_custom_field_values_are_not_shown(client, site, admin):
    add_field(site, admin, "notes", "secret", {"type": "string"})
    note = (await client.post("/api/v1/notes", json={"title": "x", "custom": {"secret": "s"}})).json()
    assert (await client.delete("/api/v1/meta/entities/notes/fields/secret")).status_code == 204
    assert (await client.get(f"/api/v1/notes/{note['id']}")).json()["custom"] == {}


async def test_history_is_newest_first_and_pages(client):
    note = (await client.post("/api/v1/notes", json={"title": "x"})).json()
    await client.patch(f"/api/v1/notes/{note['id']}", json={"priority": 2})
    await client.post(f"/api/v1/notes/{note['id']}/close", json={"reason": "done"})
    history = (await client.get(f"/api/v1/notes/{note['id']}/history")).json()
    assert [e["action"] for e in history["items"]] == ["close", "update", "update", "create"]
    assert history["items"][-1]["actor"] == "admin@example.com" and history["items"][-1]["channel"] == "api"
    assert history["items"][0]["at"] == "2026-01-05T09:00:00+00:00"
    second = (await client.get(f"/api/v1/notes/{note['id']}/history", params={"limit": 1, "offset": 1})).json()
    assert [e["action"] for e in second["items"]] == ["update"]
    assert_error(await client.get(f"/api/v1/notes/{note['id']}/history", params={"limit": 0}), 422, "validation_error", ["query", "limit"])


async def test_action_runs_and_checks_its_body(client):
    note = (await client.post("/api/v1/notes", json={"title": "x"})).json()
    closed = await client.post(f"/api/v1/notes/{note['id']}/close", json={"reason": "done"})
    assert closed.status_code == 200 and closed.json()["status"] == "done"
    assert_error(await client.post(f"/api/v1/notes/{note['id']}/close", json={}), 422, "validation_error", ["body", "reason"])
    assert_error(await client.post(f"/api/v1/notes/{note['id']}/explode", json={}), 404, "not_found", ["action"])
    assert_error(await client.post("/api/v1/notes/999/close", json={"reason": "r"}), 404, "not_found")


async def test_duplicates_warn_or_refuse(client):
    first = (await client.post("/api/v1/notes", json={"title": "Same"})).json()
    second = await client.post("/api/v1/notes", json={"title": "Same"})
    assert second.status_code == 201
    assert second.json()["warnings"] == [{"code": "duplicate", "ids": [first["id"]], "hidden": 0}]

    refused = await client.post("/api/v1/notes", params={"on_duplicate": "refuse"}, json={"title": "Same"})
    error = assert_error(refused, 409, "conflict", ["body"])
    assert error["details"][0]["ids"] == [first["id"], second.json()["id"]] and error["details"][0]["hidden"] == 0
    assert error["message"] == f"this looks like notes {first['id']}, notes {second.json()['id']}"
    assert (await client.get("/api/v1/notes")).json()["total"] == 2  # the refused create left nothing behind

    fresh = await client.post("/api/v1/notes", params={"on_duplicate": "refuse"}, json={"title": "Other"})
    assert fresh.status_code == 201 and "warnings" not in fresh.json()
    assert_error(await client.post("/api/v1/notes", params={"on_duplicate": "maybe"}, json={"title": "x"}), 422, "validation_error", ["query", "on_duplicate"])


async def test_disabled_plugin_entity_is_gone_at_once(client, site):
    from kernel.pluginstate import disable_plugin

    assert (await client.get("/api/v1/notes")).status_code == 200
    disable_plugin(site, Actor.system(), "extras")
    disable_plugin(site, Actor.system(), "notes")
    assert_error(await client.get("/api/v1/notes"), 404, "not_found", ["entity"])


# -- error paths --------------------------------------------------------------------


async def test_body_errors(client):
    broken = await client.post("/api/v1/notes", content=b'{"title": ', headers={"content-type": "application/json"})
    assert_error(broken, 400, "validation_error", ["body"])
    text = await client.post("/api/v1/notes", content=b'{"title": "x"}', headers={"content-type": "text/plain"})
    assert "Content-Type: application/json" in assert_error(text, 400, "validation_error", ["header", "content-type"])["message"]
    form = await client.post("/api/v1/notes", data={"title": "x"})
    assert_error(form, 400, "validation_error", ["header", "content-type"])
    assert_error(await client.post("/api/v1/notes", json=["x"]), 422, "validation_error", ["body"])
    assert_error(await client.post("/api/v1/notes"), 422, "validation_error", ["body"])
    assert_error(await client.post("/api/v1/notes", content=b"NaN", headers={"content-type": "application/json"}), 400, "validation_error", ["body"])
    assert_error(await client.patch("/api/v1/notes/1", json="x"), 422, "validation_error")


async def test_field_errors_name_the_field(client, site, admin):
    add_field(site, admin, "notes", "score", {"type": "integer"})
    unknown = await client.post("/api/v1/notes", json={"title": "x", "owner": 3})
    assert_error(unknown, 422, "validation_error", ["owner"])
    unknown_custom = await client.post("/api/v1/notes", json={"title": "x", "custom": {"industry": "x"}})
    assert_error(unknown_custom, 422, "validation_error", ["custom", "industry"])
    wrong_type = await client.post("/api/v1/notes", json={"title": "x", "priority": "high"})
    assert_error(wrong_type, 422, "validation_error", ["priority"])
    wrong_custom = await client.post("/api/v1/notes", json={"title": "x", "custom": {"score": "ten"}})
    assert_error(wrong_custom, 422, "validation_error", ["custom", "score"])
    assert_error(await client.post("/api/v1/notes", json={"title": "a\x00b"}), 422, "validation_error", ["body", "title"])
    assert_error(await client.post("/api/v1/notes", json={"title": "x", "owner_id": 2**70}), 422, "validation_error", ["body", "owner_id"])
    vetoed = await client.post("/api/v1/notes", json={"title": "forbidden"})
    assert_error(vetoed, 422, "validation_error", ["title"])


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 501}, ["query", "limit"]),
        ({"limit": "abc"}, ["query", "limit"]),
        ({"offset": -1}, ["query", "offset"]),
        ({"offset": "1.5"}, ["query", "offset"]),
        ({"colour": "red"}, ["query", "colour"]),
        ({"priority__near": 3}, ["query", "priority__near"]),
        ({"priority": "high"}, ["query", "priority"]),
        ({"priority": 2**70}, ["query", "priority"]),
        ({"due__gte": "soon"}, ["query", "due__gte"]),
        ({"sort": "colour"}, ["query", "sort"]),
        ({"sort": "-title,nope"}, ["query", "sort"]),
        ({"q": "a\x00"}, ["query", "q"]),
    ],
)
async def test_query_errors(client, params, loc):
    error = assert_error(await client.get("/api/v1/notes", params=params), 422, "validation_error", loc)
    assert "SELECT" not in error["message"]


async def test_limit_at_the_maximum_is_fine(client):
    assert (await client.get("/api/v1/notes", params={"limit": 500})).json()["limit"] == 500


async def test_repeated_query_parameter_is_refused(client):
    assert_error(await client.get("/api/v1/notes?status=open&status=done"), 422, "validation_error", ["query", "status"])


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1.0", "99999999999999999999999"])
async def test_bad_ids_are_not_found(client, bad):
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(method, f"/api/v1/notes/{bad}", json={} if method == "PATCH" else None)
        assert_error(response, 404, "not_found", ["path", "id"])
    assert_error(await client.get(f"/api/v1/notes/{bad}/history"), 404, "not_found", ["path", "id"])
    assert_error(await client.post(f"/api/v1/notes/{bad}/close", json={"reason": "r"}), 404, "not_found", ["path", "id"])


async def test_unknown_entity(client):
    assert_error(await client.get("/api/v1/planets"), 404, "not_found", ["entity"])
    assert_error(await client.post("/api/v1/planets", json={}), 404, "not_found", ["entity"])
    assert_error(await client.get("/api/v1/planets/1"), 404, "not_found", ["entity"])


async def test_missing_or_invalid_token(anon):
    missing = await anon.get("/api/v1/notes")
    assert_error(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"] == "Bearer"
    invalid = await anon.get("/api/v1/notes", headers={"Authorization": "Bearer not-a-token"})
    assert_error(invalid, 401, "unauthorized")
    assert_error(await anon.post("/api/v1/notes", json={"title": "x"}), 401, "unauthorized")
    assert_error(await anon.get("/api/v1/planets"), 401, "unauthorized")  # entity names are not revealed


async def test_token_from_the_auth_route_works(anon, admin_user):
    issued = await anon.post("/api/v1/auth/token", json={"email": "admin@example.com", "password": "s3cret-pass"})
    assert issued.status_code == 201
    listed = await anon.get("/api/v1/notes", headers={"Authorization": f"Bearer {issued.json()['token']}"})
    assert listed.status_code == 200
