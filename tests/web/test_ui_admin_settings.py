"""The system settings page and its REST twin: forms from JSON Schema, checked like crm.toml, reset, read-only values."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from kernel.models import SystemSetting
from kernel.web.app import create_app
from kernel.web.auth import issue_token
from tests.example import plugin as notes_plugin
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin, default_locale="en", secret_key="never-show-me", plugin_settings={"notes": {"stale_days": 10}})


@pytest.fixture
def app(site):
    return create_app(site=site)


@pytest.fixture
def admin(app, site):
    add_user(site, "admin@example.com", "admin")
    return signed_in(app, "admin@example.com")


def stored(site):
    with site.engine.connect() as conn:
        return {(r.scope, r.name): r.value for r in conn.execute(sa.select(SystemSetting.__table__))}


def test_the_page_shows_each_scope_its_sources_and_no_secrets(site, admin):
    client, _ = admin
    page = client.get("/admin/settings").text
    assert 'id="scope-crm"' in page and 'id="scope-notes"' in page
    assert re.search(r'id="set-notes-stale_days"[^>]*type="number"[^>]*min="1"[^>]*value="10"', page, re.S)
    assert re.search(r'<select id="set-crm-default_locale"[^>]*>.*?<option value="en" selected>English</option>', page, re.S)
    assert "From crm.toml." in page and "Default value." in page
    assert "never-show-me" not in page and "Set in crm.toml or CRM_SECRET_KEY (not shown)" in page


def test_a_change_is_stored_applied_and_can_be_reset(site, admin):
    client, token = admin
    saved = client.post("/admin/settings/notes", data={"csrf_token": token, "stale_days": "45"})
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/settings?saved=notes#scope-notes"
    assert stored(site) == {("notes", "stale_days"): 45} and site.plugin_config("notes") == {"stale_days": 45}
    page = client.get("/admin/settings").text
    assert "Changed by admin@example.com on" in page and "the file says 10" in page
    assert client.post("/admin/settings/notes/stale_days/reset", data={}).status_code == 403  # no CSRF token
    reset = client.post("/admin/settings/notes/stale_days/reset", data={"csrf_token": token})
    assert reset.status_code == 303 and stored(site) == {} and site.plugin_config("notes") == {"stale_days": 10}


def test_a_wrong_value_is_shown_next_to_its_field_and_nothing_is_stored(site, admin):
    client, token = admin
    for typed, message in (("0", "0 is less than the minimum of 1"), ("soon", "&#39;soon&#39; is not of type &#39;integer&#39;")):
        refused = client.post("/admin/settings/notes", data={"csrf_token": token, "stale_days": typed})
        assert refused.status_code == 422
        assert f'<p class="error" id="set-notes-stale_days-error">{message}</p>' in refused.text
        assert f'value="{typed}"' in refused.text  # what was typed comes back
    assert stored(site) == {}
    assert client.post("/admin/settings/ghost", data={"csrf_token": token}).status_code == 404


def test_organisation_name_and_default_language_apply_at_once(app, site, admin):
    client, token = admin
    client.post("/admin/settings/crm", data={"csrf_token": token, "org_name": "华东销售部", "default_locale": "zh_CN"})
    assert site.settings.org_name == "华东销售部"
    page = client.get("/").text
    assert '<span class="org-name">华东销售部</span>' in page and "· 华东销售部</title>" in page
    stranger = TestClient(app, follow_redirects=False).get("/login").text
    assert 'lang="zh-CN"' in stranger  # no cookie, no preference: the new default language


def test_non_admins_are_refused(app, site):
    add_user(site, "rep@example.com", "sales_rep")
    rep, token = signed_in(app, "rep@example.com")
    assert rep.get("/admin/settings").status_code == 403
    assert rep.post("/admin/settings/notes", data={"csrf_token": token, "stale_days": "2"}).status_code == 403
    assert stored(site) == {}


def test_rest_get_put_and_delete(app, site):
    boss = add_user(site, "boss@example.com", "admin")
    rep = add_user(site, "rep@example.com", "sales_rep")
    api = TestClient(app, headers={"Authorization": f"Bearer {issue_token(site, boss['id'])['token']}"})
    listed = api.get("/api/v1/meta/settings").json()
    assert [s["scope"] for s in listed["items"]] == ["crm", "notes"]
    assert listed["read_only"]["secret_key"] == "configured" and "never-show-me" not in str(listed)
    changed = api.put("/api/v1/meta/settings/notes", json={"stale_days": 3})
    assert changed.status_code == 200
    assert changed.json()["settings"][0] | {"changed_at": None} == {
        "name": "stale_days", "schema": {"type": "integer", "minimum": 1, "default": 30}, "value": 3, "file_value": 10,
        "source": "override", "changed_at": None, "changed_by": "boss@example.com",
    }
    wrong = api.put("/api/v1/meta/settings/notes", json={"stale_days": "x", "other": 1})
    assert wrong.status_code == 422 and wrong.json()["error"]["details"] == [{"loc": ["other"], "msg": "unknown setting"}]
    assert api.put("/api/v1/meta/settings/notes", json=[1]).status_code == 422
    assert api.put("/api/v1/meta/settings/ghost", json={}).status_code == 404
    assert api.delete("/api/v1/meta/settings/notes/stale_days").json()["settings"][0]["value"] == 10
    assert api.delete("/api/v1/meta/settings/notes/stale_days").status_code == 404
    repped = TestClient(app, headers={"Authorization": f"Bearer {issue_token(site, rep['id'])['token']}"})
    assert repped.get("/api/v1/meta/settings").status_code == 403
    assert repped.put("/api/v1/meta/settings/notes", json={"stale_days": 3}).status_code == 403
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    assert "put" in paths["/api/v1/meta/settings/{scope}"] and "get" in paths["/api/v1/meta/settings"]
