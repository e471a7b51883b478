"""The OpenAPI document and the server agree on what a request may hold (schemathesis found three places they did not)."""

from __future__ import annotations

import pytest

from kernel.parsing import INT64_MAX

pytestmark = pytest.mark.anyio


async def _document(client) -> dict:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def _parameter(operation: dict, name: str) -> dict:
    [found] = [p for p in operation["parameters"] if p["name"] == name]
    return found["schema"]


async def test_every_offset_and_limit_the_schema_allows_is_accepted_and_one_past_it_refused(client):
    paths = (await _document(client))["paths"]
    created = await client.post("/api/v1/notes", json={"title": "one"})
    record = created.json()["id"]
    for path in ("/api/v1/notes", "/api/v1/notes/{id}/history", "/api/v1/notes/{id}/activity"):
        operation = paths[path]["get"]
        url = path.replace("{id}", str(record))
        for name in ("offset", "limit"):
            schema = _parameter(operation, name)
            assert schema["maximum"] <= INT64_MAX
            largest = await client.get(url, params={name: schema["maximum"]})
            assert largest.status_code == 200, (url, name, largest.text)
            past = await client.get(url, params={name: schema["maximum"] + 1})
            assert past.status_code == 422 and past.json()["error"]["details"][0]["loc"] == ["query", name]


@pytest.mark.parametrize("moment", ["2026-01-05T09:00:00+23:59", "2026-01-05T09:00:00-23:59", "2026-01-05t09:00:00z", "2016-12-31T23:59:60Z", "2026-01-05T09:00:00.123456789Z"])
async def test_date_time_filters_take_every_offset_rfc_3339_allows(client, moment):
    response = await client.get("/api/v1/notes", params={"updated_at__gte": moment})
    assert response.status_code == 200, response.text


async def test_null_is_an_equality_filter_only_in_the_schema_and_on_the_server(client):
    operation = (await _document(client))["paths"]["/api/v1/notes"]["get"]
    equality, at_most = _parameter(operation, "updated_at"), _parameter(operation, "updated_at__lte")
    assert {"type": "string", "enum": ["null"]} in equality["anyOf"]
    assert "anyOf" not in at_most and at_most["format"] == "date-time"
    assert (await client.get("/api/v1/notes", params={"updated_at": "null"})).status_code == 200
    refused = await client.get("/api/v1/notes", params={"updated_at__lte": "null"})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [{"loc": ["query", "updated_at__lte"], "msg": "a range needs a value; null matches only with an equality filter"}]


async def test_integer_filters_are_bounded_to_64_bits_in_the_schema_and_on_the_server(client):
    operation = (await _document(client))["paths"]["/api/v1/users"]["get"]
    schema = _parameter(operation, "team_id__gte")
    assert (schema["minimum"], schema["maximum"]) == (-(2**63), INT64_MAX)
    assert (await client.get("/api/v1/users", params={"team_id__gte": INT64_MAX})).status_code == 200
    assert (await client.get("/api/v1/users", params={"team_id__gte": INT64_MAX + 1})).status_code == 422


async def test_custom_is_an_object_in_the_schema_and_null_is_refused(client):
    schemas = (await _document(client))["components"]["schemas"]
    assert schemas["notes.Create"]["properties"]["custom"] == {"$ref": "#/components/schemas/notes.Custom"}
    assert schemas["notes.Update"]["properties"]["custom"] == {"$ref": "#/components/schemas/notes.Custom"}
    assert schemas["notes.Custom"]["type"] == "object"
    created = await client.post("/api/v1/notes", json={"title": "one", "custom": None})
    assert created.status_code == 422 and created.json()["error"]["details"][0]["loc"] == ["custom"]
    record = (await client.post("/api/v1/notes", json={"title": "two"})).json()
    changed = await client.patch(f"/api/v1/notes/{record['id']}", json={"custom": None})
    assert changed.status_code == 422 and changed.json()["error"]["details"][0]["loc"] == ["custom"]
    assert (await client.patch(f"/api/v1/notes/{record['id']}", json={"custom": {}})).status_code == 200
