"""/api/v1/meta: entity metadata, custom-field admin and plugin switches."""

from __future__ import annotations

import pytest

from tests.web.test_api import assert_error

pytestmark = pytest.mark.anyio

INDUSTRY = {"name": "industry", "schema": {"type": "string", "enum": ["finance", "retail"]}, "label": {"en": "Industry", "zh_CN": "行业"}}


async def test_entities_describe_fields_custom_fields_and_actions(rep, client):
    await client.post("/api/v1/meta/entities/notes/fields", json={**INDUSTRY, "indexed": True})
    listed = (await rep.get("/api/v1/meta/entities")).json()["items"]
    assert {e["name"] for e in listed} == {"users", "teams", "targets", "roles", "notes"}
    notes = next(e for e in listed if e["name"] == "notes")
    assert notes["label"] == {"en": "Note", "zh_CN": "笔记"} and notes["plugin"] == "notes"
    assert notes["fields"]["properties"]["priority"]["maximum"] == 5
    assert notes["custom_fields"] == [
        {"name": "industry", "schema": INDUSTRY["schema"], "label": INDUSTRY["label"], "indexed": True, "kind": "enum"}
    ]
    assert notes["custom_schema"]["additionalProperties"] is False
    close, assign = notes["actions"]
    assert close["name"] == "close" and close["body"]["required"] == ["reason"]
    assert assign["name"] == "assign" and assign["body"]["required"] == ["owner_id"]  # the kernel's, for owned entities
    assert next(e for e in listed if e["name"] == "users")["actions"] == []
    one = await rep.get("/api/v1/meta/entities/notes")
    assert one.json() == notes
    assert_error(await rep.get("/api/v1/meta/entities/planets"), 404, "not_found", ["path", "entity"])


async def test_custom_field_admin(client):
    created = await client.post("/api/v1/meta/entities/notes/fields", json=INDUSTRY)
    assert created.status_code == 201 and created.json()["kind"] == "enum"
    assert [f["name"] for f in (await client.get("/api/v1/meta/entities/notes/fields")).json()["items"]] == ["industry"]

    duplicate = await client.post("/api/v1/meta/entities/notes/fields", json=INDUSTRY)
    assert_error(duplicate, 409, "conflict", ["name"])
    clash = await client.post("/api/v1/meta/entities/notes/fields", json={"name": "title", "schema": {"type": "string"}})
    assert_error(clash, 409, "conflict", ["name"])

    patched = await client.patch("/api/v1/meta/entities/notes/fields/industry", json={"label": "Sector", "indexed": True})
    assert patched.status_code == 200
    assert patched.json()["label"] == {"en": "Sector", "zh_CN": "Sector"} and patched.json()["indexed"] is True

    assert (await client.delete("/api/v1/meta/entities/notes/fields/industry")).status_code == 204
    assert (await client.get("/api/v1/meta/entities/notes/fields")).json()["items"] == []
    removed = (await client.get("/api/v1/meta/entities/notes/fields", params={"include_removed": "true"})).json()["items"]
    assert [(f["name"], f["active"]) for f in removed] == [("industry", False)]
    assert (await client.delete("/api/v1/meta/entities/notes/fields/industry", params={"purge": "true"})).status_code == 204
    assert (await client.get("/api/v1/meta/entities/notes/fields", params={"include_removed": "true"})).json()["items"] == []


async def test_custom_field_admin_errors(client):
    url = "/api/v1/meta/entities/notes/fields"
    assert_error(await client.post(url, json={"name": "x", "schema": {"type": "string"}, "colour": 1}), 422, "validation_error", ["body", "colour"])
    assert_error(await client.post(url, json={"name": "x"}), 422, "validation_error", ["body", "schema"])
    assert_error(await client.post(url, json={"name": "Bad Name", "schema": {"type": "string"}}), 422, "validation_error", ["name"])
    assert_error(await client.post(url, json={"name": "x", "schema": {"type": "blob"}}), 422, "validation_error", ["schema", "type"])
    assert_error(await client.post(url, json={"name": "x", "schema": {"type": "string"}, "indexed": "yes"}), 422, "validation_error", ["body", "indexed"])
    assert_error(await client.post(url, content=b"{", headers={"content-type": "application/json"}), 400, "validation_error", ["body"])
    assert_error(await client.post("/api/v1/meta/entities/planets/fields", json=INDUSTRY), 404, "not_found")
    assert_error(await client.patch(f"{url}/nope", json={"indexed": True}), 404, "not_found")
    assert_error(await client.patch(f"{url}/nope", json={}), 422, "validation_error", ["body"])
    assert_error(await client.patch(f"{url}/nope", json={"schema": {}}), 422, "validation_error", ["body", "schema"])
    assert_error(await client.delete(f"{url}/nope"), 404, "not_found")
    assert_error(await client.delete(f"{url}/nope", params={"purge": "maybe"}), 422, "validation_error", ["query", "purge"])


async def test_admin_endpoints_refuse_other_roles(rep):
    url = "/api/v1/meta/entities/notes/fields"
    for response in [
        await rep.get(url),
        await rep.post(url, json=INDUSTRY),
        await rep.patch(f"{url}/industry", json={"indexed": True}),
        await rep.delete(f"{url}/industry"),
        await rep.get("/api/v1/meta/plugins"),
        await rep.post("/api/v1/meta/plugins/extras/disable"),
        await rep.post("/api/v1/meta/plugins/extras/enable"),
    ]:
        assert_error(response, 403, "forbidden")


async def test_admin_endpoints_need_a_token(anon):
    assert_error(await anon.get("/api/v1/meta/plugins"), 401, "unauthorized")
    assert_error(await anon.get("/api/v1/meta/entities"), 401, "unauthorized")


async def test_plugins_list_enable_and_disable(client):
    plugins = {p["name"]: p for p in (await client.get("/api/v1/meta/plugins")).json()["items"]}
    assert plugins["core"]["essential"] is True and plugins["extras"]["requires"] == ["notes"]
    assert plugins["extras"]["enabled"] is True

    disabled = await client.post("/api/v1/meta/plugins/extras/disable")
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    enabled = await client.post("/api/v1/meta/plugins/extras/enable")
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True


async def test_plugin_switches_refused(client):
    required = assert_error(await client.post("/api/v1/meta/plugins/notes/disable"), 409, "conflict", ["path", "name"])
    assert "extras" in required["message"]
    assert_error(await client.post("/api/v1/meta/plugins/core/disable"), 409, "conflict")
    await client.post("/api/v1/meta/plugins/extras/disable")
    await client.post("/api/v1/meta/plugins/notes/disable")
    needs = assert_error(await client.post("/api/v1/meta/plugins/extras/enable"), 409, "conflict")
    assert "notes" in needs["message"]
    assert_error(await client.post("/api/v1/meta/plugins/nope/enable"), 404, "not_found", ["path", "name"])
    assert_error(await client.post("/api/v1/meta/plugins/extras/restart"), 404, "not_found")


async def test_plugin_switches_are_refused_in_the_callers_language(client):
    zh = {"Accept-Language": "zh-CN"}
    required = (await client.post("/api/v1/meta/plugins/notes/disable", headers=zh)).json()["error"]
    assert required["code"] == "conflict" and required["message"] == "插件 notes 被 extras 依赖：请先停用它们"
    kernel = (await client.post("/api/v1/meta/plugins/core/disable", headers=zh)).json()["error"]
    assert kernel["message"] == "插件 core 属于内核，不能停用"
    english = (await client.post("/api/v1/meta/plugins/notes/disable", headers={"Accept-Language": "en"})).json()["error"]
    assert english["message"] == "Plugin notes is needed by extras: disable that first"


def test_the_plugins_page_refuses_in_the_readers_language(site):
    from kernel.testing import create_app
    from tests.web.test_ui import add_user, signed_in

    app = create_app(site=site)
    add_user(site, "boss@example.com", "admin")
    client, token = signed_in(app, "boss@example.com")
    client.cookies.set("crm_locale", "zh_CN")
    refused = client.post("/admin/plugins", data={"csrf_token": token, "name": "notes", "enable": "no"})
    assert refused.status_code == 409 and "插件 notes 被 extras 依赖：请先停用它们" in refused.text
