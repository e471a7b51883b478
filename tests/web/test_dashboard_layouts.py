"""Dashboards per role chosen by admins (kernel.layouts): API, page, and what each role then sees."""

from __future__ import annotations

import re

import pytest

from kernel import Actor, Widget
from kernel.testing import plugin_module
from kernel.web.app import create_app
from tests.example import plugin as notes_plugin
from tests.web.test_ui import add_user, signed_in
from tests.web.ui_extras import plugin as ui_extras

guarded = plugin_module("guarded", register_dashboard_widgets=lambda: [
    Widget("guarded.count", {"en": "Guarded count", "zh_CN": "受限计数"}, "number", lambda site, actor, now: {"value": 7}, permission="notes.read"),
])


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin, ui_extras, guarded, default_locale="en")


@pytest.fixture
def app(site):
    return create_app(site=site)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def widget_titles(page: str) -> list[str]:
    return re.findall(r'<h2 id="w-\d+">([^<]+)', page)


def test_an_admin_picks_a_role_s_widgets_and_their_order_then_resets(site, app):
    add_user(site, "admin@example.com", "admin")
    add_user(site, "rep@example.com", "sales_rep")
    site.records.create_many(Actor.system(), "notes", [{"title": "x", "priority": 2}])
    admin, token = signed_in(app, "admin@example.com")
    rep, _ = signed_in(app, "rep@example.com")
    default = widget_titles(rep.get("/").text)
    assert "Open notes" in default and "Latest notes" not in default  # the plugin's choice for reps
    page = admin.get("/admin/dashboards?role=sales_rep").text
    names = re.findall(r'name="show" value="([^"]+)"', page)
    assert "ui_extras.open_notes" in names and "ui_extras.latest" in names
    saved = admin.post("/admin/dashboards/sales_rep", data={
        "csrf_token": token, "show": ["ui_extras.latest", "ui_extras.open_notes"], "position.ui_extras.latest": "1", "position.ui_extras.open_notes": "2",
    })
    assert saved.status_code == 303
    assert widget_titles(rep.get("/").text) == ["Latest notes", "Open notes"]  # exactly these, in this order
    with site.engine.connect() as conn:  # the change is audited
        assert conn.exec_driver_sql("SELECT count(*) FROM kernel_audit WHERE entity = 'dashboards'").scalar() == 1
    admin.post("/admin/dashboards/sales_rep", data={"csrf_token": token, "reset": "1"})
    assert widget_titles(rep.get("/").text) == default


def test_a_layout_cannot_show_a_widget_the_role_may_not_read(site, app):
    add_user(site, "admin@example.com", "admin")
    add_user(site, "m@example.com", "marketer")  # marketers may not read notes
    admin, token = signed_in(app, "admin@example.com")
    admin.post("/admin/dashboards/marketer", data={"csrf_token": token, "show": ["guarded.count", "ui_extras.by_priority"]})
    marketer, _ = signed_in(app, "m@example.com")
    assert widget_titles(marketer.get("/").text) == ["Notes by priority"]  # no notes.read: the guarded count stays hidden


def test_the_api_checks_names_roles_and_rights(site, app):
    import anyio
    import httpx

    from tests.web.conftest import make_user

    admin, rep = make_user(site, "a2@example.com", "admin"), make_user(site, "r2@example.com", "sales_rep")

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers={"Authorization": f"Bearer {admin['token']}"}) as client:
            listed = (await client.get("/api/v1/meta/dashboards")).json()
            assert listed["layouts"]["sales_rep"] is None and any(w["name"] == "ui_extras.open_notes" for w in listed["widgets"])
            bad = await client.put("/api/v1/meta/dashboards/sales_rep", json={"widgets": ["ui_extras.open_notes", "nope"]})
            assert bad.status_code == 422 and bad.json()["error"]["details"][0]["loc"] == ["body", "widgets", 1]
            twice = await client.put("/api/v1/meta/dashboards/sales_rep", json={"widgets": ["ui_extras.open_notes", "ui_extras.open_notes"]})
            assert twice.status_code == 422
            assert (await client.put("/api/v1/meta/dashboards/nobody", json={"widgets": []})).status_code == 404
            ok = await client.put("/api/v1/meta/dashboards/sales_rep", json={"widgets": ["ui_extras.open_notes"]})
            assert ok.json() == {"role": "sales_rep", "widgets": ["ui_extras.open_notes"]}
            assert (await client.delete("/api/v1/meta/dashboards/sales_rep")).status_code == 204
            assert (await client.get("/api/v1/meta/dashboards")).json()["layouts"]["sales_rep"] is None
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers={"Authorization": f"Bearer {rep['token']}"}) as client:
            assert (await client.get("/api/v1/meta/dashboards")).status_code == 403

    anyio.run(run)
