"""Actions a plugin adds to an entity another plugin owns (``register_entity_actions``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kernel import Action, Actor, PluginError, allowed
from kernel.pluginstate import disable_plugin, enable_plugin
from kernel.testing import plugin_module, registered_permissions
from kernel.web.app import create_app
from tests.example import plugin as notes_plugin
from tests.web.conftest import make_user

SYSTEM = Actor.system()


def pin(site: Any, conn: Any, actor: Actor, entity: Any, record: dict[str, Any], body: Any) -> dict[str, Any]:
    return site.records.update(actor, entity.name, record["id"], {"title": f"📌 {record['title']}"}, conn=conn)


PIN = Action("pin", {"en": "Pin", "zh_CN": "置顶"}, pin)
pins = plugin_module("pins", requires=["notes"], register_entity_actions=lambda: {"notes": [PIN], "not_enabled_anywhere": [PIN]})


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin, pins)


def test_the_added_action_runs_through_the_api_with_its_permission_and_openapi_entry(site):
    admin, rep = make_user(site, "admin@example.com", "admin"), make_user(site, "rep@example.com", "sales_rep")
    note = site.records.create(SYSTEM, "notes", {"title": "call back", "owner_id": rep["id"]})
    app = create_app(site=site)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers={"Authorization": f"Bearer {admin['token']}"}) as client:
            answer = await client.post(f"/api/v1/notes/{note['id']}/pin", json={})
            assert answer.status_code == 200 and answer.json()["title"] == "📌 call back"
            spec = (await client.get("/api/v1/openapi.json")).json()
            assert "/api/v1/notes/{id}/pin" in spec["paths"]
            assert [e["action"] for e in (await client.get(f"/api/v1/notes/{note['id']}/history")).json()["items"]][:2] == ["pin", "update"]

    import anyio

    anyio.run(run)
    assert registered_permissions(site)["notes.pin"].roles == {"sales_manager": None, "sales_rep": None}
    rep_actor = Actor(user_id=rep["id"], label=rep["email"], role="sales_rep", channel="api")
    assert allowed(site, rep_actor, "notes", "pin")
    marketer = Actor(user_id=None, label="m", role="marketer", channel="api")
    assert not allowed(site, marketer, "notes", "pin")


def test_disabling_the_adding_plugin_takes_the_action_away(site):
    note = site.records.create(SYSTEM, "notes", {"title": "call back"})
    assert [a.name for a in site.view.entity("notes").actions] == ["close", "pin"]
    disable_plugin(site, SYSTEM, "pins")
    assert [a.name for a in site.view.entity("notes").actions] == ["close"]
    with pytest.raises(Exception) as refused:
        site.records.act(SYSTEM, "notes", note["id"], "pin", {})
    assert getattr(refused.value, "status", None) == 404
    enable_plugin(site, SYSTEM, "pins")
    assert site.records.act(SYSTEM, "notes", note["id"], "pin", {})["title"] == "📌 call back"


def test_an_action_name_the_entity_already_has_is_refused_at_start_up(make_site):
    twice = plugin_module("twice", requires=["notes"], register_entity_actions=lambda: {"notes": [Action("close", {"en": "Close"}, pin)]})
    with pytest.raises(PluginError, match="adds action 'close' to 'notes'"):
        make_site(notes_plugin, twice).refresh(force=True)
