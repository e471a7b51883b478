"""Custom fields admin: relabel, describe, add options (never take away used ones), and the form preview."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from kernel import Actor, Conflict
from kernel import fielddefs
from kernel.audit import AUDIT
from kernel.fielddefs import DEFS
from kernel.models import Version
from kernel.web.app import create_app
from kernel.web.auth import issue_token
from tests.example import plugin as notes_plugin
from tests.web.test_ui import add_user, errors_of, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SYSTEM = Actor.system("cli")
RATING = {"type": "string", "enum": ["hot", "warm", "cold"]}
TAGS = {"type": "array", "items": {"type": "string", "enum": ["vip", "new"]}, "uniqueItems": True}


@pytest.fixture
def site(make_site):
    site = make_site(notes_plugin, default_locale="en")
    fielddefs.add_field(site, SYSTEM, "notes", "rating", RATING, label={"en": "Rating", "zh_CN": "评级"})
    fielddefs.add_field(site, SYSTEM, "notes", "tags", TAGS, label="Tags")
    site.records.create(SYSTEM, "notes", {"title": "a", "custom": {"rating": "hot", "tags": ["vip"]}})
    site.records.create(SYSTEM, "notes", {"title": "b", "custom": {"rating": "hot"}})
    return site


@pytest.fixture
def app(site):
    return create_app(site=site)


@pytest.fixture
def admin(app, site):
    add_user(site, "admin@example.com", "admin")
    return signed_in(app, "admin@example.com")


def definition(site, name):
    with site.engine.connect() as conn:
        return conn.execute(sa.select(DEFS).where(DEFS.c.name == name)).one()


def counts(site):
    with site.engine.connect() as conn:
        return (
            conn.scalar(sa.select(sa.func.count()).select_from(DEFS)),
            conn.scalar(sa.select(sa.func.count()).select_from(AUDIT)),
            conn.scalar(sa.select(Version.value).where(Version.name == "registry")),
        )


def test_relabel_describe_and_add_an_option(site, admin):
    client, token = admin
    form = client.get("/admin/fields/notes/rating/edit").text
    assert 'value="Rating"' in form and 'value="评级"' in form and "hot\nwarm\ncold</textarea>" in form
    saved = client.post("/admin/fields/notes/rating/edit", data={
        "csrf_token": token, "label_en": "Temperature", "label_zh_CN": "热度", "description": "How keen the contact is.", "options": "hot\nwarm\ncold\nfrozen",
    })
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/fields/notes?changed=rating"
    row = definition(site, "rating")
    assert row.label == {"en": "Temperature", "zh_CN": "热度"} and row.version == 2
    assert row.schema == {"type": "string", "enum": ["hot", "warm", "cold", "frozen"], "description": "How keen the contact is."}
    assert site.records.create(SYSTEM, "notes", {"title": "c", "custom": {"rating": "frozen"}})["custom"] == {"rating": "frozen"}
    page = client.get("/admin/fields/notes?changed=rating").text
    assert "Field rating changed." in page and "Temperature" in page and "How keen the contact is." in page
    assert '<p class="hint">How keen the contact is.</p>' in client.get("/r/notes/new").text  # the real form shows it too
    with site.engine.connect() as conn:
        entry = conn.execute(sa.select(AUDIT).where(AUDIT.c.entity == "custom_fields", AUDIT.c.action == "update")).one()
    assert entry.changes["label"][1] == {"en": "Temperature", "zh_CN": "热度"} and entry.changes["schema"][0] == RATING


def test_an_option_in_use_cannot_be_removed(site, admin):
    client, token = admin
    refused = client.post("/admin/fields/notes/rating/edit", data={"csrf_token": token, "label_en": "Rating", "options": "warm, cold"})
    assert refused.status_code == 409
    assert errors_of(refused.text) == {"fe-options": "&#39;hot&#39; is used by 2 record(s)"}
    assert definition(site, "rating").schema == RATING
    tags = client.post("/admin/fields/notes/tags/edit", data={"csrf_token": token, "label_en": "Tags", "options": "new"})
    assert tags.status_code == 409 and "&#39;vip&#39; is used by 1 record(s)" in tags.text
    unused = client.post("/admin/fields/notes/tags/edit", data={"csrf_token": token, "label_en": "Tags", "options": "vip"})
    assert unused.status_code == 303 and definition(site, "tags").schema["items"]["enum"] == ["vip"]
    empty = client.post("/admin/fields/notes/rating/edit", data={"csrf_token": token, "label_en": "Rating", "description": "x" * 501, "options": "hot, warm, cold"})
    assert empty.status_code == 422 and "fe-description" in errors_of(empty.text)


def test_rest_patch_follows_the_same_rules(app, site):
    boss = add_user(site, "boss@example.com", "admin")
    api = TestClient(app, headers={"Authorization": f"Bearer {issue_token(site, boss['id'])['token']}"})
    added = api.patch("/api/v1/meta/entities/notes/fields/rating", json={"options": ["hot", "warm", "cold", "boiling"], "description": "Keen?"})
    assert added.status_code == 200 and added.json()["schema"]["enum"][-1] == "boiling" and added.json()["schema"]["description"] == "Keen?"
    removed = api.patch("/api/v1/meta/entities/notes/fields/rating", json={"options": ["warm"]})
    assert removed.status_code == 409
    assert removed.json()["error"]["message"] == "options: 'hot' is used by 2 notes record(s); change those records first, or keep the option"
    assert api.patch("/api/v1/meta/entities/notes/fields/rating", json={"options": "hot"}).status_code == 422
    with pytest.raises(Conflict):
        fielddefs.update_field(site, SYSTEM, "notes", "tags", options=["new"])
    not_choice = api.post("/api/v1/meta/entities/notes/fields", json={"name": "score", "schema": {"type": "integer"}})
    assert not_choice.status_code == 201
    wrong = api.patch("/api/v1/meta/entities/notes/fields/score", json={"options": ["1"]})
    assert wrong.status_code == 422 and "only a choice field has options" in wrong.json()["error"]["message"]
    spec = api.get("/api/v1/openapi.json").json()["paths"]["/api/v1/meta/entities/{entity}/fields/{name}"]["patch"]
    assert "options" in spec["requestBody"]["content"]["application/json"]["schema"]["properties"]


def test_the_form_preview_shows_the_draft_field_and_saves_nothing(site, admin):
    client, token = admin
    page = client.get("/admin/fields/notes").text
    assert 'id="form-preview"' in page and '<fieldset class="card form-preview" disabled>' in page
    assert 'id="f-custom-rating"' in page and 'hx-post="/admin/fields/notes/_preview"' in page
    before = counts(site)
    draft = {"csrf_token": token, "name": "mood", "label_en": "Mood today", "kind": "enum", "options": "happy, sad"}
    partial = client.post("/admin/fields/notes/_preview", data=draft, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and not partial.text.lstrip().startswith("<!doctype")
    assert "Mood today" in partial.text and 'id="f-custom-mood"' in partial.text and '<option value="sad"' in partial.text
    full = client.post("/admin/fields/notes/_preview", data=draft)  # without JavaScript: the whole page
    assert full.text.lstrip().startswith("<!doctype") and 'id="f-custom-mood"' in full.text and 'value="Mood today"' in full.text
    broken = client.post("/admin/fields/notes/_preview", data={**draft, "name": "Bad Name"}, headers={"HX-Request": "true"})
    assert "Name must start with a-z" in broken.text and "f-custom-Bad" not in broken.text
    assert client.post("/admin/fields/notes/_preview", data={k: v for k, v in draft.items() if k != "csrf_token"}).status_code == 403
    assert counts(site) == before
    assert "mood" not in site.view.fields("notes")
