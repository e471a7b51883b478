"""The OpenAPI document and the docs page."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from tests.web.test_auth import browser, sign_in

pytestmark = pytest.mark.anyio


async def test_document_and_docs_page_need_a_login(anon, app, rep_user):
    refused = await anon.get("/api/v1/openapi.json")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    page = await anon.get("/api/docs")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/api/docs"
    async with browser(app) as web:
        assert (await sign_in(web, rep_user["email"])).status_code == 200
        assert (await web.get("/api/v1/openapi.json")).status_code == 200
        assert (await web.get("/api/docs")).status_code == 200


async def test_document_is_valid_openapi_3_1(rep):
    response = await rep.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    validate(document)
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert "error" in document["components"]["schemas"]["Error"]["properties"]


async def test_document_describes_every_route(rep):
    paths = (await rep.get("/api/v1/openapi.json")).json()["paths"]
    for entity in ("users", "teams", "roles", "notes"):
        assert set(paths[f"/api/v1/{entity}"]) == {"get", "post"}
        assert set(paths[f"/api/v1/{entity}/{{id}}"]) == {"parameters", "get", "patch", "delete"}
        assert "get" in paths[f"/api/v1/{entity}/{{id}}/history"]
    close = paths["/api/v1/notes/{id}/close"]["post"]
    assert close["requestBody"]["content"]["application/json"]["schema"]["required"] == ["reason"]
    for path in (
        "/api/v1/auth/token",
        "/api/v1/meta/entities",
        "/api/v1/meta/entities/{entity}/fields/{name}",
        "/api/v1/meta/plugins/{name}/disable",
        "/api/v1/plugins/extras/whoami",
        "/api/v1/trash",
        "/api/v1/notes/{id}/restore",
    ):
        assert path in paths
    assert paths["/api/v1/plugins/extras/whoami"]["get"]["summary"] == "Who is calling"
    params = {p["name"] for p in paths["/api/v1/notes"]["get"]["parameters"]}
    assert {"limit", "offset", "sort", "q", "priority", "priority__gte", "due__lte"} <= params


async def test_custom_field_added_at_runtime_appears(client):
    before = (await client.get("/api/v1/openapi.json")).json()
    assert before["components"]["schemas"]["notes.Custom"]["properties"] == {}
    await client.post("/api/v1/meta/entities/notes/fields", json={"name": "region", "schema": {"type": "string", "maxLength": 20}})
    after = (await client.get("/api/v1/openapi.json")).json()
    validate(after)
    region = after["components"]["schemas"]["notes.Custom"]["properties"]["region"]
    assert {"type": "string", "maxLength": 20} in region["anyOf"]
    assert "region" in {p["name"] for p in after["paths"]["/api/v1/notes"]["get"]["parameters"]}


async def test_disabled_plugin_leaves_the_document(client):
    await client.post("/api/v1/meta/plugins/extras/disable")
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    assert "/api/v1/plugins/extras/whoami" not in paths


async def test_docs_page_uses_shipped_assets(app, rep_user, anon):
    async with browser(app) as web:
        await sign_in(web, rep_user["email"])
        page = await web.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "http://testserver/api/v1/openapi.json" in page.text
    assert "cdn" not in page.text.lower() and "unpkg" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js", "LICENSE"):
        assert (await anon.get(f"/api/docs/assets/{asset}")).status_code == 200
    init = (await anon.get("/api/docs/assets/init.js")).text
    assert "validatorUrl: null" in init


async def test_owned_entities_document_the_kernels_assign_action(client):
    doc = (await client.get("/api/v1/openapi.json")).json()
    assign = doc["paths"]["/api/v1/notes/{id}/assign"]["post"]
    assert assign["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AssignBody"}
    assert doc["components"]["schemas"]["AssignBody"]["required"] == ["owner_id"]
    assert "assign" in doc["components"]["schemas"]["notes.Update"]["properties"]["owner_id"]["description"]
    assert "/api/v1/users/{id}/assign" not in doc["paths"]
